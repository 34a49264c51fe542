import pytest

from marketplace.models import Role
from tests.factories import OpportunityFactory, StaffFactory


@pytest.fixture
def buyer(db):
    return StaffFactory(roles=[Role.BUYER])


@pytest.fixture
def program_admin(db):
    return StaffFactory(roles=[Role.PROGRAM_ADMIN])


@pytest.fixture
def draft(buyer):
    return OpportunityFactory(buyer=buyer)
