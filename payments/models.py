"""Delivery and acceptance of awarded work (DESIGN.md §3, §7). Payment follows acceptance."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bids.models import Bid
from opportunities.models import Opportunity


class Contract(models.Model):
    """The work awarded to one bid: the supplier accepts the terms, delivers; the buyer asks
    for changes or accepts and certifies it (FAA section 34)."""

    class Status(models.TextChoices):
        AWAITING_ACCEPTANCE = "awaiting_acceptance", _("Waiting for the supplier to accept")
        IN_PROGRESS = "in_progress", _("In progress")
        DELIVERED = "delivered", _("Delivered, waiting for the buyer")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        ACCEPTED = "accepted", _("Accepted and certified")
        DECLINED = "declined", _("Declined by the supplier")
        DEFAULTED = "defaulted", _("Ended for default")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.AWAITING_ACCEPTANCE: frozenset(
            {Status.IN_PROGRESS, Status.DECLINED, Status.DEFAULTED}
        ),
        Status.IN_PROGRESS: frozenset({Status.DELIVERED, Status.DEFAULTED}),
        Status.DELIVERED: frozenset({Status.CHANGES_REQUESTED, Status.ACCEPTED}),
        Status.CHANGES_REQUESTED: frozenset({Status.DELIVERED, Status.DEFAULTED}),
        Status.ACCEPTED: frozenset(),
        Status.DECLINED: frozenset(),
        Status.DEFAULTED: frozenset(),
    }

    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="contracts")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="contract")
    supplier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.AWAITING_ACCEPTANCE
    )
    value_cents = models.PositiveIntegerField(_("value including tax (cents)"))
    created_at = models.DateTimeField(default=timezone.now)
    terms_version = models.CharField(_("terms accepted"), max_length=20, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    delivery_url = models.URLField(_("pull request or repository"), max_length=500, blank=True)
    delivery_notes = models.TextField(_("notes for the buyer"), blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveSmallIntegerField(default=0)
    change_request = models.TextField(_("changes requested"), blank=True)
    cure_deadline = models.DateField(_("changes due by"), null=True, blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    certification_statement = models.TextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.opportunity_id} → {self.supplier} ({self.status})"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]
