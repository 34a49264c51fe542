"""Every write of opportunities: drafting, review, publication, closing, cancellation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import formats
from marketplace import notifications as notices
from marketplace.models import Approval, AuditEvent, Role, User
from marketplace.selectors import users_with_role
from marketplace.services import audit_event_record, notification_send
from marketplace.tasks import enqueue_on_commit

from . import permissions
from .models import Addendum, Alert, Criterion, Guardrails, Opportunity, Question, Watch

Status = Opportunity.Status

EDITABLE_FIELDS = (
    "title_en",
    "title_fr",
    "summary_en",
    "summary_fr",
    "description_en",
    "description_fr",
    "deliverables_en",
    "deliverables_fr",
    "acceptance_criteria_en",
    "acceptance_criteria_fr",
    "type",
    "value_cents",
    "licence",
    "repository_url",
    "question_deadline",
    "closes_at",
    "expected_delivery_date",
    "remote_unclassified_only",
    "selection_method",
    "draw_margin_points",
    "evaluator_count",
    "attest_standalone",
    "attest_no_internal_capacity",
    "attest_not_split",
)

BILINGUAL_REQUIRED = ("title", "summary", "description", "deliverables", "acceptance_criteria")


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """`start` moved forward by `days` weekdays (Saturday and Sunday do not count)."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


def _transition(
    *, opportunity: Opportunity, to: str, actor: User | None, verb: str, data: dict | None = None
) -> tuple[Opportunity, AuditEvent]:
    """Lock the row, check the graph, move it. Callers run inside their own transaction.

    Returns the locked opportunity and the audit event, whose id keys the notifications."""
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not locked.can_transition_to(to):
        raise ValidationError(
            _("An opportunity that is “%(current)s” cannot become “%(target)s”.")
            % {
                "current": Status(locked.status).label,
                "target": Status(to).label,
            }
        )
    previous = locked.status
    locked.status = to
    event = audit_event_record(
        actor=actor,
        verb=verb,
        target=locked,
        data={"from": previous, "to": to, **(data or {})},
    )
    return locked, event


def notice_context(opportunity: Opportunity, **extra: Any) -> dict[str, Any]:
    """What every notification about an opportunity can say, in both languages."""
    return {
        "title": notices.bilingual(opportunity.title_en, opportunity.title_fr),
        "value": notices.money(opportunity.value_cents),
        "closes_at": notices.moment(opportunity.closes_at),
        "question_deadline": notices.moment(opportunity.question_deadline),
        "link": notices.link("opportunities:detail", pk=opportunity.pk),
        **extra,
    }


def _followers(opportunity: Opportunity):
    """Suppliers who watch the opportunity or hold a bid on it (draft, submitted, withdrawn).
    A person may appear twice; notification_send writes one notification each."""
    return User.objects.filter(
        Q(watches__opportunity=opportunity) | Q(bids__opportunity=opportunity)
    )


def _submitted_bidders(opportunity: Opportunity):
    return User.objects.filter(bids__opportunity=opportunity, bids__status="submitted")


def _schedule_close(opportunity: Opportunity) -> None:
    """After commit, have a worker close the opportunity once its deadline has passed and the
    requests that arrived before it are answered (`Opportunity.seals_at`).

    A task scheduled for an earlier deadline finds it still open and does nothing; the beat
    sweeper covers a message the broker lost.
    """
    from .tasks import opportunity_close_at_deadline

    enqueue_on_commit(opportunity_close_at_deadline, opportunity.pk, eta=opportunity.seals_at)


def publication_problems(opportunity: Opportunity, *, now: dt.datetime | None = None) -> list[str]:
    """Why this opportunity cannot be published yet; empty when it can."""
    now = now or timezone.now()
    guardrails = Guardrails.current()
    problems: list[str] = []
    for field in BILINGUAL_REQUIRED:
        label = Opportunity._meta.get_field(f"{field}_en").verbose_name
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


def _apply_fields(opportunity: Opportunity, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"skills"}
    if unknown:
        raise TypeError(f"Unknown opportunity fields: {sorted(unknown)}")
    for name, value in fields.items():
        if name != "skills":
            setattr(opportunity, name, value)


# A draft, an addendum or a question identical to one the same person made this recently is
# the same one sent twice (a double click, a replayed form, a second tab): the first is
# returned, no second one is made.
REPEAT_SECONDS = 600


def _same_fields(opportunity: Opportunity, fields: dict[str, Any]) -> bool:
    if "skills" in fields and set(fields["skills"]) != set(opportunity.skills.all()):
        return False
    return all(
        getattr(opportunity, name) == value for name, value in fields.items() if name != "skills"
    )


def _repeated_draft(buyer: User, fields: dict[str, Any]) -> Opportunity | None:
    since = timezone.now() - dt.timedelta(seconds=REPEAT_SECONDS)
    recent = Opportunity.objects.filter(
        buyer=buyer, status=Status.DRAFT, created_at__gte=since
    ).prefetch_related("skills")
    return next((draft for draft in recent if _same_fields(draft, fields)), None)


@transaction.atomic
def opportunity_create(*, buyer: User, **fields: Any) -> Opportunity:
    if not permissions.can_create_opportunity(buyer):
        raise PermissionDenied
    opportunity = Opportunity(buyer=buyer)
    _apply_fields(opportunity, fields)
    opportunity.full_clean()
    # One creation at a time per buyer, so that two copies sent at once find each other.
    User.objects.select_for_update(no_key=True).filter(pk=buyer.pk).first()
    repeated = _repeated_draft(buyer, fields)
    if repeated is not None:
        return repeated
    opportunity.save()
    if "skills" in fields:
        opportunity.skills.set(fields["skills"])
    audit_event_record(actor=buyer, verb="opportunity.created", target=opportunity)
    return opportunity


@transaction.atomic
def opportunity_update_draft(
    *, actor: User, opportunity: Opportunity, **fields: Any
) -> Opportunity:
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    if _same_fields(opportunity, fields):
        return opportunity  # the same values again (a repeated save): nothing to record
    _apply_fields(opportunity, fields)
    opportunity.full_clean()
    opportunity.save()
    if "skills" in fields:
        opportunity.skills.set(fields["skills"])
    audit_event_record(
        actor=actor, verb="opportunity.edited", target=opportunity, data={"fields": sorted(fields)}
    )
    return opportunity


@transaction.atomic
def criterion_save(
    *, actor: User, opportunity: Opportunity, criterion: Criterion | None = None, **fields: Any
) -> Criterion:
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    if criterion is None:
        criterion = Criterion(opportunity=opportunity, position=opportunity.criteria.count())
    elif criterion.opportunity_id != opportunity.pk:
        raise PermissionDenied
    for name, value in fields.items():
        setattr(criterion, name, value)
    if criterion.kind == Criterion.Kind.MANDATORY:
        criterion.weight = criterion.max_score = None
    if criterion.pk is None and fields:
        # The same new criterion sent twice (the form saved twice) is added once.
        names = {*fields, "weight", "max_score"}
        same = opportunity.criteria.filter(**{name: getattr(criterion, name) for name in names})
        if (existing := same.first()) is not None:
            return existing
    criterion.full_clean()
    criterion.save()
    return criterion


@transaction.atomic
def criterion_delete(*, actor: User, criterion: Criterion) -> None:
    opportunity = Opportunity.objects.select_for_update().get(pk=criterion.opportunity_id)
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    criterion.delete()


@transaction.atomic
def opportunity_submit_for_review(*, actor: User, opportunity: Opportunity) -> Opportunity:
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    problems = publication_problems(opportunity)
    if problems:
        raise ValidationError(problems)
    opportunity, event = _transition(
        opportunity=opportunity, to=Status.IN_REVIEW, actor=actor, verb="opportunity.submitted"
    )
    opportunity.submitted_at = timezone.now()
    opportunity.review_note = ""
    opportunity.split_warning_acknowledged_by = None
    opportunity.save()
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
    opportunity, event = _transition(
        opportunity=opportunity, to=Status.DRAFT, actor=actor, verb="opportunity.changes_requested"
    )
    opportunity.review_note = note.strip()
    opportunity.save()
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
    opportunity, event = _transition(
        opportunity=opportunity,
        to=Status.PUBLISHED,
        actor=actor,
        verb="opportunity.published",
        data={"split_warning": [o.pk for o in splits]} if splits else None,
    )
    opportunity.published_at = timezone.now()
    if splits:
        opportunity.split_warning_acknowledged_by = actor
    opportunity.save()
    _schedule_close(opportunity)
    notification_send(
        kind="opportunity.published",
        recipients=[opportunity.buyer],
        event_key=str(event.pk),
        context=notice_context(opportunity),
    )
    from .tasks import opportunity_alerts_fanout

    enqueue_on_commit(opportunity_alerts_fanout, opportunity.pk)
    return opportunity


