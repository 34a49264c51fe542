"""Handing work to Celery from domain code, without importing the task modules.

Tasks are entry points (docs/DESIGN.md, "Layers"): they import services, so services cannot
import them back. A service names the task it wants run after its transaction commits —
`enqueue_on_commit("opportunities.tasks.opportunity_alerts_fanout", opportunity.pk)` — and the
name is looked up in Celery's registry when the transaction commits. A name that is not
registered fails loudly there (and `tests/test_architecture.py` checks every name written in the
code), so a typo cannot lose work silently.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def task_named(name: str):
    """The registered task called `name` (its module path and function name)."""
    return current_app.tasks[name]


def enqueue_on_commit(task: Any, *args: Any, **options: Any) -> None:
    """After commit, hand `task` (a task or its registered name) to the broker. A broker that
    is down loses nothing: the work is recorded in the database and a scheduled sweeper
    enqueues it again later."""

    def send() -> None:
        found = task_named(task) if isinstance(task, str) else task
        try:
            found.apply_async(args=args, **options)
        except (OperationalError, OSError):
            logger.exception("Broker unavailable: %s will be picked up by its sweeper", found.name)

    transaction.on_commit(send)
