"""Sessions fit for staff (issue 20): staff are signed out after an idle spell and after an
absolute lifetime, with the reason and the way back; revealing, awarding, certifying and paying
need a password (or authenticator code) given within minutes; and a staff account that moves to
a personal address loses its powers in the same session, whichever way the address changed."""

from __future__ import annotations

import time
from urllib.parse import quote as url_quote

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings as settings_module
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evaluation import services as evaluation_services
from marketplace.models import AuditEvent, Role, User
from marketplace.sessions import SEEN_KEY, STARTED_KEY
from payments.models import Contract, Payment
from tests.builders import labels, run_to_consensus
from tests.factories import PASSWORD, StaffFactory, SupplierFactory, UserFactory
from tests.support.email_addresses import add_and_verify_email, make_primary
from tests.support.sessions import record_sign_in

pytestmark = pytest.mark.django_db

IDLE_EN = "You were signed out after 30 minutes without activity."
MAX_EN = "You were signed out after 12 hours, the longest a staff session lasts."
IDLE_FR = "Votre session a été fermée après 30\u00a0minutes sans activité."
MAX_FR = (
    "Votre session a été fermée après 12\u00a0heures, "
    "la durée maximale d\u2019une session du personnel."
)


def age_stamps(client, *, started_ago: float, seen_ago: float) -> None:
    """Move this staff session's stamps back in time, as if the clock had moved on."""
    session = client.session
    now = time.time()
    session[STARTED_KEY] = now - started_ago
    session[SEEN_KEY] = now - seen_ago
    session.save()


def quote(path: str) -> str:
    return url_quote(path, safe="")


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Idle timeout and absolute lifetime ---------------------------------------------------------


def test_a_staff_session_begins_at_sign_in_and_its_cookie_ends_at_the_absolute_limit(
    client, buyer, settings
):
    before = time.time()
    answer = client.post(
        "/en/accounts/login/", {"login": buyer.email, "password": PASSWORD, "remember": "on"}
    )
    assert answer.status_code == 302
    session = client.session
    # Stamped while the sign-in writes the session.
    assert before - 1 <= session[STARTED_KEY] == session[SEEN_KEY] <= time.time()
    # allauth's "remember me" then sets its own expiry: the first page brings it back within
    # the absolute limit, and the pages after it write nothing.
    assert client.get("/en/dashboard/").status_code == 200
    session = client.session
    age = session.get_expiry_age()
    assert settings.STAFF_SESSION_MAX_SECONDS - 60 < age <= settings.STAFF_SESSION_MAX_SECONDS
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert (
        settings.STAFF_SESSION_MAX_SECONDS - 60
        < int(cookie["max-age"])
        <= (settings.STAFF_SESSION_MAX_SECONDS)
    )
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/dashboard/").status_code == 200
    assert not [
        q for q in queries.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]
    ]


def test_a_staff_session_not_remembered_keeps_a_cookie_that_ends_with_the_browser(client, buyer):
    client.post("/en/accounts/login/", {"login": buyer.email, "password": PASSWORD})
    assert client.get("/en/dashboard/").status_code == 200
    assert client.session.get_expire_at_browser_close()
    assert not client.cookies[settings_module.SESSION_COOKIE_NAME]["max-age"]


def test_a_session_opened_before_the_account_held_power_is_stamped_at_its_next_page(client, buyer):
    client.force_login(buyer)
    session = client.session
    for key in (STARTED_KEY, SEEN_KEY):
        del session[key]
    session.save()
    before = time.time()
    assert client.get("/en/dashboard/").status_code == 200
    session = client.session
    assert before - 1 <= session[STARTED_KEY] == session[SEEN_KEY] <= time.time()


@pytest.mark.parametrize(
    ("started_ago", "seen_ago", "message"),
    [(60 * 60, 31 * 60, IDLE_EN), (12 * 3600 + 1, 30, MAX_EN)],
    ids=["idle", "absolute"],
)
def test_a_buyer_past_a_limit_is_signed_out_and_sent_to_sign_in_with_the_reason_and_way_back(
    client, buyer, started_ago, seen_ago, message
):
    client.force_login(buyer)
    client.get("/en/dashboard/")
    age_stamps(client, started_ago=started_ago, seen_ago=seen_ago)
    response = client.get("/en/notifications/?page=1")
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/login/?next=%2Fen%2Fnotifications%2F%3Fpage%3D1"
    assert not signed_in(client)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert message in page.content.decode()
    assert "Sign in again to continue." in page.content.decode()
    # Signed out for good: the next page asks for a sign-in, without the message again.
    again = client.get("/en/dashboard/")
    assert again.status_code == 302 and again["Location"].startswith("/en/accounts/login/")
    assert message not in client.get(again["Location"]).content.decode()


