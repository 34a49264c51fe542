"""Reads of bids, always scoped to who asks."""

from __future__ import annotations

from marketplace.models import SupplierProfile, User
from marketplace.permissions import is_supplier
from opportunities.models import Opportunity

from . import permissions
from .models import Bid


def opportunity_bid_panel(*, user: User, opportunity: Opportunity, now) -> dict:
    """What the opportunity page says about bidding to this person."""
    panel: dict = {"accepts_bids": opportunity.accepts_bids_at(now)}
    if not user.is_authenticated:
        return panel
    if is_supplier(user):
        panel["bid"] = Bid.objects.of(user).filter(opportunity=opportunity).first()
        profile = SupplierProfile.objects.filter(user=user).first()
        panel["profile_complete"] = bool(profile and profile.is_complete)
        panel["can_bid"] = permissions.can_bid(user, opportunity, now=now, profile=profile)
    if permissions.can_see_bid_count(user, opportunity):
        panel["show_count"] = True
        panel["bid_count"] = Bid.objects.filter(opportunity=opportunity).counted().count()
    return panel
