"""Who may do what in an evaluation: pure predicates."""

from __future__ import annotations

from django.db.models import Q

from marketplace.models import Role, User
from marketplace.permissions import has_role
from opportunities.models import Opportunity
from opportunities.permissions import is_owning_buyer

from .models import Evaluation, PanelMember


def can_manage_panel(user: User, evaluation: Evaluation) -> bool:
    """Appoint, reveal, award, declare a default: the buyer who owns the opportunity."""
    return is_owning_buyer(user, evaluation.opportunity)


def seat(user: User, evaluation: Evaluation) -> PanelMember | None:
    if not user.is_authenticated:
        return None
    return next((m for m in evaluation.panel.all() if m.evaluator_id == user.pk), None)


def has_stake_in(user: User, *, opportunity_id: int) -> bool:
    """A bid on the opportunity in any status (a draft, a withdrawn one included), or being its
    buyer: either way the person never judges it (DESIGN.md §4). Reads the database."""
    return Opportunity.objects.filter(
        Q(buyer_id=user.pk) | Q(bids__supplier_id=user.pk), pk=opportunity_id
    ).exists()


def has_bid_on(user: User, *, opportunity_id: int) -> bool:
    """A bid on the opportunity in any status. Reads the database."""
    return Opportunity.objects.filter(pk=opportunity_id, bids__supplier_id=user.pk).exists()


def may_see_packets(user: User, member: PanelMember | None) -> bool:
    """Only an evaluator on the panel who declared no conflict of interest and has no stake in
    the opportunity. Checked again at every opening: a seat obtained before a rule change, or
    a bid started after the appointment, gives no access."""
    return bool(
        member is not None
        and member.evaluator_id == user.pk
        and has_role(user, Role.EVALUATOR)
        and member.declaration == PanelMember.Declaration.NO_CONFLICT
        and not has_stake_in(user, opportunity_id=member.evaluation.opportunity_id)
    )


def is_chair(user: User, evaluation: Evaluation) -> bool:
    member = seat(user, evaluation)
    return member is not None and may_see_packets(user, member) and member.is_chair


def can_view_overview(user: User, evaluation: Evaluation) -> bool:
    """The owning buyer, the panel and the program admins, never someone with a bid on the
    opportunity in any status, whatever their roles: the overview names the evaluators and
    shows their progress. The buyer's stake is what makes them manage the panel, so only a
    bid counts here (`has_stake_in` would shut the buyer out). Asked last, so that those with
    no other claim cost no query."""
    return (
        can_manage_panel(user, evaluation)
        or seat(user, evaluation) is not None
        or has_role(user, Role.PROGRAM_ADMIN)
    ) and not has_bid_on(user, opportunity_id=evaluation.opportunity_id)


def can_declare(user: User, evaluation: Evaluation) -> bool:
    """The declaration page: any panel member, even one with a bid (a seat written around the
    rules). Recusing must stay possible, or the panel could never complete; the page shows the
    form alone, and a declaration of no conflict is refused to a bidder (`panel_declare`)."""
    return seat(user, evaluation) is not None


def can_view_access_log(user: User, evaluation: Evaluation) -> bool:
    """Who opened which packet, and when: program admins with no bid on the opportunity."""
    return has_role(user, Role.PROGRAM_ADMIN) and not has_bid_on(
        user, opportunity_id=evaluation.opportunity_id
    )
