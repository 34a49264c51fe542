"""The evaluation in the browser: both evaluators declare, score and submit; the chair reaches
consensus and locks; the draw runs; the buyer reveals and awards; a losing supplier reads their
debrief. axe-core on every evaluation page, in English and French."""

import datetime as dt

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from bids import services as bid_services
from evaluation import services as evaluation_services
from evaluation.models import Evaluation
from lifecycle import award, closing
from marketplace.models import Role
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.builders import IDENTITIES, consensus_all, fill, labels, mark_all, seat_panel
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.browser import sign_in, tick

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_with_two_bids():
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=admin, opportunity=draft)
    bids = []
    for identity in IDENTITIES[:2]:
        supplier = SupplierProfileFactory(**identity).user
        bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
        fill(bid, supplier)
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids.append(bid)
    closing.opportunity_close(
        opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
    )
    opportunity.refresh_from_db()
    return opportunity, bids


def _score_every_packet(page: Page, base: str, opportunity, *, consensus: bool = False):
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    mandatory = opportunity.criteria.get(kind="mandatory")
    rated = opportunity.criteria.get(kind="rated")
    section = "consensus" if consensus else "packets"
    button = "Record the consensus" if consensus else "Save my marks"
    for number, packet in enumerate(evaluation.packets.order_by("label")):
        page.goto(f"{base}/en/evaluation/{opportunity.pk}/{section}/{packet.pk}/")
        tick(page.locator(f"#id_passed_{mandatory.pk}_0"))
        page.locator(f"#id_rationale_{mandatory.pk}").fill("The answer shows it clearly.")
        page.locator(f"#id_score_{rated.pk}").fill(str(8 - 3 * number))
        page.locator(f"#id_rationale_{rated.pk}").fill("Specific and relevant example.")
        page.get_by_role("button", name=button).click()
        expect(page.locator(".gc-notice-success")).to_be_visible()


