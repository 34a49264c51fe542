"""The dashboards' "Waiting for you" in the browser (issue 23): the supplier's and the buyer's
steps appear as the journey reaches them, lead straight to where they are done, and are gone
once done."""

import pytest
from playwright.sync_api import Page, expect

from marketplace.models import Role
from tests import builders
from tests.factories import PASSWORD, StaffFactory, SupplierProfileFactory
from tests.support.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_waiting_items_appear_and_disappear_along_the_journey(live_server, browser, axe_violations):
    base = live_server.url
    buyer = StaffFactory(roles=[Role.BUYER])
    opportunity = builders.published_opportunity(
        buyer=buyer, title_en="Fix the keyboard trap", title_fr="Corriger le piège au clavier"
    )
    supplier = SupplierProfileFactory().user
    builders.draft_bid(opportunity=opportunity, supplier=supplier)

    def as_user(user) -> Page:
        page = browser.new_context(bypass_csp=True).new_page()
        sign_in(page, base, user.email, PASSWORD)
        return page

    def waiting(page: Page):
        page.goto(f"{base}/en/dashboard/")
        return page.locator("section[aria-labelledby=waiting-heading]")

    # The supplier's draft waits to be submitted; the buyer has nothing to do yet.
    seller = as_user(supplier)
    items = waiting(seller)
    expect(items.get_by_role("link", name="Submit your bid")).to_be_visible()
    expect(items).to_contain_text("Fix the keyboard trap")
    expect(items).to_contain_text("Bids close:")
    expect(items).to_contain_text("What happens next:")
    assert axe_violations(seller) == []
    purchaser = as_user(buyer)
    expect(waiting(purchaser)).to_contain_text("Nothing is waiting for you.")

    # The supplier asks a question: it waits for the buyer, who answers it from the link.
    seller.goto(f"{base}/en/opportunities/{opportunity.pk}/")
    seller.locator("textarea[name=text]").fill("Which screen readers must it support?")
    seller.get_by_role("button", name="Ask the question").click()
    items = waiting(purchaser)
    expect(items).to_contain_text("Fix the keyboard trap")
    assert axe_violations(purchaser) == []
    items.get_by_role("link", name="Answer 1 question").click()
    expect(purchaser.locator("h1")).to_contain_text("Fix the keyboard trap")
    purchaser.locator("textarea[name=answer_en]").fill("NVDA and VoiceOver.")
    purchaser.locator("textarea[name=answer_fr]").fill("NVDA et VoiceOver.")
    purchaser.get_by_role("button", name="Publish the answer").click()
    expect(purchaser.get_by_text("NVDA and VoiceOver.").first).to_be_visible()
    expect(waiting(purchaser)).to_contain_text("Nothing is waiting for you.")

    # The French dashboard says the same in French: the title and the link in French.
    seller.goto(f"{base}/fr/dashboard/")
    french = seller.locator("section[aria-labelledby=waiting-heading]")
    expect(french).to_contain_text("Corriger le piège au clavier")
    expect(french.locator("a[href^='/fr/bids/']")).to_have_count(1)
    assert axe_violations(seller) == []

    # The supplier follows the link and submits: the step is gone, the bid is listed.
    waiting(seller).get_by_role("link", name="Submit your bid").click()
    seller.get_by_role("button", name="Submit bid").click()
    expect(seller.locator("h1")).not_to_contain_text("Edit")
    items = waiting(seller)
    expect(items).to_contain_text("Nothing is waiting for you.")
    expect(seller.locator("section[aria-labelledby=supplier-heading]")).to_contain_text("Submitted")

    # At 390 pixels wide, the dashboard and the bid list fit without scrolling sideways.
    seller.set_viewport_size({"width": 390, "height": 844})
    for path in ("/en/dashboard/", "/en/bids/", "/fr/bids/"):
        seller.goto(base + path)
        assert seller.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), path
