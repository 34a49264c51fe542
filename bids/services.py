"""Every write of bids: drafts, attachments, submission, withdrawal, sealing at the close."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from marketplace import formats
from marketplace import notifications as notices
from marketplace.models import SupplierProfile, User
from marketplace.permissions import is_supplier
from marketplace.services import audit_event_record, notification_send
from marketplace.transitions import transition, transition_many
from opportunities.models import Opportunity
from opportunities.notices import notice_context
from opportunities.questions import opportunity_hold_shared

from . import permissions
from .identity import (
    IdentityToken,
    identity_matches,
    identity_merge,
    identity_of,
    identity_tokens,
    strong,
)
from .models import Answer, Attachment, Bid, Receipt, answer_max_length, private_storage
from .pdf import CleanPdf, PdfRefused
from .pdf_worker import PdfCheckFailed, check_pdf

Status = Bid.Status


def word_count(text: str) -> int:
    return len(text.split())


ANSWER_FIELD = "answer_{}"


def criterion_name(criterion) -> str:
    """How a problem names a criterion: its short text, in quotes (“Explain your approach…”)."""
    return _("“%(text)s”") % {"text": Truncator(" ".join(criterion.text.split())).chars(60)}


def answer_too_long(criterion, number: int, text: str) -> str | None:
    """The sentence refusing an answer longer than its character limit; None when it fits."""
    limit = answer_max_length(criterion)
    if len(text) <= limit:
        return None
    return _(
        "Shorten your answer to criterion %(number)s, %(criterion)s, to %(limit)s characters "
        "or fewer (it has %(count)s)."
    ) % {
        "number": number,
        "criterion": criterion_name(criterion),
        "limit": formats.number(limit),
        "count": formats.number(len(text)),
    }


def _open_opportunity(
    opportunity_id: int,
    *,
    bidder: User,
    arrived_at: dt.datetime | None = None,
) -> tuple[Opportunity, dt.datetime]:
    """Lock the opportunity (shared: bids never wait for each other), then check that it took
    bids when the request arrived, and that the bidder is not its buyer (who never bids on it,
    whatever roles they hold: DESIGN.md §4).

    The deadline is judged by arrival (`arrived_at`, the request's `arrived_at`; now when not
    given): a request that reached the server in time is never refused because something else
    held it up, and one that arrived late always is. The close takes the exclusive lock, and
    the scheduler runs it `BID_CLOSE_GRACE_SECONDS` after the deadline, once every request that
    arrived in time has been answered; a change is wholly in before the close or refused.

    A request that arrived late is refused before it takes any lock (a deadline passed does not
    come back: nobody may amend it then), so late requests, however many, never stand between
    the close and its lock."""
    now = timezone.now()
    arrived_at = min(arrived_at or now, now)
    _refuse_unless_open(Opportunity.objects.get(pk=opportunity_id), arrived_at)
    opportunity_hold_shared(opportunity_id)
    opportunity = Opportunity.objects.get(pk=opportunity_id)
    if permissions.is_opportunity_buyer(bidder, opportunity):
        raise ValidationError(_("You are the buyer of this opportunity: you cannot bid on it."))
    _refuse_unless_open(opportunity, arrived_at)
    return opportunity, arrived_at


def _refuse_unless_open(opportunity: Opportunity, arrived_at: dt.datetime) -> None:
    if opportunity.accepts_bids_at(arrived_at):
        return
    if opportunity.closes_at and arrived_at >= opportunity.closes_at:
        raise ValidationError(
            _("This opportunity closed at %(time)s (Eastern time): bids can no longer change.")
            % {"time": formats.datetime(opportunity.closes_at)}
        )
    if opportunity.status != Opportunity.Status.PUBLISHED and opportunity.closed_at:
        raise ValidationError(
            _("The bids of this opportunity were sealed at its close: bids can no longer change.")
        )
    raise ValidationError(_("This opportunity does not take bids."))


def _locked_bid(*, supplier: User, bid: Bid, arrived_at: dt.datetime | None = None) -> Bid:
    """The bid, locked, with its opportunity held and open at the request's arrival. Sets
    `bid.checked_at`: the arrival time the deadline was judged by."""
    if not permissions.is_bidder(supplier, bid):
        raise PermissionDenied
    opportunity, checked_at = _open_opportunity(
        bid.opportunity_id, bidder=supplier, arrived_at=arrived_at
    )
    locked = Bid.objects.select_for_update().get(pk=bid.pk)
    locked.opportunity = opportunity
    if locked.status == Status.SEALED:
        raise ValidationError(_("This bid is sealed and can no longer be changed."))
    locked.checked_at = checked_at
    return locked


@transaction.atomic
def bid_start(
    *, supplier: User, opportunity: Opportunity, arrived_at: dt.datetime | None = None
) -> Bid:
    """The supplier's bid on this opportunity: their existing one, or a new draft."""
    if not is_supplier(supplier):
        raise PermissionDenied  # staff are not bidders at all, the buyer included
    if permissions.is_opportunity_buyer(supplier, opportunity):
        # An account that is both (rows from before the rule): said plainly, not a 403.
        raise ValidationError(_("You are the buyer of this opportunity: you cannot bid on it."))
    existing = Bid.objects.filter(opportunity=opportunity, supplier=supplier).first()
    if existing is not None:
        return existing
    profile = SupplierProfile.objects.filter(user=supplier).first()
    opportunity, now = _open_opportunity(opportunity.pk, bidder=supplier, arrived_at=arrived_at)
    if not permissions.can_bid(supplier, opportunity, now=now, profile=profile):
        raise PermissionDenied
    bid, created = Bid.objects.get_or_create(opportunity=opportunity, supplier=supplier)
    if created:
        audit_event_record(actor=supplier, verb="bid.started", target=bid)
    return bid


