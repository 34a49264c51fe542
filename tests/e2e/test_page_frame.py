"""The page frame in a browser (issue 23): the GC Design System header, navigation and footer at
390 px, by keyboard, under the site's own Content-Security-Policy, and without JavaScript."""

import pytest
from playwright.sync_api import Browser, Page, expect

from marketplace.models import Role
from tests.factories import PASSWORD, StaffFactory, SupplierFactory
from tests.support.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


def _focused(page: Page) -> str:
    """The focused element's tag and text, looking inside the components' shadow roots."""
    return page.evaluate(
        """() => {
            let element = document.activeElement;
            while (element && element.shadowRoot && element.shadowRoot.activeElement) {
                element = element.shadowRoot.activeElement;
            }
            return element.tagName + ' ' + (element.innerText || '').trim();
        }"""
    )


def test_on_a_phone_the_header_fits_and_the_menu_opens_by_keyboard(live_server, browser: Browser):
    """The site's real CSP (the other browser tests bypass it to inject axe-core): no violation,
    no error, no horizontal scroll; the navigation is one "Menu" button, opened with Enter."""
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    context = browser.new_context(viewport=PHONE, locale="en-CA")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server.url, admin.email, PASSWORD)
    for path in ["/en/", "/fr/opportunities/", "/en/privacy/"]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        expect(page.locator("gcds-header.hydrated")).to_be_attached()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    assert problems == []

    page.goto(live_server.url + "/en/")
    page.wait_for_load_state("networkidle")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(page.get_by_role("link", name="Operations")).to_be_hidden()
    for _ in range(10):
        page.keyboard.press("Tab")
        if _focused(page) == "BUTTON Menu":
            break
    assert _focused(page) == "BUTTON Menu"
    page.keyboard.press("Enter")
    for name in ["Opportunities", "Dashboard", "People and roles", "Operations"]:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    assert _focused(page).startswith("A ")
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Operations")).to_be_hidden()
    # Sign out stays a POST form, outside the menu.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/en/")
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    assert problems == []
    context.close()


def test_the_skip_link_moves_focus_to_the_main_content(live_server, page: Page):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/en/help/")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main#main-content")).to_be_focused()


def test_the_language_toggle_and_the_footer_lead_to_the_same_page(live_server, page: Page):
    page.goto(live_server.url + "/en/terms/")
    page.get_by_role("link", name="Français").click()
    page.wait_for_url("**/fr/terms/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Conditions d\u2019utilisation")
    page.get_by_role("link", name="Signaler un problème").click()
    page.wait_for_url("**/fr/contact/?page=%2Ffr%2Fterms%2F")
    expect(page.locator(".gc-reported-page-address")).to_have_text("/fr/terms/")


def test_without_javascript_the_header_and_footer_still_work(live_server, browser: Browser):
    supplier = SupplierFactory()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-CA")
    page = context.new_page()
    sign_in(page, live_server.url, supplier.email, PASSWORD)
    page.goto(live_server.url + "/en/help/")
    for name in ["Skip to main content", "Opportunities", "Your bids", "Notifications", "Privacy"]:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("img", name="Government of Canada")).to_be_visible()
    page.get_by_role("link", name="Your bids", exact=True).click()
    page.wait_for_url("**/en/bids/")
    page.get_by_role("link", name="Français").click()
    page.wait_for_url("**/fr/bids/")
    page.get_by_role("button", name="Fermer la session").click()
    page.wait_for_url("**/fr/")
    expect(page.get_by_role("link", name="Ouvrir une session").first).to_be_visible()
    context.close()
