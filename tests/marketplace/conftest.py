import pytest

from marketplace.models import Role
from tests.factories import StaffFactory, SupplierFactory


@pytest.fixture
def supplier(db):
    return SupplierFactory()


@pytest.fixture
def program_admin(db):
    return StaffFactory(email="admin@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])


@pytest.fixture
def buyer(db):
    return StaffFactory(email="buyer@esdc-edsc.gc.ca", roles=[Role.BUYER])
