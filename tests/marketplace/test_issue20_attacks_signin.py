"""Issue 20, sign-in, staff sessions and the demo, attacked as an outsider and as an insider with
one privileged role would (production settings where it matters): what broke, now fixed, and the
doors that held and must stay shut."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client
from django.urls import ResolverMatch

from marketplace.middleware import StaffMFARequiredMiddleware
from marketplace.models import Role, User
from tests.factories import PASSWORD, StaffFactory, SupplierFactory, UserFactory
from tests.support.fresh_settings import settings_in_new_process
from tests.support.sessions import record_sign_in
from tests.support.signin import WAIT_EN, WAIT_FR, current_code, with_totp

pytestmark = pytest.mark.django_db


def sign_in(client, email, password, *, ip, language="en"):
    return client.post(
        f"/{language}/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip
    )


# --- Broken, fixed: guesses sent together all had their password checked ----------------------


def test_guesses_arriving_while_a_password_is_checked_are_refused_not_checked(monkeypatch):
    """The wait was read before a password was checked and begun only once it had failed: a
    botnet's guesses sent at the same moment, from as many addresses, were all checked, so the
    per-account delay slowed nobody who sent in bursts. One check at a time per account now."""
    owner = SupplierFactory()
    checked = []
    answers = []
    original = User.check_password

    def check_password(user, raw_password):
        checked.append(raw_password)
        if raw_password == "first-guess" and not answers:
            # Ten more guesses arrive while this one is still being checked.
            for n in range(10):
                answers.append(
                    sign_in(
                        Client(),
                        owner.email,
                        f"burst-{n}",
                        ip=f"198.51.100.{n + 1}",
                        language=("en", "fr")[n % 2],
                    )
                )
        return original(user, raw_password)

    monkeypatch.setattr(User, "check_password", check_password)
    sign_in(Client(), owner.email, "first-guess", ip="203.0.113.9")

    assert set(checked) == {"first-guess"}  # none of the ten was checked
    assert len(answers) == 10
    for n, answer in enumerate(answers):
        assert answer.status_code == 200
        assert (WAIT_EN, WAIT_FR)[n % 2] in answer.content.decode()
    # The first guess was counted and its check let go: the owner, from home, gets in at once.
    client = Client()
    assert sign_in(client, owner.email, PASSWORD, ip="192.0.2.10").status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


# --- Broken, fixed: the demo flag left on in a real deployment ---------------------------------


def test_the_demo_flag_refuses_to_serve_a_public_host(tmp_path):
    """MARKETPLACE_DEMO turns staff MFA and Secure cookies off; copied into a real deployment's
    environment (which must name its host) it would have done so silently."""
    result = settings_in_new_process(
        tmp_path / "secret_key",
        MARKETPLACE_DEMO="1",
        DJANGO_SECRET_KEY="p" * 60,
        DJANGO_ALLOWED_HOSTS="marketplace.example,localhost",
    )
    assert result.returncode != 0
    assert "MARKETPLACE_DEMO is for this machine only" in result.stderr
    assert "marketplace.example" in result.stderr
    # This machine's names are the demo's.
    local = settings_in_new_process(
        tmp_path / "secret_key", MARKETPLACE_DEMO="1", DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1"
    )
    assert local.returncode == 0, local.stderr


# --- Latent, fixed: an admin page named like an MFA page was let through -----------------------


@pytest.mark.parametrize(
    ("namespace", "name"),
    [("admin", "mfa_authenticator_changelist"), ("admin", "mfa_authenticator_delete")],
)
def test_only_allauths_own_mfa_pages_are_open_before_the_code(settings, rf, namespace, name):
    """The admin names a model's pages `<app>_<model>_…`: were allauth's authenticators ever
    shown in the admin again, their pages would have passed for the MFA set-up pages that a
    staff account without a code may reach, and let it change authenticators."""
    settings.STAFF_MFA_REQUIRED = True
    root = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    request = rf.get("/en/admin/mfa/authenticator/")
    request.user = User.objects.get(pk=root.pk)
    request.resolver_match = ResolverMatch(
        lambda r: None, (), {}, url_name=name, app_names=[namespace], namespaces=[namespace]
    )
    answer = StaffMFARequiredMiddleware(lambda r: None).process_view(request, None, (), {})
    assert answer is not None and answer["Location"] == "/en/accounts/2fa/totp/activate/"


# --- Held, pinned ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wanted",
    ["//evil.example/", "/\\evil.example/", "javascript:alert(1)", "https:evil.example"],
)
def test_the_admin_sign_in_never_leads_to_another_site(client, settings, wanted):
    settings.STAFF_MFA_REQUIRED = True
    root = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    secret = with_totp(root)
    login = client.get(f"/fr/admin/login/?next={quote(wanted, safe='')}")["Location"]
    assert login == "/fr/accounts/login/?next=%2Ffr%2Fadmin%2F"
    code_page = client.post(login, {"login": root.email, "password": PASSWORD})
    response = client.post(code_page["Location"], {"code": current_code(secret)})
    assert response["Location"] == "/fr/admin/"


def test_a_session_that_never_passed_the_code_reaches_no_way_around_it(client, settings):
    """The MFA pages stay open to a staff session that never gave its code (to give it), yet
    none shows the recovery codes, turns the authenticator off, or takes a password instead."""
    settings.STAFF_MFA_REQUIRED = True
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN], is_staff=True)
    with_totp(admin)
    RecoveryCodes.activate(admin)
    client.force_login(admin)
    record_sign_in(client, admin, methods=("password",))  # the code was never given
    for language in ("en", "fr"):
        code_prompt = f"/{language}/accounts/2fa/reauthenticate/"
        for page in (
            "accounts/2fa/recovery-codes/",
            "accounts/2fa/recovery-codes/download/",
            "accounts/2fa/totp/deactivate/",
            "accounts/email/",
            "admin/",
            "admin/password_change/",
        ):
            for answer in (client.get(f"/{language}/{page}"), client.post(f"/{language}/{page}")):
                if answer.status_code != 405:  # a page that takes no form
                    assert answer["Location"].startswith(code_prompt), page
        answer = client.post(f"/{language}/accounts/reauthenticate/", {"password": PASSWORD})
        assert answer["Location"].startswith(code_prompt)
    assert Authenticator.objects.filter(user=admin).count() == 2
    assert client.get("/en/accounts/2fa/recovery-codes/")["Location"].startswith(
        "/en/accounts/2fa/reauthenticate/"
    )


@pytest.mark.parametrize("variant", ["  Victim@Example.COM ", "VICTIM@EXAMPLE.COM"])
def test_a_case_or_space_variant_of_the_email_waits_as_the_email_does(client, variant):
    SupplierFactory(email="victim@example.com")
    for n in range(6):
        sign_in(Client(), "victim@example.com", f"wrong-{n}", ip=f"198.51.100.{n + 1}")
    answer = sign_in(client, variant, PASSWORD, ip="192.0.2.1")
    assert WAIT_EN in answer.content.decode()
    assert "_auth_user_id" not in client.session
