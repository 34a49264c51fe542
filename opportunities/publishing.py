"""From a draft to a published opportunity: what a posting must have to be published
(`publication_problems`, `possible_splits`), the buyer's submission for review, a program
administrator's request for changes, and the publication (which schedules the close,
`progress`, and sends the alerts)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import formats
from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.calendar import add_business_days
from marketplace.jobs import enqueue_on_commit
from marketplace.models import Role, User
from marketplace.selectors import users_with_role
from marketplace.services import notification_send
from marketplace.transitions import transition

from . import permissions
from .models import Criterion, Guardrails, Opportunity
from .notices import notice_context
from .progress import opportunity_close_schedule

if TYPE_CHECKING:
    from django.db.models import Field

Status = Opportunity.Status


BILINGUAL_REQUIRED = ("title", "summary", "description", "deliverables", "acceptance_criteria")


def publication_problems(opportunity: Opportunity, *, now: dt.datetime | None = None) -> list[str]:
    """Why this opportunity cannot be published yet; empty when it can."""
    now = now or timezone.now()
    guardrails = Guardrails.current()
    problems: list[str] = []
    for field in BILINGUAL_REQUIRED:
        label = cast("Field", Opportunity._meta.get_field(f"{field}_en")).verbose_name
        for language, name in (("en", _("English")), ("fr", _("French"))):
            if not getattr(opportunity, f"{field}_{language}").strip():
                problems.append(
                    _("The %(field)s is missing in %(language)s.")
                    % {"field": str(label).split(" (")[0], "language": name}
                )
    if not (
        opportunity.attest_standalone
        and opportunity.attest_no_internal_capacity
        and opportunity.attest_not_split
    ):
        problems.append(_("Every buyer attestation must be confirmed."))
    if opportunity.value_cents > guardrails.value_cap_cents:
        problems.append(
            _("The value exceeds the cap of %(cap)s including tax.")
            % {"cap": formats.money(guardrails.value_cap_cents)}
        )
    if not guardrails.type_allowed(opportunity.type):
        problems.append(_("This type of work is not allowed in the program at the moment."))
    if opportunity.closes_at is None:
        problems.append(_("A closing date and time is required."))
    else:
        earliest = add_business_days(now, guardrails.min_open_business_days)
        if opportunity.closes_at < earliest:
            problems.append(
                _("The closing date must be at least %(days)s business days from now.")
                % {"days": guardrails.min_open_business_days}
            )
        if opportunity.question_deadline is None:
            problems.append(_("A deadline for questions is required."))
        elif opportunity.question_deadline >= opportunity.closes_at:
            problems.append(_("The question deadline must come before the closing date."))
    criteria = list(opportunity.criteria.all())
    if not any(c.kind == Criterion.Kind.MANDATORY for c in criteria):
        problems.append(_("Add at least one mandatory criterion."))
    if any(not c.text_fr.strip() for c in criteria):
        problems.append(_("Every criterion needs a French version."))
    rated = [c for c in criteria if c.kind == Criterion.Kind.RATED]
    if any(c.weight is None or c.max_score is None for c in rated):
        problems.append(_("Every rated criterion needs a weight and a maximum score."))
    if opportunity.selection_method != "draw_passing" and not rated:
        problems.append(_("Selection by score needs at least one rated criterion."))
    if opportunity.selection_method == "draw_margin" and not opportunity.draw_margin_points:
        problems.append(_("Give the margin, in points, for the draw among the top bids."))
    return problems


def possible_splits(opportunity: Opportunity) -> list[Opportunity]:
    """Other recent postings of the same buyer that, together with this one, pass the cap.

    A split is suspected when the buyer posted similar work (a shared skill or a shared title
    word of 5+ letters) within the window and the combined value exceeds the cap.
    """
    guardrails = Guardrails.current()
    since = timezone.now() - dt.timedelta(days=guardrails.split_window_days)
    others = (
        Opportunity.objects.filter(buyer_id=opportunity.buyer_id, created_at__gte=since)
        .exclude(pk=opportunity.pk)
        .exclude(status__in=[Status.CANCELLED, Status.DRAFT])
        .prefetch_related("skills")
    )
    skills = set(opportunity.skills.values_list("pk", flat=True))
    words = {w for w in opportunity.title_en.lower().split() if len(w) >= 5}
    similar = [
        other
        for other in others
        if skills & {s.pk for s in other.skills.all()}
        or words & {w for w in other.title_en.lower().split() if len(w) >= 5}
    ]
    total = opportunity.value_cents + sum(o.value_cents for o in similar)
    return similar if similar and total > guardrails.value_cap_cents else []


@transaction.atomic
def opportunity_submit_for_review(*, actor: User, opportunity: Opportunity) -> Opportunity:
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    problems = publication_problems(opportunity)
    if problems:
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


@transaction.atomic
def opportunity_publish(
    *, actor: User, opportunity: Opportunity, acknowledge_split: bool = False
) -> Opportunity:
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
