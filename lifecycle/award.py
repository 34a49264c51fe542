"""The award and what ends it, across evaluation and payments (docs/DESIGN.md, "Lifecycles").

Evaluation ranks the bids and offers the award; payments holds the contract that follows each
offer. Neither imports the other: this module calls both, in one transaction, in this order.

- **Award** (`evaluation_award`): evaluation marks the offer to the first in rank (the
  evaluation and the opportunity become awarded, the other bidders get their debrief), then
  payments draws up the contract with the awardee.
- **Decline** (`contract_decline`, or `offer_end` from the offer): the awardee declines before
  accepting the terms and before the deadline to answer (`Contract.accept_by`). Evaluation
  ends the offer (checked first, so a repeated click reads "This award has already ended."),
  payments ends the contract (and tells the buyer), then the award passes on.
- **Lapse** (`contract_lapse`, run by the beat through `contracts_lapse_unaccepted`): the
  deadline passed unanswered. It counts as a decline made by nobody: the contract, then the
  offer, and the award passes on.
- **Default** (`contract_default`): the buyer declares the awardee in default. Payments ends the
  contract (after the cure period, with a reason), evaluation ends the offer, then the award
  passes on.
- **Passing on** (`_pass_on`): the next in rank not offered it yet gets an offer and a contract;
  nobody left, the evaluation and the opportunity end without an award.

Each step refuses with `ValidationError` or `PermissionDenied`; the transaction then rolls every
app's rows back together.

Every step that moves or ends an award takes the contract's row lock first (the supplier's
acceptance and the default do, through the contract's transition), then the offer, the
evaluation and the bids: a decline at the same moment as a default or an acceptance waits for
it, then finds the award ended or accepted, instead of the two deadlocking (a 500).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from evaluation import offers
from evaluation.models import Evaluation, Offer
from marketplace.models import User
from payments import contracts
from payments.models import Contract


def _contract_for(offer: Offer) -> Contract:
    return contracts.contract_create(opportunity=offer.evaluation.opportunity, bid=offer.packet.bid)


def _hold_contract(bid_id: int) -> Contract | None:
    """Lock the contract of the award to `bid_id` before anything else (see above)."""
    return Contract.objects.select_for_update(of=("self",)).filter(bid_id=bid_id).first()


def _pass_on(*, actor: User | None, evaluation: Evaluation) -> Offer | None:
    """The award to the next in rank, with its contract; None when nobody is left (the
    evaluation and the opportunity are then unsuccessful)."""
    offer = offers.offer_to_next_ranked(actor=actor, evaluation=evaluation)
    if offer is not None:
        _contract_for(offer)
    return offer


@transaction.atomic
def evaluation_award(*, actor: User, evaluation: Evaluation) -> Offer:
    """The buyer awards the work to the first in rank: the offer, then its contract."""
    offer = offers.award_to_first_ranked(actor=actor, evaluation=evaluation)
    _contract_for(offer)
    return offer


@transaction.atomic
def offer_end(*, actor: User, offer: Offer, outcome: str, reason: str = "") -> Offer | None:
    """The awardee declines (`actor` is the supplier) or defaults (`actor` is the buyer): the
    offer ends, a declined offer's contract with it, and the award passes to the next in rank.
    Returns the new offer, or None when nobody is left. A default declared from the contract
    goes through `contract_default`, which ends the contract first."""
    contract = _hold_contract(
        Offer.objects.values_list("packet__bid_id", flat=True).get(pk=offer.pk)
    )
    ended = offers.offer_close(actor=actor, offer=offer, outcome=outcome, reason=reason)
    if outcome == Offer.Outcome.DECLINED and contract is not None:
        contracts.contract_decline(supplier=actor, contract=contract, reason=reason)
    return _pass_on(actor=actor, evaluation=ended.evaluation)


def _open_offer(contract: Contract) -> Offer:
    return Offer.objects.select_related("evaluation").get(
        packet__bid_id=contract.bid_id, outcome=Offer.Outcome.OPEN
    )


@transaction.atomic
def contract_decline(*, supplier: User, contract: Contract, reason: str = "") -> Contract:
    """The awardee declines the contract before accepting its terms: the offer ends, then the
    contract, and the award passes to the next in rank."""
    _hold_contract(contract.bid_id)
    offer = Offer.objects.filter(packet__bid_id=contract.bid_id).order_by("-number").first()
    if offer is None:  # no award behind the contract: only the contract ends
        return contracts.contract_decline(supplier=supplier, contract=contract, reason=reason)
    offers.offer_close(actor=supplier, offer=offer, outcome=Offer.Outcome.DECLINED, reason=reason)
    contract = contracts.contract_decline(supplier=supplier, contract=contract, reason=reason)
    _pass_on(actor=supplier, evaluation=offer.evaluation)
    return contract


@transaction.atomic
def contract_lapse(*, contract: Contract, now: dt.datetime | None = None) -> Contract | None:
    """The awardee did not answer by the deadline: the contract ends as declined (the buyer and
    the supplier are told), then the offer, and the award passes to the next in rank. None when
    the contract was accepted or declined meanwhile, or is not due."""
    if _hold_contract(contract.bid_id) is None:
        return None
    ended = contracts.contract_lapse(contract=contract, now=now)
    if ended is None:
        return None
    offer = Offer.objects.filter(packet__bid_id=contract.bid_id, outcome=Offer.Outcome.OPEN).first()
    if offer is not None:
        closed = offers.offer_close(
            actor=None, offer=offer, outcome=Offer.Outcome.DECLINED, lapsed=True
        )
        _pass_on(actor=None, evaluation=closed.evaluation)
    return ended


def contracts_lapse_unaccepted(*, now: dt.datetime | None = None) -> int:
    """The beat's sweep: every award left unanswered past its deadline ends and passes on, each
    in its own transaction (one that was accepted meanwhile is left alone). Returns how many
    ended."""
    now = now or timezone.now()
    due = Contract.objects.filter(
        status=Contract.Status.AWAITING_ACCEPTANCE, accept_by__lte=now
    ).order_by("accept_by", "pk")
    ended = 0
    for contract in due:
        try:
            ended += contract_lapse(contract=contract, now=now) is not None
        except ValidationError:  # ended another way at the same moment: nothing left to do
            continue
    return ended


@transaction.atomic
def contract_default(*, buyer: User, contract: Contract, reason: str) -> Contract:
    """After the cure period (or the expected delivery date), the buyer ends the contract for
    default: the contract, then the offer, and the award passes to the next in rank."""
    contract = contracts.contract_default(buyer=buyer, contract=contract, reason=reason)
    offer = offers.offer_close(
        actor=buyer, offer=_open_offer(contract), outcome=Offer.Outcome.DEFAULTED, reason=reason
    )
    _pass_on(actor=buyer, evaluation=offer.evaluation)
    return contract
