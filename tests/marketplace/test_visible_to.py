"""Each user-scoped model's `visible_to(user)` (the rows `get_visible_or_404` finds) says exactly
what the app's permission predicate says, for every visitor of the permission matrix: the two
are the same rule, once as a query for the pages, once in Python for the templates."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from bids.models import Bid
from evaluation import permissions as evaluation_permissions
from evaluation.models import Evaluation, Offer
from marketplace.shortcuts import get_visible_or_404
from payments import permissions as payment_permissions
from payments.models import Contract, Payment, StripeAccount
from tests.support.permission_matrix import VISITORS

pytestmark = pytest.mark.django_db

RULES = (
    (Evaluation, "visible_to", "evaluation", evaluation_permissions.can_view_overview),
    (Evaluation, "seating", "evaluation", evaluation_permissions.can_declare),
    (Contract, "visible_to", "contract", payment_permissions.can_view_contract),
    (Payment, "visible_to", "payment", payment_permissions.can_view_payment),
    (Bid, "visible_to", "winner_bid", lambda user, bid: bid.supplier_id == user.pk),
    (Offer, "visible_to", "offer", lambda user, offer: offer.packet.bid.supplier_id == user.pk),
)


def test_every_visitor_finds_through_the_query_what_the_predicate_allows(world):
    for name in VISITORS:
        user = world.people[name] or AnonymousUser()
        for model, scope, key, allowed in RULES:
            row = world.objects[key]
            found = getattr(model.objects, scope)(user).filter(pk=row.pk).exists()
            expected = user.is_authenticated and allowed(user, row)
            assert found == expected, (name, model.__name__, scope)


def test_a_row_the_visitor_may_not_see_is_a_404_like_one_that_does_not_exist(world):
    contract = world.objects["contract"]
    assert get_visible_or_404(Contract, world.people["winner"], pk=contract.pk) == contract
    for user in (world.people["stranger"], world.people["other_buyer"], AnonymousUser()):
        with pytest.raises(Http404):
            get_visible_or_404(Contract.objects.all(), user, pk=contract.pk)
    with pytest.raises(Http404):
        get_visible_or_404(Contract, world.people["admin"], pk=contract.pk + 1000)


def test_a_stripe_account_is_its_supplier_s_alone(world):
    winner, stranger = world.people["winner"], world.people["stranger"]
    account = StripeAccount.objects.create(user=winner, account_id="acct_visible")
    assert get_visible_or_404(StripeAccount, winner) == account
    with pytest.raises(Http404):
        get_visible_or_404(StripeAccount, stranger)
