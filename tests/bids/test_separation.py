"""The buyer who owns an opportunity never bids on it (DESIGN.md §4), whatever roles the
account holds: refused on the page, in the predicate and in every service that changes a bid."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from bids import permissions, services
from bids.models import Bid
from marketplace.models import Role, RoleGrant, SupplierProfile, User
from tests.builders import fill
from tests.factories import BidFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db

REFUSED = "You are the buyer of this opportunity: you cannot bid on it."


@pytest.fixture
def buyer_as_supplier(opportunity) -> User:
    """The opportunity's buyer with a supplier grant and a complete profile as well: rows from
    before the rule that supplier and staff roles exclude each other."""
    buyer = opportunity.buyer
    RoleGrant.objects.create(user=buyer, role=Role.SUPPLIER)
    SupplierProfileFactory(user=buyer, email=buyer.email)
    return User.objects.get(pk=buyer.pk)


def test_the_owning_buyer_cannot_start_a_bid_on_the_page(client, opportunity, buyer_as_supplier):
    client.force_login(buyer_as_supplier)
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Bid on this opportunity" not in page
    response = client.post(reverse("bids:start", args=[opportunity.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("opportunities:detail", args=[opportunity.pk])
    assert REFUSED in response.content.decode()
    assert not Bid.objects.filter(opportunity=opportunity).exists()


def test_can_bid_is_false_for_the_owning_buyer_only(opportunity, buyer_as_supplier, supplier):
    now = timezone.now()
    own = SupplierProfile.objects.get(user=buyer_as_supplier)
    assert not permissions.can_bid(buyer_as_supplier, opportunity, now=now, profile=own)
    other = SupplierProfile.objects.get(user=supplier)
    assert permissions.can_bid(supplier, opportunity, now=now, profile=other)


def test_the_owning_buyer_is_refused_by_the_service(opportunity, buyer_as_supplier):
    with pytest.raises(ValidationError, match=REFUSED):
        services.bid_start(supplier=buyer_as_supplier, opportunity=opportunity)
    assert not Bid.objects.filter(opportunity=opportunity).exists()


def test_a_bid_the_buyer_already_has_cannot_be_changed_or_submitted(opportunity, buyer_as_supplier):
    bid = BidFactory(opportunity=opportunity, supplier=buyer_as_supplier)
    with pytest.raises(ValidationError, match=REFUSED):
        services.bid_start(supplier=buyer_as_supplier, opportunity=opportunity)
    with pytest.raises(ValidationError, match=REFUSED):
        fill(bid, buyer_as_supplier)
    with pytest.raises(ValidationError, match=REFUSED):
        services.bid_submit(supplier=buyer_as_supplier, bid=bid)
    bid.refresh_from_db()
    assert bid.status == Bid.Status.DRAFT


def test_another_supplier_still_bids(opportunity, supplier):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    assert bid.supplier == supplier and bid.status == Bid.Status.DRAFT
