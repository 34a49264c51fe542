"""From a draft to a published opportunity: what a posting must have to be published
(`publication_problems`, `possible_splits`), the buyer's submission for review, a program
administrator's request for changes, and the publication (which schedules the close,
`progress`, and sends the alerts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from marketplace import formats
from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.calendar import add_business_days
from marketplace.jobs import enqueue_on_commit
from marketplace.models import AuditEvent, Role, User
from marketplace.selectors import users_with_role
from marketplace.services import notification_send
from marketplace.transitions import transition

from . import permissions, similarity
from .models import Criterion, Guardrails, Opportunity, SelectionMethod, Skill
from .notices import notice_context
from .progress import opportunity_close_schedule

Status = Opportunity.Status


BILINGUAL_REQUIRED = ("title", "summary", "description", "deliverables", "acceptance_criteria")

# What each empty text asks for, one whole sentence per field and language (in French the
# article agrees with the noun: a sentence built around a label could not).
MISSING_TEXT = {
    "title_en": gettext_lazy("Enter the title in English."),
    "title_fr": gettext_lazy("Enter the title in French."),
    "summary_en": gettext_lazy("Enter the summary in English."),
    "summary_fr": gettext_lazy("Enter the summary in French."),
    "description_en": gettext_lazy("Enter the description in English."),
    "description_fr": gettext_lazy("Enter the description in French."),
    "deliverables_en": gettext_lazy("Enter the deliverables in English."),
    "deliverables_fr": gettext_lazy("Enter the deliverables in French."),
    "acceptance_criteria_en": gettext_lazy("Enter the acceptance criteria in English."),
    "acceptance_criteria_fr": gettext_lazy("Enter the acceptance criteria in French."),
}

# What each unconfirmed attestation needs, said of that attestation.
MISSING_ATTESTATION = {
    "attest_standalone": gettext_lazy("Confirm that this is a standalone piece of work."),
    "attest_no_internal_capacity": gettext_lazy(
        "Confirm that your team does not have the internal capacity to do this work."
    ),
    "attest_not_split": gettext_lazy(
        "Confirm that this work is not split from a larger requirement."
    ),
}

# The key of the problems of the criteria as a whole (none mandatory, none rated); a problem of
# one criterion is keyed `criterion_key(criterion, field)`.
CRITERIA = "criteria"


def criterion_key(criterion: Criterion, field: str) -> str:
    """The key of a problem with `field` of one saved criterion: "criteria:<pk>:<field>"."""
    return f"{CRITERIA}:{criterion.pk}:{field}"


def publication_problems_by_field(
    opportunity: Opportunity, *, now: dt.datetime | None = None
) -> dict[str, list[str]]:
    """Why this opportunity cannot be published yet, by the field at fault (the draft form's
    names; `value_cents`, `CRITERIA` and `criterion_key` aside), in the order of the form;
    empty when it can. Each problem is a sentence that says what to do, readable away from
    its field (the error summary lists them all at the top of the form)."""
    now = now or timezone.now()
    guardrails = Guardrails.current()
    problems: dict[str, list[str]] = {}

    def add(key: str, message: object) -> None:
        problems.setdefault(key, []).append(str(message))

    for field in BILINGUAL_REQUIRED:
        for language in ("en", "fr"):
            name = f"{field}_{language}"
            if not getattr(opportunity, name).strip():
                add(name, MISSING_TEXT[name])
    if not guardrails.type_allowed(opportunity.type):
        add(
            "type",
            _("Choose another type of work: the program does not accept “%(type)s” at the moment.")
            % {"type": opportunity.get_type_display()},
        )
    if opportunity.value_cents > guardrails.value_cap_cents:
        add(
            "value_cents",
            _("Enter a value of %(cap)s or less, tax included: that is the program cap.")
            % {"cap": formats.money(guardrails.value_cap_cents)},
        )
    if opportunity.question_deadline is None:
        add("question_deadline", _("Enter the deadline for questions."))
    elif opportunity.closes_at and opportunity.question_deadline >= opportunity.closes_at:
        add("question_deadline", _("Enter a deadline for questions before the closing date."))
    if opportunity.closes_at is None:
        add("closes_at", _("Enter the closing date and time."))
    else:
        days = guardrails.min_open_business_days
        earliest = add_business_days(now, days)
        if opportunity.closes_at < earliest:
            add(
                "closes_at",
                ngettext(
                    "Enter a closing date at least %(days)s business day from now: "
                    "%(earliest)s or later.",
                    "Enter a closing date at least %(days)s business days from now: "
                    "%(earliest)s or later.",
                    days,
                )
                % {"days": days, "earliest": formats.datetime(earliest)},
            )
    if (
        opportunity.selection_method == SelectionMethod.DRAW_WITHIN_MARGIN
        and not opportunity.draw_margin_points
    ):
        add(
            "draw_margin_points",
            _("Enter the margin, in points, for the draw among the top bids."),
        )
    for name, message in MISSING_ATTESTATION.items():
        if not getattr(opportunity, name):
            add(name, message)
    criteria = list(opportunity.criteria.all())
    if not any(c.kind == Criterion.Kind.MANDATORY for c in criteria):
        add(CRITERIA, _("Add at least one mandatory criterion."))
    rated = [c for c in criteria if c.kind == Criterion.Kind.RATED]
    if opportunity.selection_method != SelectionMethod.DRAW_AMONG_PASSING and not rated:
        add(CRITERIA, _("Add at least one rated criterion: selection by score needs one."))
    for number, criterion in enumerate(criteria, start=1):
        if not criterion.text_fr.strip():
            add(
                criterion_key(criterion, "text_fr"),
                _("Enter the French text of criterion %(number)s.") % {"number": number},
            )
        if criterion.kind == Criterion.Kind.RATED:
            if criterion.weight is None:
                add(
                    criterion_key(criterion, "weight"),
                    _("Enter the weight of criterion %(number)s: a rated criterion needs one.")
                    % {"number": number},
                )
            if criterion.max_score is None:
                add(
                    criterion_key(criterion, "max_score"),
                    _(
                        "Enter the maximum score of criterion %(number)s: a rated criterion "
                        "needs one."
                    )
                    % {"number": number},
                )
    return problems


def publication_problems(opportunity: Opportunity, *, now: dt.datetime | None = None) -> list[str]:
    """Why this opportunity cannot be published yet, as a list of sentences; empty when it
    can (`publication_problems_by_field` says which field each is about)."""
    return [
        message
        for messages in publication_problems_by_field(opportunity, now=now).values()
        for message in messages
    ]


@dataclass(frozen=True)
class SplitMatch:
    """Another recent posting of the same buyer that reads like the same work, and why."""

    other: Opportunity
    score: float
    shared_words: dict[str, tuple[str, ...]]
    same_type: bool
    shared_skills: tuple[Skill, ...]
    days_apart: int

    @property
    def words(self) -> tuple[str, ...]:
        """The words both postings use, in the reader's language when both have it."""
        language = "fr" if (get_language() or "en").startswith("fr") else "en"
        return self.shared_words.get(language) or self.shared_words.get("en", ())


