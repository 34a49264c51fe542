import pytest

from marketplace.models import Role
from opportunities import views as opportunity_views
from tests import builders
from tests.factories import StaffFactory, SupplierFactory


@pytest.fixture
def supplier(db):
    """A supplier account with no profile yet (tests/bids' `supplier` has a complete one)."""
    return SupplierFactory()


@pytest.fixture
def second_admin(db):
    """Another program admin: the second person the two-person rule asks for."""
    return StaffFactory(email="second@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])


@pytest.fixture
def card_holder(db):
    """A card holder whose limits (500,000 / 2,000,000 cents) the approval tests change and read
    back (tests/conftest.py's has other limits)."""
    return builders.card_holder(per_transaction_cents=500_000, monthly_cents=2_000_000)


@pytest.fixture
def failing_list(monkeypatch):
    """Make the public list raise `error` (as a view hitting a failing database would)."""

    def fail_with(error: Exception) -> None:
        def get(self, request, *args, **kwargs):
            raise error

        monkeypatch.setattr(opportunity_views.OpportunityListView, "get", get)

    return fail_with
