import contextlib

import pytest

from evaluation import services
from marketplace.models import Role
from payments.models import Contract
from tests.evaluation.conftest import (  # noqa: F401 - fixtures shared with evaluation
    close_with_bids,
    closed,
    evaluators,
    labels,
    program_admin,
    run_to_consensus,
)
from tests.factories import StaffFactory


def award_first_in_rank(opportunity, panel, marks: list[tuple[bool, int]]) -> Contract:
    """The panel marks the packets (in label order), locks; the buyer reveals and awards."""
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, panel, dict(zip(labels(evaluation), marks, strict=True)))
    services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    offer = services.evaluation_award(actor=opportunity.buyer, evaluation=evaluation)
    return offer.packet.bid.contract


def awarded_without_test_transaction(*, bids: int):
    """(opportunity, contract) for transactional tests (browser, threads, a real worker):
    nothing waits for a commit, and the packets are built even when no worker runs yet."""
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    opportunity, _bids = close_with_bids(
        admin, lambda execute=True: contextlib.nullcontext(), count=bids
    )
    services.evaluation_build_packets(opportunity=opportunity)  # a no-op when already built
    panel = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    return opportunity, award_first_in_rank(opportunity, panel, [(True, 9), (True, 4)][:bids])


@pytest.fixture
def awarded(closed, evaluators):  # noqa: F811 - the fixtures imported above
    """(opportunity, contract) for an award to the first in rank; the second is qualified too."""
    opportunity, _bids = closed
    contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 5), (False, 1)])
    opportunity.refresh_from_db()
    return opportunity, contract


@pytest.fixture
def card_holder(db):
    """A card holder with limits a micro-acquisition fits in."""
    from marketplace.models import Role
    from payments.models import CardLimit
    from tests.factories import StaffFactory

    holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Casey Cardholder")
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=2_500_000
    )
    return holder


@pytest.fixture
def certified(awarded):
    """(opportunity, contract, payment): the work is delivered, accepted and certified."""
    from payments import services as payments

    opportunity, contract = awarded
    contract = payments.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = payments.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    contract = payments.contract_certify(buyer=opportunity.buyer, contract=contract, confirmed=True)
    opportunity.refresh_from_db()
    return opportunity, contract, contract.payment
