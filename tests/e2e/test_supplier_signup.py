"""A new supplier signs up, verifies their email, completes the profile and switches language."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from marketplace.models import SupplierProfile, User
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import SupplierFactory
from tests.support.browser import fill_supplier_profile, sign_in, tick

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.mark.django_db(transaction=True)
def test_supplier_signs_up_completes_profile_and_switches_language(
    live_server, page: Page, axe_violations
):
    page.goto(f"{live_server.url}/en/")
    page.get_by_role("link", name="Register as a supplier").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    page.get_by_label("Full name").fill("   ")  # spaces only: refused, and why
    page.locator("#id_email").fill("priya@student.example")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    # Listed in the error summary, as a link to its field, and said again at the field.
    expect(
        page.locator(".gc-error-summary").get_by_role("link", name="Enter your full name.")
    ).to_be_visible()
    full_name = page.locator("gcds-input[data-field-id=id_full_name]")
    expect(full_name).to_have_attribute("error-message", "Enter your full name.")
    expect(full_name.get_by_text("Enter your full name.")).to_be_visible()
    assert not mail.outbox
    page.get_by_label("Full name").fill(" Priya  Raman ")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")

    [message] = mail.outbox
    assert message.to == ["priya@student.example"]
    assert message.subject == "[Micro-acquisitions] Confirm your email address"
    assert message.body.startswith("Hello Priya,\n")
    assert User.objects.get(email="priya@student.example").full_name == "Priya Raman"
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_text("Complete your supplier profile before you bid.")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Priya Raman")  # and can change it

    page.get_by_role("link", name="Complete your profile").click()
    tick(page.get_by_label("Individual"))
    page.get_by_label("GitHub handle").fill("praman-codes")
    fill_supplier_profile(
        page,
        legal_name="Priya Raman",
        contact_person="Priya Raman",
        phone="604-555-0199",
        province_or_territory="BC",
        postal_code="v6b1a1",
    )
    expect(page.get_by_text("Your supplier profile was saved.")).to_be_visible()
    assert axe_violations(page) == []

    profile = SupplierProfile.objects.get(user__email="priya@student.example")
    assert (profile.legal_name, profile.postal_code, profile.is_complete) == (
        "Priya Raman",
        "V6B 1A1",
        True,
    )

    page.get_by_role("link", name="Français").click()
    expect(page).to_have_url(f"{live_server.url}/fr/profile/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Profil de fournisseur")
    expect(page.get_by_label("Nom légal")).to_have_value("Priya Raman")
    assert axe_violations(page) == []
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(f"{live_server.url}/en/profile/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supplier profile")
    assert User.objects.get(email="priya@student.example").preferred_language == "en"


@pytest.mark.django_db(transaction=True)
def test_bad_profile_input_is_explained_in_the_browser(live_server, page: Page):
    supplier = SupplierFactory()
    sign_in(page, live_server.url, supplier.email, FACTORY_PASSWORD)
    page.goto(f"{live_server.url}/en/profile/")
    fill_supplier_profile(
        page,
        legal_name="Acme",
        contact_person="Sam",
        phone="613-555-0100",
        province_or_territory="ON",
        postal_code="99999",
    )
    # Listed in the error summary, as a link to its field, and said again at the field.
    expect(
        page.locator(".gc-error-summary").get_by_role(
            "link", name="Enter a Canadian postal code, for example K1A 0B1."
        )
    ).to_be_visible()
    postal_code = page.locator("gcds-input[data-field-id=id_postal_code]")
    wrong = "Enter a Canadian postal code, for example K1A 0B1."
    expect(postal_code).to_have_attribute("error-message", wrong)
    expect(postal_code.get_by_text(wrong)).to_be_visible()
    expect(page.get_by_label("Legal name")).to_have_value("Acme")