@transaction.atomic
def opportunity_close(*, opportunity: Opportunity, now: dt.datetime | None = None) -> Opportunity:
    """Close (the system acts): seal the submitted bids and open the evaluation. Refused before
    the deadline. The scheduler calls it at `seals_at`, a grace after the deadline, so that a
    bid which arrived in time but was still being answered is in; it waits here for any bid
    still being written (they hold the row shared, this takes it exclusively)."""
    now = now or timezone.now()
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if locked.closes_at is None or now < locked.closes_at:
        raise ValidationError(_("This opportunity has not reached its closing time."))
    opportunity, event = _transition(
        opportunity=locked, to=Status.CLOSED, actor=None, verb="opportunity.closed"
    )
    opportunity.closed_at = now
    opportunity.save()
    from bids.services import bids_seal
    from evaluation.services import evaluation_open

    sealed_for = bids_seal(opportunity=opportunity, now=now)
    evaluation_open(opportunity=opportunity)
    notification_send(
        kind="opportunity.closed",
        recipients=User.objects.filter(Q(pk=opportunity.buyer_id) | Q(pk__in=sealed_for)),
        event_key=str(event.pk),
        context=notice_context(opportunity),
    )
    return opportunity


def opportunity_start_evaluation(*, opportunity: Opportunity) -> Opportunity:
    """closed → evaluating, once the packets exist (evaluation.services; the system acts)."""
    opportunity, _event = _transition(
        opportunity=opportunity, to=Status.EVALUATING, actor=None, verb="opportunity.evaluating"
    )
    opportunity.save()
    return opportunity


def opportunity_mark_unsuccessful(
    *, opportunity: Opportunity, actor: User | None, reason: str
) -> Opportunity:
    """No qualified bid (or every ranked bid declined or defaulted): nobody is awarded."""
    opportunity, _event = _transition(
        opportunity=opportunity,
        to=Status.UNSUCCESSFUL,
        actor=actor,
        verb="opportunity.unsuccessful",
        data={"reason": reason},
    )
    opportunity.save()
    return opportunity


def opportunity_mark_awarded(*, opportunity: Opportunity, actor: User) -> Opportunity:
    opportunity, _event = _transition(
        opportunity=opportunity, to=Status.AWARDED, actor=actor, verb="opportunity.awarded"
    )
    opportunity.awarded_at = timezone.now()
    opportunity.save()
    return opportunity


def opportunity_start_delivery(*, opportunity: Opportunity, actor: User) -> Opportunity:
    """awarded → in delivery, when the supplier accepts the contract (payments.services)."""
    opportunity, _event = _transition(
        opportunity=opportunity, to=Status.IN_DELIVERY, actor=actor, verb="opportunity.in_delivery"
    )
    opportunity.save()
    return opportunity


def opportunity_complete(*, opportunity: Opportunity, actor: User | None) -> Opportunity:
    """in delivery → completed, when the supplier is paid (payments.services)."""
    opportunity, _event = _transition(
        opportunity=opportunity, to=Status.COMPLETED, actor=actor, verb="opportunity.completed"
    )
    opportunity.save()
    return opportunity


def opportunity_revealed(opportunity: Opportunity) -> bool:
    """Whether the buyer has seen who bid (evaluation.services.evaluation_reveal)."""
    return Opportunity.objects.filter(
        pk=opportunity.pk, evaluation__revealed_at__isnull=False
    ).exists()


def opportunity_cancel_check(*, actor: User, opportunity: Opportunity, reason: str) -> None:
    """What a request to cancel after the reveal must pass before a second program
    administrator is asked (marketplace/approvals.py)."""
    if not permissions.can_cancel(actor, opportunity):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the cancellation.")})
    if not opportunity_revealed(opportunity):
        raise ValidationError(_("No approval is needed before the reveal: cancel it directly."))


