"""Background work of the program metrics and the self-identification figures."""

from __future__ import annotations

from celery import shared_task

from marketplace.tasks import scheduled_job

from . import services


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
@scheduled_job
def metrics_snapshot() -> int:
    """Nightly: bring every opportunity's measures up to date and keep the day's figures.
    A second run the same day does nothing. Returns how many snapshots it took (0 or 1)."""
    return 0 if services.metrics_snapshot_take() is None else 1


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
@scheduled_job
def diversity_snapshots() -> int:
    """Nightly: keep the self-identification figures of each complete quarter not yet kept
    (normally one, the night after a quarter ends; none on other nights). Returns how many."""
    return len(services.diversity_snapshots_take())
