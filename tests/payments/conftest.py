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
