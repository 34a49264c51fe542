"""A French supplier, in a browser set to Canadian French, saves a bid with its proposed start
date, comes back to it, finds the date still there, and submits it (issue 21: the French form
used to reopen with the date empty, and "Soumettre" then failed for want of it)."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from bids.models import Bid, Receipt
from marketplace.models import Role
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.browser import sign_in, tick

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "Nous avons corrigé ce piège au clavier l’été dernier."  # noqa: RUF001 - French


@pytest.fixture
def opportunity():
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=admin, opportunity=draft)


@pytest.fixture
def french_page(browser: Browser):
    """Chromium in Canadian French, on Eastern time, with the site's CSP enforced."""
    context = browser.new_context(locale="fr-CA", timezone_id="America/Toronto")
    try:
        yield context.new_page()
    finally:
        context.close()


def _start_date(page: Page):
    return page.locator("#id_proposed_start_date")


def test_a_french_supplier_reopens_a_saved_bid_with_its_start_date_and_submits_it(
    live_server, french_page: Page, opportunity
):
    page = french_page
    base = live_server.url
    supplier = SupplierProfileFactory(
        legal_name="Les Logiciels du Fleuve inc.",
        contact_name="Aurélie Tremblay",
        user__preferred_language="fr",
    ).user
    sign_in(page, base, supplier.email, PASSWORD, language="fr")
    assert page.evaluate("navigator.language") == "fr-CA"

    page.goto(f"{base}/fr/opportunities/{opportunity.pk}/")
    page.locator(f"form[action='/fr/bids/start/{opportunity.pk}/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/fr/bids/\d+/edit/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    bid = Bid.objects.get(supplier=supplier)

    answers = page.locator("#bid-form textarea[name^=answer_]")
    answers.nth(0).fill(ANSWER)
    answers.nth(1).fill("Un correctif semblable a été fusionné dans un projet libre.")
    start = timezone.localdate() + dt.timedelta(days=12)
    # Typed as a person does. Chromium lays its date field out in its own interface language
    # (month, day, year here), not the page's: the digits move from one part to the next.
    _start_date(page).focus()
    page.keyboard.type(start.strftime("%m%d%Y"))
    expect(_start_date(page)).to_have_value(start.isoformat())
    for name in ("attest_can_work_in_canada", "attest_can_be_paid_by_card", "attest_no_conflict"):
        tick(page.locator(f"#id_{name}"))
    tick(page.locator("#id_accept_terms"))

    page.locator("input[name=action_save]").click()  # « Enregistrer le brouillon »
    expect(page.locator(".gc-notice-success")).to_be_visible()
    bid.refresh_from_db()
    assert (bid.status, bid.proposed_start_date) == (Bid.Status.DRAFT, start)

    # Away to the dashboard, then back to the bid: the date is still in the picker.
    page.goto(f"{base}/fr/dashboard/")
    page.goto(f"{base}/fr/bids/{bid.pk}/edit/")
    expect(_start_date(page)).to_have_value(start.isoformat())
    expect(answers.nth(0)).to_have_value(ANSWER)

    page.locator("input[name=action_submit]").click()  # « Soumettre »
    page.wait_for_url(re.compile(rf"/fr/bids/{bid.pk}/receipts/1/$"))
    receipt = Receipt.objects.get(bid=bid)
    expect(page.locator("code.digest")).to_have_text(receipt.digest)
    bid.refresh_from_db()
    assert (bid.status, bid.proposed_start_date) == (Bid.Status.SUBMITTED, start)