@pytest.mark.parametrize(
    ("started_ago", "seen_ago", "message"),
    [(60 * 60, 31 * 60, IDLE_FR), (12 * 3600 + 1, 30, MAX_FR)],
    ids=["idle", "absolute"],
)
def test_the_reason_is_given_in_french_on_french_pages(
    client, buyer, started_ago, seen_ago, message
):
    client.force_login(buyer)
    client.get("/fr/dashboard/")
    age_stamps(client, started_ago=started_ago, seen_ago=seen_ago)
    response = client.get("/fr/dashboard/")
    assert response["Location"] == "/fr/accounts/login/?next=%2Ffr%2Fdashboard%2F"
    page = client.get(response["Location"]).content.decode()
    assert message in page
    assert "Ouvrez une nouvelle session pour continuer." in page


def test_a_form_posted_after_the_limit_writes_nothing_and_leads_back_to_its_page(
    client,
    awarded,
):
    opportunity, contract = awarded
    client.force_login(opportunity.buyer)
    page = f"/en/payments/contracts/{contract.pk}/"
    client.get(page)
    age_stamps(client, started_ago=3600, seen_ago=31 * 60)
    events = AuditEvent.objects.count()
    response = client.post(
        reverse("payments:request_changes", args=[contract.pk]),
        {"reasons": "The focus ring is missing."},
        HTTP_REFERER=f"http://testserver{page}",
    )
    assert response["Location"] == f"/en/accounts/login/?next={quote(page)}"
    assert AuditEvent.objects.count() == events
    assert Contract.objects.get(pk=contract.pk).status == contract.status
    # A referrer from elsewhere is not followed back.
    client.force_login(opportunity.buyer)
    client.get(page)
    age_stamps(client, started_ago=3600, seen_ago=31 * 60)
    response = client.post(
        reverse("payments:request_changes", args=[contract.pk]),
        {"reasons": "x"},
        HTTP_REFERER="https://evil.example/phish",
    )
    assert response["Location"] == "/en/accounts/login/"


def test_activity_within_the_limits_keeps_the_session_and_is_written_at_most_once_a_minute(
    client, buyer
):
    client.force_login(buyer)
    client.get("/en/dashboard/")
    age_stamps(client, started_ago=11 * 3600, seen_ago=29 * 60)
    assert client.get("/en/dashboard/").status_code == 200  # 29 minutes idle: still in
    seen = client.session[SEEN_KEY]
    assert time.time() - seen < 5  # the activity was written
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/dashboard/").status_code == 200
    assert client.session[SEEN_KEY] == seen  # a second later: not written again
    assert not [q for q in queries if "django_session" in q["sql"] and "SELECT" not in q["sql"]]
    assert signed_in(client)


def test_technical_admin_accounts_have_staff_sessions_too(client):
    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    client.get("/en/dashboard/")
    assert STARTED_KEY in client.session
    age_stamps(client, started_ago=3600, seen_ago=31 * 60)
    assert client.get("/en/dashboard/").status_code == 302
    assert not signed_in(client)


def test_suppliers_keep_their_sessions(client, settings):
    supplier = SupplierFactory()
    client.force_login(supplier)
    assert client.get("/en/dashboard/").status_code == 200
    assert STARTED_KEY not in client.session
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    # Even with stamps as old as a staff session's limits, a supplier is not signed out.
    age_stamps(client, started_ago=13 * 3600, seen_ago=13 * 3600)
    assert client.get("/en/dashboard/").status_code == 200
    assert signed_in(client)


