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

from bids.identity import IdentityToken, identity_tokens, redact
from bids.models import Attachment, Bid, Receipt
from bids.pdf import CleanPdf, PdfRefused, clean_pdf
from bids.pdf_worker import PdfCheckFailed, check_pdf
from marketplace import notifications as notices
from marketplace.models import AuditEvent, Role, SupplierProfile, User
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
    bid_label,
    bid_labels,
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


LABEL_RECORD_HEADER = "marketplace-draw-labels v2"


def bid_binding(seed: str, label: str, receipt_digest: str) -> str:
    """What ties a label to its bid: SHA-256 of "<seed>:<label>:<receipt digest>", the digest
    being the one on that bid's last receipt. Opaque until the seed is revealed at the lock;
    from then on anyone can check it, and each supplier with the digest on their own receipt."""
    return hashlib.sha256(f"{seed}:{label}:{receipt_digest}".encode()).hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label_record(
    *,
    commitment: str,
    seed: str,
    opportunity: Opportunity,
    criteria: list[Criterion],
    receipts: dict[str, str],
) -> str:
    """The text the label digest is the SHA-256 of (UTF-8), so anyone can rebuild it by hand:
    the header line; "commitment <hex>"; "method <code>"; "margin <points or none>"; one line
    per criterion in the opportunity's order, "criterion <n> id <id> mandatory en <h> fr <h>"
    or "criterion <n> id <id> rated weight <w> max <m> en <h> fr <h>", <h> the SHA-256 of the
    criterion's English, then French, text; then for each label in character-code order (as
    `LC_ALL=C sort`) "label <label> receipt <bid_binding(seed, label, receipt digest)>".
    Every line ends with a line feed, the last one too. `receipts`: label -> the digest of the
    last receipt of the bid behind it.

    The method and the criteria are in it because eligibility is recomputed from them, and
    each bid's receipt because the award follows the packet to its bid: binding all of it
    before scoring means none of it can be changed afterwards unseen."""
    margin = opportunity.draw_margin_points
    lines = [
        LABEL_RECORD_HEADER,
        f"commitment {commitment}",
        f"method {opportunity.selection_method}",
        f"margin {'none' if margin is None else margin}",
    ]
    for number, criterion in enumerate(criteria, start=1):
        texts = f"en {_text_digest(criterion.text_en)} fr {_text_digest(criterion.text_fr)}"
        if criterion.kind == Criterion.Kind.MANDATORY:
            kind = "mandatory"
        else:
            kind = f"rated weight {criterion.weight or 1} max {criterion.max_score}"
        lines.append(f"criterion {number} id {criterion.pk} {kind} {texts}")
    lines += [
        f"label {label} receipt {bid_binding(seed, label, receipts[label])}"
        for label in sorted(receipts)
    ]
    return "".join(f"{line}\n" for line in lines)


def label_digest(record: str) -> str:
    return hashlib.sha256(record.encode("utf-8")).hexdigest()


def _receipt_digests(packets: list[Packet]) -> dict[str, str]:
    """label -> the digest of the last receipt of the bid behind it ("" when it has none)."""
    last: dict[int, str] = {}
    for bid_id, digest in (
        Receipt.objects.filter(bid__in=[p.bid_id for p in packets])
        .order_by("bid_id", "number")
        .values_list("bid_id", "digest")
    ):
        last[bid_id] = digest
    return {p.label: last.get(p.bid_id, "") for p in packets}


def _labels_bind(evaluation: Evaluation) -> None:
    """Inside the packets' transaction, before any evaluator can score: publish the digest of
    the labels (rule: label_record) and record it, with its text, in the audit trail (the text
    names no one: the bids are bound through the still secret seed)."""
    packets = list(evaluation.packets.all())
    if not packets:
        return  # no bids: no draw to bind
    opportunity = Opportunity.objects.get(pk=evaluation.opportunity_id)
    record = label_record(
        commitment=evaluation.commitment,
        seed=evaluation.seed,
        opportunity=opportunity,
        criteria=list(opportunity.criteria.all()),
        receipts=_receipt_digests(packets),
    )
    evaluation.label_digest = label_digest(record)
    evaluation.labels_bound_at = timezone.now()
    evaluation.full_clean()
    evaluation.save(update_fields=["label_digest", "labels_bound_at"])
    audit_event_record(
        actor=None,
        verb="evaluation.labels_bound",
        target=evaluation,
        data={
            "label_digest": evaluation.label_digest,
            "labels": sorted(p.label for p in packets),
            "record": record,
        },
    )


