"""Every write of evaluation: packets, panel, marks, consensus, selection, reveal, award."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bids.identity import identity_tokens, redact
from bids.models import Attachment, Bid
from marketplace import notifications as notices
from marketplace.models import Role, SupplierProfile, User
from marketplace.services import audit_event_record, notification_send, notification_send_each
from marketplace.tasks import enqueue_on_commit
from opportunities import services as opportunity_services
from opportunities.models import Criterion, Opportunity, SelectionMethod
from payments.services import contract_create, contract_decline

from . import permissions
from .models import (
    ConsensusMark,
    Evaluation,
    Mark,
    Offer,
    Packet,
    PacketAttachment,
    PanelMember,
)

Status = Evaluation.Status
Declaration = PanelMember.Declaration
LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud without doubt


def _transition(evaluation: Evaluation, to: str, *, actor: User | None, verb: str, **data):
    locked = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not locked.can_transition_to(to):
        raise ValidationError(
            _("The evaluation is at “%(status)s”: this step is not possible now.")
            % {"status": Status(locked.status).label}
        )
    previous, locked.status = locked.status, to
    locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "status_changed_at"])
    audit_event_record(
        actor=actor, verb=verb, target=locked, data={"from": previous, "to": to, **data}
    )
    return locked


def _context(evaluation: Evaluation, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("evaluation:overview", pk=evaluation.opportunity_id))
    return opportunity_services.notice_context(evaluation.opportunity, **extra)


# --- At the close: commitment, then packets -----------------------------------------------------


def evaluation_open(*, opportunity: Opportunity) -> Evaluation:
    """Inside the close's transaction: commit to a secret seed, then build packets after it."""
    from .tasks import evaluation_build_packets

    seed = secrets.token_hex(32)
    evaluation = Evaluation.objects.create(
        opportunity=opportunity, seed=seed, commitment=Evaluation.commit(seed)
    )
    audit_event_record(
        actor=None,
        verb="evaluation.committed",
        target=evaluation,
        data={"commitment": evaluation.commitment},
    )
    enqueue_on_commit(evaluation_build_packets, opportunity.pk)
    return evaluation


def _new_label(taken: set[str]) -> str:
    while True:
        label = "Bid " + "".join(secrets.choice(LABEL_ALPHABET) for _ in range(3))
        if label not in taken:
            taken.add(label)
            return label


@transaction.atomic
def evaluation_build_packets(*, opportunity: Opportunity) -> int:
    """One packet per sealed bid: a random label, the answers with the supplier's identity
    replaced by [redacted], the attachments (already without metadata). Idempotent."""
    evaluation = Evaluation.objects.select_for_update().get(opportunity=opportunity)
    if evaluation.status != Status.PREPARING:
        return 0
    bids = list(
        Bid.objects.filter(opportunity=opportunity, status=Bid.Status.SEALED).select_related(
            "supplier"
        )
    )
    secrets.SystemRandom().shuffle(bids)  # creation order says nothing about submission order
    profiles = {
        p.user_id: p for p in SupplierProfile.objects.filter(user__in=[b.supplier for b in bids])
    }
    taken: set[str] = set()
    for bid in bids:
        receipt = bid.last_receipt
        tokens = identity_tokens(bid.supplier, profiles.get(bid.supplier_id))
        packet = Packet.objects.create(
            evaluation=evaluation,
            bid=bid,
            label=_new_label(taken),
            answers=[
                {"criterion": item["criterion"], "text": redact(item["text"], tokens)}
                for item in receipt.content["answers"]
            ],
            proposed_start_date=receipt.content["proposed_start_date"],
        )
        for number, item in enumerate(receipt.content["attachments"], start=1):
            original = Attachment.objects.get(pk=item["id"], bid=bid)
            with original.file.open("rb") as handle:
                content = handle.read()
            copy = PacketAttachment(packet=packet, number=number, sha256=item["sha256"])
            copy.file.save("packet.pdf", ContentFile(content), save=False)
            copy.save()
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    if not bids:
        _transition(evaluation, Status.UNSUCCESSFUL, actor=None, verb="evaluation.no_bids")
        opportunity_services.opportunity_mark_unsuccessful(
            opportunity=opportunity, actor=None, reason="no bids"
        )
        notification_send(
            kind="evaluation.no_bids",
            recipients=[opportunity.buyer],
            event_key=str(evaluation.pk),
            context=_context(
                evaluation, link=notices.link("opportunities:detail", pk=opportunity.pk)
            ),
        )
        return 0
    _transition(
        evaluation, Status.PANEL, actor=None, verb="evaluation.packets_ready", packets=len(bids)
    )
    opportunity_services.opportunity_start_evaluation(opportunity=opportunity)
    notification_send(
        kind="evaluation.ready",
        recipients=[opportunity.buyer],
        event_key=str(evaluation.pk),
        context=_context(evaluation, count=len(bids)),
    )
    return len(bids)


