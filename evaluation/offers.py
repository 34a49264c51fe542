"""Evaluation's side of the award: the offer to the first in rank and the debriefs of the others,
the end of an offer (declined or defaulted), and the offer to the next in rank or the end
without an award. The contracts are payments'; `lifecycle.award` calls both in one transaction."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bids.models import Bid
from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.models import User
from marketplace.services import audit_event_record, notification_send, notification_send_each
from marketplace.transitions import transition, transition_many
from opportunities.models import Criterion
from opportunities.progress import opportunity_mark_awarded, opportunity_mark_unsuccessful

from . import permissions
from .models import Evaluation, Offer, Packet
from .notices import notice_context, tell_bidders_unsuccessful

Status = Evaluation.Status


def _ranked(evaluation: Evaluation) -> list[Packet]:
    return list(
        evaluation.packets.filter(rank__isnull=False).select_related("bid").order_by("rank")
    )


def _offer(evaluation: Evaluation, packet: Packet, actor: User) -> Offer:
    """The award offered to `packet`'s bid (its contract is payments': lifecycle.award)."""
    number = (evaluation.offers.aggregate(top=Max("number"))["top"] or 0) + 1
    offer = Offer.objects.create(
        evaluation=evaluation, packet=packet, number=number, offered_by=actor
    )
    transition(packet.bid, Bid.Status.AWARDED, actor=actor, verb="bid.awarded")
    audit_event_record(
        actor=actor,
        verb="evaluation.offered",
        target=evaluation,
        data={"offer": number, "packet": packet.label, "bid": packet.bid_id},
    )
    notification_send(
        kind="bid.awarded",
        recipients=User.objects.filter(pk=packet.bid.supplier_id),
        event_key=f"{evaluation.pk}:{number}",
        context=notice_context(evaluation, link=notices.link("bids:detail", pk=packet.bid_id)),
    )
    public_pages_changed_on_commit()  # the opportunity's page names the awardee
    return offer


def award_to_first_ranked(*, actor: User, evaluation: Evaluation) -> Offer:
    """Evaluation's side of the award (lifecycle.award.evaluation_award, in its transaction):
    the evaluation and the opportunity become awarded, the first in rank is offered the award,
    every other bidder is told, with their debrief."""
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    evaluation, _event = transition(
        evaluation, Status.AWARDED, actor=actor, verb="evaluation.awarded"
    )
    opportunity_mark_awarded(opportunity=evaluation.opportunity, actor=actor)
    ranked = _ranked(evaluation)
    offer = _offer(evaluation, ranked[0], actor)
    others = evaluation.packets.exclude(pk=ranked[0].pk).select_related("bid__supplier")
    transition_many(
        Bid.objects.filter(packet__in=others),
        Bid.Status.NOT_AWARDED,
        actor=actor,
        verb="bid.not_awarded",
    )
    _send_debriefs(evaluation, others)
    return offer


def debrief_text(packet: Packet, criteria: list[Criterion], language: str) -> str:
    """A bidder's own consensus marks, rationales and rank, in their language (criteria in
    their order; the packet's consensus marks prefetched)."""
    marks = {m.criterion_id: m for m in packet.consensus.all()}
    lines = []
    with translation.override(language):
        for criterion in criteria:
            mark = marks[criterion.pk]
            text = criterion.text
            if mark.passed is not None:
                value = _("pass") if mark.passed else _("fail")
            else:
                value = f"{mark.score}/{criterion.max_score}"
            lines.append(f"- {text}: {value}. {mark.rationale}")
        if packet.rank:
            lines.append(_("Your rank: %(rank)s.") % {"rank": packet.rank})
        else:
            lines.append(
                _("Your bid did not pass every mandatory criterion, so it was not ranked.")
            )
    return "\n".join(lines)


def _send_debriefs(evaluation: Evaluation, packets) -> None:
    criteria = list(evaluation.opportunity.criteria.all())
    messages = []
    for packet in packets.prefetch_related("consensus"):
        supplier = packet.bid.supplier
        context = notice_context(
            evaluation,
            debrief=notices.bilingual(
                debrief_text(packet, criteria, "en"), debrief_text(packet, criteria, "fr")
            ),
            link=notices.link("bids:detail", pk=packet.bid_id),
        )
        messages.append((supplier.pk, supplier.preferred_language, context))
    notification_send_each(kind="bid.not_awarded", event_key=str(evaluation.pk), messages=messages)


def offer_close(
    *, actor: User | None, offer: Offer, outcome: str, reason: str = "", lapsed: bool = False
) -> Offer:
    """Evaluation's side of the end of an award (lifecycle.award, in its transaction): the
    awardee declines (the supplier) or defaults (the buyer declares it), or, `lapsed`, left it
    unanswered past its deadline (the system: no actor; it counts as declined). The offer ends
    and its bid is terminated; `offer_to_next_ranked` then passes the award on."""
    offer = (
        Offer.objects.select_for_update(of=("self",)).select_related("packet__bid").get(pk=offer.pk)
    )
    evaluation = Evaluation.objects.select_for_update().get(pk=offer.evaluation_id)
    if offer.outcome != Offer.Outcome.OPEN:
        raise ValidationError(_("This award has already ended."))
    if lapsed:
        if actor is not None or outcome != Offer.Outcome.DECLINED:
            raise ValueError(outcome)
    elif actor is None:
        raise PermissionDenied
    elif outcome == Offer.Outcome.DECLINED:
        if offer.packet.bid.supplier_id != actor.pk:
            raise PermissionDenied
    elif outcome == Offer.Outcome.DEFAULTED:
        if not permissions.can_manage_panel(actor, evaluation):
            raise PermissionDenied
        if not reason.strip():
            raise ValidationError({"reason": _("Give the reason for the default.")})
    else:
        raise ValueError(outcome)
    offer.outcome = outcome
    offer.ended_at = timezone.now()
    offer.reason = reason.strip()
    offer.save()
    transition(offer.packet.bid, Bid.Status.TERMINATED, actor=actor, verb="bid.terminated")
    data = {"offer": offer.number, "packet": offer.packet.label}
    if lapsed:  # unanswered by the deadline: nobody acted
        audit_event_record(actor=None, verb="evaluation.offer_lapsed", target=evaluation, data=data)
    else:
        audit_event_record(
            actor=actor, verb=f"evaluation.offer_{outcome}", target=evaluation, data=data
        )
    public_pages_changed_on_commit()  # the award notice is withdrawn
    return offer


def offer_to_next_ranked(*, actor: User | None, evaluation: Evaluation) -> Offer | None:
    """After an offer ended: the award is offered to the next in rank not offered it yet, or,
    nobody left, the evaluation and the opportunity end without an award and every bidder is
    told. Returns the new offer, or None."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    offered = set(evaluation.offers.values_list("packet_id", flat=True))
    remaining = [p for p in _ranked(evaluation) if p.pk not in offered]
    if not remaining:
        transition(evaluation, Status.UNSUCCESSFUL, actor=actor, verb="evaluation.unsuccessful")
        opportunity_mark_unsuccessful(
            opportunity=evaluation.opportunity, actor=actor, reason="every ranked bid ended"
        )
        public_pages_changed_on_commit()  # the opportunity ended without an award
        tell_bidders_unsuccessful(evaluation)
        return None
    return _offer(evaluation, remaining[0], evaluation.opportunity.buyer)
