"""Supplier bids: a working copy the supplier edits, and a receipt for every submission.

What counts is what was acknowledged: each submission freezes the bid's content in a `Receipt`
with its SHA-256 digest. Editing a submitted bid changes only the working copy until the
supplier submits again; at the close the last receipt is what gets sealed and evaluated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.i18n import choice_label
from marketplace.transitions import LifecycleModel
from opportunities.models import Criterion, Opportunity


class BidQuerySet(models.QuerySet):
    def of(self, user) -> BidQuerySet:
        """A supplier's own bids: nobody else's exist, as far as they can tell."""
        return self.filter(supplier=user) if user.is_authenticated else self.none()

    def visible_to(self, user) -> BidQuerySet:
        """The bids `user` may open (marketplace.shortcuts.get_visible_or_404): their own, in any
        status; anybody else's is a 404, staff included. Evaluators see packets, never bids."""
        return self.of(user)

    def counted(self) -> BidQuerySet:
        """The bids that count: submitted before the close, sealed and evaluated after."""
        return self.exclude(status__in=Bid.UNCOUNTED)


class Bid(LifecycleModel):
    class Status(models.TextChoices):
        # A status, said of the bid ("soumission" in French, so feminine): the context keeps
        # these apart from the same English words said of other things.
        DRAFT = "draft", pgettext_lazy("bid status", "Draft, not submitted")
        SUBMITTED = "submitted", pgettext_lazy("bid status", "Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        SEALED = "sealed", _("Sealed")
        # Set by evaluation (DESIGN.md §3): after the selection, then at the award.
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Did not pass a mandatory criterion")
        AWARDED = "awarded", _("Awarded")
        NOT_AWARDED = "not_awarded", _("Not awarded")
        TERMINATED = "terminated", _("Award ended (declined or default)")

    # The allowed transitions, made by `marketplace.transitions.transition` (DESIGN.md §3). The
    # supplier moves their bid until the close (bids.services); the close seals it
    # (lifecycle/closing.py); evaluation moves it after that (evaluation.services, lifecycle).
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.SUBMITTED}),
        # Submitting again (a revised bid) keeps it submitted: a new receipt, not a transition.
        Status.SUBMITTED: frozenset({Status.WITHDRAWN, Status.SEALED}),
        Status.WITHDRAWN: frozenset({Status.SUBMITTED}),  # resubmitted before the close
        # The lock of the consensus: passed every mandatory criterion or not.
        Status.SEALED: frozenset({Status.QUALIFIED, Status.DISQUALIFIED}),
        # The award: the first in rank is offered it, every other packet is told it was not.
        Status.QUALIFIED: frozenset({Status.AWARDED, Status.NOT_AWARDED}),
        Status.DISQUALIFIED: frozenset({Status.NOT_AWARDED}),
        # The next in rank, once the one before declined or defaulted.
        Status.NOT_AWARDED: frozenset({Status.AWARDED}),
        Status.AWARDED: frozenset({Status.TERMINATED}),
        Status.TERMINATED: frozenset(),
    }
    transition_refused = _("A bid that is “%(current)s” cannot become “%(target)s”.")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="bids")
    supplier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bids"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    proposed_start_date = models.DateField(_("proposed start date"), null=True, blank=True)
    attest_can_work_in_canada = models.BooleanField(
        _("I am legally able to work in Canada (or my organization is)."), default=False
    )
    attest_can_be_paid_by_card = models.BooleanField(
        _("I can be paid by credit card or by an electronic funds transfer."), default=False
    )
    attest_no_conflict = models.BooleanField(
        _("I have no conflict of interest with this work or with the people who will evaluate it."),
        default=False,
    )
    terms_version = models.CharField(_("terms accepted"), max_length=20, blank=True)
    # The last addendum this bid was submitted or confirmed against.
    confirmed_addendum = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    draft_saved_at = models.DateTimeField(_("draft saved"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    sealed_at = models.DateTimeField(_("sealed"), null=True, blank=True)
    # Who the supplier was at each submission: every name, email and profile detail they had
    # then (bids.identity.identity_of, merged). The packets are redacted with it as well as with
    # the identity at the close, so a rename in between hides nothing the answers carry. Kept
    # out of the receipt, whose digest covers only what the supplier submitted; never shown, and
    # emptied once the packets are made.
    identity_at_submission = models.JSONField(default=dict, blank=True, editable=False)

    objects = BidQuerySet.as_manager()
    # Not stored: the request's arrival time the deadline was judged by, set on the locked copy
    # a supplier's change works on (bids.services._locked_bid).
    checked_at: dt.datetime

    # Not (or no longer) a bid: never submitted, or withdrawn before the close.
    UNCOUNTED = (Status.DRAFT, Status.WITHDRAWN)
    ATTESTATIONS = ("attest_can_work_in_canada", "attest_can_be_paid_by_card", "attest_no_conflict")

    class Meta:
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "supplier"], name="bid_one_per_supplier")
        ]

    def __str__(self) -> str:
        # Never the supplier: this text reaches the technical admin, audit targets and logs,
        # which must not tell who bid (DESIGN.md §4, §5). Not translated either: it is stored
        # as the audit event's target text, which must read the same whoever acted.
        return f"Bid {self.pk} on opportunity {self.opportunity_id} ({self.status})"

    def get_status_display(self) -> str:  # lists show it on every row: see choice_label
        return choice_label(self.Status, self.status)

    @property
    def last_receipt(self) -> Receipt | None:
        return self.receipts.order_by("-number").first()