@transaction.atomic
def evaluation_build_packets(*, opportunity: Opportunity) -> int:
    """One packet per sealed bid: a random label, the answers with the supplier's identity
    replaced by [redacted] (pages show it in the reader's language), the attachments rebuilt
    (bids.pdf). Idempotent."""
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
        # As the supplier stands now and as they stood when they submitted: a rename since
        # leaves the former name in the answers (none kept for bids submitted before that).
        tokens = identity_tokens(
            bid.supplier, profiles.get(bid.supplier_id), earlier=bid.identity_at_submission
        )
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
            _packet_attachment(packet, number, item, tokens)
    # The packets made, the copies of who submitted serve no more: not kept.
    Bid.objects.filter(opportunity=opportunity).update(identity_at_submission={})
    _labels_bind(evaluation)
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


def _rebuilt(content: bytes, tokens: list[IdentityToken]) -> CleanPdf:
    """The stored copy checked and rebuilt in a child process within the check's limits
    (bids/pdf_worker.py): it came from a supplier's file, and a crash here would take the
    worker down, then again the task redelivered to the next. Should the checking process be
    unable to run (logged), the copy is checked here as it was before, not withheld for it."""
    try:
        return check_pdf(content, identity=tokens)
    except PdfCheckFailed:
        return clean_pdf(content, identity=tokens)


def _packet_attachment(
    packet: Packet, number: int, item: dict[str, Any], tokens: list[IdentityToken]
) -> PacketAttachment:
    """The evaluator's copy of one submitted attachment, rebuilt again under today's rules and
    checked against the supplier's identity as it stands at the close and as it stood at their
    submissions. A file that now names the supplier (their profile changed after the upload) is
    withheld, never shown in part."""
    original = Attachment.objects.get(pk=item["id"], bid=packet.bid)
    with original.file.open("rb") as handle:
        content = handle.read()
    try:
        rebuilt = _rebuilt(content, tokens)
    except PdfRefused as refused:
        audit_event_record(
            actor=None,
            verb="packet.attachment_withheld",
            target=packet,
            data={"label": packet.label, "number": number, "words": len(refused.found)},
        )
        return PacketAttachment.objects.create(
            packet=packet, number=number, sha256=item["sha256"], withheld=True
        )
    copy = PacketAttachment(packet=packet, number=number, sha256=rebuilt.sha256)
    copy.file.save("packet.pdf", ContentFile(rebuilt.content), save=False)
    copy.save()
    return copy


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
    if permissions.has_stake_in(evaluator, opportunity_id=evaluation.opportunity_id):
        # Only a staff account that broke the supplier/staff rule can get here; the buyer
        # learns that this one person cannot sit, never anything about the bid itself.
        raise ValidationError(
            _(
                "This person has a bid on this opportunity (a draft or a withdrawn bid counts): "
                "nobody who bid on an opportunity sits on its panel."
            )
        )
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
    if PanelMember.objects.filter(pk=member.pk, is_chair=True).exists():
        return PanelMember.objects.get(pk=member.pk)  # the chair already (a repeated click)
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
    # Checked again here, not only at the appointment: a seat from before a rule change, or a
    # bid or role change since, must not lead to the packets. Recusing is always possible.
    if not conflict and (not evaluator.is_active or Role.EVALUATOR not in evaluator.roles):
        raise PermissionDenied
    if not conflict and permissions.has_stake_in(
        evaluator, opportunity_id=member.evaluation.opportunity_id
    ):
        raise ValidationError(
            _(
                "You have a bid on this opportunity (a draft or a withdrawn bid counts), so you "
                "cannot evaluate it: declare the conflict to recuse yourself."
            )
        )
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
    if criterion.kind == Criterion.Kind.MANDATORY:
        wanted = (value.passed, None)
    else:
        wanted = (None, value.score)
    return (mark.passed, mark.score, mark.rationale) == (*wanted, value.rationale.strip())


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


def lock_packet_record(
    *,
    marks: dict[int, ConsensusMark],
    criteria: list[Criterion],
    qualified: bool | None,
    score: Decimal | None,
) -> dict[str, Any]:
    """One packet as the lock records it: its consensus per criterion id (pass/fail, or the
    score; None when missing), whether it qualified and its score."""
    values: dict[str, Any] = {}
    for criterion in criteria:
        mark = marks.get(criterion.pk)
        if mark is None:
            values[str(criterion.pk)] = None
        elif criterion.kind == Criterion.Kind.MANDATORY:
            values[str(criterion.pk)] = mark.passed
        else:
            values[str(criterion.pk)] = mark.score
    return {
        "marks": values,
        "qualified": qualified,
        "score": None if score is None else str(score),
    }


