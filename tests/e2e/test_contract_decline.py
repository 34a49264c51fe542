"""Issue 23, point 6, in the browser with the keyboard alone: the awardee reads the deadline
and the buyer's contact on the contract page, opens the decline confirmation from its link,
types a reason and declines with the one button; the award passes to the next in rank. axe-core
and no sideways scroll at 390 px on both pages, in English and French."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from evaluation.models import Offer
from payments.models import Contract
from tests.builders import awarded_without_test_transaction
from tests.factories import PASSWORD
from tests.support.browser import HAS_FOCUS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NARROW = {"width": 390, "height": 844}


def tab_to(page: Page, target: Locator, *, limit: int = 120) -> None:
    """Press Tab until the target has the focus, as a keyboard user would (no click)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate(HAS_FOCUS):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 390 px"


def test_the_awardee_declines_with_the_keyboard_alone(live_server, browser, axe_violations):
    base = live_server.url
    opportunity, contract = awarded_without_test_transaction(bids=2)
    buyer = opportunity.buyer
    page = browser.new_context(bypass_csp=True, viewport=NARROW).new_page()
    sign_in(page, base, contract.supplier.email, PASSWORD)

    for language in ("fr", "en"):
        for path in (f"contracts/{contract.pk}/", f"contracts/{contract.pk}/decline/"):
            page.goto(f"{base}/{language}/payments/{path}")
            no_sideways_scroll(page)
            assert axe_violations(page) == []

    page.goto(f"{base}/en/payments/contracts/{contract.pk}/")
    main = page.locator("main")
    expect(main).to_contain_text("Accept or decline by")
    expect(main).to_contain_text("treated as declined")
    expect(main.get_by_role("link", name=buyer.email)).to_be_visible()

    link = page.get_by_role("link", name="Decline this contract")
    tab_to(page, link)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/en/payments/contracts/{contract.pk}/decline/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Decline the contract")
    expect(page.locator("main")).to_contain_text("next qualified bid in rank")

    reason = page.get_by_label("Why you decline (optional)")
    tab_to(page, reason)
    page.keyboard.type("Booked elsewhere until spring.")
    button = page.get_by_role("button", name="Decline this contract")
    tab_to(page, button)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/en/payments/contracts/{contract.pk}/")
    expect(page.get_by_text("You declined the contract.")).to_be_visible()
    expect(page.get_by_role("link", name="Decline this contract")).to_have_count(0)

    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.DECLINED
    offers = Offer.objects.filter(evaluation__opportunity=opportunity).order_by("number")
    assert [offer.outcome for offer in offers] == [Offer.Outcome.DECLINED, Offer.Outcome.OPEN]
    assert offers[0].reason == "Booked elsewhere until spring."
