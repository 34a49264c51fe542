"""A new supplier signs up, verifies their email, completes the profile and switches language."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from marketplace.models import SupplierProfile, User

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.mark.django_db(transaction=True)
def test_supplier_signs_up_completes_profile_and_switches_language(
    live_server, page: Page, axe_violations
):
    page.goto(f"{live_server.url}/en/")
    page.get_by_role("link", name="Register as a supplier").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    page.locator("#id_email").fill("priya@student.example")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")

    [message] = mail.outbox
    assert message.to == ["priya@student.example"]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_text("Complete your supplier profile before you bid.")).to_be_visible()

    page.get_by_role("link", name="Complete your profile").click()
    page.get_by_label("Individual").check()
    page.get_by_label("Legal name").fill("Priya Raman")
    page.get_by_label("Contact person").fill("Priya Raman")
    page.get_by_label("Phone").fill("604-555-0199")
    page.get_by_label("GitHub handle").fill("praman-codes")
    page.get_by_label("Province or territory").select_option("BC")
    page.get_by_label("Postal code").fill("v6b1a1")
    page.get_by_role("button", name="Save profile").click()
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
def test_bad_profile_input_is_explained_in_the_browser(live_server, page: Page, django_user_model):
    from tests.factories import PASSWORD as FACTORY_PASSWORD
    from tests.factories import SupplierFactory

    supplier = SupplierFactory()
    page.goto(f"{live_server.url}/en/accounts/login/")
    page.locator("#id_login").fill(supplier.email)
    page.locator("#id_password").fill(FACTORY_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.goto(f"{live_server.url}/en/profile/")
    page.get_by_label("Legal name").fill("Acme")
    page.get_by_label("Contact person").fill("Sam")
    page.get_by_label("Phone").fill("613-555-0100")
    page.get_by_label("Province or territory").select_option("ON")
    page.get_by_label("Postal code").fill("99999")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Enter a Canadian postal code, for example K1A 0B1.")).to_be_visible()
    expect(page.get_by_label("Legal name")).to_have_value("Acme")