def _unscorable(criteria: list[Criterion]) -> list[str]:
    """A rated criterion without a maximum (only a database edit makes one): no score can be
    computed from it."""
    return [
        _("Criterion %(n)s has no maximum score, so no score can be computed from it.")
        % {"n": number}
        for number, criterion in enumerate(criteria, start=1)
        if criterion.kind == Criterion.Kind.RATED and not criterion.max_score
    ]


def _refuse_if_cancelled(opportunity_id: int) -> None:
    """Locked, so a cancellation cannot slip in between this check and the step."""
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity_id)
    if opportunity.status == Opportunity.Status.CANCELLED:
        raise ValidationError(
            _("The opportunity is cancelled: its evaluation cannot go on to a selection.")
        )


@transaction.atomic
def evaluation_lock(*, chair: User, evaluation: Evaluation) -> Evaluation:
    """The chair locks the consensus; the selection follows at once and reveals the seed."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not permissions.is_chair(chair, evaluation):
        raise PermissionDenied
    if evaluation.status != Status.CONSENSUS:
        raise ValidationError(_("Consensus is not open."))
    opportunity = evaluation.opportunity
    _refuse_if_cancelled(opportunity.pk)
    criteria = list(opportunity.criteria.all())
    unscorable = _unscorable(criteria)
    if unscorable:
        raise ValidationError(unscorable)
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
    # The whole lock, failed bids included, in the append-only trail: draw_check compares the
    # record with it, so no consensus mark, flag or score can be rewritten later unseen.
    record = {
        "seed": evaluation.seed,
        "eligible": eligible,
        "order": order,
        "selected": evaluation.selected_label,
        "scores": {label: str(score) for label, score in sorted(scores.items())},
        "packets": {
            p.label: lock_packet_record(
                marks={m.criterion_id: m for m in p.consensus.all()},
                criteria=criteria,
                qualified=p.qualified,
                score=p.score,
            )
            for p in sorted(packets, key=lambda p: p.label)
        },
    }
    if not ranking:
        _transition(
            evaluation, Status.UNSUCCESSFUL, actor=chair, verb="evaluation.unsuccessful", **record
        )
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
        **record,
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


@dataclass
class PacketCheck:
    """One label's published consensus and what follows from it, recomputed."""

    label: str
    marks: list[tuple[Criterion, ConsensusMark | None]]
    qualified: bool | None = None  # None: the published consensus misses a criterion
    score: Decimal | None = None
    eligible: bool = False
    rank: int | None = None


@dataclass
class DrawCheck:
    """The draw recomputed from its public record (the page and `verify_draw` show it)."""

    revealed: bool
    criteria: list[Criterion]
    label_record: str  # rebuilt from the packets as they are now
    label_digest: str
    binding_problems: list[str]  # what can be checked before the seed is revealed
    problems: list[str]  # everything; empty: the draw checks out
    # Recomputed once the seed is revealed; empty before.
    packets: list[PacketCheck]
    eligible: list[str]
    order: list[tuple[str, str]]  # (label, draw key)
    ranking: list[str]
    selected: str = ""

    @property
    def checks_out(self) -> bool:
        return self.revealed and not self.problems


def _data(event: AuditEvent) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {}


def _the_one(events: list[AuditEvent], step: str, problems: list[str]) -> AuditEvent | None:
    """The trail is append-only, but whoever can write to the database can still add rows,
    back-dated or not: a record the check relies on is written exactly once, so none, or more
    than one, makes it unusable rather than letting the check pick one."""
    if len(events) == 1:
        return events[0]
    if not events:
        problems.append(_("The audit trail has no record of %(step)s.") % {"step": step})
    else:
        problems.append(
            _(
                "The audit trail holds %(count)s records of %(step)s where there must be "
                "exactly one: some were added afterwards."
            )
            % {"count": len(events), "step": step}
        )
    return None


def _events(evaluation: Evaluation, *verbs: str) -> list[AuditEvent]:
    # By id, the order rows were written in: created_at is a column anyone can set.
    return list(AuditEvent.objects.for_target(evaluation).filter(verb__in=verbs).order_by("id"))


