import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from bids import services
from bids.models import Bid
from marketplace.models import Role
from opportunities import services as opportunity_services
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory


@pytest.fixture
def program_admin(db):
    return StaffFactory(roles=[Role.PROGRAM_ADMIN])


@pytest.fixture
def opportunity(program_admin):
    """Published, open for bids, with one mandatory and one rated criterion."""
    draft = OpportunityFactory()
    opportunity_services.opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_services.opportunity_publish(actor=program_admin, opportunity=draft)


@pytest.fixture
def supplier(db):
    return SupplierProfileFactory(
        legal_name="Maple Leaf Code Works Inc.",
        trading_name="MLCW",
        contact_name="Aurélie Tremblay",
        website="https://mapleleaf-code.example",
        github_handle="mlcw-dev",
        phone="613-555-0142",
    ).user


def complete_answers(bid: Bid, text: str = "We fixed the same keyboard trap in 2024.") -> dict:
    return {criterion.pk: text for criterion in bid.opportunity.criteria.all()}


def fill(bid: Bid, supplier, **overrides) -> Bid:
    """Save a draft that can be submitted as it stands."""
    fields = {
        "answers": complete_answers(bid),
        "proposed_start_date": timezone.localdate() + dt.timedelta(days=14),
        "attest_can_work_in_canada": True,
        "attest_can_be_paid_by_card": True,
        "attest_no_conflict": True,
        "accept_terms": True,
        **overrides,
    }
    return services.bid_save_draft(supplier=supplier, bid=bid, **fields)


@pytest.fixture
def draft_bid(opportunity, supplier):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    return fill(bid, supplier)


@pytest.fixture
def terms_version():
    return settings.BID_TERMS_VERSION