# The most characters an answer may hold: room for its word limit in long words (eight
# characters a word, spaces included), and never less than 5,000. The word limit is checked at
# submission; this one at every save, so that one answer can never fill a page or an email.
ANSWER_MIN_CHARACTERS = 5000
ANSWER_CHARACTERS_PER_WORD = 8


def answer_max_length(criterion: Criterion) -> int:
    return max(ANSWER_MIN_CHARACTERS, criterion.word_limit * ANSWER_CHARACTERS_PER_WORD)


class Answer(models.Model):
    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bid", "criterion"], name="answer_one_per_criterion")
        ]

    def __str__(self) -> str:
        return f"{self.bid_id}/{self.criterion_id}"


class PrivateStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, which no URL maps to."""

    def __init__(self):
        super().__init__(base_url="/no-public-url/")

    @cached_property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    def _clear_cached_properties(self, setting, **kwargs):
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)
        super()._clear_cached_properties(setting, **kwargs)

    def deconstruct(self):
        return ("bids.models.PrivateStorage", (), {})


private_storage = PrivateStorage()


def _attachment_path(instance: Attachment, filename: str) -> str:
    # Never the supplier's file name: it may carry their identity, and it is theirs to choose.
    return f"bids/{instance.bid.opportunity_id}/{uuid.uuid4().hex}.pdf"


class Attachment(models.Model):
    """A PDF, checked by content and stored as the copy rebuilt from its pages (bids.pdf), which
    is what evaluators receive; out of public reach."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, storage=private_storage)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    # What a reader can find in the stored copy (page text, strings, font names), read once at
    # upload: a submission is checked against the supplier's identity as it stands then.
    text = models.TextField(blank=True, default="")
    # Removed from the working copy; kept, because a receipt may still name it.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        # Not the file name: the supplier chose it, and it may name them.
        return f"Attachment {self.pk} of bid {self.bid_id}"


class Receipt(models.Model):
    """One submission, exactly as acknowledged: the content and its SHA-256 digest, when the
    request reached the server (what the deadline is judged by) and when it was recorded."""

    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="receipts")
    number = models.PositiveSmallIntegerField()
    received_at = models.DateTimeField()
    submitted_at = models.DateTimeField()  # recorded: the moment of the write, just before commit
    digest = models.CharField(max_length=64)
    content = models.JSONField()

    class Meta:
        ordering = ["bid_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["bid", "number"], name="receipt_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.bid_id} #{self.number} {self.digest[:12]}"