@transaction.atomic
def bid_save_draft(
    *,
    supplier: User,
    bid: Bid,
    answers: dict[int, str],
    proposed_start_date: dt.date | None = None,
    attest_can_work_in_canada: bool = False,
    attest_can_be_paid_by_card: bool = False,
    attest_no_conflict: bool = False,
    accept_terms: bool = False,
    arrived_at: dt.datetime | None = None,
) -> Bid:
    """Save the working copy as it stands (answers over their word limit included: nothing
    typed is lost; the word limits apply when submitting). An answer over its character limit
    (`answer_max_length`) is refused, naming it, and nothing is saved."""
    bid = _locked_bid(supplier=supplier, bid=bid, arrived_at=arrived_at)
    now = bid.checked_at
    criteria = {c.pk: c for c in bid.opportunity.criteria.all()}
    unknown = set(answers) - set(criteria)
    if unknown:
        raise ValidationError(_("An answer refers to a criterion of another opportunity."))
    too_long = {
        ANSWER_FIELD.format(criterion.pk): message
        for number, criterion in enumerate(criteria.values(), start=1)
        if (message := answer_too_long(criterion, number, answers.get(criterion.pk, "")))
    }
    if too_long:
        raise ValidationError(too_long)
    existing = {a.criterion_id: a for a in bid.answers.all()}
    for criterion_id, text in answers.items():
        answer = existing.get(criterion_id) or Answer(bid=bid, criterion_id=criterion_id)
        if answer.pk is None or answer.text != text:
            answer.text = text
            answer.save()
    bid.proposed_start_date = proposed_start_date
    bid.attest_can_work_in_canada = attest_can_work_in_canada
    bid.attest_can_be_paid_by_card = attest_can_be_paid_by_card
    bid.attest_no_conflict = attest_no_conflict
    bid.terms_version = settings.BID_TERMS_VERSION if accept_terms else ""
    bid.draft_saved_at = now
    bid.full_clean()
    bid.save()
    return bid


