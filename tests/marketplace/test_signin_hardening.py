"""One sign-in for everyone, and sign-in that cannot be used against someone (issue 20, points 1
and 4): the admin site signs in through allauth (MFA, verification, limits); every account with
power needs an authenticator and must have used it this session; failed passwords are limited
per source and slow an account down without ever locking its owner out; the technical admin
cannot grant roles or set card limits, and what it changes about accounts is audited."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client, RequestFactory

from marketplace import ratelimit
from marketplace.models import AuditEvent, Role, RoleGrant, User
from opportunities.models import Guardrails
from payments.models import CardLimit
from tests.factories import PASSWORD, StaffFactory, SupplierFactory, UserFactory
from tests.support.sessions import record_sign_in
from tests.support.signin import WAIT_EN, WAIT_FR, current_code, with_totp

pytestmark = pytest.mark.django_db

ATTACKER_IP = "203.0.113.66"
OWNER_IP = "192.0.2.10"
THROTTLED = "Too many failed login attempts"


def sign_in(client, email, password, *, ip=OWNER_IP, language="en", next_url=None):
    form = {"login": email, "password": password}
    if next_url:
        form["next"] = next_url
    return client.post(f"/{language}/accounts/login/", form, REMOTE_ADDR=ip)


def signed_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def production(settings):
    settings.STAFF_MFA_REQUIRED = True
    return settings


@pytest.fixture
def later(monkeypatch):
    """Move the sign-in delay's clock forward by `seconds`."""

    def move(seconds: float) -> None:
        now = time.time() + seconds
        monkeypatch.setattr(ratelimit, "_now", lambda: now)

    return move


@pytest.fixture
def password_checks(monkeypatch):
    """How many times a password was actually checked."""
    calls = []
    original = User.check_password

    def check_password(self, raw_password):
        calls.append(self.email)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", check_password)
    return calls


