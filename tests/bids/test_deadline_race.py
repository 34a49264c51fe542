"""Submissions racing the close, on PostgreSQL with real row locks (DESIGN.md §3)."""

import datetime as dt
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from bids import services
from bids.models import Bid, Receipt
from opportunities import services as opportunity_services
from opportunities.models import Opportunity
from tests.bids.conftest import fill
from tests.factories import SupplierProfileFactory

SUPPLIERS = 24
SPREAD = dt.timedelta(milliseconds=600)  # submissions from 0.6 s before to 0.6 s after


@pytest.mark.django_db(transaction=True)
def test_no_submission_is_accepted_after_the_close_and_none_before_it_is_lost(opportunity):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (run by `make test` with DATABASE_URL set)")
    bids = []
    for _ in range(SUPPLIERS):
        supplier = SupplierProfileFactory().user
        bids.append(fill(services.bid_start(supplier=supplier, opportunity=opportunity), supplier))
    closes_at = timezone.now() + dt.timedelta(seconds=2)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=closes_at, question_deadline=closes_at - dt.timedelta(seconds=1)
    )
    results: dict[int, tuple[str, object]] = {}
    start = threading.Barrier(SUPPLIERS + 1)

    def wait_until(moment: dt.datetime) -> None:
        time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))

    def submit(index: int, bid: Bid) -> None:
        start.wait()
        wait_until(closes_at - SPREAD + 2 * SPREAD * index / (SUPPLIERS - 1))
        try:
            receipt = services.bid_submit(supplier=bid.supplier, bid=bid)
            results[bid.pk] = ("accepted", receipt.submitted_at)
        except ValidationError as refused:
            results[bid.pk] = ("refused", refused.messages[0])
        finally:
            connections.close_all()

    def close() -> None:
        start.wait()
        wait_until(closes_at)
        opportunity_services.opportunity_close(
            opportunity=Opportunity.objects.get(pk=opportunity.pk)
        )
        connections.close_all()

    threads = [threading.Thread(target=submit, args=(i, bid)) for i, bid in enumerate(bids)]
    threads.append(threading.Thread(target=close))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    accepted = {pk for pk, (outcome, _detail) in results.items() if outcome == "accepted"}
    refused = {pk for pk, (outcome, _detail) in results.items() if outcome == "refused"}
    assert len(results) == SUPPLIERS
    assert accepted and refused, "the submissions should straddle the close"
    for pk in accepted:
        assert results[pk][1] < closes_at  # accepted only before the deadline
    for pk in refused:
        assert "closed" in results[pk][1]  # a clear message, not an error page
    # Nothing acknowledged is lost: every accepted bid has its receipt and is sealed as sent.
    assert set(Receipt.objects.values_list("bid_id", flat=True)) == accepted
    assert set(Bid.objects.filter(status=Bid.Status.SEALED).values_list("pk", flat=True)) == (
        accepted
    )
    for receipt in Receipt.objects.all():
        assert receipt.digest == services.content_digest(receipt.content)
    assert set(Bid.objects.filter(status=Bid.Status.DRAFT).values_list("pk", flat=True)) == (
        refused
    )
    # Closed, and (its packets built after the commit) already in evaluation.
    assert Opportunity.objects.get(pk=opportunity.pk).status in (
        Opportunity.Status.CLOSED,
        Opportunity.Status.EVALUATING,
    )