@transaction.atomic
def bid_discard(*, supplier: User, bid: Bid) -> None:
    """The supplier throws away a draft they never submitted: its answers and files go, and
    the audit trail keeps that it was discarded. Only a draft: a bid submitted once has
    receipts, which stay provable (withdraw it instead). A draft discarded already (a double
    click, another tab) is nothing more to do."""
    if not permissions.is_bidder(supplier, bid):
        raise PermissionDenied
    locked = Bid.objects.select_for_update().filter(pk=bid.pk).first()
    if locked is None:
        return
    if locked.status != Status.DRAFT:
        raise ValidationError(
            _("Only a draft can be discarded. This bid was submitted: withdraw it instead.")
        )
    files = [a.file.name for a in locked.attachments.all() if a.file.name]
    audit_event_record(
        actor=supplier,
        verb="bid.discarded",
        target=locked,
        data={"opportunity": locked.opportunity_id},
    )
    locked.delete()  # its answers and attachments with it (CASCADE); a draft has no receipt
    # The files go once the rows are gone for good; a rollback keeps both.
    transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: list[str]) -> None:
    for name in names:
        private_storage.delete(name)


def attachment_problems(bid: Bid) -> dict[str, list[str]]:
    """The attachments that name the supplier as their profile stands now, or as it stood at an
    earlier submission of the bid (checked at upload, and again at submission: the profile may
    have changed since, a new trading name). Reading the files' text takes time: `bid_submit`
    does it before it takes any lock."""
    identity = strong(supplier_identity(bid.supplier, bid=bid))
    problems: list[str] = []
    for attachment in bid.attachments.filter(removed_at__isnull=True):
        found = identity_matches([attachment.text], identity)
        if found:
            problems.append(
                _(
                    "The attachment %(name)s names you: %(found)s. Remove it and attach a copy "
                    "without these."
                )
                % {
                    "name": attachment.name,
                    "found": ", ".join(_("“%(word)s”") % {"word": f.value} for f in found[:10]),
                }
            )
    return {"attachments": problems} if problems else {}


def submission_problems(bid: Bid, *, attachments_checked: bool = False) -> dict[str, list[str]]:
    """What stops this working copy from being submitted, by form field; empty when nothing.
    `attachments_checked`: the caller has run `attachment_problems` already (outside its lock)."""
    problems: dict[str, list[str]] = {} if attachments_checked else attachment_problems(bid)
    answers = {a.criterion_id: a.text for a in bid.answers.all()}
    # Every problem at once, each a sentence that says what to do and where (the error
    # summary lists them away from their fields).
    for number, criterion in enumerate(bid.opportunity.criteria.all(), start=1):
        text = answers.get(criterion.pk, "")
        field = ANSWER_FIELD.format(criterion.pk)
        words = word_count(text)
        names = {"number": number, "criterion": criterion_name(criterion)}
        too_long = answer_too_long(criterion, number, text)
        if not text.strip():
            problems[field] = [
                _("Enter your answer to criterion %(number)s, %(criterion)s.") % names
            ]
        elif too_long:
            problems[field] = [too_long]
        elif words > criterion.word_limit:
            over = words - criterion.word_limit
            problems[field] = [
                ngettext(
                    "Shorten your answer to criterion %(number)s, %(criterion)s: it is %(over)s "
                    "word over the limit of %(limit)s.",
                    "Shorten your answer to criterion %(number)s, %(criterion)s: it is %(over)s "
                    "words over the limit of %(limit)s.",
                    over,
                )
                % {
                    **names,
                    "over": formats.number(over),
                    "limit": formats.number(criterion.word_limit),
                }
            ]
    if bid.proposed_start_date is None:
        problems["proposed_start_date"] = [_("Enter the date you could start the work.")]
    elif bid.proposed_start_date < timezone.localdate():
        problems["proposed_start_date"] = [
            _("Enter a start date that is today or later: %(date)s is in the past.")
            % {"date": formats.date(bid.proposed_start_date)}
        ]
    for name, message in ATTESTATION_PROBLEMS.items():
        if not getattr(bid, name):
            problems[name] = [str(message)]
    if bid.terms_version != settings.BID_TERMS_VERSION:
        problems["accept_terms"] = [
            _("Accept the bid terms: a bid cannot be submitted without them.")
        ]
    return problems


