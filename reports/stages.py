"""Where each thing stands, in a sentence people read (issue 23: task-first dashboards).

Each lifecycle has its own status (DESIGN.md §3), so one status alone can say less than what is
true: an opportunity stays "In delivery" while its work waits for certification, and
"Evaluating" once its consensus is locked. These functions read the rows together (the
opportunity with its evaluation, its live contract and that contract's payment) and name the
real stage: "Delivered — waiting for certification", "Consensus locked — waiting for the
reveal". They only read rows already loaded (the callers select or prefetch them): no query.

What a person may learn decides which function they get: the opportunity's buyer reads
`opportunity_stage`; someone watching another's posting reads `public_opportunity_stage`, which
says no more than the public pages do; a supplier reads `bid_stage` and `contract_stage` for
their own bid and contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bids.models import Bid
from evaluation.models import Evaluation, PanelMember
from marketplace import formats
from marketplace.models import User
from opportunities.models import Opportunity, Watch
from payments.models import Contract, Payment

OStatus = Opportunity.Status
EStatus = Evaluation.Status
BStatus = Bid.Status
CStatus = Contract.Status
PStatus = Payment.Status

# A contract declined or ended for default passed the award on: it no longer says where the
# work stands.
ENDED_CONTRACTS = (CStatus.DECLINED, CStatus.DEFAULTED)


@dataclass(frozen=True)
class Stage:
    """Where something stands (`label`), what comes next (`next_step`), and, for a bid, when
    its decision is expected or was made (`decision`). Sentences in the current language."""

    label: str
    next_step: str = ""
    decision: str = ""


def evaluation_of(opportunity: Opportunity) -> Evaluation | None:
    """The opportunity's evaluation, as its query loaded it (None before the close)."""
    try:
        return opportunity.evaluation
    except ObjectDoesNotExist:
        return None


def payment_of(contract: Contract | None) -> Payment | None:
    """The contract's payment, as its query loaded it (None before certification)."""
    if contract is None:
        return None
    try:
        return contract.payment
    except ObjectDoesNotExist:
        return None


def _evaluation_label(evaluation: Evaluation | None) -> str:
    status = evaluation.status if evaluation is not None else EStatus.PREPARING
    return {
        EStatus.PREPARING: _("Closed — preparing the anonymized bids"),
        EStatus.PANEL: _("Evaluation — forming the panel"),
        EStatus.SCORING: _("Evaluation — individual scoring"),
        EStatus.CONSENSUS: _("Evaluation — consensus"),
        EStatus.SELECTED: _("Consensus locked — waiting for the reveal"),
        EStatus.REVEALED: _("Bidders revealed — waiting for the award"),
        EStatus.AWARDED: _("Awarded"),
        EStatus.UNSUCCESSFUL: _("No qualified bid"),
    }[EStatus(status)]


def _evaluation_next(evaluation: Evaluation | None) -> str:
    """What the evaluation does next, as the end of "Next: …"."""
    status = evaluation.status if evaluation is not None else EStatus.PREPARING
    return {
        EStatus.PREPARING: _("the bids are anonymized for the panel"),
        EStatus.PANEL: _("the evaluators declare any conflict of interest"),
        EStatus.SCORING: _("each evaluator scores the bids on their own"),
        EStatus.CONSENSUS: _("the panel agrees on the marks and the chair locks them"),
        EStatus.SELECTED: _("the buyer reveals who bid, then awards the contract"),
        EStatus.REVEALED: _("the buyer awards the contract"),
        EStatus.AWARDED: "",
        EStatus.UNSUCCESSFUL: "",
    }[EStatus(status)]


def contract_stage(contract: Contract, payment: Payment | None = None) -> Stage:
    """A contract with its payment, as its supplier or its buyer reads it."""
    payment = payment if payment is not None else payment_of(contract)
    status = contract.status
    if status == CStatus.AWAITING_ACCEPTANCE:
        return Stage(
            _("Awarded — waiting for the supplier to accept"),
            _("Once the terms are accepted, the work begins."),
        )
    if status == CStatus.IN_PROGRESS:
        return Stage(
            _("In delivery — work in progress"),
            _("The supplier delivers the work; the buyer then certifies it."),
        )
    if status == CStatus.DELIVERED:
        return Stage(
            _("Delivered — waiting for certification"),
            _("The buyer certifies the work or asks for changes."),
        )
    if status == CStatus.CHANGES_REQUESTED:
        return Stage(
            _("Changes requested — waiting for the supplier"),
            _("The supplier makes the changes and delivers again."),
        )
    if status == CStatus.ACCEPTED:
        return _payment_stage(payment)
    return Stage(contract.get_status_display())


