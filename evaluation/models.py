"""Blind evaluation (DESIGN.md §5): packets, the panel, marks, consensus, the draw, the award.

Evaluators only ever reach `Packet` rows: a random label and redacted answers. The link from a
packet to its bid (and so to the supplier) is the escrow: only services and the buyer's reveal,
after the selection is locked, follow it.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bids.models import Bid, private_storage
from marketplace.i18n import choice_label
from marketplace.labels import bid_label
from marketplace.models import Role
from marketplace.permissions import has_role
from marketplace.transitions import LifecycleModel
from opportunities.models import Criterion, Opportunity


def _seated(user) -> models.Exists:
    """A seat for `user` on the evaluation's panel, whatever their declaration."""
    return models.Exists(
        PanelMember.objects.filter(evaluation=models.OuterRef("pk"), evaluator=user)
    )


class EvaluationQuerySet(models.QuerySet):
    def visible_to(self, user) -> EvaluationQuerySet:
        """The evaluations `user` may follow (marketplace.shortcuts.get_visible_or_404): the rule
        of `evaluation.permissions.can_view_overview`, as a query. The owning buyer, the panel
        and the program admins, never someone with a bid on the opportunity in any status,
        whatever their roles: the overview names the evaluators and shows their progress."""
        if not user.is_authenticated:
            return self.none()
        bid = Bid.objects.filter(opportunity=models.OuterRef("opportunity"), supplier=user)
        without_bid = self.exclude(models.Exists(bid))
        if has_role(user, Role.PROGRAM_ADMIN):
            return without_bid
        claim = models.Q(_seated(user))
        if has_role(user, Role.BUYER):
            claim |= models.Q(opportunity__buyer=user)
        return without_bid.filter(claim)

    def seating(self, user) -> EvaluationQuerySet:
        """The evaluations with a seat for `user` on their panel, even with a bid (a seat written
        around the rules): the declaration page, where recusing must stay possible or the panel
        could never complete (the rule of `evaluation.permissions.can_declare`)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_seated(user))


class Evaluation(LifecycleModel):
    class Status(models.TextChoices):
        PREPARING = "preparing", _("Preparing the packets")
        PANEL = "panel", _("Appointing the panel and declaring conflicts")
        SCORING = "scoring", _("Individual scoring")
        CONSENSUS = "consensus", _("Consensus")
        SELECTED = "selected", _("Selection locked")
        REVEALED = "revealed", _("Identities revealed")
        AWARDED = "awarded", _("Awarded")
        UNSUCCESSFUL = "unsuccessful", _("No qualified bid")

    # Moved only by `marketplace.transitions.transition` (docs/DESIGN.md, "Lifecycles").
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PREPARING: frozenset({Status.PANEL, Status.UNSUCCESSFUL}),
        Status.PANEL: frozenset({Status.SCORING}),
        Status.SCORING: frozenset({Status.CONSENSUS}),
        Status.CONSENSUS: frozenset({Status.SELECTED, Status.UNSUCCESSFUL}),
        Status.SELECTED: frozenset({Status.REVEALED}),
        Status.REVEALED: frozenset({Status.AWARDED}),
        # Unsuccessful when every ranked bid declined or defaulted.
        Status.AWARDED: frozenset({Status.UNSUCCESSFUL}),
        Status.UNSUCCESSFUL: frozenset(),
    }
    transition_refused = _("The evaluation is at “%(current)s”: this step is not possible now.")

    opportunity = models.OneToOneField(
        Opportunity, on_delete=models.PROTECT, related_name="evaluation"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PREPARING
    )
    # Commit-reveal: the commitment is public from the close, the seed only from the selection.
    seed = models.CharField(max_length=64, editable=False)
    commitment = models.CharField(_("commitment (SHA-256 of the seed)"), max_length=64)
    seed_revealed_at = models.DateTimeField(null=True, blank=True)
    # Published when the packets are built, before anyone scores: binds the labels (with the
    # method and the criteria) to the commitment, so no label can be added, dropped or renamed
    # afterwards without the public check failing. The rule is services.label_record.
    label_digest = models.CharField(_("digest of the labels (SHA-256)"), max_length=64, blank=True)
    labels_bound_at = models.DateTimeField(null=True, blank=True)
    eligible_labels = models.JSONField(default=list, blank=True)
    draw_order = models.JSONField(default=list, blank=True)
    selected_label = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the status last changed: reminders go to whoever the evaluation waits for.
    status_changed_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revealed_at = models.DateTimeField(null=True, blank=True)
    revealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")

    def __str__(self) -> str:
        return f"{self.opportunity_id} ({self.status})"

    def get_status_display(self) -> str:  # lists show it on every row: see choice_label
        return choice_label(self.Status, self.status)

    @property
    def public_seed(self) -> str:
        """The seed, once the selection has revealed it; empty before."""
        return self.seed if self.seed_revealed_at else ""

    @staticmethod
    def commit(seed: str) -> str:
        # UTF-8, not ASCII: a seed edited into something else must fail the check, not crash it.
        return hashlib.sha256(seed.encode("utf-8")).hexdigest()


class Packet(models.Model):
    """What evaluators see of one sealed bid: a random label and redacted answers."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="packets")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="packet")
    label = models.CharField(_("label"), max_length=20)
    answers = models.JSONField(default=list)  # [{"criterion": id, "text": redacted}]
    proposed_start_date = models.DateField(null=True, blank=True)
    # Set by the selection; empty for a packet that fails a mandatory criterion.
    qualified = models.BooleanField(null=True)
    score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    rank = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["evaluation_id", "label"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "label"], name="packet_unique_label")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def display_label(self) -> str:
        """The label as people read it, in the current language (see `bid_label`)."""
        return bid_label(self.label)