def opportunity_cancel_approval_check(actor: User, payload: dict[str, Any]) -> User:
    """A request to cancel after the reveal (marketplace/approvals.py): refused as the
    cancellation would be; the opportunity's buyer is the person it concerns, who never
    decides it."""
    opportunity = Opportunity.objects.filter(pk=payload.get("opportunity")).first()
    if opportunity is None:
        raise ValidationError(_("This opportunity no longer exists."))
    opportunity_cancel_check(actor=actor, opportunity=opportunity, reason=payload.get("reason", ""))
    payload["reason"] = payload["reason"].strip()
    payload["title"] = opportunity.title_en
    payload["title_fr"] = opportunity.title_fr
    return opportunity.buyer


def opportunity_cancel_approval_may_ask(actor: User, payload: dict[str, Any]) -> bool:
    opportunity = Opportunity.objects.filter(pk=payload.get("opportunity")).first()
    return opportunity is not None and permissions.is_canceller(actor, opportunity)


def opportunity_cancel_approval_carry_out(approval: Approval, actor: User) -> None:
    opportunity_cancel(
        actor=actor,
        opportunity=Opportunity.objects.get(pk=approval.payload["opportunity"]),
        reason=approval.payload["reason"],
        approval=approval,
    )


@transaction.atomic
def opportunity_cancel(
    *, actor: User, opportunity: Opportunity, reason: str, approval: Approval | None = None
) -> Opportunity:
    """Cancel. Once the buyer has seen who bid, a cancellation could steer the work away from
    the selected supplier: it then needs a second program administrator's approval."""
    if approval is not None and not opportunity.can_transition_to(Status.CANCELLED):
        # Approved after it moved on (awarded meanwhile): the decider is told, not refused.
        raise ValidationError(
            _("This opportunity can no longer be cancelled: it is “%(status)s” now.")
            % {"status": Status(opportunity.status).label},
            code="moved_on",
        )
    if not permissions.can_cancel(actor, opportunity):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the cancellation.")})
    Opportunity.objects.select_for_update().filter(pk=opportunity.pk).first()
    data: dict[str, Any] = {"reason": reason.strip()}
    if opportunity_revealed(opportunity):
        approval = Approval.objects.authorizing(
            approval,
            actor=actor,
            kind=Approval.Kind.OPPORTUNITY_CANCEL,
            opportunity=opportunity.pk,
            reason=reason.strip(),
        )
        data.update(approval=approval.pk, requested_by=approval.requested_by_id)
    opportunity, event = _transition(
        opportunity=opportunity,
        to=Status.CANCELLED,
        actor=actor,
        verb="opportunity.cancelled",
        data=data,
    )
    opportunity.cancel_reason = reason.strip()
    opportunity.cancelled_at = timezone.now()
    opportunity.save()
    recipients = _followers(opportunity)
    if opportunity.buyer_id != actor.pk:
        recipients = recipients | User.objects.filter(pk=opportunity.buyer_id)
    notification_send(
        kind="opportunity.cancelled",
        recipients=recipients,
        event_key=str(event.pk),
        context=notice_context(opportunity, reason=opportunity.cancel_reason),
    )
    return opportunity


# --- Changes after publishing: addenda ----------------------------------------------------------

AMENDABLE_FIELDS = tuple(
    f for f in EDITABLE_FIELDS if not f.startswith("attest_") and f != "selection_method"
)


def _addendum_create(
    *, actor: User, opportunity: Opportunity, note_en: str, note_fr: str, changed: list[str]
) -> Addendum:
    if not note_en.strip() or not note_fr.strip():
        raise ValidationError(_("An addendum needs a note in English and in French."))
    number = (opportunity.addenda.aggregate(top=Max("number"))["top"] or 0) + 1
    addendum = Addendum(
        opportunity=opportunity,
        number=number,
        note_en=note_en.strip(),
        note_fr=note_fr.strip(),
        changed_fields=changed,
        created_by=actor,
    )
    addendum.full_clean()
    addendum.save()
    audit_event_record(
        actor=actor,
        verb="opportunity.amended",
        target=opportunity,
        data={"addendum": number, "fields": changed},
    )
    context = notice_context(
        opportunity, number=number, note=notices.bilingual(addendum.note_en, addendum.note_fr)
    )
    bidders = _submitted_bidders(opportunity)
    notification_send(
        kind="opportunity.amended",
        recipients=_followers(opportunity).exclude(pk__in=bidders.values("pk")),
        event_key=f"{opportunity.pk}:{number}",
        context=context,
    )
    # Those who submitted must confirm their bid or revise it (bids.services.bid_confirm).
    notification_send(
        kind="bid.addendum",
        recipients=bidders,
        event_key=f"{opportunity.pk}:{number}",
        context=context,
    )
    return addendum


