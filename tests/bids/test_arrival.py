"""The deadline judged by arrival (DESIGN.md §3): when the request reached the server counts, not
when a busy server got round to it; the close waits a grace for those still being answered."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from bids import services
from bids.models import Bid, Receipt
from lifecycle import closing
from marketplace.middleware import ArrivalMiddleware, arrival_time
from opportunities import tasks as opportunity_tasks
from opportunities.addenda import opportunity_amend
from opportunities.models import Opportunity, Question
from tests.builders import fill
from tests.support.forms import _form_data

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


def _closing(opportunity: Opportunity, at: dt.datetime) -> Opportunity:
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=at, question_deadline=at - dt.timedelta(hours=1)
    )
    opportunity.refresh_from_db()
    return opportunity


def test_a_submission_that_arrived_in_time_is_recorded_after_the_deadline(draft_bid, supplier):
    closes_at = timezone.now() - 2 * SECOND  # the server got round to it 2 s late
    _closing(draft_bid.opportunity, closes_at)
    receipt = services.bid_submit(
        supplier=supplier, bid=draft_bid, arrived_at=closes_at - dt.timedelta(milliseconds=1)
    )
    assert receipt.received_at < closes_at < receipt.submitted_at
    assert Bid.objects.get(pk=draft_bid.pk).status == Bid.Status.SUBMITTED


def test_a_submission_that_arrived_at_the_deadline_is_refused(draft_bid, supplier):
    closes_at = timezone.now() - SECOND
    _closing(draft_bid.opportunity, closes_at)
    with pytest.raises(ValidationError, match="closed at"):
        services.bid_submit(supplier=supplier, bid=draft_bid, arrived_at=closes_at)
    assert not Receipt.objects.exists()


def test_an_arrival_time_in_the_future_counts_as_now(draft_bid, supplier):
    closes_at = timezone.now() - SECOND
    _closing(draft_bid.opportunity, closes_at)
    with pytest.raises(ValidationError, match="closed at"):
        services.bid_submit(
            supplier=supplier, bid=draft_bid, arrived_at=closes_at + dt.timedelta(days=1)
        )


def test_once_sealed_an_on_time_request_is_refused_clearly(draft_bid, supplier, settings):
    """Only if it was still unanswered when the close ran (the grace exists for that)."""
    closes_at = timezone.now() - 2 * SECOND
    opportunity = _closing(draft_bid.opportunity, closes_at)
    closing.opportunity_close(opportunity=opportunity)
    with pytest.raises(ValidationError, match="sealed"):
        services.bid_save_draft(
            supplier=supplier, bid=draft_bid, answers={}, arrived_at=closes_at - SECOND
        )


def test_saving_and_withdrawing_are_judged_by_arrival_too(draft_bid, supplier):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    closes_at = timezone.now() - SECOND
    _closing(draft_bid.opportunity, closes_at)
    on_time = closes_at - dt.timedelta(milliseconds=5)
    bid = services.bid_withdraw(supplier=supplier, bid=draft_bid, arrived_at=on_time)
    assert bid.withdrawn_at == on_time
    with pytest.raises(ValidationError, match="closed at"):
        fill(draft_bid, supplier, arrived_at=closes_at)


def test_the_view_judges_a_submission_by_the_middlewares_arrival_time(
    client, draft_bid, supplier, monkeypatch
):
    """The request arrived a millisecond before the deadline; everything after ran late."""
    client.force_login(supplier)
    closes_at = timezone.now() + dt.timedelta(minutes=5)
    _closing(draft_bid.opportunity, closes_at)
    arrived = closes_at - dt.timedelta(milliseconds=1)
    monkeypatch.setattr("marketplace.middleware.arrival_time", lambda meta: arrived)
    # The rest of the request runs after the deadline.
    later = closes_at + 3 * SECOND
    monkeypatch.setattr("bids.services.timezone.now", lambda: later)
    answer = client.post(
        reverse("bids:edit", args=[draft_bid.pk]), _form_data(draft_bid, action_submit="Submit")
    )
    assert answer.status_code == 302 and "/receipts/1/" in answer["Location"]
    receipt = Receipt.objects.get(bid=draft_bid)
    assert (receipt.received_at, receipt.submitted_at) == (arrived, later)
    page = client.get(answer["Location"]).content.decode()
    assert "Reached our server" in page and "the deadline is judged by this time" in page


def test_a_question_is_judged_by_arrival(client, opportunity, supplier, monkeypatch):
    client.force_login(supplier)
    deadline = timezone.now() - SECOND
    Opportunity.objects.filter(pk=opportunity.pk).update(question_deadline=deadline)
    url = reverse("opportunities:ask", args=[opportunity.pk])
    monkeypatch.setattr("marketplace.middleware.arrival_time", lambda meta: deadline - SECOND)
    client.post(url, {"text": "Sent in time, answered late?"})
    monkeypatch.setattr("marketplace.middleware.arrival_time", lambda meta: deadline)
    refused = client.post(url, {"text": "Sent at the deadline?"}, follow=True)
    assert list(Question.objects.values_list("text", flat=True)) == ["Sent in time, answered late?"]
    assert "Questions are closed for this opportunity." in refused.content.decode()


# --- Where the arrival time comes from ---------------------------------------------------------


def test_without_a_configured_header_arrival_is_when_django_saw_the_request(settings):
    settings.REQUEST_ARRIVAL_HEADER = ""
    before = timezone.now()
    arrived = arrival_time({"HTTP_X_REQUEST_START": "t=1000000000.0"})
    assert before <= arrived <= timezone.now()


@pytest.mark.parametrize(
    ("header", "seconds_ago"),
    [
        ("t={stamp:.3f}", 5),  # nginx: seconds with milliseconds
        ("t={ms:.0f}", 5),  # milliseconds
        ("{us:.0f}", 5),  # microseconds, no prefix
    ],
)
def test_the_proxys_stamp_is_used_when_configured(settings, header, seconds_ago):
    settings.REQUEST_ARRIVAL_HEADER = "HTTP_X_REQUEST_START"
    stamp = timezone.now().timestamp() - seconds_ago
    value = header.format(stamp=stamp, ms=stamp * 1000, us=stamp * 1_000_000)
    arrived = arrival_time({"HTTP_X_REQUEST_START": value})
    assert abs(arrived.timestamp() - stamp) < 0.01


@pytest.mark.parametrize(
    "value", ["t=", "garbage", "t=nan", "t=inf", "t=-1e300", "t=1e300", "٣", "t=1e18"]
)
def test_a_forged_or_broken_stamp_never_moves_arrival_far(settings, value):
    settings.REQUEST_ARRIVAL_HEADER = "HTTP_X_REQUEST_START"
    settings.REQUEST_ARRIVAL_MAX_WAIT_SECONDS = 30
    before = timezone.now()
    arrived = arrival_time({"HTTP_X_REQUEST_START": value})
    assert before - dt.timedelta(seconds=30) <= arrived <= timezone.now()


def test_a_stamp_from_long_ago_or_the_future_is_clamped(settings):
    settings.REQUEST_ARRIVAL_HEADER = "HTTP_X_REQUEST_START"
    settings.REQUEST_ARRIVAL_MAX_WAIT_SECONDS = 30
    now = timezone.now().timestamp()
    old = arrival_time({"HTTP_X_REQUEST_START": f"t={now - 3600}"})
    assert 29 <= now - old.timestamp() <= 31
    future = arrival_time({"HTTP_X_REQUEST_START": f"t={now + 3600}"})
    assert abs(future.timestamp() - now) < 1


def test_the_middleware_stamps_every_request():
    seen = {}

    def view(request):
        seen["arrived_at"] = request.arrived_at
        return None

    ArrivalMiddleware(view)(RequestFactory().get("/"))
    assert abs(seen["arrived_at"] - timezone.now()) < SECOND


# --- The close waits its grace -----------------------------------------------------------------


def test_the_scheduler_closes_only_after_the_grace(opportunity, settings):
    settings.BID_CLOSE_GRACE_SECONDS = 60
    _closing(opportunity, timezone.now() - 30 * SECOND)
    assert opportunity.seals_at == opportunity.closes_at + 60 * SECOND
    assert opportunity_tasks.opportunity_close_at_deadline(opportunity.pk) is False
    assert opportunity_tasks.opportunities_close_due() == 0
    _closing(opportunity, timezone.now() - 61 * SECOND)
    assert opportunity_tasks.opportunities_close_due() == 1
    assert Opportunity.objects.get(pk=opportunity.pk).status != Opportunity.Status.PUBLISHED


# --- Between the deadline and the close --------------------------------------------------------


def test_the_buyer_cannot_amend_after_the_deadline_to_reopen_bidding(client, opportunity):
    """Past the deadline, before the close (the grace): the opportunity no longer changes, so
    no late bidder gets back in by a new closing date."""
    buyer = opportunity.buyer
    _closing(opportunity, timezone.now() - 10 * SECOND)
    assert opportunity.status == Opportunity.Status.PUBLISHED
    with pytest.raises(ValidationError, match="deadline has passed"):
        opportunity_amend(
            actor=buyer,
            opportunity=opportunity,
            note_en="Extended.",
            note_fr="Prolongée.",
            closes_at=timezone.now() + dt.timedelta(days=1),
        )
    assert Opportunity.objects.get(pk=opportunity.pk).closes_at < timezone.now()
    client.force_login(buyer)
    detail = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert reverse("opportunities:amend", args=[opportunity.pk]) not in detail
    page = client.get(reverse("opportunities:amend", args=[opportunity.pk]), follow=True)
    assert "The deadline has passed: this opportunity can no longer change." in (
        page.content.decode()
    )
