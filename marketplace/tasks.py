"""Background work of the core app. Tasks take ids and re-check state: a second run is a no-op."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.core import management
from django.core.mail import get_connection
from django.db import OperationalError as DatabaseOperationalError

from . import services

logger = logging.getLogger(__name__)

# For a task's decorator: a row busy past the lock timeout, a statement past its limit, the
# database restarting — the task is tried again later (tasks re-check state: a retry acts once).
RETRY_WHEN_BUSY: dict[str, Any] = {
    "autoretry_for": (DatabaseOperationalError,),
    "retry_backoff": 2,
    "max_retries": 5,
}


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
    services.notifications_enqueue(due)
    return len(due)


@shared_task(acks_late=True, time_limit=600)
@scheduled_job
def sessions_clear_expired() -> None:
    management.call_command("clearsessions")
