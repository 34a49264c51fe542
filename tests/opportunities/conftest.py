import pytest

from tests.factories import OpportunityFactory


@pytest.fixture
def draft(buyer):
    return OpportunityFactory(buyer=buyer)