def _recorded(evaluation: Evaluation, verb: str, step: str, problems: list[str]) -> dict | None:
    """The data of the one audit event `verb` on the evaluation (None, reported, otherwise)."""
    event = _the_one(_events(evaluation, verb), step, problems)
    return None if event is None else _data(event)


def _lock_record(evaluation: Evaluation, problems: list[str]) -> tuple[str, dict] | None:
    """(verb, data) of the lock: "evaluation.selected", or "evaluation.unsuccessful" when no
    bid qualified. The unsuccessful end after an award (every ranked bid ended) is another
    event, from "awarded"."""
    events = [
        event
        for event in _events(evaluation, "evaluation.selected", "evaluation.unsuccessful")
        if event.verb == "evaluation.selected" or _data(event).get("from") != Status.AWARDED
    ]
    event = _the_one(events, _("the lock"), problems)
    return None if event is None else (event.verb, _data(event))


def _consensus_complete(criterion: Criterion, mark: ConsensusMark | None) -> bool:
    if mark is None:
        return False
    if criterion.kind == Criterion.Kind.MANDATORY:
        return mark.passed is not None
    return mark.score is not None


def _result_text(qualified: bool | None, score: Decimal | None) -> str:
    if qualified is None:
        return _("incomplete")
    values = {"score": "—" if score is None else score}
    if qualified:
        return _("qualified, %(score)s") % values
    return _("not qualified, %(score)s") % values


def _labels_text(labels: list[str]) -> str:
    return bid_labels(labels)


def _status_text(status: str) -> str:
    return Status(status).label if status in Status.values else status


def _record_lines(record: str) -> dict[str, set[str]]:
    """The lines of a label record by their first word ("criterion", "label"...)."""
    parts: dict[str, set[str]] = {}
    for line in record.splitlines():
        parts.setdefault(line.split(" ", 1)[0], set()).add(line)
    return parts


def _bound_labels(lines: set[str]) -> dict[str, str]:
    """label -> its line, from the "label <label> receipt <hex>" lines."""
    return {line[len("label ") :].rsplit(" receipt ", 1)[0]: line for line in lines}


def _record_differences(recorded: str, rebuilt: str, *, revealed: bool) -> list[str]:
    """Name what differs between the label record kept when the packets were built and the
    one rebuilt now. Labels are named only once revealed: the page hides them before."""
    was, now = _record_lines(recorded), _record_lines(rebuilt)
    names = {
        "commitment": _("the commitment"),
        "method": _("the selection method"),
        "margin": _("the margin"),
        "criterion": _("the criteria"),
    }
    what = [str(name) for word, name in names.items() if was.get(word) != now.get(word)]
    bound, current = _bound_labels(was.get("label", set())), _bound_labels(now.get("label", set()))
    if set(bound) != set(current):
        what.append(_("the labels"))
    swapped = sorted(label for label in set(bound) & set(current) if bound[label] != current[label])
    if swapped:
        what.append(_("the bids behind the labels"))
    problems = []
    if what:
        problems.append(
            _("What differs from the text recorded when the packets were built: %(what)s.")
            % {"what": ", ".join(what)}
        )
    if revealed:
        problems += [
            _("%(label)s: the bid behind this label is not the one bound to it before scoring.")
            % {"label": bid_label(label)}
            for label in swapped
        ]
    return problems


def _binding_problems(
    evaluation: Evaluation, packets: list[Packet], record: str, digest: str, *, revealed: bool
) -> list[str]:
    problems: list[str] = []
    committed = _recorded(
        evaluation, "evaluation.committed", _("the commitment at the close"), problems
    )
    if committed is not None and committed.get("commitment") != evaluation.commitment:
        problems.append(_("The commitment is not the one recorded when bids closed."))
    if not evaluation.label_digest:
        if packets:
            problems.append(
                _(
                    "No digest of the labels was published before scoring: the labels cannot "
                    "be checked."
                )
            )
        return problems
    bound = _recorded(
        evaluation,
        "evaluation.labels_bound",
        _("the labels bound when the packets were built"),
        problems,
    )
    recorded_record = None if bound is None else bound.get("record")
    if bound is not None and (
        bound.get("label_digest") != evaluation.label_digest
        or (
            isinstance(recorded_record, str)
            and label_digest(recorded_record) != bound.get("label_digest")
        )
    ):
        problems.append(
            _("The digest of the labels is not the one recorded when the packets were built.")
        )
    if bound is not None and not isinstance(recorded_record, str):
        problems.append(
            _(
                "The labels were bound by an earlier rule, which tied neither each bid to its "
                "label nor the criteria to their texts: this draw is not bound by the current "
                "rules."
            )
        )
        return problems
    if digest != evaluation.label_digest:
        problems.append(
            _(
                "The labels of the bids, the selection method or the criteria do not match "
                "the digest published before scoring."
            )
        )
        if recorded_record is not None:
            problems += _record_differences(recorded_record, record, revealed=revealed)
    return problems


