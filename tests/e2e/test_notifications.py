"""Notifications in the browser: the header count, the inbox, settings and unsubscribe."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from marketplace.models import NotificationOptOut, Role
from opportunities.publishing import opportunity_submit_for_review
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierFactory
from tests.support.browser import sign_in, tick

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_sees_the_unread_count_opens_the_notification_and_it_is_read(
    live_server, page: Page, axe_violations
):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    assert [m.to for m in mail.outbox] == [[admin.email]]

    sign_in(page, live_server.url, admin.email, PASSWORD)
    nav_link = page.get_by_role("link", name=re.compile(r"^Notifications"))
    expect(nav_link).to_have_accessible_name(re.compile(r"Notifications\s*1\s*unread"))
    nav_link.click()
    assert page.locator("h1").inner_text() == "Notifications"
    assert axe_violations(page) == []
    page.get_by_role("button", name=f"For review: {draft.title_en}", exact=True).click()
    page.wait_for_url(f"**/en/opportunities/{draft.pk}/review/")
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()


def test_a_supplier_turns_an_email_off_in_french(live_server, page: Page, axe_violations):
    supplier = SupplierFactory(preferred_language="fr")
    sign_in(page, live_server.url, supplier.email, PASSWORD, language="fr")
    page.goto(f"{live_server.url}/fr/notifications/")
    expect(page.locator(".empty-state")).to_contain_text("pas encore de notification")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Choisir les courriels que vous recevez").click()
    assert page.locator("h1").inner_text() == "Paramètres de notification"
    assert axe_violations(page) == []
    tick(page.get_by_label(re.compile("se termine bientôt")), checked=False)
    page.get_by_role("button", name="Enregistrer mes choix").click()
    expect(page.get_by_text("Vos choix de notifications ont été enregistrés.")).to_be_visible()
    assert list(supplier.notification_opt_outs.values_list("kind", flat=True)) == [
        "opportunity.closing_soon"
    ]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_unsubscribe_from_an_email_link_without_signing_in(
    live_server, page: Page, axe_violations, lang
):
    from marketplace.notifications import unsubscribe_token

    supplier = SupplierFactory()
    token = unsubscribe_token(supplier.pk, "opportunity.alert")
    page.goto(f"{live_server.url}/{lang}/notifications/unsubscribe/{token}/")
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".gc-notice-success")).to_be_visible()
    assert NotificationOptOut.objects.filter(user=supplier, kind="opportunity.alert").exists()
    assert axe_violations(page) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_operations_page_is_accessible(live_server, page: Page, axe_violations, lang):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    sign_in(page, live_server.url, admin.email, PASSWORD, language=lang)
    page.goto(f"{live_server.url}/{lang}/program/operations/")
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []
