import os
import re
import subprocess
import sys

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail

from marketplace.models import AuditEvent, Role, User
from tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

SIGNUP_PASSWORD = "a-long-and-unusual-passphrase"


def _sign_up(client, email: str, language: str = "en"):
    return client.post(
        f"/{language}/accounts/signup/",
        {
            "full_name": "Sam Signup",
            "email": email,
            "password1": SIGNUP_PASSWORD,
            "password2": SIGNUP_PASSWORD,
        },
    )


def test_supplier_signs_up_verifies_email_and_becomes_supplier(client):
    response = _sign_up(client, "new.supplier@example.com", language="fr")
    assert response.status_code == 302
    user = User.objects.get(email="new.supplier@example.com")
    assert user.roles == {Role.SUPPLIER}
    assert user.preferred_language == "fr"
    assert AuditEvent.objects.filter(verb="user.signed_up", target_id=str(user.pk)).exists()

    [message] = mail.outbox
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", message.body).group(0)
    path = "/" + link.split("/", 3)[3]  # its path: the link is at SITE_URL
    assert client.get(path).status_code == 200  # confirmation page with a button
    response = client.post(path)
    assert response.status_code == 302
    assert client.get("/fr/dashboard/").status_code == 200


def test_unverified_supplier_cannot_sign_in(client):
    _sign_up(client, "pending@example.com")
    client.logout()
    response = client.post(
        "/en/accounts/login/", {"login": "pending@example.com", "password": SIGNUP_PASSWORD}
    )
    assert response.status_code == 302
    assert "confirm-email" in response["Location"]
    assert client.get("/en/dashboard/").status_code == 302


def test_government_signup_gets_no_role_until_granted(client):
    _sign_up(client, "ana@esdc-edsc.gc.ca")
    user = User.objects.get(email="ana@esdc-edsc.gc.ca")
    assert user.roles == frozenset()


def test_dashboard_without_role_explains_what_to_do(client):
    client.force_login(StaffFactory())
    body = client.get("/en/dashboard/").content.decode()
    assert "Your account has no role yet" in body


@pytest.mark.parametrize(
    ("role", "text"),
    [
        (Role.BUYER, "You have not posted an opportunity yet."),
        (Role.EVALUATOR, "No evaluation is assigned to you."),
        (Role.CARD_HOLDER, "No payment is waiting for you."),
        (Role.PROGRAM_ADMIN, "No posting is waiting for review."),
    ],
)
def test_dashboard_shows_each_staff_role_its_section(client, role, text):
    client.force_login(StaffFactory(roles=[role]))
    body = client.get("/en/dashboard/").content.decode()
    assert text in body
    assert "Your bids" not in body


def test_supplier_dashboard_asks_to_complete_profile(client, supplier):
    client.force_login(supplier)
    body = client.get("/en/dashboard/").content.decode()
    assert "Complete your supplier profile before you bid." in body
    assert "No posting is waiting for review." not in body


