"""axe-core finds no WCAG 2.1 AA violation on the foundation's pages, in English and French."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, SupplierFactory, SupplierProfileFactory
from tests.support.browser import sign_in

PUBLIC_PAGES = [
    "/{lang}/",
    "/{lang}/accounts/login/",
    "/{lang}/accounts/signup/",
    "/{lang}/help/",
    "/{lang}/help/evaluation-and-the-draw/",
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_public_pages_have_no_accessibility_violations(
    live_server, page: Page, axe_violations, lang
):
    for template in PUBLIC_PAGES:
        path = template.format(lang=lang)
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("h1").count() == 1, path
        assert axe_violations(page) == [], path


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_signed_in_pages_have_no_accessibility_violations(
    live_server, page: Page, axe_violations, lang
):
    supplier = SupplierFactory()
    SupplierProfileFactory(user=supplier)
    sign_in(page, live_server.url, supplier.email, PASSWORD, language=lang)
    for path in (f"/{lang}/dashboard/", f"/{lang}/profile/"):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1, path
        assert axe_violations(page) == [], path


@pytest.mark.django_db(transaction=True)
def test_skip_link_moves_focus_to_main_content(live_server, page: Page):
    page.goto(f"{live_server.url}/en/")
    # The skip link is the GC Design System header's (in its shadow root) once it has rendered.
    expect(page.locator("gcds-header.hydrated")).to_be_attached()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
