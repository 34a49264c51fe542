"""Closing happens at the deadline, by the scheduler, not lazily on the next request."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import Opportunity

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=45)
def opportunity_close_at_deadline(opportunity_id: int) -> bool:
    """Close one opportunity whose deadline has passed. A second run is a no-op."""
    from .services import opportunity_close

    opportunity = Opportunity.objects.filter(
        pk=opportunity_id, status=Opportunity.Status.PUBLISHED
    ).first()
    if opportunity is None:
        return False
    try:
        opportunity_close(opportunity=opportunity)
    except ValidationError:
        # Deadline extended after this task was scheduled, or a race with the sweeper.
        return False
    return True


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def opportunities_close_due() -> int:
    """Beat sweeper: close every published opportunity whose deadline has passed."""
    due = Opportunity.objects.filter(
        status=Opportunity.Status.PUBLISHED, closes_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    return sum(opportunity_close_at_deadline(pk) for pk in due)