def _payment_stage(payment: Payment | None) -> Stage:
    status = payment.status if payment is not None else PStatus.DUE
    if status in (PStatus.DUE, PStatus.FAILED):
        return Stage(
            _("Certified — waiting for payment"),
            _("A card holder pays the invoice."),
        )
    if status == PStatus.PENDING:
        return Stage(
            _("Certified — being paid through Stripe"),
            _("Stripe tells the marketplace when the payment goes through."),
        )
    if status == PStatus.RECORDED:
        return Stage(
            _("Paid — waiting for the supplier to confirm receipt"),
            _("The supplier confirms that the money arrived."),
        )
    if status == PStatus.DISPUTED:
        return Stage(
            _("Payment not confirmed — being checked"),
            _("The card holder and the program team check the payment with the supplier."),
        )
    return Stage(_("Completed — paid"))


def live_contract(opportunity: Opportunity) -> Contract | None:
    """The contract that holds the work now, from `opportunity.live_contracts` (prefetched,
    newest first, ended ones left out): a decline passes the award to a new contract."""
    contracts = getattr(opportunity, "live_contracts", None) or []
    return contracts[0] if contracts else None


def public_opportunity_stage(opportunity: Opportunity, *, now: dt.datetime | None = None) -> str:
    """What anyone may know of where a posting stands: its status, and while it is evaluated
    the evaluation's step (public on the draw's page), never the contract's progress."""
    status = opportunity.status
    if status == OStatus.PUBLISHED:
        if opportunity.closes_at is not None and opportunity.closes_at <= (now or timezone.now()):
            return _("Bids closed — being sealed")
        return _("Open for bids")
    if status == OStatus.CLOSED:
        return _evaluation_label(None)
    if status == OStatus.EVALUATING:
        return _evaluation_label(evaluation_of(opportunity))
    return opportunity.get_status_display()


def opportunity_stage(opportunity: Opportunity, *, now: dt.datetime | None = None) -> str:
    """Where a posting stands, as its buyer (or the program team) reads it: with the contract
    and its payment once awarded. Needs `evaluation` selected and `live_contracts` prefetched
    (with each contract's payment) to cost no query."""
    status = opportunity.status
    if status == OStatus.DRAFT:
        if opportunity.review_note:
            return _("Draft — changes requested by the program team")
        return _("Draft")
    if status == OStatus.IN_REVIEW:
        return _("Waiting for review by the program team")
    if status in (OStatus.AWARDED, OStatus.IN_DELIVERY):
        contract = live_contract(opportunity)
        if contract is not None:
            return contract_stage(contract).label
    return public_opportunity_stage(opportunity, now=now)


def _decided_on(moment: dt.datetime | None) -> str:
    if moment is None:
        return _("Decided")
    return _("Decided on %(date)s") % {"date": formats.date(moment)}