def _status_problems(evaluation: Evaluation, lock_verb: str) -> list[str]:
    """The status, the selection on record and the outcome of the lock must tell one story:
    no qualified bid, no selection; a selection, one selected bid."""
    problems = []
    before_lock = (Status.PREPARING, Status.PANEL, Status.SCORING, Status.CONSENSUS)
    if lock_verb == "evaluation.unsuccessful":
        if evaluation.selected_label or evaluation.eligible_labels or evaluation.draw_order:
            problems.append(
                _(
                    "The lock recorded that no bid qualified, yet a selection is on record "
                    "(eligible bids, an order or a selected bid)."
                )
            )
        agrees = evaluation.status == Status.UNSUCCESSFUL and not evaluation.offers.exists()
    else:
        if not evaluation.selected_label:
            problems.append(_("The lock recorded a selection, yet no selected bid is on record."))
        agrees = evaluation.status not in before_lock and (
            evaluation.status != Status.UNSUCCESSFUL or evaluation.offers.exists()
        )
    if not agrees:
        problems.append(
            _(
                "The outcome recorded at the lock does not agree with the evaluation's status "
                "(%(status)s)."
            )
            % {"status": _status_text(evaluation.status)}
        )
    return problems


LOCK_RECORD_KEYS = ("seed", "eligible", "order", "selected", "scores", "packets")


def _lock_problems(
    evaluation: Evaluation,
    check: DrawCheck,
    scores: dict[str, Decimal],
    consensus: dict[str, dict[str, Any]],
) -> list[str]:
    """Everything the lock recorded against what is recomputed now."""
    problems: list[str] = []
    lock = _lock_record(evaluation, problems)
    if lock is None:
        return problems
    verb, locked = lock
    problems += _status_problems(evaluation, verb)
    if "packets" not in locked:
        problems.append(
            _(
                "The record kept at the lock has no consensus for each bid: this draw is not "
                "bound by the current rules."
            )
        )
    else:
        names = {
            "seed": _("seed"),
            "eligible": _("eligible bids"),
            "order": _("order"),
            "selected": _("selected bid"),
            "scores": _("scores"),
        }
        missing = [str(names[key]) for key in LOCK_RECORD_KEYS[:-1] if key not in locked]
        if missing:
            problems.append(
                _("The record kept at the lock lacks: %(what)s.") % {"what": ", ".join(missing)}
            )
    now = {
        "seed": (evaluation.seed, _("seed")),
        "eligible": (check.eligible, _("eligible bids")),
        "order": ([label for label, _key in check.order], _("order")),
        "selected": (check.selected, _("selected bid")),
        "scores": ({k: str(v) for k, v in sorted(scores.items())}, _("scores")),
    }
    differ = [
        str(name) for key, (value, name) in now.items() if key in locked and locked[key] != value
    ]
    if "packets" in locked:
        recorded = locked["packets"] if isinstance(locked["packets"], dict) else {}
        differ += [
            _("the consensus on %(label)s") % {"label": bid_label(label)}
            for label in sorted(set(recorded) | set(consensus))
            if recorded.get(label) != consensus.get(label)
        ]
    if differ:
        problems.append(
            _("The selection recorded when the consensus was locked differs in: %(what)s.")
            % {"what": ", ".join(differ)}
        )
    return problems