def test_the_whole_evaluation_in_the_browser(live_server, browser, axe_violations):
    base = live_server.url
    opportunity, _bids = _closed_with_two_bids()
    chair, second = StaffFactory(roles=[Role.EVALUATOR]), StaffFactory(roles=[Role.EVALUATOR])

    def as_user(user) -> Page:
        page = browser.new_context(bypass_csp=True).new_page()
        sign_in(page, base, user.email, PASSWORD)
        return page

    # The buyer appoints the panel.
    buyer = as_user(opportunity.buyer)
    buyer.goto(f"{base}/en/opportunities/{opportunity.pk}/")
    buyer.get_by_role("link", name="Evaluation overview").click()
    assert axe_violations(buyer) == []
    buyer.get_by_label("Evaluator").select_option(label=f"{chair.get_full_name()} <{chair.email}>")
    tick(buyer.get_by_label("Chair of the panel"))
    buyer.get_by_role("button", name="Appoint").click()
    buyer.get_by_label("Evaluator").select_option(
        label=f"{second.get_full_name()} <{second.email}>"
    )
    buyer.get_by_role("button", name="Appoint").click()
    expect(buyer.locator("table").first).to_contain_text("Chair")

    # Each evaluator declares, scores every packet alone and submits.
    for evaluator in (chair, second):
        page = as_user(evaluator)
        page.goto(f"{base}/en/evaluation/{opportunity.pk}/declare/")
        assert axe_violations(page) == []
        tick(
            page.get_by_label(
                "I have no conflict of interest with this opportunity or its bidders."
            )
        )
        page.get_by_role("button", name="Declare").click()
        expect(page.locator("h1")).to_have_text("The bids to score")
        assert axe_violations(page) == []
        first_packet = Evaluation.objects.get(opportunity=opportunity).packets.order_by("label")[0]
        page.goto(f"{base}/en/evaluation/{opportunity.pk}/packets/{first_packet.pk}/")
        assert axe_violations(page) == []
        html = page.content()
        for identity in IDENTITIES[:2]:
            assert identity["github_handle"] not in html
        _score_every_packet(page, base, opportunity)
        page.goto(f"{base}/en/evaluation/{opportunity.pk}/packets/")
        page.get_by_role("link", name="Submit my marks").click()  # to its confirmation
        expect(page.locator("h1")).to_contain_text("Check before you submit your marks")
        page.get_by_role("button", name="Submit my marks as final").click()
        expect(page.locator(".gc-notice-success").first).to_contain_text("Your marks are submitted")
        if evaluator == chair:
            chair_page = page

    # The chair records the consensus and locks; the selection follows.
    chair_page.goto(f"{base}/en/evaluation/{opportunity.pk}/consensus/")
    assert axe_violations(chair_page) == []
    first_packet = Evaluation.objects.get(opportunity=opportunity).packets.order_by("label")[0]
    chair_page.goto(f"{base}/en/evaluation/{opportunity.pk}/consensus/{first_packet.pk}/")
    assert axe_violations(chair_page) == []
    _score_every_packet(chair_page, base, opportunity, consensus=True)
    chair_page.goto(f"{base}/en/evaluation/{opportunity.pk}/consensus/")
    chair_page.get_by_role("link", name="Review the ranking, then lock").click()
    expect(chair_page.locator("h1")).to_contain_text("Check before you lock the consensus")
    assert axe_violations(chair_page) == []
    chair_page.get_by_role("button", name="Lock the consensus and select").click()
    expect(chair_page.locator(".gc-notice-success")).to_contain_text("the selection is made")

    # Anyone checks the draw from the public page.
    public = browser.new_context(bypass_csp=True).new_page()
    public.goto(f"{base}/en/evaluation/{opportunity.pk}/draw/")
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    expect(public.locator("main")).to_contain_text(evaluation.seed)
    expect(public.locator("main")).to_contain_text("Checked by the site")
    assert axe_violations(public) == []

    # The buyer reveals and awards.
    buyer.goto(f"{base}/en/evaluation/{opportunity.pk}/")
    buyer.get_by_role("link", name="Reveal who bid").click()
    buyer.get_by_role("button", name="Reveal who bid").click()
    expect(buyer.locator("main")).to_contain_text("Who bid")
    mail.outbox.clear()
    buyer.get_by_role("link", name="Award to the first in rank").click()
    buyer.get_by_role("button", name="Award to the first in rank").click()
    expect(buyer.locator(".gc-notice-success")).to_contain_text("Awarded")
    assert axe_violations(buyer) == []

    # The losing supplier reads their debrief, by email and on their bid page.
    evaluation.refresh_from_db()
    loser = evaluation.packets.get(rank=2).bid
    [debrief] = [m for m in mail.outbox if m.to == [loser.supplier.email]]
    assert "Specific and relevant example." in debrief.body
    page = as_user(loser.supplier)
    page.goto(f"{base}/en/bids/{loser.pk}/")
    expect(page.locator("#debrief-heading")).to_have_text("Your debrief")
    expect(page.locator("main")).to_contain_text("ranked 2")
    assert axe_violations(page) == []


def test_evaluation_pages_in_french_are_accessible(live_server, browser, axe_violations):
    base = live_server.url
    opportunity, _bids = _closed_with_two_bids()
    evaluation = opportunity.evaluation
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    seat_panel(evaluation, evaluators)
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, base, evaluators[0].email, PASSWORD, language="fr")
    packet = evaluation.packets.first()
    for path in ("", "packets/", f"packets/{packet.pk}/"):
        page.goto(f"{base}/fr/evaluation/{opportunity.pk}/{path}")
        assert page.locator("html").get_attribute("lang") == "fr"
        assert axe_violations(page) == [], path
    scores = {label: (True, 6) for label in labels(evaluation)}
    for evaluator in evaluators:
        mark_all(evaluation, evaluator, scores)
    consensus_all(evaluation, evaluators[0], scores)
    for path in ("consensus/", f"consensus/{packet.pk}/"):
        page.goto(f"{base}/fr/evaluation/{opportunity.pk}/{path}")
        assert axe_violations(page) == [], path
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    page.goto(f"{base}/fr/evaluation/{opportunity.pk}/draw/")
    assert axe_violations(page) == []
    evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    award.evaluation_award(actor=opportunity.buyer, evaluation=evaluation)
    loser = evaluation.packets.get(rank=2).bid
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, base, loser.supplier.email, PASSWORD, language="fr")
    page.goto(f"{base}/fr/bids/{loser.pk}/")
    assert axe_violations(page) == []
    page.goto(f"{base}/fr/opportunities/awarded/")
    assert axe_violations(page) == []
