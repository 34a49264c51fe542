"""The award and what ends it, across evaluation and payments (docs/DESIGN.md, "Lifecycles").

Evaluation ranks the bids and offers the award; payments holds the contract that follows each
offer. Neither imports the other: this module calls both, in one transaction, in this order.

- **Award** (`evaluation_award`): evaluation marks the offer to the first in rank (the
  evaluation and the opportunity become awarded, the other bidders get their debrief), then
  payments draws up the contract with the awardee.
- **Decline** (`contract_decline`, or `offer_end` from the offer): the awardee declines before
  accepting the terms. Evaluation ends the offer (checked first, so a repeated click reads
  "This award has already ended."), payments ends the contract, then the award passes on.
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

from django.db import transaction

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


def _pass_on(*, actor: User, evaluation: Evaluation) -> Offer | None:
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
        contracts.contract_decline(supplier=actor, contract=contract)
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
        return contracts.contract_decline(supplier=supplier, contract=contract)
    offers.offer_close(actor=supplier, offer=offer, outcome=Offer.Outcome.DECLINED, reason=reason)
    contract = contracts.contract_decline(supplier=supplier, contract=contract)
    _pass_on(actor=supplier, evaluation=offer.evaluation)
    return contract


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