def _texts(opportunity: Opportunity) -> dict[str, similarity.Text]:
    return {
        language: similarity.Text(
            title=getattr(opportunity, f"title_{language}"),
            # The summary says what the work is; descriptions and deliverables carry a team's
            # boilerplate (context, how to submit), which would make all its postings alike.
            body=getattr(opportunity, f"summary_{language}"),
        )
        for language in ("en", "fr")
    }


def split_matches(opportunity: Opportunity) -> list[SplitMatch]:
    """Other recent postings of the same buyer that read like the same work and, together
    with this one, pass the cap; each with the reasons it looks alike (the words both use, the
    same type of work, skills in common, how far apart they were written).

    Reading alike is a similarity of the words of their titles and summaries
    (`opportunities/similarity.py`): a shared skill or one shared word is not enough, since one
    team posts in one field all year.
    """
    guardrails = Guardrails.current()
    since = timezone.now() - dt.timedelta(days=guardrails.split_window_days)
    others = (
        Opportunity.objects.filter(buyer_id=opportunity.buyer_id, created_at__gte=since)
        .exclude(pk=opportunity.pk)
        .exclude(status__in=[Status.CANCELLED, Status.DRAFT])
        .prefetch_related("skills")
        .order_by("created_at", "pk")
    )
    skills = {skill.pk: skill for skill in opportunity.skills.all()}
    texts = _texts(opportunity)
    matches = []
    for other in others:
        score, shared_words = similarity.bilingual_likeness(texts, _texts(other))
        same_type = other.type == opportunity.type
        shared_skills = tuple(skills[s.pk] for s in other.skills.all() if s.pk in skills)
        if similarity.looks_alike(score, same_type=same_type, shared_skills=bool(shared_skills)):
            matches.append(
                SplitMatch(
                    other=other,
                    score=score,
                    shared_words=shared_words,
                    same_type=same_type,
                    shared_skills=shared_skills,
                    days_apart=abs((opportunity.created_at - other.created_at).days),
                )
            )
    total = opportunity.value_cents + sum(match.other.value_cents for match in matches)
    return matches if matches and total > guardrails.value_cap_cents else []


def possible_splits(opportunity: Opportunity) -> list[Opportunity]:
    """The postings of `split_matches`, without the reasons."""
    return [match.other for match in split_matches(opportunity)]


@transaction.atomic
def opportunity_submit_for_review(*, actor: User, opportunity: Opportunity) -> Opportunity:
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    if not Opportunity.objects.select_for_update(of=("self",), no_key=True).filter(
        pk=opportunity.pk
    ):
        # Discarded in another tab while this one waited for the row.
        raise ValidationError(_("This draft was discarded already."), code="discarded")
    problems = publication_problems_by_field(opportunity)
    if problems:
        # By field: the draft form shows each at its field and in its error summary.
        raise ValidationError(problems)
    opportunity, event = transition(
        opportunity,
        Status.IN_REVIEW,
        actor=actor,
        verb="opportunity.submitted",
        fields={
            "submitted_at": timezone.now(),
            "review_note": "",
            "split_warning_acknowledged_by": None,
        },
    )
    notification_send(
        kind="opportunity.submitted",
        recipients=users_with_role(Role.PROGRAM_ADMIN),
        event_key=str(event.pk),
        context=notice_context(
            opportunity, link=notices.link("opportunities:review", pk=opportunity.pk)
        ),
    )
    return opportunity