# What each unchecked attestation needs, said of that attestation (not "confirm this").
ATTESTATION_PROBLEMS = {
    "attest_can_work_in_canada": gettext_lazy(
        "Confirm that you are legally able to work in Canada (or that your organization is)."
    ),
    "attest_can_be_paid_by_card": gettext_lazy(
        "Confirm that you can be paid by credit card or by an electronic funds transfer."
    ),
    "attest_no_conflict": gettext_lazy(
        "Confirm that you have no conflict of interest with this work or with its evaluators."
    ),
}


def bid_content(bid: Bid) -> dict[str, Any]:
    """The working copy as plain data: what a receipt freezes and its digest covers."""
    answers = {a.criterion_id: a.text for a in bid.answers.all()}
    return {
        "opportunity": bid.opportunity_id,
        "supplier": bid.supplier_id,
        "answers": [
            {"criterion": c.pk, "text": answers.get(c.pk, "")}
            for c in bid.opportunity.criteria.all()
        ],
        "proposed_start_date": (
            bid.proposed_start_date.isoformat() if bid.proposed_start_date else None
        ),
        "attestations": {name: getattr(bid, name) for name in Bid.ATTESTATIONS},
        "terms_version": bid.terms_version,
        "attachments": [
            {"id": a.pk, "name": a.name, "sha256": a.sha256}
            for a in bid.attachments.filter(removed_at__isnull=True)
        ],
    }


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the content in canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _latest_addendum(opportunity: Opportunity) -> int:
    return opportunity.addenda.aggregate(top=Max("number"))["top"] or 0


@transaction.atomic
def bid_submit(*, supplier: User, bid: Bid, arrived_at: dt.datetime | None = None) -> Receipt:
    """Submit the working copy. Judged by when the request arrived (`arrived_at`; now when not
    given): in time, it is recorded whatever held it up since; late, it is refused. The check
    and the write share one transaction holding the opportunity against the close: fully in
    before the close, or refused. The receipt keeps both times: arrival and recording."""
    checked = attachment_problems(bid)
    bid = _locked_bid(supplier=supplier, bid=bid, arrived_at=arrived_at)
    problems = {**checked, **submission_problems(bid, attachments_checked=True)}
    if problems:
        raise ValidationError(problems)
    moment = bid.checked_at
    content = bid_content(bid)
    last = bid.last_receipt
    if (
        bid.status == Status.SUBMITTED
        and last is not None
        and last.digest == content_digest(content)
        and bid.confirmed_addendum == _latest_addendum(bid.opportunity)
    ):
        return last  # this very submission, sent again (a double click): it stands as it was
    number = (bid.receipts.aggregate(top=Max("number"))["top"] or 0) + 1
    receipt = Receipt.objects.create(
        bid=bid,
        number=number,
        received_at=moment,
        submitted_at=timezone.now(),
        digest=content_digest(content),
        content=content,
    )
    stamps = {
        "submitted_at": moment,
        "withdrawn_at": None,
        "confirmed_addendum": _latest_addendum(bid.opportunity),
        # Who submitted it, kept for the close: a rename in between must not undo the redaction.
        "identity_at_submission": identity_merge(
            bid.identity_at_submission,
            identity_of(supplier, SupplierProfile.objects.filter(user=supplier).first()),
        ),
    }
    data = {"receipt": number, "digest": receipt.digest}
    if bid.status == Status.SUBMITTED:
        # A revised bid: a new receipt, the status stays as it is (not a transition).
        for name, value in stamps.items():
            setattr(bid, name, value)
        bid.save(update_fields=list(stamps))
        audit_event_record(actor=supplier, verb="bid.resubmitted", target=bid, data=data)
    else:
        opportunity = bid.opportunity
        bid, _event = transition(
            bid, Status.SUBMITTED, actor=supplier, verb="bid.submitted", data=data, fields=stamps
        )
        bid.opportunity = opportunity
    notification_send(
        kind="bid.submitted",
        recipients=[supplier],
        event_key=f"{bid.pk}:{number}",
        context=_bid_context(bid, submitted_at=notices.moment(moment), digest=receipt.digest),
    )
    return receipt


