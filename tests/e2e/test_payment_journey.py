"""From award to payment in the browser: the supplier accepts and delivers; the buyer asks for
changes, then accepts and certifies; the card holder records the card payment; the supplier
confirms receipt. axe-core on every page of the way, in English and French."""

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from marketplace.models import Role
from opportunities.models import Opportunity
from payments.models import CardLimit, Payment
from tests.builders import awarded_without_test_transaction
from tests.factories import PASSWORD, StaffFactory
from tests.support.browser import sign_in, tick

pytestmark = pytest.mark.django_db(transaction=True)


def test_from_award_to_confirmed_payment_in_the_browser(live_server, browser, axe_violations):
    base = live_server.url
    opportunity, contract = awarded_without_test_transaction(bids=2)
    supplier, buyer = contract.supplier, opportunity.buyer
    card_holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Casey Cardholder")
    CardLimit.objects.create(
        card_holder=card_holder, per_transaction_cents=1_000_000, monthly_cents=2_500_000
    )

    def as_user(user) -> Page:
        page = browser.new_context(bypass_csp=True).new_page()
        sign_in(page, base, user.email, PASSWORD)
        return page

    def both_languages_clean(page: Page) -> None:
        assert axe_violations(page) == []
        english = page.url
        page.goto(english.replace("/en/", "/fr/", 1))
        assert axe_violations(page) == []
        page.goto(english)

    contract_url = f"{base}/en/payments/contracts/{contract.pk}/"

    # The supplier accepts the contract and delivers.
    seller = as_user(supplier)
    seller.goto(f"{base}/en/dashboard/")
    seller.get_by_role("link", name="Accept the contract, or decline it").click()
    expect(seller.locator("h1")).to_contain_text("Contract")
    both_languages_clean(seller)
    seller.get_by_role("button", name="Accept the contract").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("The work can start")
    seller.get_by_label("Link to the pull request or repository").fill(
        "https://github.com/esdc/picker/pull/7"
    )
    seller.get_by_label("Notes for the buyer").fill("Fixed, with tests.")
    seller.get_by_role("button", name="Deliver the work").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("Delivered")
    both_languages_clean(seller)

    # The buyer asks for changes; the supplier delivers again.
    purchaser = as_user(buyer)
    purchaser.goto(contract_url)
    both_languages_clean(purchaser)
    purchaser.get_by_label("What must change, and why").fill("Add a test for the Escape key.")
    purchaser.get_by_role("button", name="Ask for changes").click()
    expect(purchaser.locator(".gc-notice-success")).to_contain_text("asked for changes")
    seller.goto(contract_url)
    expect(seller.locator("main")).to_contain_text("Add a test for the Escape key.")
    seller.get_by_label("Link to the pull request or repository").fill(
        "https://github.com/esdc/picker/pull/8"
    )
    seller.get_by_role("button", name="Deliver the work").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("Delivered")

    # The buyer accepts and certifies: the payment is due, the card holder is told.
    mail.outbox.clear()
    purchaser.goto(contract_url)
    purchaser.get_by_role("link", name="Review and certify the work").click()
    both_languages_clean(purchaser)
    tick(purchaser.get_by_label("section 34"))
    purchaser.get_by_role("button", name="Accept and certify the work").click()
    expect(purchaser.locator(".gc-notice-success")).to_contain_text("accepted and certified")
    payment = Payment.objects.get(contract=contract)
    assert [m.to for m in mail.outbox if m.subject.startswith("Payment due")] == [
        [card_holder.email]
    ]

    # The card holder finds it on their dashboard, reads the invoice and records the payment.
    holder = as_user(card_holder)
    holder.get_by_role("link", name=opportunity.title_en).click()
    expect(holder.locator("h1")).to_contain_text(payment.invoice_number)
    both_languages_clean(holder)
    holder.get_by_role("link", name="See the invoice").click()
    expect(holder.locator("main")).to_contain_text("Total (CAD)")
    both_languages_clean(holder)
    holder.goto(f"{base}/en/payments/{payment.pk}/")
    holder.get_by_label("Amount paid (CAD, tax included)").fill("1.00")
    holder.get_by_label("Date paid").fill(timezone.localdate(payment.due_since).isoformat())
    holder.get_by_label("Reference").fill("AUTH-482913")
    holder.get_by_role("button", name="Review the payment").click()
    expect(holder.locator("main")).to_contain_text("Record the invoice total, $2,000.00.")
    holder.get_by_label("Amount paid (CAD, tax included)").fill("2000.00")
    holder.get_by_role("button", name="Review the payment").click()
    expect(holder.locator("h1")).to_contain_text("Check before you record the payment")
    both_languages_clean(holder)
    holder.get_by_role("button", name="Record the payment").click()
    expect(holder.locator(".gc-notice-success")).to_contain_text("The payment is recorded")
    both_languages_clean(holder)

    # The supplier, told by email, confirms receipt: paid, and the work is complete.
    [recorded] = [m for m in mail.outbox if m.to == [supplier.email] and "AUTH-482913" in m.body]
    seller.goto(f"{base}/en/payments/{payment.pk}/")
    both_languages_clean(seller)
    seller.get_by_role("button", name="I received $2,000.00").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("the payment is confirmed")
    expect(seller.locator("main")).to_contain_text("Paid")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.COMPLETED
    assert recorded.subject.startswith("Payment recorded")