@transaction.atomic
def opportunity_amend(
    *, actor: User, opportunity: Opportunity, note_en: str, note_fr: str, **fields: Any
) -> Addendum:
    """Change a published opportunity; every change is a numbered, bilingual addendum."""
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not permissions.is_owning_buyer(actor, opportunity) or (
        opportunity.status != Status.PUBLISHED
    ):
        raise PermissionDenied
    if not permissions.can_amend(actor, opportunity):
        raise ValidationError(_("The deadline has passed: this opportunity can no longer change."))
    unknown = set(fields) - set(AMENDABLE_FIELDS) - {"skills"}
    if unknown:
        raise TypeError(f"Fields that cannot be amended: {sorted(unknown)}")
    old_closes_at = opportunity.closes_at
    changed = sorted(
        name
        for name, value in fields.items()
        if name != "skills" and getattr(opportunity, name) != value
    )
    if "skills" in fields and set(fields["skills"]) != set(opportunity.skills.all()):
        changed.append("skills")
    if not changed:
        latest = opportunity.addenda.order_by("-number").first()
        if (
            latest is not None
            and latest.created_by_id == actor.pk
            and (latest.note_en, latest.note_fr) == (note_en.strip(), note_fr.strip())
            and latest.created_at >= timezone.now() - dt.timedelta(seconds=REPEAT_SECONDS)
        ):
            return latest  # this very amendment, sent again: it is published already
        raise ValidationError(_("Nothing was changed."))
    _apply_fields(opportunity, fields)
    opportunity.full_clean()
    now = timezone.now()
    if opportunity.closes_at is None or opportunity.closes_at <= now:
        raise ValidationError(_("The closing date must stay in the future."))
    if opportunity.question_deadline and opportunity.question_deadline >= opportunity.closes_at:
        raise ValidationError(_("The question deadline must come before the closing date."))
    if opportunity.value_cents > Guardrails.current().value_cap_cents:
        raise ValidationError(_("The value exceeds the cap."))
    opportunity.save()
    if "skills" in fields:
        opportunity.skills.set(fields["skills"])
    addendum = _addendum_create(
        actor=actor, opportunity=opportunity, note_en=note_en, note_fr=note_fr, changed=changed
    )
    if opportunity.closes_at != old_closes_at:
        _schedule_close(opportunity)
    return addendum


# --- Questions and answers ------------------------------------------------------------------------


def opportunity_hold_shared(opportunity_id: int) -> None:
    """Hold the opportunity's row against change until this transaction ends, without holding
    up the others doing the same (bids, questions): on PostgreSQL a `FOR SHARE` row lock, which
    any number of them hold at once, and which the close's exclusive lock (`FOR UPDATE`) waits
    for, and makes them wait for; a deadline checked under it stays the deadline.
    SQLite has one writer at a time anyway (its write lock is taken when the transaction
    begins: settings, `transaction_mode`)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    table, key = Opportunity._meta.db_table, Opportunity._meta.pk.column
    with connection.cursor() as cursor:
        # Names from the model, the id a bound parameter.
        cursor.execute(
            f"SELECT 1 FROM {quote(table)} WHERE {quote(key)} = %s FOR SHARE",  # noqa: S608  # nosec B608
            [opportunity_id],
        )


@transaction.atomic
def question_ask(
    *, asker: User, opportunity: Opportunity, text: str, arrived_at: dt.datetime | None = None
) -> Question:
    """A supplier's question, judged by when it arrived (`arrived_at`, as bids are)."""
    opportunity_hold_shared(opportunity.pk)
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    now = timezone.now()
    if not permissions.can_ask_question(asker, opportunity, now=min(arrived_at or now, now)):
        raise ValidationError(_("Questions are closed for this opportunity."))
    # One question at a time per asker, so that the same one sent twice at once is asked once.
    User.objects.select_for_update(no_key=True).filter(pk=asker.pk).first()
    repeated = opportunity.questions.filter(
        asker=asker, text=text.strip(), created_at__gte=now - dt.timedelta(seconds=REPEAT_SECONDS)
    ).first()
    if repeated is not None:
        return repeated
    question = Question(opportunity=opportunity, asker=asker, text=text.strip())
    question.full_clean()
    question.save()
    # The asker stays out of the public record; the audit trail knows who asked.
    audit_event_record(actor=asker, verb="question.asked", target=opportunity)
    notification_send(
        kind="question.asked",
        recipients=[opportunity.buyer],
        event_key=str(question.pk),
        context=notice_context(
            opportunity,
            question=question.text,
        ),
    )
    return question


