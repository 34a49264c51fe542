"""At the close: the commitment to a secret seed, then one anonymized packet per sealed bid, its
label bound to the commitment before anyone scores (docs/DESIGN.md, "Blind evaluation")."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from bids.identity import IdentityToken, identity_tokens, redact
from bids.models import Attachment, Bid, Receipt
from bids.pdf import CleanPdf, PdfRefused, clean_pdf
from bids.pdf_worker import PdfCheckFailed, check_pdf
from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.jobs import enqueue_on_commit
from marketplace.models import SupplierProfile
from marketplace.services import audit_event_record, notification_send
from marketplace.transitions import transition
from opportunities.models import Opportunity
from opportunities.progress import opportunity_mark_unsuccessful, opportunity_start_evaluation

from .draw import label_digest, label_record
from .models import Evaluation, Packet, PacketAttachment
from .notices import notice_context

Status = Evaluation.Status


LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud without doubt


def evaluation_open(*, opportunity: Opportunity) -> Evaluation:
    """Inside the close's transaction: commit to a secret seed, then build packets after it.
    The commitment is on the opportunity's public page from now on."""
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
    enqueue_on_commit("evaluation.tasks.evaluation_build_packets", opportunity.pk)
    public_pages_changed_on_commit()
    return evaluation


def _new_label(taken: set[str]) -> str:
    while True:
        label = "Bid " + "".join(secrets.choice(LABEL_ALPHABET) for _ in range(3))
        if label not in taken:
            taken.add(label)
            return label


def receipt_digests(packets: list[Packet]) -> dict[str, str]:
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
        receipts=receipt_digests(packets),
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
        assert receipt is not None  # a sealed bid was submitted: it has a receipt
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
    public_pages_changed_on_commit()  # the labels' digest, and the opportunity's new status
    if not bids:
        transition(evaluation, Status.UNSUCCESSFUL, actor=None, verb="evaluation.no_bids")
        opportunity_mark_unsuccessful(opportunity=opportunity, actor=None, reason="no bids")
        notification_send(
            kind="evaluation.no_bids",
            recipients=[opportunity.buyer],
            event_key=str(evaluation.pk),
            context=notice_context(
                evaluation, link=notices.link("opportunities:detail", pk=opportunity.pk)
            ),
        )
        return 0
    transition(
        evaluation,
        Status.PANEL,
        actor=None,
        verb="evaluation.packets_ready",
        data={"packets": len(bids)},
    )
    opportunity_start_evaluation(opportunity=opportunity)
    notification_send(
        kind="evaluation.ready",
        recipients=[opportunity.buyer],
        event_key=str(evaluation.pk),
        context=notice_context(evaluation, count=len(bids)),
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
