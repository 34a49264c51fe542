import pytest
from django.conf import settings

from bids import services
from tests.builders import fill
from tests.factories import SupplierProfileFactory


@pytest.fixture
def supplier(db):
    """A supplier whose profile is complete (the bid's identity is taken from it)."""
    return SupplierProfileFactory(
        legal_name="Maple Leaf Code Works Inc.",
        trading_name="MLCW",
        contact_name="Aurélie Tremblay",
        website="https://mapleleaf-code.example",
        github_handle="mlcw-dev",
        phone="613-555-0142",
    ).user


@pytest.fixture
def draft_bid(opportunity, supplier):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    return fill(bid, supplier)


@pytest.fixture
def terms_version():
    return settings.BID_TERMS_VERSION