@transaction.atomic
def question_answer(
    *, actor: User, question: Question, answer_en: str, answer_fr: str, as_addendum: bool = False
) -> Question:
    question = (
        Question.objects.select_for_update().select_related("opportunity").get(pk=question.pk)
    )
    if not permissions.can_answer_questions(actor, question.opportunity):
        raise PermissionDenied
    if not answer_en.strip() or not answer_fr.strip():
        raise ValidationError(_("Answer in English and in French."))
    if question.answered_at is not None:
        if (question.answer_en, question.answer_fr) == (answer_en.strip(), answer_fr.strip()):
            return question  # the same answer sent twice: published once
        raise ValidationError(_("This question is already answered."))
    question.answer_en = answer_en.strip()
    question.answer_fr = answer_fr.strip()
    question.answered_by = actor
    question.answered_at = timezone.now()
    question.full_clean()
    question.save()
    event = audit_event_record(
        actor=actor,
        verb="question.answered",
        target=question.opportunity,
        data={"question": question.pk},
    )
    notification_send(
        kind="question.answered",
        recipients=_followers(question.opportunity) | User.objects.filter(pk=question.asker_id),
        event_key=str(event.pk),
        context=notice_context(
            question.opportunity,
            answer=notices.bilingual(question.answer_en, question.answer_fr),
        ),
    )
    if as_addendum:
        _addendum_create(
            actor=actor,
            opportunity=question.opportunity,
            note_en=f"Q: {question.text}\n\nA: {question.answer_en}",
            note_fr=f"Q : {question.text}\n\nR : {question.answer_fr}",
            changed=[],
        )
    return question


# --- Watching and alerts ------------------------------------------------------------------------


@transaction.atomic
def watch_toggle(*, user: User, opportunity: Opportunity, watching: bool | None = None) -> bool:
    """Start or stop watching: `watching` is the state wanted (the page's button says which, so
    that pressing it twice gives that state, not its opposite); None turns it over. Returns
    whether the user now watches it."""
    if not permissions.can_watch(user, opportunity):
        raise PermissionDenied
    if watching is None:
        deleted, _rows = Watch.objects.filter(user=user, opportunity=opportunity).delete()
        if deleted:
            return False
    elif not watching:
        Watch.objects.filter(user=user, opportunity=opportunity).delete()
        return False
    Watch.objects.get_or_create(user=user, opportunity=opportunity)
    return True


@transaction.atomic
def alert_save(*, user: User, skills: list, types: list[str], frequency: str) -> Alert:
    if not permissions.can_subscribe_to_alerts(user):
        raise PermissionDenied
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()  # one save at a time
    alert, created = Alert.objects.get_or_create(user=user)
    unchanged = (
        not created
        and (alert.types, alert.frequency) == (sorted(set(types)), frequency)
        and set(alert.skills.all()) == set(skills)
    )
    if unchanged:
        return alert  # the same alert saved again: nothing to record
    alert.types = sorted(set(types))
    alert.frequency = frequency
    alert.full_clean()
    alert.save()
    alert.skills.set(skills)
    audit_event_record(
        actor=user,
        verb="alert.created" if created else "alert.updated",
        target=alert,
        data={"skills": sorted(s.slug for s in skills), "types": alert.types},
    )
    return alert


