import datetime as dt

import pytest

from bids import services as bid_services
from evaluation import services
from evaluation.models import Evaluation
from evaluation.services import MarkInput
from marketplace.models import Role
from opportunities import services as opportunity_services
from opportunities.models import Criterion
from tests.bids.conftest import fill
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

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


@pytest.fixture
def program_admin(db):
    return StaffFactory(roles=[Role.PROGRAM_ADMIN])


@pytest.fixture
def evaluators(db):
    return [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(3)]


def close_with_bids(program_admin, django_capture_on_commit_callbacks, *, count=3, **fields):
    """An opportunity closed with `count` sealed bids whose answers name their authors."""
    draft = OpportunityFactory(**fields)
    opportunity_services.opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_services.opportunity_publish(actor=program_admin, opportunity=draft)
    bids = []
    for identity, answer in list(zip(IDENTITIES, ANSWERS, strict=True))[:count]:
        supplier = SupplierProfileFactory(**identity).user
        bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
        text = answer.replace("{email}", supplier.email.upper())
        fill(bid, supplier, answers={c.pk: text for c in opportunity.criteria.all()})
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids.append(bid)
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_services.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    opportunity.refresh_from_db()
    return opportunity, bids


@pytest.fixture
def closed(program_admin, django_capture_on_commit_callbacks):
    return close_with_bids(program_admin, django_capture_on_commit_callbacks)


def seat_panel(evaluation: Evaluation, evaluators, *, chair_index: int = 0):
    buyer = evaluation.opportunity.buyer
    members = [
        services.panel_appoint(
            actor=buyer, evaluation=evaluation, evaluator=e, is_chair=(i == chair_index)
        )
        for i, e in enumerate(evaluators)
    ]
    for member, evaluator in zip(members, evaluators, strict=True):
        services.panel_declare(evaluator=evaluator, member=member, conflict=False)
    return members


def mark_values(opportunity, *, score: int, rationale: str, passed: bool = True) -> dict:
    """One packet's marks or consensus for every criterion of `opportunity`."""
    return {
        c.pk: MarkInput(passed=passed, rationale=rationale)
        if c.kind == Criterion.Kind.MANDATORY
        else MarkInput(score=score, rationale=rationale)
        for c in opportunity.criteria.all()
    }


def mark_all(evaluation: Evaluation, evaluator, scores: dict[str, tuple[bool, int]]):
    """`scores`: label → (passes the mandatory criterion, rated score)."""
    for packet in evaluation.packets.all():
        passed, score = scores[packet.label]
        values = {}
        for criterion in evaluation.opportunity.criteria.all():
            if criterion.kind == Criterion.Kind.MANDATORY:
                values[criterion.pk] = MarkInput(passed=passed, rationale="Shown in the answer.")
            else:
                values[criterion.pk] = MarkInput(score=score, rationale="Clear and relevant.")
        services.marks_save(evaluator=evaluator, packet=packet, values=values)
    services.marks_submit(evaluator=evaluator, evaluation=evaluation)


def consensus_all(evaluation: Evaluation, chair, scores: dict[str, tuple[bool, int]]):
    for packet in evaluation.packets.all():
        passed, score = scores[packet.label]
        values = {}
        for criterion in evaluation.opportunity.criteria.all():
            if criterion.kind == Criterion.Kind.MANDATORY:
                values[criterion.pk] = MarkInput(passed=passed, rationale="The panel agrees.")
            else:
                values[criterion.pk] = MarkInput(score=score, rationale="Strong, specific example.")
        services.consensus_save(chair=chair, packet=packet, values=values)


def run_to_consensus(evaluation, evaluators, scores):
    members = seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    evaluation.refresh_from_db()
    consensus_all(evaluation, evaluators[0], scores)
    return members


def labels(evaluation: Evaluation) -> list[str]:
    return sorted(evaluation.packets.values_list("label", flat=True))
