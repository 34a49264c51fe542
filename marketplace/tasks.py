"""Background work of the core app. Tasks take ids and re-check state: a second run is a no-op."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core import management
from django.core.mail import get_connection
from django.db import OperationalError as DatabaseOperationalError
from django.db import transaction
from kombu.exceptions import OperationalError

from . import services

logger = logging.getLogger(__name__)

# For a task's decorator: a row busy past the lock timeout, a statement past its limit, the
# database restarting — the task is tried again later (tasks re-check state: a retry acts once).
RETRY_WHEN_BUSY: dict[str, Any] = {
    "autoretry_for": (DatabaseOperationalError,),
    "retry_backoff": 2,
    "max_retries": 5,
}


def enqueue_on_commit(task, *args: Any, **options: Any) -> None:
    """After commit, hand `task` to the broker. A broker that is down loses nothing: the work
    is recorded in the database and a scheduled sweeper enqueues it again later."""

    def send() -> None:
        try:
            task.apply_async(args=args, **options)
        except (OperationalError, OSError):
            logger.exception("Broker unavailable: %s will be picked up by its sweeper", task.name)

    transaction.on_commit(send)


def scheduled_job(func: Callable) -> Callable:
    """Record each run of a beat job (start, end, result, error) for the operations page."""
    name = f"{func.__module__}.{func.__name__}"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        services.job_run_started(name=name)
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            services.job_run_finished(name=name, error=repr(exc))
            raise
        services.job_run_finished(name=name, result=result)
        return result

    return wrapper


def notifications_enqueue(notification_ids: Sequence[int]) -> None:
    """After commit, deliver these notifications in batches (one task per batch)."""
    size = settings.NOTIFICATIONS_BATCH_SIZE
    ids = list(notification_ids)
    for start in range(0, len(ids), size):
        enqueue_on_commit(notifications_deliver, ids[start : start + size])


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def notifications_deliver(notification_ids: list[int]) -> int:
    """Email a batch of notifications over one mail connection. Returns how many went out."""
    connection = get_connection()
    try:
        return services.notifications_deliver(
            notification_ids=notification_ids, connection=connection
        )
    finally:
        connection.close()


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def notifications_sweep() -> int:
    """Beat: enqueue what is still pending (a lost message, a broker that was down) and what
    failed and is due for another attempt. Returns how many it enqueued."""
    due = services.notifications_due()
    # Outside a transaction "on commit" is now; a broker that is down leaves the rows pushed
    # back by their grace period, for the next sweep.
    notifications_enqueue(due)
    return len(due)


@shared_task(acks_late=True, time_limit=600)
@scheduled_job
def sessions_clear_expired() -> None:
    management.call_command("clearsessions")
