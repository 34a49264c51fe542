"""A buyer posts in both languages, the admin publishes, the public finds it in French, a
supplier asks a question and the buyer's answer appears."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from marketplace.calendar import add_business_days
from marketplace.models import Role
from opportunities.models import Opportunity
from tests.factories import PASSWORD, SkillFactory, StaffFactory, SupplierFactory
from tests.support.browser import sign_in, tick


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db(transaction=True)
def test_post_publish_find_in_french_ask_and_answer(live_server, browser, axe_violations):
    buyer = StaffFactory(roles=[Role.BUYER])
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    supplier = SupplierFactory()
    SkillFactory(slug="accessibility", name_en="Accessibility", name_fr="Accessibilité")
    closes = add_business_days(timezone.now(), 8)

    def new_page() -> Page:
        return browser.new_context(bypass_csp=True).new_page()

    # The buyer writes the opportunity in both languages.
    page = new_page()
    sign_in(page, live_server.url, buyer.email, PASSWORD)
    page.goto(f"{live_server.url}/en/opportunities/new/")
    assert axe_violations(page) == []
    fields = {
        "title_en": "Make the benefits calculator accessible",
        "title_fr": "Rendre le calculateur de prestations accessible",
        "summary_en": "Fix WCAG failures in the calculator.",
        "summary_fr": "Corriger les échecs WCAG du calculateur.",
        "description_en": "The calculator fails **WCAG 2.1 AA**.",
        "description_fr": "Le calculateur échoue aux **WCAG 2.1 AA** : améliorer l'accessibilité.",
        "deliverables_en": "A pull request.",
        "deliverables_fr": "Une demande de tirage.",
        "acceptance_criteria_en": "axe reports nothing.",
        "acceptance_criteria_fr": "axe ne signale rien.",
        "value_dollars": "4500",
        "question_deadline": _local(closes - dt.timedelta(days=2)),
        "closes_at": _local(closes),
    }
    for name, value in fields.items():
        page.locator(f"#id_{name}").fill(value)
    tick(page.get_by_label("Accessibility").first)
    page.locator("#id_type").select_option("accessibility")
    for name in ("attest_standalone", "attest_no_internal_capacity", "attest_not_split"):
        tick(page.locator(f"#id_{name}"))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Add at least one mandatory criterion.")).to_be_visible()

    page.locator("#id_criteria-0-kind").select_option("mandatory")
    page.locator("#id_criteria-0-text_en").fill("Has fixed WCAG issues before.")
    page.locator("#id_criteria-0-text_fr").fill("A déjà corrigé des problèmes WCAG.")
    page.get_by_role("button", name="Save draft").click()
    page.locator("#id_criteria-1-kind").select_option("rated")
    page.locator("#id_criteria-1-text_en").fill("Explain your approach.")
    page.locator("#id_criteria-1-text_fr").fill("Expliquez votre approche.")
    page.locator("#id_criteria-1-weight").fill("1")
    page.locator("#id_criteria-1-max_score").fill("10")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Everything needed to publish is there.")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    opportunity = Opportunity.objects.get()
    assert opportunity.status == Opportunity.Status.IN_REVIEW

    # The program admin publishes it.
    page = new_page()
    sign_in(page, live_server.url, admin.email, PASSWORD)
    page.goto(f"{live_server.url}/en/opportunities/review/")
    page.get_by_role("link", name="Make the benefits calculator accessible").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published:")).to_be_visible()

    # An anonymous visitor finds it by searching in French.
    page = new_page()
    page.goto(f"{live_server.url}/fr/opportunities/")
    page.locator("#id_q").fill("accessibilité")
    page.locator("form[role=search] [type=submit]").click()
    page.get_by_role("link", name="Rendre le calculateur de prestations accessible").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Rendre le calculateur de prestations accessible"
    )
    expect(page.locator(".markdown strong").first).to_have_text("WCAG 2.1 AA")
    assert axe_violations(page) == []

    # A supplier asks a question; the buyer answers; the answer appears publicly.
    page = new_page()
    sign_in(page, live_server.url, supplier.email, PASSWORD)
    page.goto(f"{live_server.url}/en/opportunities/{opportunity.pk}/")
    page.get_by_label("Your question").fill("Is a screen reader test report expected?")
    page.get_by_role("button", name="Ask the question").click()
    expect(page.get_by_text("Your question was sent.")).to_be_visible()

    page = new_page()
    sign_in(page, live_server.url, buyer.email, PASSWORD)
    page.goto(f"{live_server.url}/en/opportunities/{opportunity.pk}/")
    page.get_by_label("Answer (English)").fill("Yes, with NVDA and VoiceOver.")
    page.get_by_label("Answer (French)").fill("Oui, avec NVDA et VoiceOver.")
    page.get_by_role("button", name="Publish the answer").click()
    expect(page.get_by_text("Your answer is published.")).to_be_visible()

    page = new_page()
    page.goto(f"{live_server.url}/fr/opportunities/{opportunity.pk}/")
    expect(page.get_by_text("Oui, avec NVDA et VoiceOver.")).to_be_visible()
    expect(page.get_by_text(supplier.email)).to_have_count(0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_opportunity_pages_have_no_accessibility_violations(
    live_server, page: Page, axe_violations, lang
):
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    opportunity = Opportunity.objects.filter(status=Opportunity.Status.PUBLISHED).first()
    for path in (f"/{lang}/opportunities/", f"/{lang}/opportunities/{opportunity.pk}/"):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1, path
        assert axe_violations(page) == [], path
    sign_in(page, live_server.url, "buyer@demo.gc.ca", "demo-pass-2026!", language=lang)
    draft = Opportunity.objects.get(status=Opportunity.Status.DRAFT)
    for path in (f"/{lang}/opportunities/new/", f"/{lang}/opportunities/{draft.pk}/edit/"):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1, path
        assert axe_violations(page) == [], path
