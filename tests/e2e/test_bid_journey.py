"""A supplier bids in the browser: draft saved as they type, identity warning, receipt,
change, withdraw, resubmit; after the deadline the form is closed. axe on every bid page."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from bids.models import Bid, Receipt
from marketplace.models import Role
from opportunities.models import Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.browser import sign_in, tick

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def opportunity():
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=admin, opportunity=draft)


@pytest.fixture
def supplier():
    return SupplierProfileFactory(github_handle="mlcw-dev", legal_name="Maple Leaf Code Works").user


def _answers(page: Page):
    return page.locator("#bid-form textarea[name^=answer_]")


def _fill_eligibility(page: Page) -> None:
    start = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    page.locator("#id_proposed_start_date").fill(start)
    for name in ("attest_can_work_in_canada", "attest_can_be_paid_by_card", "attest_no_conflict"):
        tick(page.locator(f"#id_{name}"))
    tick(page.locator("#id_accept_terms"))


def test_a_supplier_drafts_submits_changes_withdraws_and_resubmits(
    live_server, page: Page, axe_violations, opportunity, supplier
):
    base = live_server.url
    sign_in(page, base, supplier.email, PASSWORD)
    page.goto(f"{base}/en/opportunities/{opportunity.pk}/")
    page.get_by_role("button", name="Bid on this opportunity").click()
    expect(page.locator("h1")).to_have_text(re.compile("^Your bid:"))
    assert axe_violations(page) == []

    first = _answers(page).first
    first.fill("We removed the same keyboard trap from a public date picker last spring.")
    counter = page.locator(f"#id_answer_{opportunity.criteria.first().pk}-count")
    expect(counter).to_contain_text("13 words of 300")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved at", timeout=10_000)

    # Leave, come back from the dashboard: the draft is there.
    page.goto(f"{base}/en/dashboard/")
    page.get_by_role("link", name=opportunity.title_en).click()
    expect(_answers(page).first).to_have_value(
        "We removed the same keyboard trap from a public date picker last spring."
    )

    _answers(page).nth(1).fill("Our fix is at github.com/mlcw-dev/datepicker, merged upstream.")
    _fill_eligibility(page)
    page.get_by_role("button", name="Submit bid").click()
    expect(page.locator("h1")).to_have_text("Your answers may reveal who you are")
    expect(page.locator("main")).to_contain_text("mlcw-dev")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Submit anyway").click()

    expect(page.locator("h1")).to_have_text("Bid received")
    assert axe_violations(page) == []
    first_receipt = Receipt.objects.get(number=1)
    expect(page.locator("code.digest")).to_have_text(first_receipt.digest)
    [email] = [m for m in mail.outbox if m.to == [supplier.email]]
    assert first_receipt.digest in email.body

    # Change it: the identity is taken out this time, so no warning.
    page.get_by_role("link", name="See your bid").click()
    expect(page.locator("code.digest")).to_have_text(first_receipt.digest)
    assert axe_violations(page) == []
    page.get_by_role("link", name="Change your bid").click()
    _answers(page).nth(1).fill("Our fix was merged upstream into the public date picker.")
    page.get_by_role("button", name="Submit bid").click()
    expect(page.locator("h1")).to_have_text("Bid received")
    second = Receipt.objects.get(number=2)
    expect(page.locator("code.digest")).to_have_text(second.digest)
    assert second.digest != first_receipt.digest

    # Withdraw, then submit again.
    page.get_by_role("link", name="See your bid").click()
    page.get_by_role("link", name="Withdraw your bid").click()
    page.get_by_role("button", name="Withdraw my bid").click()
    expect(page.locator(".gc-notice-success")).to_contain_text("Your bid was withdrawn")
    assert Bid.objects.get().status == Bid.Status.WITHDRAWN
    page.get_by_role("link", name="Change your bid").click()
    page.get_by_role("button", name="Submit bid").click()
    expect(page.locator("h1")).to_have_text("Bid received")
    assert Bid.objects.get().status == Bid.Status.SUBMITTED
    assert Receipt.objects.count() == 3

    # The deadline passes: the form is closed.
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=timezone.now() - dt.timedelta(seconds=1)
    )
    page.goto(f"{base}/en/bids/{Bid.objects.get().pk}/edit/")
    expect(page.locator(".gc-notice-danger")).to_contain_text("This opportunity is closed")
    assert page.locator("#bid-form").count() == 0
    page.goto(f"{base}/en/bids/")
    assert axe_violations(page) == []


def test_bid_pages_in_french_are_accessible(
    live_server, page: Page, axe_violations, opportunity, supplier
):
    base = live_server.url
    sign_in(page, base, supplier.email, PASSWORD, language="fr")
    page.goto(f"{base}/fr/opportunities/{opportunity.pk}/")
    page.get_by_role("button", name="Soumissionner pour cette occasion").click()
    expect(page.locator("h1")).to_have_text(re.compile("^Votre soumission\u00a0:"))
    assert axe_violations(page) == []
    _answers(page).first.fill("Nous avons corrigé ce piège au clavier.")
    expect(page.locator("main")).to_contain_text("7 mots sur 300")
    _answers(page).nth(1).fill("Un correctif semblable a été fusionné.")
    _fill_eligibility(page)
    page.get_by_role("button", name="Soumettre").click()
    expect(page.locator("h1")).to_have_text("Soumission reçue")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Voir votre soumission").click()
    assert axe_violations(page) == []
    page.goto(f"{base}/fr/bids/terms/")
    assert axe_violations(page) == []
