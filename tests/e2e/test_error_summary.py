"""The error summary in a browser, keyboard only, with the site's CSP enforced: a bid submitted
with problems comes back with focus on the summary; following one of its links (Tab, Enter)
moves focus to that field itself, not only the scroll."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from bids import services
from marketplace.models import Role
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.browser import FOCUSED_ID, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def strict_page(browser: Browser):
    """Chromium with the site's CSP enforced (no bypass): the summary's script is a file."""
    context = browser.new_context(locale="en-CA", timezone_id="America/Toronto")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def draft(db):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    posting = OpportunityFactory()
    opportunity_submit_for_review(actor=posting.buyer, opportunity=posting)
    opportunity = opportunity_publish(actor=admin, opportunity=posting)
    supplier = SupplierProfileFactory().user
    return services.bid_start(supplier=supplier, opportunity=opportunity)


def focused_id(page: Page) -> str:
    return page.evaluate(FOCUSED_ID)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_submitting_with_problems_focuses_the_summary_and_its_links_focus_the_fields(
    live_server, strict_page: Page, draft, language
):
    page = strict_page
    base = live_server.url
    sign_in(page, base, draft.supplier.email, PASSWORD, language=language)
    page.goto(f"{base}/{language}/bids/{draft.pk}/edit/")
    # Keyboard only: to the "Submit bid" button, then Enter.
    submit = page.locator("input[name=action_submit], button[name=action_submit]")
    submit.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    heading = {"en": "There is a problem on this page", "fr": "Il y a un problème sur cette page"}
    expect(summary.locator("h2")).to_have_text(heading[language])
    links = summary.locator("a")
    count = links.count()
    assert count == 7  # two answers, the date, three attestations, the terms
    # Tab from the summary reaches its first link; Enter moves focus to that field.
    page.keyboard.press("Tab")
    first = links.nth(0)
    expect(first).to_be_focused()
    target = first.get_attribute("data-error-target")
    page.keyboard.press("Enter")
    assert focused_id(page) == target
    assert page.locator(f"#{target}").evaluate("el => el.tagName") == "TEXTAREA"
    # Typing goes into the field reached: it really has focus.
    page.keyboard.type("Typed after following the link.")
    expect(page.locator(f"#{target}")).to_have_value(re.compile("Typed after following"))
    # Each other link reaches its own field (a checkbox, the date).
    for index in range(1, count):
        link = links.nth(index)
        link.focus()
        page.keyboard.press("Enter")
        assert focused_id(page) == link.get_attribute("data-error-target")


def test_an_opportunity_draft_submitted_with_problems_lists_them_and_keeps_what_was_typed(
    live_server, strict_page: Page
):
    """The buyer's draft (opportunities' "Submit for review"): each problem a link to its
    field, the text typed before pressing Submit still in the form."""
    posting = OpportunityFactory(deliverables_fr="", criteria=[])
    page = strict_page
    base = live_server.url
    sign_in(page, base, posting.buyer.email, PASSWORD)
    page.goto(f"{base}/en/opportunities/{posting.pk}/edit/")
    page.locator("#id_title_en").fill("Typed just before submitting")
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_load_state("load")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(page.locator("#id_title_en")).to_have_value("Typed just before submitting")
    links = summary.locator("a")
    texts = [links.nth(i).inner_text() for i in range(links.count())]
    assert "Enter the deliverables in French." in texts
    assert "Add at least one mandatory criterion." in texts
    assert len(texts) == len(set(texts))
    for index in range(links.count()):
        link = links.nth(index)
        link.focus()
        page.keyboard.press("Enter")
        assert focused_id(page) == link.get_attribute("data-error-target")
