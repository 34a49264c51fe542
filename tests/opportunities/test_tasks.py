import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from marketplace.celery import app
from opportunities import tasks
from opportunities.models import Guardrails, Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.factories import OpportunityFactory

Status = Opportunity.Status


def _publish_closing_in(seconds: float, program_admin) -> Opportunity:
    guardrails = Guardrails.current()
    guardrails.min_open_business_days = 0
    guardrails.save()
    closes_at = timezone.now() + dt.timedelta(seconds=seconds)
    opportunity = OpportunityFactory(
        closes_at=closes_at, question_deadline=closes_at - dt.timedelta(seconds=1)
    )
    opportunity_submit_for_review(actor=opportunity.buyer, opportunity=opportunity)
    return opportunity_publish(actor=program_admin, opportunity=opportunity)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_scheduled_task_closes_the_opportunity_at_its_deadline(program_admin, settings):
    settings.BID_CLOSE_GRACE_SECONDS = 2  # bids that arrived in time are answered meanwhile
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        opportunity = _publish_closing_in(3, program_admin)
        time.sleep(1)
        opportunity.refresh_from_db()
        assert opportunity.status == Status.PUBLISHED  # not before the deadline
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            opportunity.refresh_from_db()
            if opportunity.closed_at is not None:
                break
            time.sleep(0.1)
    # Closed; with no bid, the evaluation then marks it unsuccessful (on the same worker).
    assert opportunity.status in (Status.CLOSED, Status.UNSUCCESSFUL)
    assert opportunity.closed_at >= opportunity.seals_at
    # At the deadline and its grace: within a couple of seconds, not on some later sweep.
    assert opportunity.closed_at - opportunity.seals_at < dt.timedelta(seconds=3)


@pytest.mark.django_db
def test_sweeper_closes_overdue_opportunities_once(program_admin, settings):
    settings.BID_CLOSE_GRACE_SECONDS = 1
    opportunity = _publish_closing_in(0.2, program_admin)
    still_open = OpportunityFactory(status=Status.PUBLISHED)
    time.sleep(0.3)
    assert tasks.opportunities_close_due() == 0  # past the deadline, within the grace
    assert tasks.opportunity_close_at_deadline(opportunity.pk) is False  # an early task too
    time.sleep(1)
    assert tasks.opportunities_close_due() == 1
    assert tasks.opportunities_close_due() == 0  # a second run is a no-op
    opportunity.refresh_from_db()
    still_open.refresh_from_db()
    assert (opportunity.status, still_open.status) == (Status.CLOSED, Status.PUBLISHED)


@pytest.mark.django_db
def test_close_task_for_an_extended_deadline_does_nothing(program_admin):
    opportunity = _publish_closing_in(60, program_admin)
    assert tasks.opportunity_close_at_deadline(opportunity.pk) is False
    opportunity.refresh_from_db()
    assert opportunity.status == Status.PUBLISHED