# --- The panel ---------------------------------------------------------------------------------


@transaction.atomic
def panel_appoint(
    *, actor: User, evaluation: Evaluation, evaluator: User, is_chair: bool = False
) -> PanelMember:
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    if evaluation.status not in (Status.PANEL, Status.SCORING):
        raise ValidationError(_("The panel can no longer change."))
    if Role.EVALUATOR not in evaluator.roles or evaluator.pk == evaluation.opportunity.buyer_id:
        raise ValidationError(_("Only staff with the evaluator role, other than the buyer."))
    if evaluation.panel.filter(evaluator=evaluator).exists():
        raise ValidationError(_("This person is already on the panel."))
    if is_chair:
        evaluation.panel.filter(is_chair=True).update(is_chair=False)
    member = PanelMember.objects.create(
        evaluation=evaluation, evaluator=evaluator, is_chair=is_chair, appointed_by=actor
    )
    audit_event_record(
        actor=actor,
        verb="panel.appointed",
        target=evaluation,
        data={"evaluator": evaluator.pk, "chair": is_chair},
    )
    notification_send(
        kind="evaluation.assigned",
        recipients=[evaluator],
        event_key=f"{evaluation.pk}:{member.pk}",
        context=_context(
            evaluation, link=notices.link("evaluation:declare", pk=evaluation.opportunity_id)
        ),
    )
    return member


@transaction.atomic
def panel_make_chair(*, actor: User, member: PanelMember) -> PanelMember:
    evaluation = Evaluation.objects.select_for_update().get(pk=member.evaluation_id)
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    if evaluation.status not in (Status.PANEL, Status.SCORING) or not member.active:
        raise ValidationError(_("This member cannot chair the panel now."))
    evaluation.panel.update(is_chair=False)
    PanelMember.objects.filter(pk=member.pk).update(is_chair=True)
    audit_event_record(
        actor=actor, verb="panel.chair_named", target=evaluation, data={"member": member.pk}
    )
    _maybe_start_scoring(evaluation)
    return PanelMember.objects.get(pk=member.pk)


@transaction.atomic
def panel_declare(
    *, evaluator: User, member: PanelMember, conflict: bool, note: str = ""
) -> PanelMember:
    """Before seeing any packet: no conflict of interest, or recuse."""
    member = PanelMember.objects.select_for_update().select_related("evaluation").get(pk=member.pk)
    if member.evaluator_id != evaluator.pk:
        raise PermissionDenied
    if member.declaration != Declaration.PENDING:
        raise ValidationError(_("You have already declared."))
    if conflict and not note.strip():
        raise ValidationError({"note": _("Say briefly what the conflict is.")})
    member.declaration = Declaration.RECUSED if conflict else Declaration.NO_CONFLICT
    member.declaration_note = note.strip()
    member.declared_at = timezone.now()
    if conflict:
        member.is_chair = False
    member.save()
    evaluation = member.evaluation
    audit_event_record(
        actor=evaluator,
        verb="panel.recused" if conflict else "panel.declared_no_conflict",
        target=evaluation,
        data={"member": member.pk},
    )
    if conflict:
        notification_send(
            kind="evaluation.recused",
            recipients=[evaluation.opportunity.buyer],
            event_key=f"{evaluation.pk}:{member.pk}",
            context=_context(evaluation),
        )
    _maybe_start_scoring(evaluation)
    return member


def panel_is_complete(evaluation: Evaluation) -> bool:
    active = [m for m in evaluation.panel.all() if m.active]
    return (
        len(active) >= evaluation.opportunity.evaluator_count
        and all(m.declaration == Declaration.NO_CONFLICT for m in active)
        and sum(m.is_chair for m in active) == 1
    )


def _maybe_start_scoring(evaluation: Evaluation) -> None:
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    if evaluation.status == Status.PANEL and panel_is_complete(evaluation):
        _transition(evaluation, Status.SCORING, actor=None, verb="evaluation.panel_complete")
    _maybe_start_consensus(evaluation)


# --- Individual marks --------------------------------------------------------------------------


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


