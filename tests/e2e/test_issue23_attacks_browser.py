"""Issue 23 attacked in a browser: a phone 390 px wide, in French, by keyboard only, with and
without JavaScript. The longest things a person can put on these pages (a 200-letter title with
no space, a 500-character address to report) must not widen the page, and every step of
"Waiting for you" must be reachable by Tab and followed with Enter."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import builders
from tests.factories import PASSWORD, SupplierProfileFactory
from tests.support.browser import HAS_FOCUS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
UNBROKEN = "Accessibilit\u00e9" * 15  # 195 letters (the limit is 200), no space: cannot wrap


def _no_horizontal_scroll(page: Page, path: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (path, width)


@pytest.mark.parametrize("javascript", [True, False])
def test_long_words_on_the_dashboard_bids_and_contact_pages_fit_a_phone(
    live_server, browser: Browser, javascript
):
    opportunity = builders.published_opportunity(title_en=UNBROKEN, title_fr=UNBROKEN)
    supplier = SupplierProfileFactory().user
    builders.draft_bid(opportunity=opportunity, supplier=supplier)
    supplier.watches.create(opportunity=opportunity)
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, locale="fr-CA")
    page = context.new_page()
    sign_in(page, live_server.url, supplier.email, PASSWORD)
    long_address = "/fr/" + "x" * 496
    for path in ["/fr/dashboard/", "/fr/bids/", f"/fr/contact/?page={long_address}"]:
        page.goto(live_server.url + path)
        _no_horizontal_scroll(page, path)
    expect(page.locator(".gc-reported-page-address")).to_have_text(long_address)
    context.close()


def test_a_waiting_step_is_reached_by_tab_and_followed_with_enter_in_french(
    live_server, browser: Browser
):
    opportunity = builders.published_opportunity(
        title_en="Fix the keyboard trap", title_fr="Corriger le pi\u00e8ge au clavier"
    )
    supplier = SupplierProfileFactory().user
    bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)
    context = browser.new_context(viewport=PHONE, locale="fr-CA")
    page = context.new_page()
    sign_in(page, live_server.url, supplier.email, PASSWORD)
    page.goto(live_server.url + "/fr/dashboard/")
    page.wait_for_load_state("networkidle")
    step = page.locator("section[aria-labelledby=waiting-heading] a").first
    for _ in range(60):
        page.keyboard.press("Tab")
        if step.evaluate(HAS_FOCUS):
            break
    expect(step).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/fr/bids/{bid.pk}/edit/")
    context.close()
