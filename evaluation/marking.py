"""The evaluators' individual marks, then the chair's consensus."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import notifications as notices
from marketplace.models import User
from marketplace.services import audit_event_record, notification_send
from marketplace.transitions import transition
from opportunities.models import Criterion

from . import permissions
from .models import ConsensusMark, Evaluation, Mark, Packet, PanelMember
from .notices import notice_context

Status = Evaluation.Status


@dataclass(frozen=True)
class MarkInput:
    passed: bool | None = None
    score: int | None = None
    rationale: str = ""


def _check_mark(criterion: Criterion, value: MarkInput) -> dict[str, str]:
    problems = {}
    if criterion.kind == Criterion.Kind.MANDATORY:
        if value.passed is None:
            problems["passed"] = _("Say whether the bid passes this criterion.")
    elif value.score is None:
        problems["score"] = _("Give a score.")
    elif not 0 <= value.score <= (criterion.max_score or 0):
        problems["score"] = _("The score must be between 0 and %(max)s.") % {
            "max": criterion.max_score
        }
    if not value.rationale.strip():
        problems["rationale"] = _("Explain the mark: every mark needs a rationale.")
    return problems


@transaction.atomic
def marks_save(*, evaluator: User, packet: Packet, values: dict[int, MarkInput]) -> list[Mark]:
    """Save an evaluator's marks on one packet (drafts until they submit them all)."""
    member = _own_active_seat(evaluator, packet.evaluation)
    if member.marks_submitted_at:
        raise ValidationError(_("Your marks are submitted and final."))
    criteria = {c.pk: c for c in packet.evaluation.opportunity.criteria.all()}
    if set(values) - set(criteria):
        raise ValidationError(_("A mark refers to a criterion of another opportunity."))
    errors = {}
    for criterion_id, value in values.items():
        criterion = criteria[criterion_id]
        if value.score is not None and not 0 <= value.score <= (criterion.max_score or 0):
            errors[f"score_{criterion_id}"] = _check_mark(criterion, value)["score"]
    if errors:
        raise ValidationError(errors)
    saved = []
    for criterion_id, value in values.items():
        mark, _created = Mark.objects.update_or_create(
            member=member,
            packet=packet,
            criterion_id=criterion_id,
            defaults={
                "passed": value.passed if criteria[criterion_id].kind == "mandatory" else None,
                "score": value.score if criteria[criterion_id].kind == "rated" else None,
                "rationale": value.rationale.strip(),
            },
        )
        saved.append(mark)
    return saved


def _own_active_seat(evaluator: User, evaluation: Evaluation) -> PanelMember:
    """The evaluator's seat, locked, with the evaluation's current state read under the lock
    (the caller's instance may be stale)."""
    member = (
        PanelMember.objects.select_for_update()
        .select_related("evaluation")
        .filter(evaluation=evaluation, evaluator=evaluator)
        .first()
    )
    if member is None or not permissions.may_see_packets(evaluator, member):
        raise PermissionDenied
    if member.evaluation.status not in (Status.PANEL, Status.SCORING):
        raise ValidationError(_("Individual scoring is over."))
    return member


def missing_marks(member: PanelMember) -> list[tuple[Packet, Criterion]]:
    """What this evaluator still has to mark (value and rationale) before submitting."""
    evaluation = member.evaluation
    criteria = list(evaluation.opportunity.criteria.all())
    marks = {(m.packet_id, m.criterion_id): m for m in member.marks.all()}
    missing = []
    for packet in evaluation.packets.all():
        for criterion in criteria:
            mark = marks.get((packet.pk, criterion.pk))
            value = MarkInput(mark.passed, mark.score, mark.rationale) if mark else MarkInput()
            if _check_mark(criterion, value):
                missing.append((packet, criterion))
    return missing