# --- 1. The admin signs in through allauth ------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_admin_login_page_sends_to_allauths_sign_in(client, language):
    response = client.get(f"/{language}/admin/login/?next=/{language}/admin/marketplace/user/")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/{language}/accounts/login/?next=%2F{language}%2Fadmin%2Fmarketplace%2Fuser%2F"
    )
    # Any admin page, signed out, ends on the same sign-in page.
    response = client.get(f"/{language}/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(f"/{language}/accounts/login/?next=")
    assert response.status_code == 200


def test_the_admin_login_form_signs_no_one_in_and_keeps_no_foreign_next(client):
    superuser = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    # Django's own form (username and password, nothing else) is gone.
    response = client.post("/en/admin/login/", {"username": superuser.email, "password": PASSWORD})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in_as(client) is None
    response = client.get("/en/admin/login/?next=https://evil.example/steal")
    assert response["Location"] == "/en/accounts/login/?next=%2Fen%2Fadmin%2F"


def test_someone_signed_in_without_admin_access_is_refused_not_looped(client):
    client.force_login(SupplierFactory())
    assert client.get("/en/admin/login/?next=/en/admin/").status_code == 403


def test_the_admins_password_form_is_allauths(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get("/en/admin/password_change/")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/password/change/"


def test_a_staff_user_with_totp_who_signs_in_through_the_admin_is_asked_for_the_code(
    client, production
):
    superuser = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    secret = with_totp(superuser)
    login_page = client.get("/en/admin/login/?next=/en/admin/")["Location"]
    assert client.get(login_page).status_code == 200
    response = sign_in(client, superuser.email, PASSWORD, next_url="/en/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/2fa/authenticate/"
    # The password alone opened nothing.
    assert signed_in_as(client) is None
    assert client.get("/en/admin/")["Location"].startswith("/en/admin/login/")
    response = client.post("/en/accounts/2fa/authenticate/", {"code": "000000"})
    assert signed_in_as(client) is None
    response = client.post("/en/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/en/admin/"
    assert signed_in_as(client) == str(superuser.pk)
    assert client.get("/en/admin/").status_code == 200


def test_an_admin_account_with_an_unverified_email_is_not_let_in_through_the_admin(client):
    superuser = UserFactory(
        email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True, verified=False
    )
    response = sign_in(client, superuser.email, PASSWORD, next_url="/en/admin/")
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert signed_in_as(client) is None
    assert mail.outbox and mail.outbox[-1].to == [superuser.email]


@pytest.mark.parametrize(
    "flags",
    [{"is_staff": True, "is_superuser": True}, {"is_staff": True}, {"is_superuser": True}],
    ids=["superuser", "is_staff", "is_superuser only"],
)
def test_an_admin_account_without_role_is_sent_to_mfa_setup_on_every_page(
    client, production, flags
):
    # What `manage.py createsuperuser` makes: no marketplace role, no authenticator.
    root = User.objects.create_superuser(email="root@esdc-edsc.gc.ca", password=PASSWORD)
    User.objects.filter(pk=root.pk).update(
        is_staff=flags.get("is_staff", False), is_superuser=flags.get("is_superuser", False)
    )
    assert root.roles == frozenset()
    client.force_login(User.objects.get(pk=root.pk))
    for page in ("/en/dashboard/", "/en/admin/", "/en/admin/marketplace/user/", "/en/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == "/en/accounts/2fa/totp/activate/", page
    assert client.get("/fr/admin/")["Location"] == "/fr/accounts/2fa/totp/activate/"
    # Signing out stays possible.
    assert client.post("/en/accounts/logout/").status_code == 302


def test_a_plain_supplier_is_not_asked_for_mfa(client, production):
    client.force_login(SupplierFactory())
    assert client.get("/en/dashboard/").status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda: StaffFactory(roles=[Role.PROGRAM_ADMIN]),
        lambda: UserFactory(email="tech@esdc-edsc.gc.ca", is_staff=True, is_superuser=True),
    ],
    ids=["program admin", "superuser"],
)
def test_a_session_opened_without_the_code_is_asked_for_it(client, production, make):
    """A session whose sign-in never passed MFA (any path around allauth's stages) is not
    trusted as if it had: allauth's record of how it authenticated has no "mfa" step."""
    user = make()
    secret = with_totp(user)
    client.force_login(user)
    record_sign_in(client, user, methods=("password",))  # the code was never asked
    response = client.get("/en/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/2fa/reauthenticate/?next=%2Fen%2Fdashboard%2F"
    assert client.get("/en/admin/")["Location"].startswith("/en/accounts/2fa/reauthenticate/")
    response = client.post(response["Location"], {"code": "123456"})
    assert client.get("/en/dashboard/").status_code == 302  # a wrong code changes nothing
    response = client.post(
        "/en/accounts/2fa/reauthenticate/?next=%2Fen%2Fdashboard%2F",
        {"code": current_code(secret)},
    )
    assert response.status_code == 302 and response["Location"] == "/en/dashboard/"
    assert client.get("/en/dashboard/").status_code == 200


# --- 4. Failed sign-ins: limited per source, slowed per account, never a lock ---------------------


def test_forty_wrong_passwords_from_one_address_are_throttled(client, password_checks):
    owner = SupplierFactory()
    answers = [
        sign_in(client, f"guess{n}@example.com", "wrong-password", ip=ATTACKER_IP)
        for n in range(40)
    ]
    refused = [r for r in answers if r.status_code == 429 or THROTTLED in r.content.decode()]
    assert len(refused) >= 30
    assert not any(r.status_code == 302 for r in answers)
    # Refused attempts check nothing: ten at most, each checked by both backends.
    assert len(password_checks) <= 2 * 10
    # The flood's address is refused even the right password, for now...
    assert sign_in(client, owner.email, PASSWORD, ip=ATTACKER_IP).status_code != 302
    assert signed_in_as(client) is None
    # ...and nobody else is.
    other = Client()
    assert sign_in(other, owner.email, PASSWORD, ip=OWNER_IP).status_code == 302
    assert signed_in_as(other) == str(owner.pk)


def test_forty_wrong_passwords_for_one_account_from_one_address_are_throttled(client):
    owner = SupplierFactory()
    answers = [sign_in(client, owner.email, f"wrong-{n}", ip=ATTACKER_IP) for n in range(40)]
    refused = [
        r
        for r in answers
        if r.status_code == 429 or WAIT_EN in (body := r.content.decode()) or THROTTLED in body
    ]
    assert len(refused) >= 35
    assert not any(r.status_code == 302 for r in answers)


def test_an_attacker_never_locks_the_owner_out(client, later, password_checks):
    owner = SupplierFactory()
    attacker = Client()
    for n in range(20):
        sign_in(attacker, owner.email, f"guess-{n}", ip=ATTACKER_IP)
    # At most the five the (email, address) pair allows: each is checked by both backends.
    assert len(password_checks) <= 2 * 5

    # Right now the owner is asked to wait a little (at most 30 seconds), told why, and the
    # password is not even checked meanwhile.
    checks_before = len(password_checks)
    body = sign_in(client, owner.email, PASSWORD).content.decode()
    wait = int(re.search(r"Wait (\d+) seconds?", body).group(1))
    assert 0 < wait <= 30
    assert "sign in with a code sent to your email" in body
    assert len(password_checks) == checks_before
    assert signed_in_as(client) is None

    # Once the wait has passed, the owner's password works from their own address...
    later(wait + 1)
    response = sign_in(client, owner.email, PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == str(owner.pk)
    # ...while the attacker, even waiting out every delay, gets no more than the five
    # guesses its (email, address) pair allows in five minutes.
    for n in range(10):
        later(wait + 31 * (n + 2))
        sign_in(attacker, owner.email, f"more-{n}", ip=ATTACKER_IP)
    assert len(password_checks) <= 2 * 5 + 2  # the owner's own sign-in: both backends
    assert signed_in_as(attacker) is None


def test_the_wait_grows_with_each_failure_and_stops_at_thirty_seconds(client, later):
    owner = SupplierFactory()
    waits = []
    for n in range(10):
        sign_in(client, owner.email, f"wrong-{n}", ip=f"198.51.100.{n + 1}")
        waits.append(ratelimit.signin_wait_seconds(email=owner.email))
        later(sum(waits) + n + 1)  # wait it out, so every attempt is checked
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == sorted(waits[3:]) and waits[3] > 0
    assert max(waits) == 30


def test_an_unknown_email_waits_the_same_as_a_real_one(client):
    """The wait says nothing about whether the account exists."""
    real = SupplierFactory()
    for n in range(5):
        sign_in(client, real.email, f"wrong-{n}", ip=f"198.51.100.{n + 1}")
        sign_in(client, "nobody@example.com", f"wrong-{n}", ip=f"198.51.100.{n + 1}")
    real_wait = ratelimit.signin_wait_seconds(email=real.email)
    assert real_wait > 0
    assert abs(real_wait - ratelimit.signin_wait_seconds(email="nobody@example.com")) <= 1


@pytest.mark.parametrize(("language", "text"), [("en", WAIT_EN), ("fr", WAIT_FR)], ids=["en", "fr"])
def test_the_wait_is_explained_in_english_and_french(client, language, text):
    owner = SupplierFactory()
    for n in range(5):
        sign_in(client, owner.email, f"wrong-{n}", ip=f"198.51.100.{n + 1}", language=language)
    body = sign_in(client, owner.email, PASSWORD, language=language).content.decode()
    assert text in body
    assert signed_in_as(client) is None


def _code_from_last_email() -> str:
    body = mail.outbox[-1].body
    return re.search(r"^    (\S+)$", body, re.MULTILINE).group(1)  # the code's own line


def test_login_by_code_lets_the_owner_in_at_once_whatever_the_attacker_did(client):
    owner = SupplierFactory()
    attacker = Client()
    for n in range(20):
        sign_in(attacker, owner.email, f"guess-{n}", ip=ATTACKER_IP)
    assert WAIT_EN in sign_in(client, owner.email, PASSWORD).content.decode()

    login_page = client.get("/en/accounts/login/").content.decode()
    assert "/en/accounts/login/code/" in login_page
    response = client.post("/en/accounts/login/code/", {"email": owner.email}, REMOTE_ADDR=OWNER_IP)
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/login/code/confirm/"
    assert mail.outbox[-1].to == [owner.email]
    response = client.post("/en/accounts/login/code/confirm/", {"code": _code_from_last_email()})
    assert response.status_code == 302
    assert signed_in_as(client) == str(owner.pk)


def test_a_code_login_still_asks_staff_for_their_authenticator(client, production):
    staff = StaffFactory(roles=[Role.BUYER])
    secret = with_totp(staff)
    client.post("/en/accounts/login/code/", {"email": staff.email})
    response = client.post("/en/accounts/login/code/confirm/", {"code": _code_from_last_email()})
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/2fa/authenticate/"
    assert signed_in_as(client) is None
    client.post("/en/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert signed_in_as(client) == str(staff.pk)
    assert client.get("/en/dashboard/").status_code == 200


def test_asking_for_codes_is_rate_limited(client):
    owner = SupplierFactory()
    statuses = [
        Client()
        .post("/en/accounts/login/code/", {"email": owner.email}, REMOTE_ADDR=ATTACKER_IP)
        .status_code
        for _ in range(5)
    ]
    assert len(mail.outbox) == 3
    assert statuses[:3] == [302, 302, 302] and 302 not in statuses[3:]


def test_a_wrong_code_three_times_ends_the_attempt(client):
    owner = SupplierFactory()
    client.post("/en/accounts/login/code/", {"email": owner.email})
    code = _code_from_last_email()
    for _ in range(3):
        client.post("/en/accounts/login/code/confirm/", {"code": "WRONG1"})
    client.post("/en/accounts/login/code/confirm/", {"code": code})
    assert signed_in_as(client) is None


def test_the_client_address_comes_from_the_trusted_proxy_only(client, settings):
    """Behind one proxy, the address it saw counts; a client's own X-Forwarded-For entries do
    not move it (they sit before the proxy's)."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    owner = SupplierFactory()
    for n in range(12):
        client.post(
            "/en/accounts/login/",
            {"login": f"guess{n}@example.com", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {ATTACKER_IP}",
        )
    # The attacker's address is throttled; the proxy's own address, shared by all, is not.
    refused = client.post(
        "/en/accounts/login/",
        {"login": owner.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=ATTACKER_IP,
    )
    assert refused.status_code != 302
    other = Client()
    response = other.post(
        "/en/accounts/login/",
        {"login": owner.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=OWNER_IP,
    )
    assert response.status_code == 302


# --- The admin's account changes are audited; roles and limits are not its to change ------------


@pytest.fixture
def superuser(db):
    return UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


NEW_PASSWORD = "a-brand-new-long-passphrase-42"
NO_INLINE_ROWS = {"role_grants-TOTAL_FORMS": "0", "role_grants-INITIAL_FORMS": "0"}


def change_form(user: User, **changes) -> dict:
    form = {
        "full_name": user.full_name,
        "preferred_language": user.preferred_language,
        "last_login_0": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        "role_grants-TOTAL_FORMS": "0",
        "role_grants-INITIAL_FORMS": "0",
    }
    flags = {"is_active": user.is_active, "is_staff": user.is_staff}
    flags.update({"is_superuser": user.is_superuser, **changes})
    form.update({name: "on" for name, value in flags.items() if value})
    return form


def test_adding_a_user_in_the_admin_is_audited_without_the_password(admin_client, superuser):
    response = admin_client.post(
        "/en/admin/marketplace/user/add/",
        {
            "email": "new.person@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 302
    person = User.objects.get(email="new.person@example.com")
    events = AuditEvent.objects.for_target(person)
    assert {e.verb for e in events} == {"user.created_in_admin", "user.password_set_in_admin"}
    assert {e.actor_id for e in events} == {superuser.pk}
    everything = json.dumps([e.data for e in events]) + " ".join(e.target_repr for e in events)
    assert NEW_PASSWORD not in everything and person.password not in everything
    assert events.get(verb="user.created_in_admin").data == {
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
    }


def test_a_refused_add_writes_nothing(admin_client):
    response = admin_client.post(
        "/en/admin/marketplace/user/add/",
        {
            "email": "new.person@example.com",
            "password1": NEW_PASSWORD,
            "password2": "different",
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert not AuditEvent.objects.filter(verb__endswith="_in_admin").exists()


def test_a_staff_account_without_permission_cannot_add_a_user(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.post(
        "/en/admin/marketplace/user/add/",
        {
            "email": "new.person@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert not AuditEvent.objects.filter(verb__endswith="_in_admin").exists()


@pytest.mark.parametrize(
    ("flag", "start", "end"),
    [
        ("is_active", True, False),
        ("is_active", False, True),
        ("is_staff", False, True),
        ("is_staff", True, False),
        ("is_superuser", False, True),
    ],
)
def test_changing_admin_access_in_the_admin_is_audited(admin_client, superuser, flag, start, end):
    person = UserFactory(**{flag: start})
    page = f"/en/admin/marketplace/user/{person.pk}/change/"
    response = admin_client.post(page, change_form(person, **{flag: end}))
    assert response.status_code == 302
    person.refresh_from_db()
    assert getattr(person, flag) is end
    event = AuditEvent.objects.for_target(person).get(verb=f"user.{flag}_changed_in_admin")
    assert event.actor_id == superuser.pk
    assert event.data == {"from": start, "to": end}


def test_saving_a_user_unchanged_audits_no_access_change(admin_client):
    person = UserFactory()
    page = f"/en/admin/marketplace/user/{person.pk}/change/"
    assert admin_client.post(page, change_form(person)).status_code == 302
    assert not AuditEvent.objects.filter(verb__endswith="_changed_in_admin").exists()


def test_the_admin_cannot_set_a_password_even_by_address(admin_client):
    person = UserFactory()
    before = person.password
    response = admin_client.post(
        f"/en/admin/marketplace/user/{person.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.password == before


def _admins_of(model):
    found = []
    for registered_model, model_admin in admin.site._registry.items():
        if registered_model is model:
            found.append(model_admin)
        found += [
            inline(registered_model, admin.site)
            for inline in model_admin.inlines
            if inline.model is model
        ]
    return found


@pytest.mark.parametrize("model", [RoleGrant, CardLimit, Guardrails], ids=lambda m: m.__name__)
def test_role_grants_card_limits_and_guardrails_are_not_editable_in_the_admin(superuser, model):
    request = RequestFactory().get("/en/admin/")
    request.user = superuser
    for model_admin in _admins_of(model):
        inline = isinstance(model_admin, admin.options.InlineModelAdmin)
        for obj in (None, model()):
            assert not model_admin.has_add_permission(request, *([obj] if inline else []))
            assert not model_admin.has_change_permission(request, obj)
            assert not model_admin.has_delete_permission(request, obj)


def test_no_role_or_card_limit_can_be_made_through_the_admins_pages(admin_client, superuser):
    person = StaffFactory()
    page = f"/en/admin/marketplace/user/{person.pk}/change/"
    form = change_form(person)
    form.update(
        {
            "role_grants-TOTAL_FORMS": "1",
            "role_grants-INITIAL_FORMS": "0",
            "role_grants-0-role": Role.PROGRAM_ADMIN,
            "role_grants-0-user": str(person.pk),
        }
    )
    admin_client.post(page, form)
    own = change_form(superuser)
    own.update({key: value for key, value in form.items() if key.startswith("role_grants-")})
    admin_client.post(f"/en/admin/marketplace/user/{superuser.pk}/change/", own)
    assert not RoleGrant.objects.exists()
    for address in (
        "/en/admin/marketplace/rolegrant/add/",
        "/en/admin/payments/cardlimit/add/",
    ):
        assert admin_client.get(address).status_code == 404
    assert not CardLimit.objects.exists()
    assert "role_grants-0-role" not in admin_client.get(page).content.decode()
