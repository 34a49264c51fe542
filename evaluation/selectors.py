"""Reads of evaluation for other apps' pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from marketplace.models import User
from opportunities.models import Opportunity

from . import permissions
from .models import Evaluation, Offer, Packet, PanelMember


@dataclass(frozen=True)
class AwardNotice:
    """Public once awarded: who got the work, for how much, when."""

    opportunity: Opportunity
    supplier_name: str
    awarded_at: object


def award_notice(opportunity: Opportunity) -> AwardNotice | None:
    offer = (
        Offer.objects.filter(
            evaluation__opportunity=opportunity,
            evaluation__status=Evaluation.Status.AWARDED,
            outcome=Offer.Outcome.OPEN,
        )
        .select_related("packet__bid__contract", "packet__bid__supplier__supplier_profile")
        .first()
    )
    if offer is None:
        return None
    return AwardNotice(
        opportunity=opportunity,
        supplier_name=award_supplier_name(offer),
        awarded_at=offer.offered_at,
    )


def award_supplier_name(offer: Offer) -> str:
    """The supplier as the award's contract recorded them (payments.Contract.supplier_names),
    not as their profile says today."""
    bid = offer.packet.bid
    contract = getattr(bid, "contract", None)
    recorded = contract.supplier_name if contract is not None else ""
    return recorded or bid.supplier.supplier_profile.display_name


def awarded_opportunities() -> QuerySet[Offer]:
    """Open award offers of awarded opportunities, newest first (the public history)."""
    return (
        Offer.objects.filter(
            outcome=Offer.Outcome.OPEN,
            evaluation__status=Evaluation.Status.AWARDED,
        )
        .select_related(
            "evaluation__opportunity",
            "packet__bid__contract",
            "packet__bid__supplier__supplier_profile",
        )
        .order_by("-offered_at")
    )


def opportunity_evaluation_panel(*, user: User, opportunity: Opportunity) -> dict:
    """What the opportunity page says about its evaluation to this person."""
    evaluation = Evaluation.objects.filter(opportunity=opportunity).first()
    if evaluation is None:
        return {}
    return {
        "evaluation": evaluation,
        "can_view": user.is_authenticated and permissions.can_view_overview(user, evaluation),
        "award": award_notice(opportunity),
    }


def panel_seats(*, user: User) -> QuerySet[PanelMember]:
    return (
        PanelMember.objects.filter(evaluator=user)
        .exclude(evaluation__status__in=(Evaluation.Status.AWARDED, Evaluation.Status.UNSUCCESSFUL))
        .select_related("evaluation__opportunity")
    )


def bid_debrief(*, bid) -> dict:
    """A bidder's own result, once the award is made (or nobody qualified)."""
    packet = Packet.objects.filter(bid=bid).select_related("evaluation").first()
    if (
        packet is None
        or packet.evaluation.status
        not in (
            Evaluation.Status.AWARDED,
            Evaluation.Status.UNSUCCESSFUL,
        )
        or not packet.evaluation.locked_at
    ):
        return {}
    criteria = {c.pk: c for c in bid.opportunity.criteria.all()}
    open_offer = packet.offers.filter(outcome=Offer.Outcome.OPEN).first()
    return {
        "packet": packet,
        "marks": [
            (criteria[m.criterion_id], m)
            for m in packet.consensus.order_by("criterion__position", "criterion_id")
        ],
        "open_offer": open_offer,
        "contract": getattr(bid, "contract", None) if open_offer else None,
    }