def draw_check(evaluation: Evaluation) -> DrawCheck:
    """Recompute the whole draw from what is published: the seed against the commitment; the
    labels, the bids behind them, the method and the criteria against the digest published
    before scoring; each label's qualification and weighted score from its consensus
    (packet_score); eligibility, the draw's order and the ranking from those
    (selection_ranking); and the record against what the audit trail kept, exactly once each,
    at the close, at the packets and at the lock, where every bid's consensus is kept. Scores
    are read only once the seed is revealed: before that they are the panel's."""
    opportunity = Opportunity.objects.get(pk=evaluation.opportunity_id)
    criteria = list(opportunity.criteria.all())
    packets = list(evaluation.packets.prefetch_related("consensus").order_by("label"))
    revealed = bool(evaluation.seed_revealed_at)
    record = label_record(
        commitment=evaluation.commitment,
        seed=evaluation.seed,
        opportunity=opportunity,
        criteria=criteria,
        receipts=_receipt_digests(packets),
    )
    digest = label_digest(record)
    binding = _binding_problems(evaluation, packets, record, digest, revealed=revealed)
    check = DrawCheck(
        revealed=revealed,
        criteria=criteria,
        label_record=record,
        label_digest=digest,
        binding_problems=binding,
        problems=[],
        packets=[],
        eligible=[],
        order=[],
        ranking=[],
    )
    if not check.revealed:
        check.problems = [_("The seed is not revealed yet."), *binding]
        return check
    problems = check.problems
    if Evaluation.commit(evaluation.seed) != evaluation.commitment:
        problems.append(_("The seed does not match the commitment published at the close."))
    problems += binding
    unscorable = _unscorable(criteria)
    problems += unscorable
    scores: dict[str, Decimal] = {}
    consensus: dict[str, dict[str, Any]] = {}
    for packet in packets:
        marks = {m.criterion_id: m for m in packet.consensus.all()}
        result = PacketCheck(label=packet.label, marks=[(c, marks.get(c.pk)) for c in criteria])
        check.packets.append(result)
        if unscorable:
            continue  # reported once above; nothing to compare the recorded result with
        if all(_consensus_complete(c, marks.get(c.pk)) for c in criteria):
            result.qualified, result.score = packet_score(packet, criteria)
            if result.qualified:
                scores[packet.label] = result.score
        else:
            problems.append(
                _("%(label)s: the published consensus does not cover every criterion.")
                % {"label": packet.display_label}
            )
        consensus[packet.label] = lock_packet_record(
            marks=marks, criteria=criteria, qualified=result.qualified, score=result.score
        )
        if (packet.qualified, packet.score) != (result.qualified, result.score):
            problems.append(
                _(
                    "%(label)s: the recorded result (%(recorded)s) does not follow from its "
                    "consensus scores (%(computed)s)."
                )
                % {
                    "label": packet.display_label,
                    "recorded": _result_text(packet.qualified, packet.score),
                    "computed": _result_text(result.qualified, result.score),
                }
            )
    eligible, order, ranking = selection_ranking(
        method=opportunity.selection_method,
        seed=evaluation.seed,
        scores=scores,
        margin=opportunity.draw_margin_points,
    )
    check.eligible, check.ranking = eligible, ranking
    check.order = [(label, draw_key(evaluation.seed, label)) for label in order]
    check.selected = ranking[0] if ranking else ""
    if evaluation.eligible_labels != eligible:
        problems.append(
            _(
                "The eligible bids on record (%(recorded)s) are not those the published scores "
                "and the method give (%(computed)s)."
            )
            % {
                "recorded": _labels_text(list(evaluation.eligible_labels)),
                "computed": _labels_text(eligible),
            }
        )
    if evaluation.draw_order != order:
        problems.append(_("The order does not follow from the seed and the eligible labels."))
    rank = {label: i for i, label in enumerate(ranking, start=1)}
    for packet, result in zip(packets, check.packets, strict=True):
        result.rank, result.eligible = rank.get(packet.label), packet.label in eligible
        if packet.rank != result.rank:
            problems.append(
                _(
                    "%(label)s: the recorded rank (%(recorded)s) is not the recomputed one "
                    "(%(computed)s)."
                )
                % {
                    "label": packet.display_label,
                    "recorded": packet.rank or "—",
                    "computed": result.rank or "—",
                }
            )
    if evaluation.selected_label != check.selected:
        problems.append(
            _(
                "The selected bid on record (%(recorded)s) is not the first of the recomputed "
                "ranking (%(computed)s)."
            )
            % {
                "recorded": bid_label(evaluation.selected_label) or "—",
                "computed": bid_label(check.selected) or "—",
            }
        )
    problems += _lock_problems(evaluation, check, scores, consensus)
    return check


def verify_draw(evaluation: Evaluation) -> list[str]:
    """Recompute the public record; returns the problems found (empty: it checks out)."""
    return draw_check(evaluation).problems


# --- Reveal, award, re-award -------------------------------------------------------------------


@transaction.atomic
def evaluation_reveal(*, actor: User, evaluation: Evaluation) -> Evaluation:
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    _refuse_if_cancelled(evaluation.opportunity_id)
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
