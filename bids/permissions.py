"""Who may do what with bids: pure predicates."""

from __future__ import annotations

from marketplace.models import Role, SupplierProfile, User
from marketplace.permissions import has_role
from opportunities import permissions as opportunity_permissions
from opportunities.models import Opportunity

from .models import Bid


def is_opportunity_buyer(user: User, opportunity: Opportunity) -> bool:
    """The buyer who owns the opportunity, whatever roles they hold now: they never bid on it."""
    return user.is_authenticated and opportunity.buyer_id == user.pk


def can_bid(user: User, opportunity: Opportunity, *, now, profile: SupplierProfile | None) -> bool:
    """A supplier with a complete profile, while the opportunity takes bids; never its buyer."""
    return (
        has_role(user, Role.SUPPLIER)
        and not is_opportunity_buyer(user, opportunity)
        and profile is not None
        and profile.is_complete
        and opportunity.accepts_bids_at(now)
    )


def is_bidder(user: User, bid: Bid) -> bool:
    return has_role(user, Role.SUPPLIER) and bid.supplier_id == user.pk


def can_change_bid(user: User, bid: Bid, *, now) -> bool:
    """Edit, submit, withdraw: the bidder, until the deadline, and never once sealed."""
    return (
        is_bidder(user, bid)
        and bid.status != Bid.Status.SEALED
        and bid.opportunity.accepts_bids_at(now)
    )


def can_see_bid_count(user: User, opportunity: Opportunity) -> bool:
    """Before the close, staff learn how many bids there are — nothing else about them."""
    return opportunity_permissions.is_owning_buyer(user, opportunity) or has_role(
        user, Role.PROGRAM_ADMIN
    )