def marks_digest(marks: Iterable[Mark | ConsensusMark]) -> str:
    """SHA-256 of a set of marks as a confirmation page shows them (bid, criterion, pass or
    score, rationale): the page carries it, and the step it confirms refuses if the marks it
    would act on are no longer those (changed in another tab meanwhile)."""
    rows = sorted(
        (mark.packet_id, mark.criterion_id, mark.passed, mark.score, mark.rationale)
        for mark in marks
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@transaction.atomic
def marks_submit(*, evaluator: User, evaluation: Evaluation, reviewed: str = "") -> PanelMember:
    """The evaluator's marks become final. `reviewed`: the digest (`marks_digest`) of the
    marks the confirmation page showed; when given, the marks must still be those."""
    member = _own_active_seat(evaluator, evaluation)
    if member.marks_submitted_at:
        raise ValidationError(_("Your marks are already submitted."))
    if reviewed and reviewed != marks_digest(member.marks.all()):
        raise ValidationError(
            _(
                "Your marks changed after you reviewed them (in another tab?). Review them "
                "again, as they are now."
            ),
            code="reviewed_changed",
        )
    missing = missing_marks(member)
    if missing:
        raise ValidationError(
            _("Mark every criterion of every bid, with a rationale, before you submit: %(n)s left.")
            % {"n": len(missing)}
        )
    member.marks_submitted_at = timezone.now()
    member.save(update_fields=["marks_submitted_at"])
    audit_event_record(actor=evaluator, verb="marks.submitted", target=evaluation)
    maybe_start_consensus(evaluation)
    return member


def maybe_start_consensus(evaluation: Evaluation) -> None:
    """Once every active member has submitted their marks, the chair records the consensus."""
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    active = [m for m in evaluation.panel.all() if m.active]
    if evaluation.status != Status.SCORING or not all(m.marks_submitted_at for m in active):
        return
    evaluation, _event = transition(
        evaluation, Status.CONSENSUS, actor=None, verb="evaluation.consensus"
    )
    chair = next(m for m in active if m.is_chair)
    notification_send(
        kind="evaluation.consensus_ready",
        recipients=[chair.evaluator],
        event_key=str(evaluation.pk),
        context=notice_context(
            evaluation, link=notices.link("evaluation:consensus", pk=evaluation.opportunity_id)
        ),
    )


@transaction.atomic
def consensus_save(
    *, chair: User, packet: Packet, values: dict[int, MarkInput]
) -> list[ConsensusMark]:
    evaluation = Evaluation.objects.select_for_update().get(pk=packet.evaluation_id)
    if not permissions.is_chair(chair, evaluation):
        raise PermissionDenied
    if evaluation.status != Status.CONSENSUS:
        raise ValidationError(_("Consensus is not open."))
    criteria = {c.pk: c for c in evaluation.opportunity.criteria.all()}
    errors = {}
    for criterion_id, value in values.items():
        if criterion_id not in criteria:
            raise ValidationError(_("A mark refers to a criterion of another opportunity."))
        for field, message in _check_mark(criteria[criterion_id], value).items():
            errors[f"{field}_{criterion_id}"] = message
    if errors:
        raise ValidationError(errors)
    recorded = {m.criterion_id: m for m in packet.consensus.all()}
    if values and all(
        _same_mark(recorded.get(criterion_id), criteria[criterion_id], value)
        for criterion_id, value in values.items()
    ):
        return list(recorded.values())  # the same consensus again: nothing to record
    saved = []
    for criterion_id, value in values.items():
        mark, _created = ConsensusMark.objects.update_or_create(
            packet=packet,
            criterion_id=criterion_id,
            defaults={
                "passed": value.passed if criteria[criterion_id].kind == "mandatory" else None,
                "score": value.score if criteria[criterion_id].kind == "rated" else None,
                "rationale": value.rationale.strip(),
                "recorded_by": chair,
                "recorded_at": timezone.now(),
            },
        )
        saved.append(mark)
    audit_event_record(
        actor=chair,
        verb="consensus.recorded",
        target=evaluation,
        data={"packet": packet.label, "criteria": sorted(values)},
    )
    return saved


def _same_mark(mark: ConsensusMark | None, criterion: Criterion, value: MarkInput) -> bool:
    """Whether the recorded consensus `mark` already says what `value` says."""
    if mark is None:
        return False
    wanted: tuple[bool | None, int | None]
    if criterion.kind == Criterion.Kind.MANDATORY:
        wanted = (value.passed, None)
    else:
        wanted = (None, value.score)
    return (mark.passed, mark.score, mark.rationale) == (*wanted, value.rationale.strip())
