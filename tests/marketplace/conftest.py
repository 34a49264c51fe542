import pytest

from marketplace.models import Role
from opportunities import views as opportunity_views
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


@pytest.fixture
def failing_list(monkeypatch):
    """Make the public list raise `error` (as a view hitting a failing database would)."""

    def fail_with(error: Exception) -> None:
        def get(self, request, *args, **kwargs):
            raise error

        monkeypatch.setattr(opportunity_views.OpportunityListView, "get", get)

    return fail_with
