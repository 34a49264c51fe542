"""Builders for the states tests start from, made through the real services.

A test that needs "an opportunity closed with three sealed bids" or "a contract awarded to the
first in rank" asks for it here instead of repeating the steps: `published_opportunity()`,
`sealed_bids()`, `evaluation_with_panel()`, `consensus_reached()`, `locked_evaluation()`,
`awarded_contract()`, `contract_in_progress()`, `payment_due()`. Each step goes through the
service a person's request would call, so a rule added to a service reaches every test built on
it. Rows that break a rule the services enforce (a staff account's bid) are made with the
factories in tests/factories.py instead.

The fixtures that wrap these (`closed`, `awarded`, `certified`, `card_holder` …) are defined
once, in tests/conftest.py. On-commit work (building packets, notifications) runs as it would
after a commit: inside a test's transaction the callbacks are captured and executed; in a
transactional test they run at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.test import TestCase
from django.utils import timezone

from bids import services as bid_services
from bids.models import Bid
from evaluation import marking
from evaluation import packets as packet_services
from evaluation import panel as panel_services
from evaluation import services as evaluation_services
from evaluation.marking import MarkInput
from evaluation.models import Evaluation, PanelMember
from lifecycle.award import evaluation_award
from lifecycle.closing import opportunity_close
from marketplace import approvals
from marketplace.models import Approval, Role, User
from opportunities.models import Criterion, Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_ask
from payments import contracts
from payments.models import CardLimit, Contract, Payment
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

# Three suppliers whose answers name them in ways the redaction must catch.
IDENTITIES = [
    dict(
        legal_name="Maple Leaf Code Works Inc.",
        trading_name="MLCW",
        contact_name="Aurélie Tremblay",
        website="https://mapleleaf-code.example",
        github_handle="mlcw-dev",
        phone="613-555-0142",
    ),
    dict(
        legal_name="Northern Lights Accessibility Co-op",
        trading_name="",
        contact_name="Jamal Okafor",
        website="https://nlac11y.example",
        github_handle="nlac11y",
        phone="204-555-0123",
    ),
    dict(
        legal_name="Priya Raman",
        trading_name="",
        contact_name="Priya Raman",
        website="",
        github_handle="praman-codes",
        phone="604-555-0199",
    ),
]

ANSWERS = [
    "At Maple Leaf Code Works (MLCW's team), Aurélie Tremblay fixed it: "
    "https://github.com/MLCW-DEV/picker, https://www.mapleleaf-code.example/cases, 613.555.0142.",
    "Jamal OKAFOR's co-op (Northern Lights Accessibility Co-op) did it; nlac11y.example/work; "
    "github.com/nlac11y; email {email}; (204) 555-0123.",
    "I am Priya Raman — see github.com/praman-codes. Priya's fix was merged.",
]

# (passes the mandatory criterion, rated score) per packet in label order: the first is ranked
# first, the second is qualified too, the third fails the mandatory criterion.
DEFAULT_MARKS = [(True, 9), (True, 5), (False, 1)]

Capture = Callable[..., contextlib.AbstractContextManager[Any]]


def on_commit(execute: bool = True) -> contextlib.AbstractContextManager[Any]:
    """Run what the services leave for after the commit (packets, notifications) now."""
    return TestCase.captureOnCommitCallbacks(execute=execute)


# --- People ---------------------------------------------------------------------------------------


def program_admin() -> User:
    return StaffFactory(roles=[Role.PROGRAM_ADMIN])


def buyer() -> User:
    return StaffFactory(roles=[Role.BUYER])


def evaluators(count: int = 3) -> list[User]:
    return [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(count)]


def card_holder(
    *, per_transaction_cents: int = 1_000_000, monthly_cents: int = 2_500_000, **fields: Any
) -> User:
    """A card holder with limits a micro-acquisition fits in."""
    fields.setdefault("full_name", "Casey Cardholder")
    holder = StaffFactory(roles=[Role.CARD_HOLDER], **fields)
    CardLimit.objects.create(
        card_holder=holder,
        per_transaction_cents=per_transaction_cents,
        monthly_cents=monthly_cents,
    )
    return holder


# --- Opportunities and bids -----------------------------------------------------------------------


def published_opportunity(*, admin: User | None = None, **fields: Any) -> Opportunity:
    """Published, open for bids; by default with one mandatory and one rated criterion."""
    draft = OpportunityFactory(**fields)
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=admin or program_admin(), opportunity=draft)


def complete_answers(bid: Bid, text: str = "We fixed the same keyboard trap in 2024.") -> dict:
    return {criterion.pk: text for criterion in bid.opportunity.criteria.all()}


def fill(bid: Bid, supplier: User, **overrides: Any) -> Bid:
    """Save a draft that can be submitted as it stands."""
    fields = {
        "answers": complete_answers(bid),
        "proposed_start_date": timezone.localdate() + dt.timedelta(days=14),
        "attest_can_work_in_canada": True,
        "attest_can_be_paid_by_card": True,
        "attest_no_conflict": True,
        "accept_terms": True,
        **overrides,
    }
    return bid_services.bid_save_draft(supplier=supplier, bid=bid, **fields)


def draft_bid(*, opportunity: Opportunity, supplier: User, **overrides: Any) -> Bid:
    """A started and filled draft, ready to submit."""
    bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
    return fill(bid, supplier, **overrides)


def submitted_bids(opportunity: Opportunity, *, count: int = 3) -> list[Bid]:
    """`count` submitted bids (at most three) whose answers name their authors."""
    bids = []
    for identity, answer in list(zip(IDENTITIES, ANSWERS, strict=True))[:count]:
        supplier = SupplierProfileFactory(**identity).user
        bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
        text = answer.replace("{email}", supplier.email.upper())
        fill(bid, supplier, answers={c.pk: text for c in opportunity.criteria.all()})
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids.append(bid)
    return bids


def close(opportunity: Opportunity, *, capture: Capture = on_commit) -> Opportunity:
    """Close `opportunity` just after its deadline: bids sealed, evaluation opened."""
    with capture(execute=True):
        opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    opportunity.refresh_from_db()
    return opportunity


def close_with_bids(
    program_admin: User, django_capture_on_commit_callbacks: Capture, *, count=3, **fields
) -> tuple[Opportunity, list[Bid]]:
    """An opportunity closed with `count` sealed bids whose answers name their authors."""
    opportunity = published_opportunity(admin=program_admin, **fields)
    bids = submitted_bids(opportunity, count=count)
    return close(opportunity, capture=django_capture_on_commit_callbacks), bids


def sealed_bids(
    *, count: int = 3, admin: User | None = None, **fields: Any
) -> tuple[Opportunity, list[Bid]]:
    """(opportunity, bids): closed with `count` sealed bids, its evaluation open with packets."""
    opportunity, bids = close_with_bids(admin or program_admin(), on_commit, count=count, **fields)
    packet_services.evaluation_build_packets(opportunity=opportunity)  # no-op when built
    return opportunity, bids


# --- Evaluation -----------------------------------------------------------------------------------


def seat_panel(
    evaluation: Evaluation, evaluators: list[User], *, chair_index: int = 0
) -> list[PanelMember]:
    buyer = evaluation.opportunity.buyer
    members = [
        panel_services.panel_appoint(
            actor=buyer, evaluation=evaluation, evaluator=e, is_chair=(i == chair_index)
        )
        for i, e in enumerate(evaluators)
    ]
    for member, evaluator in zip(members, evaluators, strict=True):
        panel_services.panel_declare(evaluator=evaluator, member=member, conflict=False)
    return members


def mark_values(opportunity: Opportunity, *, score: int, rationale: str, passed: bool = True):
    """One packet's marks or consensus for every criterion of `opportunity`."""
    return {
        c.pk: MarkInput(passed=passed, rationale=rationale)
        if c.kind == Criterion.Kind.MANDATORY
        else MarkInput(score=score, rationale=rationale)
        for c in opportunity.criteria.all()
    }


