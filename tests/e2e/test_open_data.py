"""The public open data pages in the browser: no axe-core violation, in English and French."""

import pytest
from playwright.sync_api import Page

from tests.builders import awarded_without_test_transaction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_open_data_pages_have_no_accessibility_violations(
    live_server, page: Page, axe_violations, lang
):
    opportunity, _contract = awarded_without_test_transaction(bids=2)
    for path in (f"/{lang}/reports/open-data/", f"/{lang}/reports/what-we-bought/"):
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("h1").count() == 1, path
        assert axe_violations(page) == [], path
    # The purchase is listed, under its title in the page's language.
    title = opportunity.title_fr if lang == "fr" else opportunity.title_en
    assert page.get_by_role("link", name=title).count() == 1


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_what_we_bought_filters_and_empty_state_have_no_accessibility_violations(
    live_server, page: Page, axe_violations, lang
):
    page.goto(f"{live_server.url}/{lang}/reports/what-we-bought/?year=abc&type=nonsense")
    assert page.locator("h1").count() == 1
    assert page.locator(".gc-notice-danger").count() == 1  # the bad filters are explained
    assert page.locator(".empty-state").count() == 1
    assert axe_violations(page) == []


def test_footer_leads_to_the_open_data(live_server, page: Page):
    page.goto(f"{live_server.url}/en/")
    # The GC Design System footer's contextual links, under the marketplace's name.
    page.get_by_role("contentinfo").get_by_role(
        "navigation", name="Micro-acquisitions marketplace"
    ).get_by_role("link", name="Open data").click()
    page.wait_for_url("**/en/reports/open-data/")
    page.get_by_role("link", name="What we bought, as a web page").click()
    page.wait_for_url("**/en/reports/what-we-bought/")
    assert page.locator("h1").inner_text() == "What we bought"