class PacketAttachment(models.Model):
    packet = models.ForeignKey(Packet, on_delete=models.CASCADE, related_name="attachments")
    number = models.PositiveSmallIntegerField()
    file = models.FileField(upload_to="packets/", storage=private_storage, blank=True)
    sha256 = models.CharField(max_length=64)  # of the copy evaluators receive
    # Named the supplier when it was rebuilt at the close: evaluators see that it was withheld.
    withheld = models.BooleanField(default=False)

    class Meta:
        ordering = ["packet_id", "number"]

    def __str__(self) -> str:
        return f"{self.packet.label} #{self.number}"

    @property
    def name(self) -> str:
        """The copy's file name, in the reader's language: "Soumission K7Q-1.pdf"."""
        return f"{self.packet.display_label}-{self.number}.pdf"


class PanelMember(models.Model):
    class Declaration(models.TextChoices):
        PENDING = "pending", _("Not declared yet")
        NO_CONFLICT = "no_conflict", _("No conflict of interest")
        RECUSED = "recused", _("Recused (conflict of interest)")

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="panel")
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="panel_seats"
    )
    is_chair = models.BooleanField(_("chair"), default=False)
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    appointed_at = models.DateTimeField(default=timezone.now)
    declaration = models.CharField(
        max_length=12, choices=Declaration.choices, default=Declaration.PENDING
    )
    declaration_note = models.TextField(blank=True)
    declared_at = models.DateTimeField(null=True, blank=True)
    marks_submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["evaluation_id", "-is_chair", "appointed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "evaluator"], name="panel_unique_member")
        ]

    def __str__(self) -> str:
        return f"{self.evaluator} ({self.get_declaration_display()})"

    @property
    def active(self) -> bool:
        return self.declaration != self.Declaration.RECUSED


class Mark(models.Model):
    """One evaluator's mark on one criterion of one packet."""

    member = models.ForeignKey(PanelMember, on_delete=models.CASCADE, related_name="marks")
    packet = models.ForeignKey(Packet, on_delete=models.CASCADE, related_name="marks")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    passed = models.BooleanField(null=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "packet", "criterion"], name="mark_unique_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id}/{self.packet_id}/{self.criterion_id}"


class ConsensusMark(models.Model):
    packet = models.ForeignKey(Packet, on_delete=models.CASCADE, related_name="consensus")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    passed = models.BooleanField(null=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    rationale = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["packet", "criterion"], name="consensus_unique")
        ]

    def __str__(self) -> str:
        return f"{self.packet_id}/{self.criterion_id}"


class OfferQuerySet(models.QuerySet):
    def visible_to(self, user) -> OfferQuerySet:
        """The offers made to `user`'s own bids (marketplace.shortcuts.get_visible_or_404): the
        supplier declines their award; anybody else's offer is a 404."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(packet__bid__supplier=user)


class Offer(models.Model):
    """The award offered to a ranked bid; a decline or a default passes it to the next."""

    class Outcome(models.TextChoices):
        OPEN = "open", _("Offered")
        DECLINED = "declined", _("Declined by the supplier")
        DEFAULTED = "defaulted", _("Ended for default")

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="offers")
    packet = models.ForeignKey(Packet, on_delete=models.PROTECT, related_name="offers")
    number = models.PositiveSmallIntegerField()
    offered_at = models.DateTimeField(default=timezone.now)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OPEN)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["evaluation_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "number"], name="offer_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id} #{self.number} → {self.packet.label}"