def _bid_context(bid: Bid, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("bids:detail", pk=bid.pk))
    return notice_context(bid.opportunity, **extra)


@transaction.atomic
def bid_withdraw(*, supplier: User, bid: Bid, arrived_at: dt.datetime | None = None) -> Bid:
    bid = _locked_bid(supplier=supplier, bid=bid, arrived_at=arrived_at)
    now = bid.checked_at
    if bid.status != Status.SUBMITTED:
        raise ValidationError(_("Only a submitted bid can be withdrawn."))
    opportunity = bid.opportunity
    bid, event = transition(
        bid, Status.WITHDRAWN, actor=supplier, verb="bid.withdrawn", fields={"withdrawn_at": now}
    )
    bid.opportunity = opportunity
    notification_send(
        kind="bid.withdrawn",
        recipients=[supplier],
        event_key=str(event.pk),
        context=_bid_context(bid, withdrawn_at=notices.moment(now)),
    )
    return bid


@transaction.atomic
def bid_confirm(*, supplier: User, bid: Bid, arrived_at: dt.datetime | None = None) -> Bid:
    """After an addendum: the supplier keeps their submitted bid as it is."""
    bid = _locked_bid(supplier=supplier, bid=bid, arrived_at=arrived_at)
    if bid.status != Status.SUBMITTED:
        raise ValidationError(_("Only a submitted bid can be confirmed."))
    latest = _latest_addendum(bid.opportunity)
    if bid.confirmed_addendum == latest:
        return bid  # confirmed already (a double click): nothing more to record
    bid.confirmed_addendum = latest
    bid.save(update_fields=["confirmed_addendum"])
    audit_event_record(
        actor=supplier,
        verb="bid.confirmed",
        target=bid,
        data={"addendum": bid.confirmed_addendum},
    )
    return bid


def supplier_identity(supplier: User, *, bid: Bid | None = None) -> list[IdentityToken]:
    """The ways the supplier's identity can be written, from their account and profile now and,
    for a `bid`, as they stood at its submissions (what its answers may still carry)."""
    return identity_tokens(
        supplier,
        SupplierProfile.objects.filter(user=supplier).first(),
        earlier=bid.identity_at_submission if bid is not None else None,
    )


def checked_pdf(
    upload: File, *, identity: list[IdentityToken] | None = None
) -> tuple[CleanPdf, str]:
    """An uploaded PDF checked by content and rebuilt from its pages alone (what evaluators will
    receive), and the name to show for it. Raises ValidationError with a clear message when it is
    refused — also, for a bid, when its text names the supplier (`identity`; a delivery after
    the award has no one left to hide from). The file is read in a child process within the
    time and memory limits of the settings (bids/pdf_worker.py), never in this one."""
    if upload.size > settings.BID_ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("This file is larger than %(size)s MB.")
            % {"size": settings.BID_ATTACHMENT_MAX_BYTES // (1024 * 1024)}
        )
    try:
        pdf = check_pdf(upload.read(), identity=identity)
    except (PdfRefused, PdfCheckFailed) as refused:
        raise ValidationError(str(refused)) from refused
    name = upload.name or ""
    display_name = (name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "document")[:150]
    if not display_name.lower().endswith(".pdf"):
        display_name += ".pdf"
    return pdf, display_name


