import pytest

from evaluation import services
from tests.evaluation.conftest import (  # noqa: F401 - fixtures shared with evaluation
    closed,
    evaluators,
    labels,
    program_admin,
    run_to_consensus,
)


@pytest.fixture
def awarded(closed, evaluators):  # noqa: F811 - the fixtures imported above
    """(opportunity, contract) for an award to the first in rank; the second is qualified too."""
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    ls = labels(evaluation)
    run_to_consensus(
        evaluation, evaluators, {ls[0]: (True, 9), ls[1]: (True, 5), ls[2]: (False, 1)}
    )
    services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    offer = services.evaluation_award(actor=opportunity.buyer, evaluation=evaluation)
    opportunity.refresh_from_db()
    return opportunity, offer.packet.bid.contract


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
