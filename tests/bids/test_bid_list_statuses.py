"""A supplier's bids in every status, on the bid list and the dashboard (issue 23): where each
stands and when its decision is expected. A sealed bid under evaluation stays listed."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from bids import services as bid_services
from bids.models import Bid
from evaluation import services as evaluation_services
from lifecycle.award import contract_decline, evaluation_award
from marketplace import formats
from opportunities.models import Opportunity
from payments import contracts
from reports.stages import bid_stage
from tests import builders
from tests.factories import SupplierProfileFactory

pytestmark = pytest.mark.django_db


def _text(page: str) -> str:
    """The page's words, tags and runs of spaces set aside."""
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _page(client, user, name: str, language: str = "en") -> str:
    client.force_login(user)
    response = client.get(f"/{language}{reverse(name)[3:]}")
    assert response.status_code == 200
    return _text(response.content.decode())


def _row(page: str, title: str) -> str:
    """The words of the bid list from `title` to the next bid."""
    start = page.index(title)
    return page[start : start + 600]


def test_open_bids_say_the_decision_comes_after_the_close(client, buyer):
    opportunity = builders.published_opportunity(buyer=buyer, title_en="Open work")
    draft_owner, submitted_owner, withdrawn_owner = (SupplierProfileFactory().user for _ in "abc")
    builders.draft_bid(opportunity=opportunity, supplier=draft_owner)
    submitted = builders.draft_bid(opportunity=opportunity, supplier=submitted_owner)
    bid_services.bid_submit(supplier=submitted_owner, bid=submitted)
    withdrawn = builders.draft_bid(opportunity=opportunity, supplier=withdrawn_owner)
    bid_services.bid_submit(supplier=withdrawn_owner, bid=withdrawn)
    bid_services.bid_withdraw(supplier=withdrawn_owner, bid=withdrawn)
    closes = formats.datetime(opportunity.closes_at)
    for owner, status in (
        (draft_owner, "Draft, not submitted"),
        (submitted_owner, "Submitted"),
        (withdrawn_owner, "Withdrawn"),
    ):
        row = _row(_page(client, owner, "bids:list"), "Open work")
        assert status in row
        assert f"After the evaluation, which starts when bids close on {closes}." in row


def test_a_sealed_bid_stays_listed_with_the_next_step(client, closed):
    opportunity, bids = closed
    supplier = bids[0].supplier
    for name in ("bids:list", "marketplace:dashboard"):
        page = _page(client, supplier, name)
        assert opportunity.title_en in page
        assert "Sealed — under evaluation" in page
        assert "Not yet: no date is set in advance. Next," in page
        assert "You have no bids" not in page


def test_each_step_of_the_evaluation_names_the_next_one(closed, evaluators):
    opportunity, bids = closed
    supplier = bids[0].supplier
    evaluation = opportunity.evaluation

    def decision():
        bid = Bid.objects.select_related("opportunity__evaluation").get(pk=bids[0].pk)
        return bid_stage(bid).decision

    assert "the evaluators declare any conflict of interest" in decision()
    scores = builders.scores_by_label(evaluation, builders.DEFAULT_MARKS)
    builders.run_to_consensus(evaluation, evaluators, scores)
    assert "the panel agrees on the marks and the chair locks them" in decision()
    assert supplier  # the bid stays the supplier's throughout


def test_results_say_when_they_were_decided(client, closed, evaluators):
    opportunity, bids = closed
    evaluation = opportunity.evaluation
    scores = builders.scores_by_label(evaluation, builders.DEFAULT_MARKS)
    builders.run_to_consensus(evaluation, evaluators, scores)
    evaluation = evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    statuses = {bid.supplier: Bid.objects.get(pk=bid.pk).status for bid in bids}
    qualified = [s for s, status in statuses.items() if status == Bid.Status.QUALIFIED]
    disqualified = [s for s, status in statuses.items() if status == Bid.Status.DISQUALIFIED]
    assert len(qualified) == 2 and len(disqualified) == 1
    page = _page(client, qualified[0], "bids:list")
    assert "Passed the mandatory criteria — waiting for the award" in page
    assert "Next, the buyer reveals who bid, then awards the contract." in page
    page = _page(client, disqualified[0], "bids:list")
    assert "Did not pass a mandatory criterion" in page

    evaluation = evaluation_services.evaluation_reveal(
        actor=opportunity.buyer, evaluation=evaluation
    )
    contract = evaluation_award(actor=opportunity.buyer, evaluation=evaluation).packet.bid.contract
    opportunity.refresh_from_db()
    decided = f"Decided on {formats.date(opportunity.awarded_at)}"
    awardee = contract.supplier
    page = _page(client, awardee, "bids:list")
    assert "Awarded to you — accept the contract" in page and decided in page
    runner_up = next(s for s in qualified if s != awardee)
    page = _page(client, runner_up, "bids:list")
    assert "Not awarded" in page and "Read your debrief" in page and decided in page

    contract_decline(supplier=awardee, contract=contract, reason="Booked elsewhere.")
    page = _page(client, awardee, "bids:list")
    assert "Award ended (declined or default)" in page
    page = _page(client, runner_up, "bids:list")
    assert "Awarded to you — accept the contract" in page


def test_delivered_work_reads_as_delivered_not_in_delivery(client, awarded):
    opportunity, contract = awarded
    contract = builders.contract_in_progress(contract)
    contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    for user in (contract.supplier, opportunity.buyer):
        page = _page(client, user, "marketplace:dashboard")
        assert "Delivered — waiting for certification" in page
        assert "In delivery" not in page


def test_a_locked_evaluation_does_not_read_evaluating(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    builders.run_to_consensus(
        evaluation, evaluators, builders.scores_by_label(evaluation, builders.DEFAULT_MARKS)
    )
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    for user in (opportunity.buyer, evaluators[0]):
        page = _page(client, user, "marketplace:dashboard")
        assert "Consensus locked — waiting for the reveal" in page
        assert "Evaluating" not in page


def test_a_draft_left_after_the_close_is_not_evaluated(client, buyer):
    opportunity = builders.published_opportunity(buyer=buyer, title_en="Missed work")
    supplier = SupplierProfileFactory().user
    builders.draft_bid(opportunity=opportunity, supplier=supplier)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=timezone.now() - dt.timedelta(hours=1)
    )
    row = _row(_page(client, supplier, "bids:list"), "Missed work")
    assert "Draft, never submitted" in row and "Not evaluated" in row


def test_french_list_keeps_every_bid_and_writes_dates_in_french(client, closed):
    opportunity, bids = closed
    page = _page(client, bids[0].supplier, "bids:list", "fr")
    assert (opportunity.title_fr or opportunity.title_en) in page
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août")
    months += ("septembre", "octobre", "novembre", "décembre")
    assert any(month in page for month in months)


def test_nobody_sees_another_suppliers_bids(client, closed):
    opportunity, _bids = closed
    stranger = SupplierProfileFactory().user
    page = _page(client, stranger, "bids:list")
    assert opportunity.title_en not in page
    assert "You have no bids yet." in page


@pytest.mark.parametrize("size", [1, 4])
def test_the_bid_list_reads_in_a_fixed_number_of_queries(
    client, buyer, size, django_assert_max_num_queries
):
    supplier = SupplierProfileFactory().user
    for _ in range(size):
        opportunity = builders.published_opportunity(buyer=buyer)
        builders.draft_bid(opportunity=opportunity, supplier=supplier)
    client.force_login(supplier)
    client.get(reverse("bids:list"))
    with django_assert_max_num_queries(6):
        assert client.get(reverse("bids:list")).status_code == 200
