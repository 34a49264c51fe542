"""Hostile text in every field people type, Markdown included, comes out inert on every page that
shows it: a whole file is carried from posting to payment with script in each text, then every
page of each person who sees it is read for script that would run."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from bids import services as bid_services
from evaluation import marking as evaluation_marking
from evaluation import services as evaluation_services
from lifecycle import award, closing
from marketplace.models import Role, SupplierProfile, User
from opportunities.addenda import opportunity_amend
from opportunities.models import Criterion
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_answer, question_ask
from payments import contracts
from tests.builders import fill, mark_values, seat_panel
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('xss')</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{SCRIPT}{IMAGE}"
MARKDOWN = f'{HOSTILE}\n\n[click me](javascript:alert(1)) <a href="javascript:alert(2)">x</a>'

# What would run if it reached the page unescaped.
LIVE = [
    re.compile(r"<script>alert", re.I),
    re.compile(r"<img[^>]*onerror", re.I),
    re.compile(r"href=[\"']?\s*javascript:", re.I),
]


def _live(html: str) -> list[str]:
    return [pattern.pattern for pattern in LIVE if pattern.search(html)]


@pytest.fixture
def hostile_file(django_capture_on_commit_callbacks):
    """An opportunity taken to payment, with script in every text a person typed."""
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN], full_name=HOSTILE)
    buyer = StaffFactory(roles=[Role.BUYER], full_name=HOSTILE)
    evaluators = [StaffFactory(roles=[Role.EVALUATOR], full_name=HOSTILE) for _ in range(2)]
    holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name=HOSTILE)
    texts = {
        f"{field}_{language}": HOSTILE
        for field in ("title", "summary", "deliverables", "acceptance_criteria")
        for language in ("en", "fr")
    }
    draft = OpportunityFactory(
        buyer=buyer,
        description_en=MARKDOWN,
        description_fr=MARKDOWN,
        criteria=[
            Criterion(kind="mandatory", text_en=HOSTILE, text_fr=HOSTILE),
            Criterion(kind="rated", text_en=HOSTILE, text_fr=HOSTILE, weight=1, max_score=10),
        ],
        **{k: v[:200] if k.startswith("title") else v for k, v in texts.items()},
    )
    opportunity_submit_for_review(actor=buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=admin, opportunity=draft)
    suppliers = [
        SupplierProfileFactory(legal_name=HOSTILE, trading_name=HOSTILE, contact_name=HOSTILE).user
        for _ in range(2)
    ]
    User.objects.filter(pk__in=[s.pk for s in suppliers]).update(full_name=HOSTILE)
    question = question_ask(asker=suppliers[0], opportunity=opportunity, text=HOSTILE)
    question_answer(actor=buyer, question=question, answer_en=HOSTILE, answer_fr=HOSTILE)
    opportunity_amend(
        actor=buyer, opportunity=opportunity, note_en=HOSTILE, note_fr=HOSTILE,
        closes_at=opportunity.closes_at + dt.timedelta(hours=1),
    )  # fmt: skip
    opportunity.refresh_from_db()
    bids = []
    for supplier in suppliers:
        bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
        fill(bid, supplier, answers={c.pk: HOSTILE for c in opportunity.criteria.all()})
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids.append(bid)
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators)
    for evaluator in evaluators:
        for packet in evaluation.packets.all():
            evaluation_marking.marks_save(
                evaluator=evaluator,
                packet=packet,
                values=mark_values(opportunity, score=7, rationale=HOSTILE),
            )
        evaluation_marking.marks_submit(evaluator=evaluator, evaluation=evaluation)
    evaluation.refresh_from_db()
    for packet in evaluation.packets.all():
        evaluation_marking.consensus_save(
            chair=evaluators[0],
            packet=packet,
            values=mark_values(opportunity, score=8, rationale=HOSTILE),
        )
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    offer = award.evaluation_award(actor=buyer, evaluation=evaluation)
    contract = offer.packet.bid.contract
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1",
        notes=HOSTILE,
    )  # fmt: skip
    contract = contracts.contract_request_changes(buyer=buyer, contract=contract, reasons=HOSTILE)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/2",
        notes=HOSTILE,
    )  # fmt: skip
    contract = contracts.contract_certify(buyer=buyer, contract=contract, confirmed=True)
    return {
        "opportunity": opportunity,
        "evaluation": evaluation,
        "contract": contract,
        "payment": contract.payment,
        "bids": bids,
        "admin": admin,
        "buyer": buyer,
        "evaluators": evaluators,
        "holder": holder,
        "winner": contract.supplier,
        "loser": next(s for s in suppliers if s != contract.supplier),
    }


def test_script_typed_anywhere_never_runs_on_any_page(client, hostile_file):
    f = hostile_file
    o, e, c, p = f["opportunity"], f["evaluation"], f["contract"], f["payment"]
    packet = e.packets.first()
    winner_bid = next(b for b in f["bids"] if b.supplier == f["winner"])
    loser_bid = next(b for b in f["bids"] if b.supplier == f["loser"])
    visits = {
        None: [
            reverse("opportunities:list"),
            reverse("opportunities:detail", args=[o.pk]),
            reverse("opportunities:awarded"),
            reverse("evaluation:draw", args=[o.pk]),
            reverse("reports:purchases"),
        ],
        f["buyer"]: [
            reverse("marketplace:dashboard"),
            reverse("opportunities:detail", args=[o.pk]),
            reverse("evaluation:overview", args=[o.pk]),
            reverse("payments:contract", args=[c.pk]),
            reverse("marketplace:inbox"),
        ],
        f["evaluators"][0]: [
            reverse("evaluation:overview", args=[o.pk]),
            reverse("evaluation:packets", args=[o.pk]),
            reverse("evaluation:packet", args=[o.pk, packet.pk]),
            reverse("evaluation:consensus", args=[o.pk]),
            reverse("evaluation:consensus_packet", args=[o.pk, packet.pk]),
        ],
        f["winner"]: [
            reverse("marketplace:dashboard"),
            reverse("bids:detail", args=[winner_bid.pk]),
            reverse("bids:receipt", args=[winner_bid.pk, 1]),
            reverse("payments:contract", args=[c.pk]),
            reverse("payments:detail", args=[p.pk]),
            reverse("marketplace:inbox"),
        ],
        f["loser"]: [reverse("bids:detail", args=[loser_bid.pk])],
        f["holder"]: [
            reverse("payments:list"),
            reverse("payments:detail", args=[p.pk]),
            reverse("payments:invoice", args=[p.pk]),
        ],
        f["admin"]: [
            reverse("marketplace:role_user_list"),
            reverse("marketplace:operations"),
            reverse("reports:metrics"),
            reverse("evaluation:access_log", args=[o.pk]),
        ],
    }
    problems, shown = {}, 0
    for person, paths in visits.items():
        if person is None:
            client.logout()
        else:
            client.force_login(person)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            html = response.content.decode()
            shown += "&lt;script&gt;alert" in html  # the text is there, inert
            if found := _live(html):
                problems[(str(person), path)] = found
    assert problems == {}
    assert shown >= 15, "the hostile text should appear (escaped) on most of these pages"


def test_the_checker_sees_live_script():
    assert _live(f"<p>{SCRIPT}</p>") and _live('<a href="javascript:alert(1)">x</a>')
    assert _live("<img src=x onerror=alert(1)>")
    assert not _live("<p>&lt;script&gt;alert('xss')&lt;/script&gt;</p>")
    profile_names = SupplierProfile._meta.get_field("legal_name").max_length
    assert len(HOSTILE) <= profile_names
