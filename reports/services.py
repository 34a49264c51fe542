"""Every write of the reports app: program measures and snapshots, and suppliers' optional
self-identification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.caching import content_changed
from marketplace.models import User
from marketplace.services import audit_event_record
from opportunities.models import Opportunity

from . import dashboard, permissions
from .metrics import measure_files
from .models import MetricsSnapshot, OpportunityMeasures, SelfIdentification

# --- Self-identification -------------------------------------------------------------------------
#
# The audit trail records only that a supplier saved or deleted their answers, never which
# groups they chose. The events carry no target: the program team reads a person's activity
# through `for_target(user)`, and even the fact that someone self-identified (which implies at
# least one group) is not theirs to see.


@transaction.atomic
def self_identification_save(
    *, user: User, groups: Iterable[str], consent: bool
) -> SelfIdentification | None:
    """Keep the groups a supplier chose, with their consent; no group ("prefer not to say")
    keeps nothing and removes any earlier answer. Returns the record, or None when none is kept.
    """
    if not permissions.can_self_identify(user):
        raise PermissionDenied
    chosen = sorted(set(groups))
    unknown = [value for value in chosen if value not in SelfIdentification.Group.values]
    if unknown:
        raise ValidationError({"groups": _("Choose only from the groups listed.")})
    if not chosen:
        self_identification_delete(user=user)
        return None
    if not consent:
        raise ValidationError(
            {"consent": _("Tick the consent box to save your answers, or choose no group.")}
        )
    # The person's row first: two first saves at once (a double click) make one record.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    record = SelfIdentification.objects.select_for_update().filter(user=user).first()
    if record is not None and record.groups == chosen:
        return record  # the same answers again: their consent stands, nothing to record
    if record is None:
        record = SelfIdentification(user=user)
    record.groups = chosen
    # Consent is given again with every save: it covers the answers as they now stand.
    record.consented_at = timezone.now()
    record.full_clean()
    record.save()
    audit_event_record(actor=user, verb="self_identification.saved")
    return record


@transaction.atomic
def self_identification_delete(*, user: User) -> bool:
    """Remove the supplier's answers entirely (no soft delete). True when there was one."""
    deleted, _details = SelfIdentification.objects.filter(user=user).delete()
    if deleted:
        audit_event_record(actor=user, verb="self_identification.deleted")
    return bool(deleted)


# --- Metrics: derived measures and the nightly snapshot -----------------------------------------

MEASURE_BATCH = 500


def _stale_opportunity_ids() -> list[int]:
    """Opportunities whose measures are missing, or may have changed since they were computed:
    every file still open, and any closed file touched after its measures were computed."""
    final = (
        Opportunity.Status.COMPLETED,
        Opportunity.Status.CANCELLED,
        Opportunity.Status.UNSUCCESSFUL,
    )
    return list(
        Opportunity.objects.filter(
            Q(measures__isnull=True)
            | ~Q(status__in=final)
            | Q(updated_at__gt=F("measures__computed_at"))
        )
        .filter(published_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def measures_refresh(*, opportunity_ids: Sequence[int] | None = None) -> int:
    """Recompute the measures of these opportunities (default: the stale ones) from the audit
    trail, in batches. Returns how many were written."""
    ids = list(opportunity_ids) if opportunity_ids is not None else _stale_opportunity_ids()
    now = timezone.now()
    written = 0
    for start in range(0, len(ids), MEASURE_BATCH):
        batch = ids[start : start + MEASURE_BATCH]
        rows = []
        for pk, file in measure_files(batch).items():
            stages = file.stages
            row = OpportunityMeasures(
                opportunity_id=pk,
                drafted_at=stages["drafted"],
                published_at=stages["published"],
                closed_at=stages["closed"],
                awarded_at=stages["awarded"],
                accepted_at=stages["accepted"],
                paid_at=stages["paid"],
                elapsed_business_days=file.elapsed_business_days,
                touch_business_days=file.touch_business_days,
                people=file.people,
                computed_at=now,
            )
            # The opportunity was just read; validating the key again would be a query per row.
            row.clean_fields(exclude=["opportunity"])
            rows.append(row)
        OpportunityMeasures.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["opportunity"],
            update_fields=[
                "drafted_at", "published_at", "closed_at", "awarded_at", "accepted_at",
                "paid_at", "elapsed_business_days", "touch_business_days", "people",
                "computed_at",
            ],
        )  # fmt: skip
        written += len(rows)
    transaction.on_commit(lambda: content_changed(dashboard.METRICS_DASHBOARD))
    return written


@transaction.atomic
def metrics_snapshot_take(
    *, actor: User | None = None, today: dt.date | None = None
) -> MetricsSnapshot | None:
    """Bring the measures up to date and keep the day's headline figures, once a day.

    A second run the same day refreshes nothing and returns None."""
    today = today or timezone.localdate()
    if MetricsSnapshot.objects.filter(taken_on=today).exists():
        return None
    refreshed = measures_refresh()
    snapshot = MetricsSnapshot(
        taken_on=today, figures=dashboard.headline_figures(), taken_at=timezone.now()
    )
    snapshot.full_clean()
    snapshot.save()
    audit_event_record(
        actor=actor, verb="metrics.snapshot_taken", target=snapshot, data={"refreshed": refreshed}
    )
    return snapshot