def mark_all(evaluation: Evaluation, evaluator: User, scores: dict[str, tuple[bool, int]]):
    """`scores`: label → (passes the mandatory criterion, rated score)."""
    for packet in evaluation.packets.all():
        passed, score = scores[packet.label]
        values = {}
        for criterion in evaluation.opportunity.criteria.all():
            if criterion.kind == Criterion.Kind.MANDATORY:
                values[criterion.pk] = MarkInput(passed=passed, rationale="Shown in the answer.")
            else:
                values[criterion.pk] = MarkInput(score=score, rationale="Clear and relevant.")
        marking.marks_save(evaluator=evaluator, packet=packet, values=values)
    marking.marks_submit(evaluator=evaluator, evaluation=evaluation)


def consensus_all(evaluation: Evaluation, chair: User, scores: dict[str, tuple[bool, int]]):
    for packet in evaluation.packets.all():
        passed, score = scores[packet.label]
        values = {}
        for criterion in evaluation.opportunity.criteria.all():
            if criterion.kind == Criterion.Kind.MANDATORY:
                values[criterion.pk] = MarkInput(passed=passed, rationale="The panel agrees.")
            else:
                values[criterion.pk] = MarkInput(score=score, rationale="Strong, specific example.")
        marking.consensus_save(chair=chair, packet=packet, values=values)


def run_to_consensus(evaluation: Evaluation, evaluators: list[User], scores):
    """The first two evaluators (the first chairs) mark every packet; the chair records the
    consensus."""
    members = seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    evaluation.refresh_from_db()
    consensus_all(evaluation, evaluators[0], scores)
    return members


def labels(evaluation: Evaluation) -> list[str]:
    return sorted(evaluation.packets.values_list("label", flat=True))


def scores_by_label(evaluation: Evaluation, marks: list[tuple[bool, int]]):
    return dict(zip(labels(evaluation), marks, strict=True))


def evaluation_with_panel(
    *, count: int = 3, panel: list[User] | None = None, **fields: Any
) -> tuple[Evaluation, list[User]]:
    """(evaluation, panel): sealed bids, a panel seated (the first chairs), nothing marked."""
    opportunity, _bids = sealed_bids(count=count, **fields)
    panel = panel or evaluators(2)
    seat_panel(opportunity.evaluation, panel)
    return opportunity.evaluation, panel