def test_the_limits_come_from_settings(client, buyer, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 120
    client.force_login(buyer)
    client.get("/en/dashboard/")
    age_stamps(client, started_ago=200, seen_ago=121)
    response = client.get("/en/dashboard/", follow=True)
    assert "You were signed out after 2 minutes without activity." in response.content.decode()


# --- Re-authentication before the steps that matter --------------------------------------------


def locked(opportunity, panel):
    evaluation = opportunity.evaluation
    marks = [(True, 9), (True, 5), (False, 1)]
    run_to_consensus(evaluation, panel, dict(zip(labels(evaluation), marks, strict=True)))
    evaluation_services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    return evaluation


def reveal_case(closed, evaluators):
    opportunity, _bids = closed
    evaluation = locked(opportunity, evaluators)
    return (
        opportunity.buyer,
        reverse("evaluation:reveal", args=[opportunity.pk]),
        {},
        lambda: type(evaluation).objects.get(pk=evaluation.pk).revealed_at is not None,
        f"/en/evaluation/{opportunity.pk}/",
    )


def award_case(closed, evaluators):
    opportunity, _bids = closed
    evaluation = locked(opportunity, evaluators)
    evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    return (
        opportunity.buyer,
        reverse("evaluation:award", args=[opportunity.pk]),
        {},
        lambda: evaluation.offers.exists(),
        f"/en/evaluation/{opportunity.pk}/",
    )


def certify_case(awarded):
    from payments import contracts

    opportunity, contract = awarded
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/7", notes=""
    )
    return (
        opportunity.buyer,
        reverse("payments:certify", args=[contract.pk]),
        {"confirmed": "on"},
        lambda: Contract.objects.get(pk=contract.pk).status == Contract.Status.ACCEPTED,
        f"/en/payments/contracts/{contract.pk}/",
    )


def record_case(certified, card_holder):
    _opportunity, _contract, payment = certified
    return (
        card_holder,
        reverse("payments:record", args=[payment.pk]),
        {
            "amount": f"{payment.total_cents / 100:.2f}",
            "paid_on": timezone.localdate().isoformat(),
            "method": Payment.Method.CARD_TERMINAL,
            "reference": "AUTH-482913",
        },
        lambda: Payment.objects.get(pk=payment.pk).status != payment.status,
        f"/en/payments/{payment.pk}/",
    )


@pytest.fixture(params=["reveal", "award", "certify", "record"])
def step(request):
    """(actor, address, form, done(), page) for each step that asks for a fresh sign-in."""
    if request.param in ("reveal", "award"):
        closed_ = request.getfixturevalue("closed")
        panel = request.getfixturevalue("evaluators")
        return {"reveal": reveal_case, "award": award_case}[request.param](closed_, panel)
    if request.param == "certify":
        return certify_case(request.getfixturevalue("awarded"))
    return record_case(request.getfixturevalue("certified"), request.getfixturevalue("card_holder"))


def test_a_step_without_a_recent_sign_in_is_refused_until_the_password_is_given_again(client, step):
    actor, address, form, done, page = step
    client.force_login(actor)
    record_sign_in(client, actor, seconds_ago=301)  # signed in six minutes ago
    client.get(page)
    events = AuditEvent.objects.count()
    response = client.post(address, form)
    assert response.status_code == 302
    assert response["Location"] == f"/en/accounts/reauthenticate/?next={quote(address)}"
    assert not done()
    assert AuditEvent.objects.count() == events
    asked = client.get(response["Location"])
    assert asked.status_code == 200 and "password" in asked.content.decode().lower()

    wrong = client.post(response["Location"], {"password": "not-it"})
    assert wrong.status_code == 200 and not done()
    assert AuditEvent.objects.count() == events

    # The right password: the held request runs, with what was typed, and lands on its page.
    answer = client.post(response["Location"], {"password": PASSWORD})
    assert answer.status_code == 302 and answer["Location"].startswith(page)
    assert done()
    assert AuditEvent.objects.count() > events


def test_a_sign_in_within_the_window_is_enough(client, step):
    actor, address, form, done, page = step
    client.force_login(actor)
    record_sign_in(client, actor, seconds_ago=240)
    response = client.post(address, form)
    assert response.status_code == 302 and response["Location"].startswith(page)
    assert done()


def test_the_window_comes_from_settings(client, step, settings):
    actor, address, form, done, _page = step
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 60
    client.force_login(actor)
    record_sign_in(client, actor, seconds_ago=90)
    response = client.post(address, form)
    assert response["Location"].startswith("/en/accounts/reauthenticate/")
    assert not done()


def test_checkout_asks_too(client, certified, card_holder):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    record_sign_in(client, card_holder, seconds_ago=600)
    events = payment.events.count()
    response = client.post(reverse("payments:checkout", args=[payment.pk]))
    assert response["Location"].startswith("/en/accounts/reauthenticate/")
    assert payment.events.count() == events
    assert Payment.objects.get(pk=payment.pk).status == payment.status