@transaction.atomic
def marks_submit(*, evaluator: User, evaluation: Evaluation) -> PanelMember:
    member = _own_active_seat(evaluator, evaluation)
    if member.marks_submitted_at:
        raise ValidationError(_("Your marks are already submitted."))
    missing = missing_marks(member)
    if missing:
        raise ValidationError(
            _("Mark every criterion of every bid, with a rationale, before you submit: %(n)s left.")
            % {"n": len(missing)}
        )
    member.marks_submitted_at = timezone.now()
    member.save(update_fields=["marks_submitted_at"])
    audit_event_record(actor=evaluator, verb="marks.submitted", target=evaluation)
    _maybe_start_consensus(evaluation)
    return member


def _maybe_start_consensus(evaluation: Evaluation) -> None:
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    active = [m for m in evaluation.panel.all() if m.active]
    if evaluation.status != Status.SCORING or not all(m.marks_submitted_at for m in active):
        return
    evaluation = _transition(evaluation, Status.CONSENSUS, actor=None, verb="evaluation.consensus")
    chair = next(m for m in active if m.is_chair)
    notification_send(
        kind="evaluation.consensus_ready",
        recipients=[chair.evaluator],
        event_key=str(evaluation.pk),
        context=_context(
            evaluation, link=notices.link("evaluation:consensus", pk=evaluation.opportunity_id)
        ),
    )


# --- Consensus, lock and selection -------------------------------------------------------------


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


def draw_key(seed: str, label: str) -> str:
    """The documented rule: order labels by SHA-256 of "<seed>:<label>" (hex, ascending)."""
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()


def draw_order(seed: str, labels: list[str]) -> list[str]:
    return sorted(sorted(labels), key=lambda label: draw_key(seed, label))


def packet_score(packet: Packet, criteria: list[Criterion]) -> tuple[bool, Decimal]:
    """(passes every mandatory criterion, weighted consensus score out of 100)."""
    marks = {m.criterion_id: m for m in packet.consensus.all()}
    passes = all(marks[c.pk].passed for c in criteria if c.kind == Criterion.Kind.MANDATORY)
    rated = [c for c in criteria if c.kind == Criterion.Kind.RATED]
    total_weight = sum(c.weight or 1 for c in rated)
    if not total_weight:
        return passes, Decimal("0")
    points = sum(
        Decimal(c.weight or 1) * Decimal(marks[c.pk].score) / Decimal(c.max_score) for c in rated
    )
    return passes, (points * 100 / total_weight).quantize(Decimal("0.01"))


def selection_ranking(
    *, method: str, seed: str, scores: dict[str, Decimal], margin: int | None
) -> tuple[list[str], list[str], list[str]]:
    """(eligible labels, the draw's order of them, full ranking of qualified labels).

    `scores` holds the qualified labels only. Highest score: rank by score, ties by the draw.
    Draw among passing: the draw's order. Draw within N points of the top: the draw's order
    among those within the margin, then the others by score (ties by the draw)."""
    qualified = sorted(scores)
    if method in (SelectionMethod.HIGHEST_SCORE, SelectionMethod.DRAW_AMONG_PASSING):
        eligible = qualified
    else:
        top = max(scores.values(), default=Decimal("0"))
        eligible = [label for label in qualified if scores[label] >= top - (margin or 0)]
    order = draw_order(seed, eligible)
    position = {label: i for i, label in enumerate(draw_order(seed, qualified))}
    if method == SelectionMethod.HIGHEST_SCORE:
        ranking = sorted(qualified, key=lambda label: (-scores[label], position[label]))
    else:
        rest = sorted(
            (label for label in qualified if label not in eligible),
            key=lambda label: (-scores[label], position[label]),
        )
        ranking = order + rest
    return eligible, order, ranking