def consensus_reached(
    *, marks: list[tuple[bool, int]] | None = None, panel: list[User] | None = None, **fields
) -> tuple[Evaluation, list[User]]:
    """(evaluation, panel): marked by two evaluators, consensus recorded, not locked."""
    marks = marks or DEFAULT_MARKS
    opportunity, _bids = sealed_bids(count=len(marks), **fields)
    panel = panel or evaluators(2)
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, panel, scores_by_label(evaluation, marks))
    evaluation.refresh_from_db()
    return evaluation, panel


def locked_evaluation(
    *, marks: list[tuple[bool, int]] | None = None, reveal: bool = False, **fields: Any
) -> tuple[Evaluation, list[User]]:
    """(evaluation, panel): consensus locked by the chair; revealed to the buyer if `reveal`."""
    evaluation, panel = consensus_reached(marks=marks, **fields)
    evaluation = evaluation_services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    if reveal:
        evaluation = evaluation_services.evaluation_reveal(
            actor=evaluation.opportunity.buyer, evaluation=evaluation
        )
    return evaluation, panel


# --- Award, contract, payment ---------------------------------------------------------------------


def award_first_in_rank(
    opportunity: Opportunity, panel: list[User], marks: list[tuple[bool, int]]
) -> Contract:
    """The panel marks the packets (in label order), locks; the buyer reveals and awards."""
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, panel, scores_by_label(evaluation, marks))
    evaluation_services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    offer = evaluation_award(actor=opportunity.buyer, evaluation=evaluation)
    return offer.packet.bid.contract


def awarded_without_test_transaction(*, bids: int) -> tuple[Opportunity, Contract]:
    """(opportunity, contract) for transactional tests (browser, threads, a real worker):
    nothing waits for a commit, and the packets are built even when no worker runs yet."""
    admin = program_admin()
    opportunity, _bids = close_with_bids(
        admin, lambda execute=True: contextlib.nullcontext(), count=bids
    )
    packet_services.evaluation_build_packets(opportunity=opportunity)  # no-op when built
    panel = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    return opportunity, award_first_in_rank(opportunity, panel, [(True, 9), (True, 4)][:bids])


def awarded_contract(
    *,
    marks: list[tuple[bool, int]] | None = None,
    opportunity: Opportunity | None = None,
    panel: list[User] | None = None,
    **fields: Any,
) -> tuple[Opportunity, Contract]:
    """(opportunity, contract): awarded to the first in rank; by default the second is qualified
    too and the third is not. `opportunity`: one with sealed bids already (`sealed_bids()`);
    `panel`: the evaluators who mark (the first two; the first chairs)."""
    marks = marks or DEFAULT_MARKS
    if opportunity is None:
        opportunity, _bids = sealed_bids(count=len(marks), **fields)
    contract = award_first_in_rank(opportunity, panel or evaluators(), marks)
    opportunity.refresh_from_db()
    return opportunity, contract


def contract_in_progress(contract: Contract) -> Contract:
    """The supplier accepted the terms: the work may begin."""
    return contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)


def certify(opportunity: Opportunity, contract: Contract) -> tuple[Opportunity, Contract, Payment]:
    """The supplier accepts the terms and delivers; the buyer certifies: a payment is due."""
    contract = contract_in_progress(contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    contract = contracts.contract_certify(
        buyer=opportunity.buyer, contract=contract, confirmed=True
    )
    opportunity.refresh_from_db()
    return opportunity, contract, contract.payment


def payment_due(
    *, awarded: tuple[Opportunity, Contract] | None = None, **fields: Any
) -> tuple[Opportunity, Contract, Payment]:
    """(opportunity, contract, payment): delivered, accepted and certified; not yet paid.
    `awarded`: an (opportunity, contract) already awarded (`awarded_contract()`)."""
    opportunity, contract = awarded or awarded_contract(**fields)
    return certify(opportunity, contract)


# --- Dashboards ----------------------------------------------------------------------------------


def staff_with_everything_waiting(size: int) -> User:
    """A buyer, evaluator, card holder and program administrator with `size` steps of each
    kind waiting (questions, a review, a declaration, a payment, a two-person request)."""
    staff = StaffFactory(roles=[Role.BUYER, Role.EVALUATOR, Role.CARD_HOLDER, Role.PROGRAM_ADMIN])
    other_admin = program_admin()
    for _ in range(size):
        mine = published_opportunity(buyer=staff, admin=other_admin)
        question_ask(asker=SupplierProfileFactory().user, opportunity=mine, text="Which browsers?")
        draft = OpportunityFactory()
        opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
        opportunity, _bids = sealed_bids(count=1, admin=other_admin)
        panel_services.panel_appoint(
            actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=staff,
            is_chair=True,
        )  # fmt: skip
        payment_due(marks=[(True, 9)], admin=other_admin)
        approvals.approval_request(
            actor=other_admin,
            kind=Approval.Kind.ROLE_GRANT,
            payload={"user": StaffFactory().pk, "role": Role.EVALUATOR},
        )
    return staff
