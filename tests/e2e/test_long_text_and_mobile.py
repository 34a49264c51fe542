"""Public text cannot break a page, and the opportunity pages are mobile first (issue 23):
an unbroken 2,000-character question and a 200-character title never make the page scroll
sideways, at 390 or 1280 px; on a phone the value, the deadline and the Bid action are on the
first screen, and the list's results start near the top; the character counter follows typing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from opportunities.questions import question_answer, question_ask
from tests import builders
from tests.factories import PASSWORD, SupplierFactory
from tests.support.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TITLE = "Unbrokentitle" + "W" * 187  # 200 characters, the longest a title may be, no space
QUESTION = "Q" * 2000  # the longest question, no space
ANSWER = "A" * 2000


@pytest.fixture
def long_texts(db):
    """A published opportunity with a long unbroken title, an answered unbroken question and
    another waiting for the buyer."""
    opportunity = builders.published_opportunity(title_en=TITLE, title_fr=TITLE)
    asker = SupplierFactory()
    answered = question_ask(asker=asker, opportunity=opportunity, text=QUESTION)
    question_answer(actor=opportunity.buyer, question=answered, answer_en=ANSWER, answer_fr=ANSWER)
    question_ask(asker=asker, opportunity=opportunity, text="P" * 2000)
    return opportunity


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page {widths[0]} px wide in a {widths[1]} px window"


def _top(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_long_unbroken_text_never_widens_the_page(
    live_server, browser: Browser, long_texts, viewport, language
):
    opportunity = long_texts
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    detail = f"{live_server.url}/{language}/opportunities/{opportunity.pk}/"
    page.goto(detail)
    expect(page.get_by_text(QUESTION[:50], exact=False).first).to_be_visible()
    _no_sideways_scroll(page)
    page.goto(f"{live_server.url}/{language}/opportunities/")
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    _no_sideways_scroll(page)
    # The buyer's page: the unanswered question with its answer and dismissal forms.
    sign_in(page, live_server.url, opportunity.buyer.email, PASSWORD, language=language)
    page.goto(detail)
    expect(page.get_by_text("P" * 50, exact=False).first).to_be_visible()
    _no_sideways_scroll(page)
    context.close()


def test_on_a_phone_the_facts_and_the_bid_action_come_first(live_server, browser: Browser):
    opportunity = builders.published_opportunity(
        description_en="A long description.\n\n" + "Lorem ipsum dolor sit amet. " * 300
    )
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/opportunities/{opportunity.pk}/")
    # Value, deadline and status on the first screen, the Bid action (here: sign in to bid)
    # just below at most, and both before the description.
    facts = _top(page, "#key-facts")
    bid = _top(page, ".bid-panel")
    description = _top(page, "text=A long description.")
    assert facts < PHONE["height"], facts
    assert bid < PHONE["height"] * 1.25, bid
    assert bid < description
    expect(page.locator(".opportunity-glance")).to_contain_text("incl. tax")
    expect(page.locator(".bid-panel")).to_contain_text("to bid")
    _no_sideways_scroll(page)

    # The list: the results start near the top, the filters folded under their summary.
    for number in range(3):
        builders.published_opportunity(title_en=f"Listed work {number}")
    page.goto(f"{live_server.url}/en/opportunities/")
    first = _top(page, "[aria-labelledby=results-heading] > li")
    assert first < 900, first
    expect(page.locator("#id_q")).to_be_hidden()
    page.get_by_text("Filter results").click()
    expect(page.locator("#id_q")).to_be_visible()
    _no_sideways_scroll(page)
    context.close()


def test_on_a_wide_screen_the_filters_are_open(live_server, browser: Browser):
    builders.published_opportunity(title_en="Listed work")
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/opportunities/")
    expect(page.locator("#id_q")).to_be_visible()
    context.close()


@pytest.mark.parametrize(
    ("language", "start", "after", "full"),
    [
        ("en", "2,000 characters left", "1,997 characters left", "0 characters left"),
        # French counts zero as one: singular.
        ("fr", "2 000 caractères restants", "1 997 caractères restants", "0 caractère restant"),
    ],
)
def test_the_counter_follows_typing(live_server, browser: Browser, language, start, after, full):
    """The question box is a GC Design System text area; the project's counter (digits grouped
    as the house writes numbers, French plural rules) follows it, and is the only one."""
    opportunity = builders.published_opportunity()
    supplier = SupplierFactory()
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_server.url, supplier.email, PASSWORD, language=language)
    page.goto(f"{live_server.url}/{language}/opportunities/{opportunity.pk}/")
    field = page.locator("#id_text")
    component = page.locator("gcds-textarea[data-field-id=id_text]")
    counter = page.locator("gcds-textarea[data-field-id=id_text] ~ .char-counter")

    def words(text: str):
        return re.compile("^" + re.escape(text).replace("\\ ", "[ \u00a0\u202f]") + "$")

    expect(counter).to_have_text(words(start))
    field.press_sequentially("Why")
    expect(counter).to_have_text(words(after))
    # Screen readers hear it after a pause, from a polite live region.
    spoken = page.locator("#id_text-counter[aria-live=polite]")
    expect(spoken).to_have_text(words(after))
    # One counter only: the component's own is hidden (hide-limit).
    assert component.locator("[id='textarea__visual-count-id_text']").count() == 0
    assert page.locator(".char-counter").count() == 1
    field.fill("x" * 2000)
    expect(counter).to_have_text(words(full))
    context.close()
