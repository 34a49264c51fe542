"""Every write of the reports app: program measures and snapshots, and suppliers' optional
self-identification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.caching import content_changed
from marketplace.models import User
from marketplace.services import audit_event_record
from opportunities.models import Opportunity

from . import dashboard, diversity, permissions
from .metrics import measure_files
from .models import DiversitySnapshot, MetricsSnapshot, OpportunityMeasures, SelfIdentification

# --- Self-identification -------------------------------------------------------------------------
#
# The audit trail records only that someone saved or deleted answers, never who nor which
# groups. The events carry no actor and no target: the audit list shows both (the target as
# `target_repr`, and `for_target(user)` gathers a person's activity), and a name beside
# "self_identification.saved" told whose change the next reading of the counts showed. Even the
# fact that someone self-identified (which implies at least one group) is not the program team's
# to see. What is left, the time of an anonymous event, tells nothing about groups: the figures
# only move once a quarter, rounded, and after 5 changes or more (reports/diversity.py).


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
    audit_event_record(actor=None, verb="self_identification.saved")
    return record


@transaction.atomic
def self_identification_delete(*, user: User) -> bool:
    """Remove the supplier's answers entirely (no soft delete). True when there was one."""
    deleted, _details = SelfIdentification.objects.filter(user=user).delete()
    if deleted:
        audit_event_record(actor=None, verb="self_identification.deleted")
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


# --- Self-identification figures: one frozen snapshot per complete quarter ----------------------


def _quarters_due(today: dt.date) -> list[dt.date]:
    """The first days of the complete quarters not computed yet: those after the last snapshot
    (or, before the first, from the quarter of the earliest standing answer), up to the last
    complete quarter. A quarter before the last snapshot is never computed late: it would be
    counted from answers as they stand now, which a later reading could be subtracted from."""
    last_end = diversity.last_complete_quarter_end(today)
    latest = DiversitySnapshot.objects.order_by("-quarter_start").first()
    if latest is not None:
        first = diversity.next_quarter_start(latest.quarter_start)
    else:
        earliest = (
            SelfIdentification.objects.order_by("consented_at")
            .values_list("consented_at", flat=True)
            .first()
        )
        if earliest is None:
            return []  # nobody has answered: nothing to publish yet
        first = diversity.quarter_start(timezone.localdate(earliest))
    quarters = []
    while first <= last_end:
        quarters.append(first)
        first = diversity.next_quarter_start(first)
    return quarters


@transaction.atomic
def diversity_snapshots_take(*, today: dt.date | None = None) -> list[DiversitySnapshot]:
    """Compute and keep the self-identification figures of each complete quarter not yet
    computed, oldest first; a quarter already kept is never computed again. Runs on a schedule
    (and when the demo is seeded), never from a page. Returns the snapshots it took."""
    today = today or timezone.localdate()
    taken = []
    previous = DiversitySnapshot.objects.order_by("-quarter_start").first()
    for start in _quarters_due(today):
        figures, answers_before = diversity.quarter_figures(start, today=today, previous=previous)
        snapshot = DiversitySnapshot(
            quarter_start=start,
            quarter_end=diversity.quarter_end(start),
            answers_before=answers_before,
            figures=figures,
            computed_at=timezone.now(),
        )
        snapshot.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                snapshot.save()
        except IntegrityError:  # another run kept this quarter first: theirs stands
            previous = DiversitySnapshot.objects.get(quarter_start=start)
            continue
        # An aggregate, published figure: the event names the quarter, and nobody in it.
        audit_event_record(actor=None, verb="diversity.snapshot_taken", target=snapshot)
        taken.append(snapshot)
        previous = snapshot
    if taken:
        transaction.on_commit(lambda: content_changed(dashboard.METRICS_DASHBOARD))
    return taken