@transaction.atomic
def evaluation_lock(*, chair: User, evaluation: Evaluation) -> Evaluation:
    """The chair locks the consensus; the selection follows at once and reveals the seed."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not permissions.is_chair(chair, evaluation):
        raise PermissionDenied
    if evaluation.status != Status.CONSENSUS:
        raise ValidationError(_("Consensus is not open."))
    opportunity = evaluation.opportunity
    criteria = list(opportunity.criteria.all())
    packets = list(evaluation.packets.prefetch_related("consensus"))
    recorded = {(m.packet_id, m.criterion_id) for p in packets for m in p.consensus.all()}
    if len(recorded) < len(packets) * len(criteria):
        raise ValidationError(
            _("Record the consensus on every criterion of every bid before locking: %(n)s left.")
            % {"n": len(packets) * len(criteria) - len(recorded)}
        )
    scores: dict[str, Decimal] = {}
    for packet in packets:
        packet.qualified, packet.score = packet_score(packet, criteria)
        if packet.qualified:
            scores[packet.label] = packet.score
    eligible, order, ranking = selection_ranking(
        method=opportunity.selection_method,
        seed=evaluation.seed,
        scores=scores,
        margin=opportunity.draw_margin_points,
    )
    rank = {label: i for i, label in enumerate(ranking, start=1)}
    for packet in packets:
        packet.rank = rank.get(packet.label)
        packet.save(update_fields=["qualified", "score", "rank"])
        Bid.objects.filter(pk=packet.bid_id).update(
            status=Bid.Status.QUALIFIED if packet.qualified else Bid.Status.DISQUALIFIED
        )
    now = timezone.now()
    evaluation.eligible_labels = eligible
    evaluation.draw_order = order
    evaluation.selected_label = ranking[0] if ranking else ""
    evaluation.seed_revealed_at = now
    evaluation.locked_at = now
    evaluation.locked_by = chair
    evaluation.save()
    if not ranking:
        _transition(evaluation, Status.UNSUCCESSFUL, actor=chair, verb="evaluation.unsuccessful")
        opportunity_services.opportunity_mark_unsuccessful(
            opportunity=opportunity, actor=chair, reason="no qualified bid"
        )
        _tell_bidders_unsuccessful(evaluation)
        return Evaluation.objects.get(pk=evaluation.pk)
    evaluation = _transition(
        evaluation,
        Status.SELECTED,
        actor=chair,
        verb="evaluation.selected",
        seed=evaluation.seed,
        eligible=eligible,
        order=order,
        selected=ranking[0],
    )
    notification_send(
        kind="evaluation.selected",
        recipients=[opportunity.buyer],
        event_key=str(evaluation.pk),
        context=_context(evaluation),
    )
    return evaluation


def _tell_bidders_unsuccessful(evaluation: Evaluation) -> None:
    notification_send(
        kind="opportunity.unsuccessful",
        recipients=User.objects.filter(bids__packet__evaluation=evaluation),
        event_key=str(evaluation.pk),
        context=_context(
            evaluation, link=notices.link("opportunities:detail", pk=evaluation.opportunity_id)
        ),
    )


def verify_draw(evaluation: Evaluation) -> list[str]:
    """Recompute the public record; returns the problems found (empty: it checks out)."""
    problems = []
    if not evaluation.seed_revealed_at:
        return [_("The seed is not revealed yet.")]
    if Evaluation.commit(evaluation.seed) != evaluation.commitment:
        problems.append(_("The seed does not match the commitment published at the close."))
    if draw_order(evaluation.seed, evaluation.eligible_labels) != evaluation.draw_order:
        problems.append(_("The order does not follow from the seed and the eligible labels."))
    return problems


# --- Reveal, award, re-award -------------------------------------------------------------------


@transaction.atomic
def evaluation_reveal(*, actor: User, evaluation: Evaluation) -> Evaluation:
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    evaluation = _transition(evaluation, Status.REVEALED, actor=actor, verb="evaluation.revealed")
    evaluation.revealed_at = timezone.now()
    evaluation.revealed_by = actor
    evaluation.save(update_fields=["revealed_at", "revealed_by"])
    return evaluation


def _ranked(evaluation: Evaluation) -> list[Packet]:
    return list(
        evaluation.packets.filter(rank__isnull=False).select_related("bid").order_by("rank")
    )


def _offer(evaluation: Evaluation, packet: Packet, actor: User) -> Offer:
    number = (evaluation.offers.aggregate(top=Max("number"))["top"] or 0) + 1
    offer = Offer.objects.create(
        evaluation=evaluation, packet=packet, number=number, offered_by=actor
    )
    Bid.objects.filter(pk=packet.bid_id).update(status=Bid.Status.AWARDED)
    contract_create(opportunity=evaluation.opportunity, bid=packet.bid)
    audit_event_record(
        actor=actor,
        verb="evaluation.offered",
        target=evaluation,
        data={"offer": number, "packet": packet.label, "bid": packet.bid_id},
    )
    notification_send(
        kind="bid.awarded",
        recipients=User.objects.filter(pk=packet.bid.supplier_id),
        event_key=f"{evaluation.pk}:{number}",
        context=_context(evaluation, link=notices.link("bids:detail", pk=packet.bid_id)),
    )
    return offer


@transaction.atomic
def evaluation_award(*, actor: User, evaluation: Evaluation) -> Offer:
    """Award to the first in rank; tell every other bidder, with their debrief."""
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    evaluation = _transition(evaluation, Status.AWARDED, actor=actor, verb="evaluation.awarded")
    opportunity_services.opportunity_mark_awarded(opportunity=evaluation.opportunity, actor=actor)
    ranked = _ranked(evaluation)
    offer = _offer(evaluation, ranked[0], actor)
    others = evaluation.packets.exclude(pk=ranked[0].pk).select_related("bid__supplier")
    Bid.objects.filter(packet__in=others).update(status=Bid.Status.NOT_AWARDED)
    _send_debriefs(evaluation, others)
    return offer


def debrief_text(packet: Packet, criteria: list[Criterion], language: str) -> str:
    """A bidder's own consensus marks, rationales and rank, in their language (criteria in
    their order; the packet's consensus marks prefetched)."""
    marks = {m.criterion_id: m for m in packet.consensus.all()}
    lines = []
    with translation.override(language):
        for criterion in criteria:
            mark = marks[criterion.pk]
            text = criterion.text
            if mark.passed is not None:
                value = _("pass") if mark.passed else _("fail")
            else:
                value = f"{mark.score}/{criterion.max_score}"
            lines.append(f"- {text}: {value}. {mark.rationale}")
        if packet.rank:
            lines.append(_("Your rank: %(rank)s.") % {"rank": packet.rank})
        else:
            lines.append(
                _("Your bid did not pass every mandatory criterion, so it was not ranked.")
            )
    return "\n".join(lines)


