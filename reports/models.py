"""Program metrics (measured from the audit trail, kept per opportunity and snapshotted nightly)
and the suppliers' optional self-identification, kept apart from their profile."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OpportunityMeasures(models.Model):
    """The cycle-time measures of one opportunity, derived from its audit trail.

    Derived data, recomputed by `reports.services.measures_refresh` (nightly and on demand):
    the audit trail stays the record; this table only keeps the dashboard's reads small.
    """

    opportunity = models.OneToOneField(
        "opportunities.Opportunity",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="measures",
    )
    drafted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    awarded_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # From the first draft to payment (or to the last action, while the file is still open).
    elapsed_business_days = models.PositiveIntegerField(default=0)
    touch_business_days = models.PositiveIntegerField(default=0)
    people = models.PositiveSmallIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("opportunity measures")
        verbose_name_plural = _("opportunity measures")

    def __str__(self) -> str:
        return f"Measures of opportunity {self.opportunity_id}"

    @property
    def waiting_business_days(self) -> int:
        return max(self.elapsed_business_days - self.touch_business_days, 0)


class MetricsSnapshot(models.Model):
    """The program's headline figures as they stood one night (one row a day)."""

    taken_on = models.DateField(_("date"), unique=True)
    taken_at = models.DateTimeField(default=timezone.now)
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["-taken_on"]
        verbose_name = _("metrics snapshot")
        verbose_name_plural = _("metrics snapshots")

    def __str__(self) -> str:
        return f"Metrics of {self.taken_on}"


class SelfIdentification(models.Model):
    """A supplier's optional, consented self-identification, for aggregate reporting only.

    Its own table, never joined into anything an evaluator or buyer sees; the supplier can
    delete it at any time. Reported only in aggregate, with small cells suppressed.
    """

    class Group(models.TextChoices):
        WOMEN = "women", _("Women")
        INDIGENOUS = "indigenous", _("Indigenous peoples")
        BLACK = "black", _("Black people")
        RACIALIZED = "racialized", _("Other racialized people")
        DISABILITY = "disability", _("Persons with disabilities")
        LGBTQ = "2slgbtqi", _("2SLGBTQI+ people")
        YOUTH = "youth", _("Youth (under 30)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="self_identification"
    )
    groups = models.JSONField(_("groups"), default=list, blank=True)
    consented_at = models.DateTimeField(_("consent given"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("self-identification")
        verbose_name_plural = _("self-identifications")

    def __str__(self) -> str:
        return f"Self-identification {self.pk}"


class DiversitySnapshot(models.Model):
    """The published self-identification figures of one complete calendar quarter.

    Written once by the scheduled task after the quarter ends, and never changed: an answer
    saved, changed or deleted later does not move a published quarter, so two readings of it can
    never be subtracted (reports/diversity.py explains the rules). Only published figures are
    kept (suppressed and rounded), never the raw counts. Not in the admin: it is read on the
    program dashboard only.
    """

    quarter_start = models.DateField(_("first day of the quarter"), unique=True)
    quarter_end = models.DateField(_("last day of the quarter"))
    # The answers counted were saved before this day: the day after the quarter, or an earlier
    # quarter's when fewer than 5 answers changed since (its supplier counts carried forward).
    answers_before = models.DateField(_("answers saved before"))
    computed_at = models.DateTimeField(default=timezone.now)
    # {"rows": {group: [suppliers, bid, awarded]}, "respondents": figure or null (withheld)}
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["-quarter_start"]
        verbose_name = _("self-identification snapshot")
        verbose_name_plural = _("self-identification snapshots")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quarter_end__gt=models.F("quarter_start")),
                name="diversity_snapshot_quarter_order",
            )
        ]

    def __str__(self) -> str:
        return f"Self-identification figures {self.quarter_start} to {self.quarter_end}"

    def save(self, *args, **kwargs):
        # Frozen once published: recomputing a quarter would let two readings be subtracted.
        if not self._state.adding:
            raise TypeError("A published quarter's figures are never changed.")
        super().save(*args, **kwargs)
