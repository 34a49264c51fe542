import pytest
from django.conf import settings

from bids import services
from tests.builders import IDENTITIES, fill
from tests.factories import SupplierProfileFactory


@pytest.fixture
def supplier(db):
    """A supplier whose profile is complete (the bid's identity is taken from it)."""
    return SupplierProfileFactory(**IDENTITIES[0]).user


@pytest.fixture
def draft_bid(opportunity, supplier):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    return fill(bid, supplier)


@pytest.fixture
def terms_version():
    return settings.BID_TERMS_VERSION
