"""Issue 23, "Check before you commit", in the browser and with the keyboard alone: each
irreversible step (final marks, the lock, the reveal, the award, certifying, recording a
payment) opens its confirmation page from a link, says what will happen, and is done by its one
button, pressed once (site.js disables it after the first press). axe-core on every
confirmation page, in English and French."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from evaluation import marking
from evaluation.models import Evaluation
from marketplace.labels import bid_label
from marketplace.models import AuditEvent
from payments import contracts
from payments.models import Contract, Payment
from tests.builders import (
    card_holder,
    consensus_all,
    evaluators,
    labels,
    mark_all,
    mark_values,
    sealed_bids,
    seat_panel,
)
from tests.factories import PASSWORD
from tests.support.browser import HAS_FOCUS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def tab_to(page: Page, target: Locator, *, limit: int = 120) -> None:
    """Press Tab until the target has the focus, as a keyboard user would (no click)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate(HAS_FOCUS):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


def press(page: Page, target: Locator, key: str = "Enter") -> None:
    tab_to(page, target)
    page.keyboard.press(key)


def test_every_confirmation_with_the_keyboard_alone(live_server, browser, axe_violations):
    base = live_server.url
    opportunity, _bids = sealed_bids(count=3)
    evaluation = opportunity.evaluation
    chair, second = evaluators(2)
    seat_panel(evaluation, [chair, second])
    # Two bids tied on top, one failing a mandatory criterion.
    scores = dict(zip(labels(evaluation), [(True, 8), (True, 8), (False, 9)], strict=True))
    mark_all(evaluation, chair, scores)
    for packet in evaluation.packets.all():
        marking.marks_save(
            evaluator=second,
            packet=packet,
            values=mark_values(opportunity, score=6, rationale="Specific example."),
        )

    def as_user(user) -> Page:
        page = browser.new_context(bypass_csp=True).new_page()
        sign_in(page, base, user.email, PASSWORD)
        return page

    def clean_in_both_languages(page: Page) -> None:
        assert axe_violations(page) == []
        english = page.url
        page.goto(english.replace("/en/", "/fr/", 1))
        assert axe_violations(page) == []
        page.goto(english)

    # 1. The second evaluator reviews their marks, then submits them as final.
    page = as_user(second)
    page.goto(f"{base}/en/evaluation/{opportunity.pk}/packets/")
    press(page, page.get_by_role("link", name="Submit my marks"))
    expect(page.locator("h1")).to_contain_text("Check before you submit your marks")
    expect(page.locator("main")).to_contain_text("6 / 10")
    clean_in_both_languages(page)
    button = page.get_by_role("button", name="Submit my marks as final")
    tab_to(page, button)
    # Pressed twice: the second press finds the button disabled, the step happens once.
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.locator(".gc-notice-success").first).to_contain_text("Your marks are submitted")
    assert AuditEvent.objects.filter(verb="marks.submitted", actor=second).count() == 1

    # 2. The chair records the consensus, then reviews the ranking and the tie before locking.
    evaluation.refresh_from_db()
    consensus_all(evaluation, chair, scores)
    chair_page = as_user(chair)
    chair_page.goto(f"{base}/en/evaluation/{opportunity.pk}/consensus/")
    press(chair_page, chair_page.get_by_role("link", name="Review the ranking, then lock"))
    expect(chair_page.locator("h1")).to_contain_text("Check before you lock the consensus")
    first, tied, failing = labels(evaluation)
    expect(chair_page.locator("main")).to_contain_text(
        f"{bid_label(first)} and {bid_label(tied)} are tied at 80.00; "
        "the draw will choose between them."
    )
    expect(chair_page.locator("main")).to_contain_text(bid_label(failing))
    clean_in_both_languages(chair_page)
    press(chair_page, chair_page.get_by_role("button", name="Lock the consensus and select"))
    expect(chair_page.locator(".gc-notice-success")).to_contain_text("the selection is made")
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.SELECTED
    assert set(evaluation.draw_order[:2]) == {first, tied}

    # 3. The buyer reviews the reveal, then reveals.
    buyer = as_user(opportunity.buyer)
    buyer.goto(f"{base}/en/evaluation/{opportunity.pk}/")
    press(buyer, buyer.get_by_role("link", name="Reveal who bid"))
    expect(buyer.locator("h1")).to_contain_text("Check before you reveal who bid")
    clean_in_both_languages(buyer)
    press(buyer, buyer.get_by_role("button", name="Reveal who bid"))
    expect(buyer.locator("main")).to_contain_text("Who bid")

    # 4. The buyer reviews who gets the award and for how much, then awards.
    press(buyer, buyer.get_by_role("link", name="Award to the first in rank"))
    expect(buyer.locator("h1")).to_contain_text("Check before you award")
    expect(buyer.locator("main")).to_contain_text("$2,000.00")
    clean_in_both_languages(buyer)
    press(buyer, buyer.get_by_role("button", name="Award to the first in rank"))
    expect(buyer.locator(".gc-notice-success")).to_contain_text("Awarded")
    contract = Contract.objects.get(opportunity=opportunity)

    # 5. Delivered, the buyer reviews what certifying does, ticks the statement and certifies.
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/7", notes=""
    )
    buyer.goto(f"{base}/en/payments/contracts/{contract.pk}/")
    press(buyer, buyer.get_by_role("link", name="Review and certify the work"))
    expect(buyer.locator("h1")).to_contain_text("Check before you certify the work")
    expect(buyer.locator("main")).to_contain_text("https://x.dev/pull/7")
    clean_in_both_languages(buyer)
    press(buyer, buyer.get_by_label("section 34"), key="Space")
    press(buyer, buyer.get_by_role("button", name="Accept and certify the work"))
    expect(buyer.locator(".gc-notice-success")).to_contain_text("accepted and certified")
    payment = Payment.objects.get(contract=contract)

    # 6. The card holder types the payment, reviews it, goes back, then records it.
    holder = as_user(card_holder())
    holder.goto(f"{base}/en/payments/{payment.pk}/")
    reference = holder.get_by_label("Reference")
    tab_to(holder, reference)
    holder.keyboard.type("AUTH-482913")
    holder.get_by_label("Date paid").fill(timezone.localdate().isoformat())
    press(holder, holder.get_by_role("button", name="Review the payment"))
    expect(holder.locator("h1")).to_contain_text("Check before you record the payment")
    expect(holder.locator("main")).to_contain_text("AUTH-482913")
    expect(holder.locator("main")).to_contain_text("$2,000.00")
    expect(holder.locator("main")).to_contain_text(contract.supplier_name)
    assert axe_violations(holder) == []
    press(holder, holder.get_by_role("link", name="Go back"))
    expect(holder.get_by_label("Reference")).to_have_value("AUTH-482913")  # kept
    press(holder, holder.get_by_role("button", name="Review the payment"))
    press(holder, holder.get_by_role("button", name="Record the payment"))
    expect(holder.locator(".gc-notice-success")).to_contain_text("The payment is recorded")
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.RECORDED
    assert AuditEvent.objects.filter(verb="payment.recorded").count() == 1