def test_failed_logins_make_the_account_wait_not_lock(client):
    """Past a few failures the next password waits (not checked at all): a delay, never a lock
    (issue 20; tests/marketplace/test_signin_hardening.py has the rest)."""
    user = StaffFactory(roles=[Role.BUYER])
    for _ in range(5):
        response = client.post("/en/accounts/login/", {"login": user.email, "password": "wrong"})
        assert response.status_code == 200
    # Even the right password is refused while the wait runs.
    response = client.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-in attempts for this account. Wait" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_correct_password_signs_in(client):
    user = StaffFactory(roles=[Role.BUYER])
    response = client.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_staff_without_mfa_is_sent_to_set_it_up_outside_debug(client, settings):
    settings.STAFF_MFA_REQUIRED = True
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    response = client.get("/en/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/2fa/totp/activate/"
    # allauth asks for the password again before showing the secret; that page stays reachable.
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith("/en/accounts/reauthenticate/")
    assert client.get(response["Location"]).status_code == 200


def test_staff_with_totp_passes_mfa_gate(client, settings):
    settings.STAFF_MFA_REQUIRED = True
    user = StaffFactory(roles=[Role.BUYER])
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    assert client.get("/en/dashboard/").status_code == 200


def test_suppliers_are_not_forced_into_mfa(client, settings, supplier):
    settings.STAFF_MFA_REQUIRED = True
    client.force_login(supplier)
    assert client.get("/en/dashboard/").status_code == 200


def test_demo_does_not_force_mfa(client, settings):
    settings.STAFF_MFA_REQUIRED = False
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert client.get("/en/dashboard/").status_code == 200


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_DEBUG": "true"}, "False"),
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 60}, "True"),
    ],
)
def test_mfa_requirement_defaults_to_on_outside_debug(env, expected):
    clean = {k: v for k, v in os.environ.items() if k != "STAFF_MFA_REQUIRED"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            "from django.conf import settings; print(settings.STAFF_MFA_REQUIRED)",
        ],
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == expected


def test_user_chooses_the_language_of_their_emails(client, supplier):
    client.force_login(supplier)
    response = client.post("/en/preferences/language/", {"preferred_language": "fr"})
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.preferred_language == "fr"
    assert AuditEvent.objects.filter(verb="user.language_changed").exists()
    client.post("/en/preferences/language/", {"preferred_language": "de"})
    supplier.refresh_from_db()
    assert supplier.preferred_language == "fr"
    assert "Choose English or French." in client.get("/en/dashboard/").content.decode()


def test_a_signed_in_request_reads_the_user_and_roles_in_one_query(
    client, django_assert_max_num_queries
):
    user = StaffFactory(roles=[Role.BUYER, Role.EVALUATOR])
    client.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
    with django_assert_max_num_queries(20) as queries:
        response = client.get("/en/dashboard/")
    assert response.status_code == 200
    assert response.wsgi_request.user.roles == {Role.BUYER, Role.EVALUATOR}
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if s.startswith('SELECT "marketplace_rolegrant"')]
    assert any('"marketplace_rolegrant"' in s and 'FROM "marketplace_user"' in s for s in sql)


def test_a_revoked_role_is_gone_on_the_next_request(client):
    from marketplace import services

    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    buyer = StaffFactory(roles=[Role.BUYER])
    client.post("/en/accounts/login/", {"login": buyer.email, "password": PASSWORD})
    assert client.get("/en/opportunities/new/").status_code == 200
    services.role_revoke(actor=admin, user=buyer, role=Role.BUYER)
    assert client.get("/en/opportunities/new/").status_code == 403
    assert client.get("/en/dashboard/").wsgi_request.user.roles == frozenset()


def test_a_user_without_roles_loads_with_none(client):
    user = StaffFactory(roles=[])
    assert User.objects.with_roles().get(pk=user.pk).roles == frozenset()


def _signed_in_client(user):
    from django.test import Client

    other = Client()
    other.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert other.get("/en/dashboard/").status_code == 200
    return other


def test_signing_out_ends_the_session_for_good(client):
    from django.contrib.sessions.models import Session

    user = StaffFactory(roles=[Role.BUYER])
    client.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
    old_key = client.session.session_key
    client.post("/en/accounts/logout/")
    assert not Session.objects.filter(session_key=old_key).exists()
    client.cookies["sessionid"] = old_key  # replaying the old cookie
    response = client.get("/en/dashboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_password_change_ends_every_other_session(client):
    user = StaffFactory(roles=[Role.BUYER])
    elsewhere = _signed_in_client(user)
    client.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
    new_password = "another-long-passphrase-2026"
    response = client.post(
        "/en/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    assert client.get("/en/dashboard/").status_code == 200  # this one goes on
    gone = elsewhere.get("/en/dashboard/")
    assert gone.status_code == 302 and "/accounts/login/" in gone["Location"]
