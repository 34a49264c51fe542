"""Reads of evaluation for other apps' pages."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from marketplace.models import User
from opportunities.models import Criterion, Opportunity

from . import permissions
from .draw import Place, packet_score, selection_preview, unscorable
from .marking import marks_digest
from .models import ConsensusMark, Evaluation, Mark, Offer, Packet, PanelMember


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


# --- What a confirmation page shows before an irreversible step ------------------------------


@dataclass(frozen=True)
class PacketMarks:
    """One bid's marks as a confirmation page lists them: each criterion with its mark (None:
    not marked yet)."""

    packet: Packet
    lines: list[tuple[Criterion, Mark | ConsensusMark | None]]


def _packet_marks(
    packets: list[Packet], criteria: list[Criterion], marks: list
) -> list[PacketMarks]:
    by_key = {(m.packet_id, m.criterion_id): m for m in marks}
    return [
        PacketMarks(packet, [(c, by_key.get((packet.pk, c.pk))) for c in criteria])
        for packet in packets
    ]


@dataclass(frozen=True)
class MarksReview:
    packets: list[PacketMarks]
    digest: str  # of the marks shown (marking.marks_digest): the final POST carries it


def marks_review(member: PanelMember) -> MarksReview:
    """An evaluator's own marks on every bid, before they submit them as final."""
    evaluation = member.evaluation
    marks = list(member.marks.all())
    return MarksReview(
        packets=_packet_marks(
            list(evaluation.packets.all()), list(evaluation.opportunity.criteria.all()), marks
        ),
        digest=marks_digest(marks),
    )


@dataclass(frozen=True)
class RankedPacket:
    packet: Packet
    qualified: bool | None  # None: the consensus on it is not complete
    score: Decimal | None
    place: Place | None  # None: not qualified (or not complete)


@dataclass(frozen=True)
class LockReview:
    """What locking the consensus will do, as far as it is known before the seed is out: each
    bid's result, the ranking, and which places only the draw settles."""

    rows: list[RankedPacket]
    places: list[Place]
    missing: int  # consensus marks still to record
    problems: list[str]  # what makes a score impossible (unscorable criteria)
    method: str
    margin: int | None
    top: Decimal | None  # the highest score of a qualified bid
    digest: str  # of the consensus shown (marking.marks_digest): the final POST carries it

    @property
    def ready(self) -> bool:
        return not self.missing and not self.problems

    @property
    def unqualified(self) -> list[RankedPacket]:
        return [row for row in self.rows if row.qualified is False]


def lock_review(evaluation: Evaluation) -> LockReview:
    """The chair's review before the lock: the same arithmetic as the lock
    (`draw.packet_score`, and `draw.selection_preview`, which `selection_ranking` follows)."""
    opportunity = evaluation.opportunity
    criteria = list(opportunity.criteria.all())
    packets = list(
        evaluation.packets.prefetch_related(
            Prefetch("consensus", queryset=ConsensusMark.objects.order_by("criterion_id"))
        )
    )
    problems = unscorable(criteria)
    wanted = {c.pk for c in criteria}
    results: dict[int, tuple[bool | None, Decimal | None]] = {}
    missing = 0
    for packet in packets:
        recorded = {m.criterion_id for m in packet.consensus.all()} & wanted
        missing += len(wanted - recorded)
        if recorded == wanted and not problems:
            results[packet.pk] = packet_score(packet, criteria)
        else:
            results[packet.pk] = (None, None)
    scores = {
        p.label: score
        for p in packets
        for qualified, score in [results[p.pk]]
        if qualified and score is not None
    }
    places = selection_preview(
        method=opportunity.selection_method, scores=scores, margin=opportunity.draw_margin_points
    )
    place_of = {label: place for place in places for label in place.labels}
    rows = [
        RankedPacket(p, results[p.pk][0], results[p.pk][1], place_of.get(p.label)) for p in packets
    ]
    rows.sort(
        key=lambda row: (row.place.first if row.place else len(packets) + 1, row.packet.label)
    )
    return LockReview(
        rows=rows,
        places=places,
        missing=missing,
        problems=problems,
        method=opportunity.selection_method,
        margin=opportunity.draw_margin_points,
        top=max(scores.values(), default=None),
        digest=marks_digest(m for p in packets for m in p.consensus.all()),
    )