def totp_code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def test_with_an_authenticator_the_code_is_asked_and_a_password_alone_is_not_enough(
    client,
    closed,
    evaluators,
):
    buyer, address, form, done, page = reveal_case(closed, evaluators)
    secret = generate_totp_secret()
    TOTP.activate(buyer, secret)
    client.force_login(buyer)
    record_sign_in(client, buyer, seconds_ago=10)  # a password minutes ago, no code: not enough
    response = client.post(address, form)
    assert response["Location"] == f"/en/accounts/2fa/reauthenticate/?next={quote(address)}"
    assert not done()
    # The password page sends on to the code.
    password_page = client.get(f"/en/accounts/reauthenticate/?next={address}")
    assert password_page.status_code == 302
    assert password_page["Location"].startswith("/en/accounts/2fa/reauthenticate/")
    answer = client.post(response["Location"], {"code": totp_code(secret)})
    assert answer.status_code == 302 and answer["Location"].startswith(page)
    assert done()


def test_a_sign_in_with_the_code_within_the_window_is_enough(client, closed, evaluators):
    buyer, address, form, done, _page = reveal_case(closed, evaluators)
    Authenticator.objects.create(user=buyer, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(buyer)  # signs in with password and code (tests/support/sessions.py)
    assert client.post(address, form).status_code == 302
    assert done()


def test_people_without_the_step_get_the_usual_answer_not_a_password_prompt(client, step):
    _actor, address, form, done, _page = step
    client.force_login(SupplierFactory())
    record_sign_in(client, _actor, seconds_ago=3600)
    assert client.post(address, form).status_code in (403, 404)
    other_buyer = StaffFactory(roles=[Role.BUYER])
    client.force_login(other_buyer)  # a fresh sign-in: the permission answers
    assert client.post(address, form).status_code in (403, 404)
    assert not done()


# --- Staff roles follow the email address, in the same session ---------------------------------


@pytest.fixture
def program_admin_client(client):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    client.force_login(admin)
    assert client.get("/en/program/users/").status_code == 200
    return client, admin


def test_making_a_personal_address_primary_on_the_email_page_ends_staff_powers_at_once(
    program_admin_client,
):
    client, admin = program_admin_client
    add_and_verify_email(client, "me@example.com")
    assert client.get("/en/program/users/").status_code == 200
    make_primary(client, "me@example.com")
    assert User.objects.get(pk=admin.pk).email == "me@example.com"
    assert client.get("/en/program/users/").status_code == 403


def test_the_technical_admin_cannot_change_a_staff_address(program_admin_client):
    """The admin site shows the address read-only: a changed address posted is ignored."""
    client, admin = program_admin_client
    root = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    from django.test import Client

    technical = Client()
    technical.force_login(root)
    change = reverse("admin:marketplace_user_change", args=[admin.pk])
    assert technical.get(change).status_code == 200
    technical.post(
        change,
        {
            "email": "me@example.com",
            "full_name": "Changed",
            "preferred_language": "en",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert User.objects.get(pk=admin.pk).email == admin.email
    assert client.get("/en/program/users/").status_code == 200


@pytest.mark.parametrize("how", ["save", "update"])
def test_an_address_changed_behind_the_pages_ends_staff_powers_at_the_next_request(
    program_admin_client, how
):
    client, admin = program_admin_client
    if how == "save":
        admin.email = "me@example.com"
        admin.save()
    else:
        User.objects.filter(pk=admin.pk).update(email="me@example.com")
    assert client.get("/en/program/users/").status_code == 403
    # Even with a verified record of the new address made primary, it is not a staff address.
    EmailAddress.objects.filter(user=admin).update(email="me@example.com")
    assert client.get("/en/program/users/").status_code == 403


def test_another_government_address_not_yet_verified_gives_no_power(program_admin_client):
    client, admin = program_admin_client
    User.objects.filter(pk=admin.pk).update(email="someone.else@esdc-edsc.gc.ca")
    assert client.get("/en/program/users/").status_code == 403


def test_the_way_back_without_a_held_request_leads_to_the_page_with_the_form(client, step):
    """A second tab, or a held request already run: re-authenticating leads to the step's
    address, which a visit cannot run: it shows the step's confirmation page, with the form
    (issue 23), or sends on to the page where the step's details are typed (a payment)."""
    actor, address, _form, done, page = step
    client.force_login(actor)
    record_sign_in(client, actor, seconds_ago=600)
    asked = f"/en/accounts/reauthenticate/?next={quote(address)}"
    answer = client.post(asked, {"password": PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == address
    visit = client.get(answer["Location"])
    if visit.status_code == 302:
        assert visit["Location"] == page
        visit = client.get(visit["Location"])
    assert visit.status_code == 200 and f'action="{address}"' in visit.content.decode()
    assert not done()
