"""Demo evaluation (seed_demo): the closed demo opportunity with its packets and a panel of the
two demo evaluators (evaluator 2 chairs), declarations pending, to walk through from the start;
and three opportunities already evaluated and awarded to supplier 4 (see demo.payments)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bids import services as bid_services
from evaluation import services
from evaluation.marking import MarkInput, consensus_save, marks_save, marks_submit
from evaluation.models import Evaluation
from evaluation.packets import evaluation_build_packets
from evaluation.panel import panel_appoint, panel_declare
from lifecycle.award import evaluation_award
from lifecycle.closing import opportunity_close
from marketplace.models import User
from opportunities.models import Criterion, Opportunity
from payments import contracts

from .bids import CLOSED_TITLE

AWARDED_TITLE = "Translate the open-source forms library's error messages"
DELIVERED_TITLE = "Add a dark theme to the open-source status page"
PAID_TITLE = "Document the open-source address lookup API"


def seed_evaluation() -> None:
    evaluation = Evaluation.objects.filter(opportunity__title_en=CLOSED_TITLE).first()
    if evaluation is None:
        return
    if evaluation.status == Evaluation.Status.PREPARING:
        # With a worker the packets may still be on their way; building them is idempotent.
        evaluation_build_packets(opportunity=evaluation.opportunity)
        evaluation.refresh_from_db()
    if evaluation.status != Evaluation.Status.PANEL or evaluation.panel.exists():
        return
    buyer = evaluation.opportunity.buyer
    for email, chair in (("evaluator1@demo.gc.ca", False), ("evaluator2@demo.gc.ca", True)):
        panel_appoint(
            actor=buyer,
            evaluation=evaluation,
            evaluator=User.objects.get(email=email),
            is_chair=chair,
        )


def seed_awards() -> None:
    """Three opportunities awarded to supplier 4, whose contracts demo.payments takes on."""
    for title in (AWARDED_TITLE, DELIVERED_TITLE, PAID_TITLE):
        seed_award(title)


def seed_award(title: str) -> None:
    """Supplier 4 bids alone, the panel scores, the buyer reveals and awards; supplier 4
    accepts the contract. Idempotent: only while the opportunity is still published."""
    opportunity = Opportunity.objects.filter(
        title_en=title, status=Opportunity.Status.PUBLISHED
    ).first()
    if opportunity is None:
        return
    supplier = User.objects.get(email="supplier4@demo.example")
    bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
    criteria = list(opportunity.criteria.all())
    bid_services.bid_save_draft(
        supplier=supplier,
        bid=bid,
        answers={c.pk: "Translated the messages of two open-source libraries." for c in criteria},
        proposed_start_date=timezone.localdate() + dt.timedelta(days=3),
        attest_can_work_in_canada=True,
        attest_can_be_paid_by_card=True,
        attest_no_conflict=True,
        accept_terms=True,
    )
    bid_services.bid_submit(supplier=supplier, bid=bid)
    now = timezone.now()
    Opportunity.objects.filter(pk=opportunity.pk).update(
        published_at=now - dt.timedelta(days=21),
        question_deadline=now - dt.timedelta(days=10),
        closes_at=now - dt.timedelta(days=8),
    )
    opportunity.refresh_from_db()
    opportunity_close(opportunity=opportunity)
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    evaluation_build_packets(opportunity=opportunity)  # no-op when already built
    buyer = opportunity.buyer
    panel = [User.objects.get(email=f"evaluator{n}@demo.gc.ca") for n in (2, 1)]
    for evaluator in panel:
        member = panel_appoint(
            actor=buyer, evaluation=evaluation, evaluator=evaluator, is_chair=evaluator == panel[0]
        )
        panel_declare(evaluator=evaluator, member=member, conflict=False)
    packet = evaluation.packets.get()
    values = {
        c.pk: MarkInput(
            passed=True if c.kind == Criterion.Kind.MANDATORY else None,
            score=8 if c.kind == Criterion.Kind.RATED else None,
            rationale="Relevant, specific experience.",
        )
        for c in criteria
    }
    for evaluator in panel:
        marks_save(evaluator=evaluator, packet=packet, values=values)
        marks_submit(evaluator=evaluator, evaluation=evaluation)
    consensus_save(chair=panel[0], packet=packet, values=values)
    services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    offer = evaluation_award(actor=buyer, evaluation=evaluation)
    contracts.contract_accept_terms(supplier=supplier, contract=offer.packet.bid.contract)