@transaction.atomic
def alert_delete(*, user: User) -> None:
    deleted, _rows = Alert.objects.filter(user=user).delete()
    if deleted:  # a second delete (a double click) finds nothing and records nothing
        audit_event_record(actor=user, verb="alert.deleted", target=user)


GUARDRAIL_FIELDS = (
    "value_cap_cents",
    "min_open_business_days",
    "allowed_types",
    "split_window_days",
)


def guardrails_check(**fields: Any) -> dict[str, Any]:
    """Refuse guardrails past the hard limits of the settings, which no approval can pass;
    returns the values in force now for the fields given."""
    if set(fields) - set(GUARDRAIL_FIELDS):
        raise TypeError(f"Unknown guardrails: {sorted(set(fields) - set(GUARDRAIL_FIELDS))}")
    ceiling = settings.OPPORTUNITY_VALUE_CEILING_CENTS
    if "value_cap_cents" in fields and not 0 < fields["value_cap_cents"] <= ceiling:
        raise ValidationError(
            {
                "value_cap_cents": _(
                    "The value cap must be between $1 and %(ceiling)s, tax included: the legal "
                    "limit of a micro-acquisition, which no approval can raise."
                )
                % {"ceiling": formats.money(ceiling)}
            }
        )
    floor = settings.OPPORTUNITY_MIN_OPEN_BUSINESS_DAYS_FLOOR
    if "min_open_business_days" in fields and fields["min_open_business_days"] < floor:
        raise ValidationError(
            {
                "min_open_business_days": _(
                    "An opportunity stays open at least %(floor)s business days: suppliers need "
                    "the time to answer."
                )
                % {"floor": floor}
            }
        )
    if "split_window_days" in fields and fields["split_window_days"] < 1:
        raise ValidationError({"split_window_days": _("The window is at least one day.")})
    current = Guardrails.current()
    return {name: getattr(current, name) for name in fields}


def guardrails_approval_check(actor: User, payload: dict[str, Any]) -> None:
    """A request to change the guardrails (marketplace/approvals.py): every guardrail given,
    within the hard limits, and different from those in force (kept for the decider)."""
    payload.pop("before", None)
    if set(payload) != set(GUARDRAIL_FIELDS):
        raise ValidationError(_("Give every guardrail."))
    payload["allowed_types"] = sorted(set(payload["allowed_types"]))
    before = guardrails_check(**payload)
    if before == payload:
        raise ValidationError(_("These are already the guardrails."))
    payload["before"] = before


def guardrails_approval_carry_out(approval: Approval, actor: User) -> None:
    guardrails_update(
        actor=actor,
        approval=approval,
        **{key: approval.payload[key] for key in GUARDRAIL_FIELDS if key in approval.payload},
    )


@transaction.atomic
def guardrails_update(
    *, actor: User | None, approval: Approval | None = None, **fields: Any
) -> Guardrails:
    """Change the program guardrails. `actor=None` is the system (a command, the demo); a
    program administrator changes them only through an approval a second one gave."""
    if actor is not None and not permissions.can_review(actor):
        raise PermissionDenied
    if set(fields) - set(GUARDRAIL_FIELDS):
        raise TypeError(f"Unknown guardrails: {sorted(set(fields) - set(GUARDRAIL_FIELDS))}")
    if actor is not None:
        approval = Approval.objects.authorizing(
            approval, actor=actor, kind=Approval.Kind.GUARDRAILS, **fields
        )
    guardrails = Guardrails.objects.select_for_update().get(pk=Guardrails.current().pk)
    before = {name: getattr(guardrails, name) for name in fields}
    if before == fields:
        return guardrails  # the same values saved again: nothing to record
    guardrails_check(**fields)
    if approval is not None and approval.payload.get("before") != before:
        # The decider compared the change with guardrails that are no longer those in force.
        raise ValidationError(
            _("The guardrails changed since this was asked: reject this request and ask again."),
            code="stale",
        )
    for name, value in fields.items():
        setattr(guardrails, name, value)
    guardrails.updated_by = actor
    guardrails.full_clean()
    guardrails.save()
    data: dict[str, Any] = {"before": before, "after": fields}
    if approval is not None:
        data.update(approval=approval.pk, requested_by=approval.requested_by_id)
    audit_event_record(actor=actor, verb="guardrails.updated", target=guardrails, data=data)
    return guardrails