def _send_debriefs(evaluation: Evaluation, packets) -> None:
    criteria = list(evaluation.opportunity.criteria.all())
    messages = []
    for packet in packets.prefetch_related("consensus"):
        supplier = packet.bid.supplier
        context = _context(
            evaluation,
            debrief=notices.bilingual(
                debrief_text(packet, criteria, "en"), debrief_text(packet, criteria, "fr")
            ),
            link=notices.link("bids:detail", pk=packet.bid_id),
        )
        messages.append((supplier.pk, supplier.preferred_language, context))
    notification_send_each(kind="bid.not_awarded", event_key=str(evaluation.pk), messages=messages)


@transaction.atomic
def offer_end(*, actor: User, offer: Offer, outcome: str, reason: str = "") -> Offer | None:
    """The awardee declines (the supplier) or defaults (the buyer declares it): the award
    passes to the next in rank. Returns the new offer, or None when nobody is left."""
    offer = Offer.objects.select_for_update().select_related("packet__bid").get(pk=offer.pk)
    evaluation = Evaluation.objects.select_for_update().get(pk=offer.evaluation_id)
    if offer.outcome != Offer.Outcome.OPEN:
        raise ValidationError(_("This award has already ended."))
    if outcome == Offer.Outcome.DECLINED:
        if offer.packet.bid.supplier_id != actor.pk:
            raise PermissionDenied
        contract_decline(bid=offer.packet.bid, supplier=actor)
    elif outcome == Offer.Outcome.DEFAULTED:
        if not permissions.can_manage_panel(actor, evaluation):
            raise PermissionDenied
        if not reason.strip():
            raise ValidationError({"reason": _("Give the reason for the default.")})
    else:
        raise ValueError(outcome)
    offer.outcome = outcome
    offer.ended_at = timezone.now()
    offer.reason = reason.strip()
    offer.save()
    Bid.objects.filter(pk=offer.packet.bid_id).update(status=Bid.Status.TERMINATED)
    audit_event_record(
        actor=actor,
        verb=f"evaluation.offer_{outcome}",
        target=evaluation,
        data={"offer": offer.number, "packet": offer.packet.label},
    )
    offered = set(evaluation.offers.values_list("packet_id", flat=True))
    remaining = [p for p in _ranked(evaluation) if p.pk not in offered]
    if not remaining:
        _transition(evaluation, Status.UNSUCCESSFUL, actor=actor, verb="evaluation.unsuccessful")
        opportunity_services.opportunity_mark_unsuccessful(
            opportunity=evaluation.opportunity, actor=actor, reason="every ranked bid ended"
        )
        _tell_bidders_unsuccessful(evaluation)
        return None
    return _offer(evaluation, remaining[0], evaluation.opportunity.buyer)