def attachment_add(
    *, supplier: User, bid: Bid, upload: File, arrived_at: dt.datetime | None = None
) -> Attachment:
    """Attach an uploaded PDF (checked, rebuilt, free of the supplier's identity) to the working
    copy. The file is read and rebuilt before any lock is taken: however slow a file is to
    check, nobody else's save, submission or the close waits on it; the deadline is judged by
    when the request arrived (`arrived_at`), not by when the check ended."""
    if not settings.BID_ATTACHMENTS_ENABLED:
        raise PermissionDenied
    if not permissions.is_bidder(supplier, bid):
        raise PermissionDenied
    pdf, display_name = checked_pdf(upload, identity=supplier_identity(supplier, bid=bid))
    return _attachment_store(
        supplier=supplier, bid=bid, pdf=pdf, display_name=display_name, arrived_at=arrived_at
    )


def _attachment_store(
    *,
    supplier: User,
    bid: Bid,
    pdf: CleanPdf,
    display_name: str,
    arrived_at: dt.datetime | None = None,
) -> Attachment:
    """Write the file, then record it under the locks (nobody waits on the disk); the file is
    deleted again when the record is refused."""
    attachment = Attachment(
        bid=bid, name=display_name, size=len(pdf.content), sha256=pdf.sha256, text=pdf.text
    )
    attachment.file.save("upload.pdf", ContentFile(pdf.content), save=False)
    try:
        recorded = _attachment_record(
            supplier=supplier, attachment=attachment, arrived_at=arrived_at
        )
    except BaseException:
        attachment.file.delete(save=False)
        raise
    if recorded.pk != attachment.pk:  # the same file was already there
        attachment.file.delete(save=False)
    return recorded


@transaction.atomic
def _attachment_record(
    *, supplier: User, attachment: Attachment, arrived_at: dt.datetime | None
) -> Attachment:
    bid = _locked_bid(supplier=supplier, bid=attachment.bid, arrived_at=arrived_at)
    same = bid.attachments.filter(removed_at__isnull=True, sha256=attachment.sha256).first()
    if same is not None:
        return same  # the same file sent twice (a double click): attached once
    if bid.attachments.filter(removed_at__isnull=True).count() >= (
        settings.BID_ATTACHMENT_MAX_COUNT
    ):
        raise ValidationError(
            _("A bid can have at most %(count)s attachments. Remove one first.")
            % {"count": settings.BID_ATTACHMENT_MAX_COUNT}
        )
    attachment.bid = bid
    attachment.save()
    audit_event_record(
        actor=supplier,
        verb="bid.attachment_added",
        target=bid,
        data={"attachment": attachment.pk, "sha256": attachment.sha256},
    )
    return attachment


@transaction.atomic
def attachment_remove(
    *, supplier: User, bid: Bid, attachment: Attachment, arrived_at: dt.datetime | None = None
) -> None:
    bid = _locked_bid(supplier=supplier, bid=bid, arrived_at=arrived_at)
    if attachment.bid_id != bid.pk:
        raise PermissionDenied
    # Kept on disk: a receipt may name it, and what was submitted must stay provable.
    removed = Attachment.objects.filter(pk=attachment.pk, removed_at__isnull=True).update(
        removed_at=timezone.now()
    )
    if not removed:
        return  # removed already (a double click): nothing more to record
    audit_event_record(
        actor=supplier,
        verb="bid.attachment_removed",
        target=bid,
        data={"attachment": attachment.pk},
    )


def bids_seal(*, opportunity: Opportunity, now: dt.datetime) -> list[int]:
    """At the close, inside its transaction (lifecycle.closing): submitted bids become sealed
    (the system acts: one "bid.sealed" event each). Returns the ids of the suppliers whose bids
    were sealed."""
    sealed = transition_many(
        Bid.objects.filter(opportunity=opportunity, status=Status.SUBMITTED),
        Status.SEALED,
        actor=None,
        verb="bid.sealed",
        fields={"sealed_at": now},
    )
    return [bid.supplier_id for bid in sealed]