def bid_stage(bid: Bid, *, now: dt.datetime | None = None) -> Stage:
    """A supplier's own bid: where it stands, what comes next, and when the decision is
    expected (or when it was made). The model plans no evaluation dates, so before the decision
    the next step of the evaluation stands in for a date. Needs the bid's `opportunity` and its
    `evaluation`, and the bid's `contract` and its payment, selected."""
    now = now or timezone.now()
    opportunity = bid.opportunity
    evaluation = evaluation_of(opportunity)
    is_open = opportunity.accepts_bids_at(now)
    status = bid.status
    closes = formats.datetime(opportunity.closes_at) if opportunity.closes_at is not None else ""
    after_close = _("After the evaluation, which starts when bids close on %(moment)s.") % {
        "moment": closes
    }
    # Cancelled, or closed without a bid to evaluate, before anyone was ranked: no debrief.
    ended = opportunity.status == OStatus.CANCELLED or (
        opportunity.status == OStatus.UNSUCCESSFUL and status in (BStatus.SUBMITTED, BStatus.SEALED)
    )
    if status == BStatus.DRAFT:
        if is_open:
            return Stage(
                bid.get_status_display(),
                _("Submit it before the deadline: a draft is not a bid."),
                after_close,
            )
        return Stage(
            _("Draft, never submitted"),
            _("The deadline has passed: this draft is not evaluated."),
            _("Not evaluated"),
        )
    if status == BStatus.WITHDRAWN:
        if is_open:
            return Stage(
                bid.get_status_display(),
                _("You may submit it again before the deadline."),
                after_close,
            )
        return Stage(
            _("Withdrawn — not evaluated"),
            "",
            _("Not evaluated"),
        )
    if ended and status not in (BStatus.AWARDED, BStatus.NOT_AWARDED, BStatus.TERMINATED):
        label = opportunity.get_status_display()
        return Stage(label, _("This opportunity ended without an award."), label)
    if status == BStatus.SUBMITTED:
        if is_open:
            return Stage(
                bid.get_status_display(),
                _("You may change or withdraw it until the deadline; it is then sealed."),
                after_close,
            )
        return Stage(
            _("Submitted — being sealed"),
            _("At the close your last submitted version is sealed for the evaluation."),
            _("After the evaluation: no date is set in advance."),
        )
    if status in (BStatus.SEALED, BStatus.QUALIFIED, BStatus.DISQUALIFIED) and (
        evaluation is None or evaluation.status not in (EStatus.AWARDED, EStatus.UNSUCCESSFUL)
    ):
        step = _evaluation_next(evaluation)
        decision = _("Not yet: no date is set in advance. Next, %(step)s.") % {"step": step}
        if status == BStatus.SEALED:
            return Stage(
                _("Sealed — under evaluation"),
                _(
                    "The panel scores your bid without your name. You are told by email when "
                    "the decision is made."
                ),
                decision,
            )
        if status == BStatus.QUALIFIED:
            return Stage(
                _("Passed the mandatory criteria — waiting for the award"),
                _("You are told by email when the buyer awards the contract."),
                decision,
            )
        return Stage(
            bid.get_status_display(),
            _("Your debrief comes with the award: your marks, the reasons and your rank."),
            decision,
        )
    decided = _decided_on(
        opportunity.awarded_at
        or (evaluation.locked_at if evaluation is not None else None)
        or (evaluation.status_changed_at if evaluation is not None else None)
    )
    if status == BStatus.AWARDED:
        contract = getattr(bid, "contract", None)
        if contract is None:
            return Stage(_("Awarded to you"), "", decided)
        if contract.status == CStatus.AWAITING_ACCEPTANCE:
            if contract.accept_by is not None:
                answer = _(
                    "Accept the terms by %(moment)s to start the work, or decline so the award "
                    "passes on."
                ) % {"moment": formats.datetime(contract.accept_by)}
            else:
                answer = _("Accept the terms to start the work, or decline so the award passes on.")
            return Stage(_("Awarded to you — accept the contract"), answer, decided)
        stage = contract_stage(contract)
        return Stage(stage.label, stage.next_step, decided)
    if status == BStatus.NOT_AWARDED:
        return Stage(
            bid.get_status_display(),
            _("Read your debrief: your marks, the reasons and your rank."),
            decided,
        )
    if status == BStatus.TERMINATED:
        return Stage(bid.get_status_display(), "", decided)
    # Sealed, qualified or not when the evaluation ended without an award.
    return Stage(
        _("No qualified bid — not awarded"),
        _("Read your debrief: your marks and the reasons."),
        decided,
    )


def seat_stage(seat: PanelMember) -> str:
    """An evaluator's seat: where the evaluation stands, and their own part in it."""
    evaluation = seat.evaluation
    stage = _evaluation_label(evaluation)
    if seat.declaration == PanelMember.Declaration.RECUSED:
        own = _("you stepped aside (conflict of interest)")
    elif evaluation.status not in (EStatus.PANEL, EStatus.SCORING, EStatus.CONSENSUS):
        own = ""
    elif seat.declaration == PanelMember.Declaration.PENDING:
        own = _("waiting for your declaration")
    elif seat.marks_submitted_at is None and evaluation.status != EStatus.CONSENSUS:
        own = _("waiting for your marks")
    elif evaluation.status == EStatus.CONSENSUS and seat.is_chair:
        own = _("waiting for you to lock the consensus")
    else:
        own = _("your marks are submitted")
    return _("%(stage)s (%(own)s)") % {"stage": stage, "own": own} if own else stage


# --- Reads for the pages: each loads what the functions above read, in a fixed number of queries


def supplier_bids(user: User) -> QuerySet[Bid]:
    """A supplier's bids in every status, the open ones first, with what `bid_stage` reads."""
    return (
        Bid.objects.of(user)
        .select_related("opportunity__evaluation", "contract__payment")
        .order_by("-opportunity__closes_at", "-pk")
    )


def buyer_opportunities(user: User) -> QuerySet[Opportunity]:
    """A buyer's postings, newest first, with what `opportunity_stage` reads."""
    live = (
        Contract.objects.exclude(status__in=ENDED_CONTRACTS)
        .select_related("payment")
        .order_by("-created_at", "-pk")
    )
    return (
        Opportunity.objects.filter(buyer=user)
        .select_related("evaluation")
        .prefetch_related(Prefetch("contracts", queryset=live, to_attr="live_contracts"))
        .order_by("-created_at", "-pk")
    )


def watched(user: User) -> QuerySet[Watch]:
    """The postings a supplier follows, newest first, with what `public_opportunity_stage`
    reads."""
    return (
        Watch.objects.filter(user=user)
        .select_related("opportunity__evaluation")
        .order_by("-created_at", "-pk")
    )