def _submission_recipients(opportunity: Opportunity) -> list[User]:
    """Who was told of the latest submission of `opportunity` for review (the program
    administrators at the time; the notifications are keyed by the submission's event)."""
    submitted = (
        AuditEvent.objects.for_target(opportunity).filter(verb="opportunity.submitted").first()
    )
    if submitted is None:
        return []
    return list(
        User.objects.filter(
            notifications__kind="opportunity.submitted",
            notifications__dedupe_key__startswith=f"opportunity.submitted:{submitted.pk}:",
        ).distinct()
    )


@transaction.atomic
def opportunity_recall(*, actor: User, opportunity: Opportunity) -> Opportunity:
    """The buyer takes a posting back from review to their drafts, before a program
    administrator acts on it. It leaves the review queue; whoever was told it was waiting is
    told it no longer is. A reviewer who acted first wins: the transition refuses a posting
    that is no longer in review (published, or already sent back)."""
    if not permissions.can_recall(actor, opportunity):
        raise PermissionDenied
    told = _submission_recipients(opportunity)
    opportunity, event = transition(
        opportunity,
        Status.DRAFT,
        actor=actor,
        verb="opportunity.recalled",
        fields={"submitted_at": None},
    )
    notification_send(
        kind="opportunity.recalled",
        recipients=[user for user in told if user.pk != actor.pk],
        event_key=str(event.pk),
        context=notice_context(opportunity, link=notices.link("opportunities:review_queue")),
    )
    return opportunity


@transaction.atomic
def opportunity_request_changes(*, actor: User, opportunity: Opportunity, note: str) -> Opportunity:
    if not permissions.can_review(actor):
        raise PermissionDenied
    if not note.strip():
        raise ValidationError({"note": _("Say what needs to change.")})
    opportunity, event = transition(
        opportunity,
        Status.DRAFT,
        actor=actor,
        verb="opportunity.changes_requested",
        fields={"review_note": note.strip()},
    )
    notification_send(
        kind="opportunity.changes_requested",
        recipients=[opportunity.buyer],
        event_key=str(event.pk),
        context=notice_context(
            opportunity,
            note=opportunity.review_note,
            link=notices.link("opportunities:edit", pk=opportunity.pk),
        ),
    )
    return opportunity


def review_stamp(opportunity: Opportunity) -> str:
    """Which submission of the posting a reviewer read: the moment it was submitted. A posting
    taken back (or sent back), changed and submitted again has another."""
    return opportunity.submitted_at.isoformat() if opportunity.submitted_at else ""


@transaction.atomic
def opportunity_publish(
    *,
    actor: User,
    opportunity: Opportunity,
    acknowledge_split: bool = False,
    reviewed: str | None = None,
) -> Opportunity:
    """`reviewed`: the `review_stamp` of the text the reviewer read, when they publish from a
    page: a page opened before the buyer took the posting back and submitted it again does not
    publish a text nobody reviewed."""
    if not permissions.can_review(actor):
        raise PermissionDenied
    if actor.pk == opportunity.buyer_id:
        raise ValidationError(
            _(
                "You are the buyer of this opportunity: another program administrator must "
                "review and publish it."
            ),
            code="own_opportunity",
        )
    if reviewed is not None:
        current = Opportunity.objects.select_for_update(of=("self",), no_key=True).get(
            pk=opportunity.pk
        )
        if review_stamp(current) != reviewed:
            raise ValidationError(
                _(
                    "The buyer changed this posting and submitted it again since you opened "
                    "it: read it again, then publish it."
                ),
                code="changed_since_read",
            )
        opportunity = current
    problems = publication_problems(opportunity)
    if problems:
        raise ValidationError(problems)
    splits = possible_splits(opportunity)
    if splits and not acknowledge_split:
        raise ValidationError(
            _(
                "This posting may be split from a larger requirement: acknowledge the warning "
                "to publish it."
            )
        )
    stamps: dict[str, Any] = {"published_at": timezone.now()}
    if splits:
        stamps["split_warning_acknowledged_by"] = actor
    opportunity, event = transition(
        opportunity,
        Status.PUBLISHED,
        actor=actor,
        verb="opportunity.published",
        data={"split_warning": [o.pk for o in splits]} if splits else None,
        fields=stamps,
    )
    public_pages_changed_on_commit()
    opportunity_close_schedule(opportunity)
    notification_send(
        kind="opportunity.published",
        recipients=[opportunity.buyer],
        event_key=str(event.pk),
        context=notice_context(opportunity),
    )
    enqueue_on_commit("opportunities.tasks.opportunity_alerts_fanout", opportunity.pk)
    return opportunity
