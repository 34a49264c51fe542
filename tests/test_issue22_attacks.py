"""Issue 22 attacked: every status now moves through `marketplace.transitions` and the steps
that span apps through `lifecycle`. Two people (or a person and the scheduler) acting on the
same row at the same moment must end with exactly one move: the other is refused with a
sentence (`ValidationError`), never an error page (a deadlock, an integrity error), never two
contracts, offers or audit events for one move, never a bid left in a status the other rows
contradict. The races run on PostgreSQL's row locks (threads, each on its own connection); the
rest runs on SQLite too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bids import services as bid_services
from bids.models import Bid
from evaluation import services as evaluation_services
from evaluation.models import Evaluation, Offer
from lifecycle import award, closing
from marketplace.models import AuditEvent
from marketplace.transitions import transition, transition_many
from opportunities import tasks as opportunity_tasks
from opportunities.models import Opportunity
from payments import contracts
from payments.models import Contract, Payment
from tests import builders
from tests.factories import SupplierProfileFactory
from tests.support.jobs import RanByName
from tests.support.races import _needs_postgresql, _outcomes, _race

DELIVERED = "https://github.com/x/y/pull/1"


def _events(verb: str) -> int:
    return AuditEvent.objects.filter(verb=verb).count()


def _awarded(bids: int = 2) -> tuple[Opportunity, Contract]:
    return builders.awarded_without_test_transaction(bids=bids)


def _past_delivery_date(opportunity: Opportunity) -> None:
    """The expected delivery date has passed: the buyer may declare a default."""
    Opportunity.objects.filter(pk=opportunity.pk).update(
        expected_delivery_date=timezone.localdate() - dt.timedelta(days=2)
    )


def _open_offer(contract: Contract) -> Offer:
    return Offer.objects.get(packet__bid_id=contract.bid_id, outcome=Offer.Outcome.OPEN)


def _decline(contract: Contract) -> Callable[[], Any]:
    return lambda: award.offer_end(
        actor=contract.supplier, offer=_open_offer(contract), outcome=Offer.Outcome.DECLINED
    )


def _default(opportunity: Opportunity, contract: Contract) -> Callable[[], Any]:
    return lambda: award.contract_default(
        buyer=opportunity.buyer, contract=Contract.objects.get(pk=contract.pk), reason="Late."
    )


def _passed_on_once(opportunity: Opportunity, ended: Contract, outcome: str) -> None:
    """One offer ended the one way, one new offer and contract for the next in rank."""
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    assert list(evaluation.offers.order_by("number").values_list("number", "outcome")) == [
        (1, outcome),
        (2, Offer.Outcome.OPEN),
    ]
    assert Contract.objects.filter(opportunity=opportunity).count() == 2
    assert Bid.objects.get(pk=ended.bid_id).status == Bid.Status.TERMINATED
    assert _events("bid.terminated") == 1
    assert _events(f"evaluation.offer_{outcome}") == 1
    assert _events("evaluation.offered") == 2


# --- Races on PostgreSQL ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_buyer_tabs_awarding_at_once_make_one_offer_and_one_contract():
    _needs_postgresql()
    evaluation, _panel = builders.locked_evaluation(marks=[(True, 9), (True, 5)], reveal=True)
    buyer = evaluation.opportunity.buyer
    results = _race(
        *[
            lambda: award.evaluation_award(
                actor=buyer, evaluation=Evaluation.objects.get(pk=evaluation.pk)
            )
            for _ in range(2)
        ]
    )
    assert _outcomes(results) == ["ok", "refused"]
    assert Offer.objects.filter(evaluation=evaluation).count() == 1
    assert Contract.objects.filter(opportunity=evaluation.opportunity).count() == 1
    assert _events("evaluation.awarded") == _events("opportunity.awarded") == 1
    assert _events("bid.awarded") == 1 and _events("contract.created") == 1
    assert sorted(
        Bid.objects.filter(opportunity=evaluation.opportunity).values_list("status", flat=True)
    ) == [Bid.Status.AWARDED, Bid.Status.NOT_AWARDED]


@pytest.mark.django_db(transaction=True)
def test_the_awardee_declining_while_the_buyer_declares_a_default_ends_the_award_once():
    """Decline locks the offer then the contract; default locked the contract then the offer:
    at the same moment the two deadlocked and one got a database error (a 500)."""
    _needs_postgresql()
    opportunity, contract = _awarded()
    _past_delivery_date(opportunity)
    results = _race(_decline(contract), _default(opportunity, contract))
    assert _outcomes(results) == ["ok", "refused"]
    [(_ok, messages)] = [r for r in results if r[0] == "refused"]
    assert messages[0] in (
        "This award has already ended.",  # the default first: the decline finds it ended
        "This contract is “Declined by the supplier”: this step is not possible now.",
    )
    ended = Contract.objects.get(pk=contract.pk)
    assert ended.status in (Contract.Status.DECLINED, Contract.Status.DEFAULTED)
    outcome = (
        Offer.Outcome.DECLINED
        if ended.status == Contract.Status.DECLINED
        else Offer.Outcome.DEFAULTED
    )
    _passed_on_once(opportunity, ended, outcome)
    assert _events("contract.declined") + _events("contract.defaulted") == 1


@pytest.mark.django_db(transaction=True)
def test_declining_twice_at_once_passes_the_award_on_once():
    _needs_postgresql()
    opportunity, contract = _awarded()
    offer = _open_offer(contract)
    results = _race(
        *[
            lambda: award.offer_end(
                actor=contract.supplier, offer=offer, outcome=Offer.Outcome.DECLINED
            )
            for _ in range(2)
        ]
    )
    assert _outcomes(results) == ["ok", "refused"]
    _passed_on_once(opportunity, contract, Offer.Outcome.DECLINED)
    assert _events("contract.declined") == 1


@pytest.mark.django_db(transaction=True)
def test_declaring_a_default_twice_at_once_passes_the_award_on_once():
    _needs_postgresql()
    opportunity, contract = _awarded()
    _past_delivery_date(opportunity)
    results = _race(_default(opportunity, contract), _default(opportunity, contract))
    assert _outcomes(results) == ["ok", "refused"]
    _passed_on_once(opportunity, contract, Offer.Outcome.DEFAULTED)
    assert _events("contract.defaulted") == 1


@pytest.mark.django_db(transaction=True)
def test_accepting_the_terms_while_declining_does_one_of_the_two():
    _needs_postgresql()
    opportunity, contract = _awarded()
    results = _race(
        _decline(contract),
        lambda: contracts.contract_accept_terms(
            supplier=contract.supplier, contract=Contract.objects.get(pk=contract.pk)
        ),
    )
    assert _outcomes(results) == ["ok", "refused"]
    contract.refresh_from_db()
    opportunity.refresh_from_db()
    if contract.status == Contract.Status.IN_PROGRESS:
        assert opportunity.status == Opportunity.Status.IN_DELIVERY
        assert Offer.objects.get(packet__bid_id=contract.bid_id).outcome == Offer.Outcome.OPEN
        assert Contract.objects.filter(opportunity=opportunity).count() == 1
        assert Bid.objects.get(pk=contract.bid_id).status == Bid.Status.AWARDED
        assert _events("bid.terminated") == 0
    else:
        assert contract.status == Contract.Status.DECLINED
        _passed_on_once(opportunity, contract, Offer.Outcome.DECLINED)
        assert _events("contract.accepted") == 0


@pytest.mark.django_db(transaction=True)
def test_certifying_twice_at_once_issues_one_payment():
    _needs_postgresql()
    opportunity, contract = _awarded(bids=1)
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url=DELIVERED, notes=""
    )
    results = _race(
        *[
            lambda: contracts.contract_certify(
                buyer=opportunity.buyer,
                contract=Contract.objects.get(pk=contract.pk),
                confirmed=True,
            )
            for _ in range(2)
        ]
    )
    assert _outcomes(results) == ["ok", "refused"]
    assert Payment.objects.filter(contract=contract).count() == 1
    assert _events("contract.certified") == 1


@pytest.mark.django_db(transaction=True)
def test_the_chair_locking_twice_at_once_ranks_once():
    _needs_postgresql()
    evaluation, panel = builders.consensus_reached(marks=[(True, 9), (False, 2)])
    results = _race(
        *[
            lambda: evaluation_services.evaluation_lock(
                chair=panel[0], evaluation=Evaluation.objects.get(pk=evaluation.pk)
            )
            for _ in range(2)
        ]
    )
    assert _outcomes(results) == ["ok", "refused"]
    assert _events("bid.qualified") == _events("bid.disqualified") == 1
    assert _events("evaluation.selected") == 1


def _closing_now(opportunity: Opportunity) -> dt.datetime:
    """The deadline passed a moment ago (and its grace with it): the close is due."""
    closes_at = timezone.now() - dt.timedelta(seconds=1)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=closes_at, question_deadline=closes_at - dt.timedelta(hours=1)
    )
    return closes_at


@pytest.mark.django_db(transaction=True)
def test_two_close_tasks_and_a_bid_arrived_at_the_deadline_close_once(opportunity, settings):
    _needs_postgresql()
    settings.BID_CLOSE_GRACE_SECONDS = 0
    supplier = SupplierProfileFactory().user
    bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)
    in_time = _closing_now(opportunity) - dt.timedelta(milliseconds=100)
    results = _race(
        lambda: opportunity_tasks.opportunity_close_at_deadline(opportunity.pk),
        lambda: opportunity_tasks.opportunity_close_at_deadline(opportunity.pk),
        lambda: bid_services.bid_submit(supplier=supplier, bid=bid, arrived_at=in_time),
    )
    assert not [r for r in results if r[0] in ("error", "missing")], results
    assert sorted(r[1] for r in results[:2]) == [False, True]  # the second run is a no-op
    assert _events("opportunity.closed") == 1
    assert Evaluation.objects.filter(opportunity=opportunity).count() == 1
    bid.refresh_from_db()
    if results[2][0] == "ok":
        assert bid.status == Bid.Status.SEALED and _events("bid.sealed") == 1
    else:
        assert results[2][0] == "refused" and "sealed at its close" in results[2][1][0]
        assert bid.status == Bid.Status.DRAFT and _events("bid.sealed") == 0


@pytest.mark.django_db(transaction=True)
def test_withdrawing_while_the_close_runs_is_wholly_before_it_or_refused(opportunity, settings):
    _needs_postgresql()
    supplier = SupplierProfileFactory().user
    bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)
    bid_services.bid_submit(supplier=supplier, bid=bid)
    in_time = _closing_now(opportunity) - dt.timedelta(milliseconds=100)
    results = _race(
        lambda: closing.opportunity_close(opportunity=Opportunity.objects.get(pk=opportunity.pk)),
        lambda: bid_services.bid_withdraw(supplier=supplier, bid=bid, arrived_at=in_time),
    )
    close, withdraw = results
    assert close[0] == "ok", results
    bid.refresh_from_db()
    if withdraw[0] == "ok":
        assert bid.status == Bid.Status.WITHDRAWN and _events("bid.sealed") == 0
    else:
        assert withdraw[0] == "refused", results
        assert bid.status == Bid.Status.SEALED and _events("bid.withdrawn") == 0


# --- All or none --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_refused_row_refuses_the_whole_move_and_nothing_is_written(opportunity):
    submitted = builders.draft_bid(opportunity=opportunity, supplier=SupplierProfileFactory().user)
    bid_services.bid_submit(supplier=submitted.supplier, bid=submitted)
    draft = builders.draft_bid(opportunity=opportunity, supplier=SupplierProfileFactory().user)
    before = {b.pk: (b.status, b.sealed_at) for b in Bid.objects.all()}
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        transition_many(
            Bid.objects.filter(pk__in=[submitted.pk, draft.pk]),
            Bid.Status.SEALED,
            actor=None,
            verb="bid.sealed",
            fields={"sealed_at": timezone.now()},
        )
    assert refused.value.messages == [
        "A bid that is “Draft, not submitted” cannot become “Sealed”."
    ]
    assert {b.pk: (b.status, b.sealed_at) for b in Bid.objects.all()} == before
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_refused_move_of_one_row_writes_nothing(opportunity):
    stamp = Opportunity.objects.values_list("updated_at", flat=True).get(pk=opportunity.pk)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        transition(opportunity, Opportunity.Status.AWARDED, actor=None, verb="opportunity.awarded")
    assert Opportunity.objects.values_list("status", "updated_at").get(pk=opportunity.pk) == (
        Opportunity.Status.PUBLISHED,
        stamp,
    )
    assert AuditEvent.objects.count() == events


# --- Tasks enqueued by name run ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_tasks_named_by_publish_close_award_and_decline_run(
    monkeypatch, django_capture_on_commit_callbacks
):
    ran = RanByName(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        opportunity = builders.published_opportunity()
    assert {
        "opportunities.tasks.opportunity_close_at_deadline",
        "opportunities.tasks.opportunity_alerts_fanout",
    } <= ran.names()
    builders.submitted_bids(opportunity, count=2)
    ran.runs.clear()
    opportunity = builders.close(opportunity, capture=django_capture_on_commit_callbacks)
    assert {
        "evaluation.tasks.evaluation_build_packets",
        "marketplace.tasks.notifications_deliver",
    } <= ran.names()
    assert opportunity.evaluation.packets.count() == 2
    ran.runs.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _opportunity, contract = builders.awarded_contract(
            opportunity=opportunity, marks=[(True, 9), (True, 5)]
        )
    assert "marketplace.tasks.notifications_deliver" in ran.names()
    ran.runs.clear()
    with django_capture_on_commit_callbacks(execute=True):
        award.offer_end(
            actor=contract.supplier, offer=_open_offer(contract), outcome=Offer.Outcome.DECLINED
        )
    assert "marketplace.tasks.notifications_deliver" in ran.names()


# --- The history reads the same verbs and data as before -----------------------------------------


@pytest.mark.django_db
def test_the_moves_record_the_verbs_and_data_they_recorded_before(awarded):
    """As at fdd32cb: the opportunity's and the contract's moves {"from", "to", …}, the
    contract's acceptance with the terms, the offer's end on the evaluation."""
    opportunity, contract = awarded

    def data(verb: str, target) -> dict:
        [event] = AuditEvent.objects.filter(verb=verb, target_id=str(target.pk))
        return event.data

    assert data("opportunity.closed", opportunity) == {"from": "published", "to": "closed"}
    assert data("opportunity.awarded", opportunity) == {"from": "evaluating", "to": "awarded"}
    assert data("evaluation.awarded", opportunity.evaluation) == {
        "from": "revealed",
        "to": "awarded",
    }
    contract = builders.contract_in_progress(contract)
    accepted = data("contract.accepted", contract)
    assert accepted.keys() == {"from", "to", "terms"}
    assert (accepted["from"], accepted["to"]) == ("awaiting_acceptance", "in_progress")
    assert data("opportunity.in_delivery", opportunity) == {
        "from": "awarded",
        "to": "in_delivery",
    }
    _past_delivery_date(opportunity)
    award.contract_default(
        buyer=opportunity.buyer, contract=Contract.objects.get(pk=contract.pk), reason="Late."
    )
    assert data("contract.defaulted", contract) == {"from": "in_progress", "to": "defaulted"}
    assert data("evaluation.offer_defaulted", opportunity.evaluation) == {
        "offer": 1,
        "packet": Offer.objects.get(number=1).packet.label,
    }
