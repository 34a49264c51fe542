"""Deny by default: every URL pattern turns anonymous visitors away except the public ones."""

import pytest

from marketplace.models import Role
from tests.factories import StaffFactory
from tests.support.urls import all_url_patterns

# Pages anyone may see, by URL name. Everything else must send an anonymous visitor to sign in.
PUBLIC = {
    "healthz",
    # Stripe posts its events here; the signature is the authorization (POST only).
    "stripe_webhook",
    "marketplace:home",
    # The help guides: suppliers read them before signing up.
    "marketplace:help",
    "marketplace:help_guide",
    # The pages about the service, linked from every page's footer.
    "marketplace:privacy",
    "marketplace:terms",
    "marketplace:contact",
    # Reached from an email without signing in; the signed token is the authorization.
    "marketplace:unsubscribe",
    "opportunities:list",
    "opportunities:detail",
    "opportunities:feed",
    "opportunities:skill_feed",
    "bids:terms",
    "opportunities:awarded",
    "evaluation:draw",
    # Open data: what was bought, for everyone.
    "reports:open_data",
    "reports:ocds_package",
    "reports:contracts_csv",
    "reports:purchases",
    "account_login",
    "account_signup",
    "account_confirm_email",
    "account_email_verification_sent",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_inactive",
    "account_logout",  # signs nobody out; sends the visitor home
    "account_login_code",
    "account_confirm_login_code",
    "account_request_login_code",
    "account_verify_email_code",
    "account_confirm_password_reset_code",
    "account_reset_password_confirm_code",
    "admin:login",
    # allauth's MFA step of a sign-in in progress: without one it sends the visitor to sign in.
    "mfa_authenticate",
    "mfa_login_webauthn",
    "mfa_signup_webauthn",
}


@pytest.mark.django_db
def test_every_url_pattern_refuses_anonymous_visitors_except_public_pages(client):
    patterns = all_url_patterns()
    assert len(patterns) > 40, "the walk should see allauth's and admin's patterns too"
    leaks = []
    for name, path in patterns:
        response = client.get(path)
        sent_to_sign_in = response.status_code == 302 and (
            "/accounts/login/" in response["Location"] or "/admin/login/" in response["Location"]
        )
        if name in PUBLIC:
            continue
        if not sent_to_sign_in:
            leaks.append((name, path, response.status_code))
    assert leaks == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["marketplace:home", "account_login", "account_signup"])
def test_public_pages_answer_anonymous_visitors(client, name):
    path = dict((n, p) for n, p in all_url_patterns())[name]
    assert client.get(path).status_code == 200


def test_health_check_is_public(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


STAFF_PAGES = ["/en/program/users/", "/en/program/users/1/"]
SUPPLIER_PAGES = [
    "/en/profile/",
    "/en/reports/self-identification/",
    "/en/reports/self-identification/delete/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_program_admin_pages_refuse_suppliers_and_other_staff(client, supplier, buyer, path):
    for user in (supplier, buyer):
        client.force_login(user)
        assert client.get(path).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", SUPPLIER_PAGES)
def test_supplier_pages_refuse_staff(client, path):
    for role in (Role.BUYER, Role.EVALUATOR, Role.CARD_HOLDER, Role.PROGRAM_ADMIN):
        client.force_login(StaffFactory(roles=[role]))
        assert client.get(path).status_code == 403


@pytest.mark.django_db
def test_role_actions_refuse_non_admins(client, supplier, buyer):
    client.force_login(buyer)
    assert (
        client.post(f"/en/program/users/{supplier.pk}/grant/", {"role": "buyer"}).status_code == 403
    )
    assert client.post(f"/en/program/users/{buyer.pk}/revoke/buyer/").status_code == 403
    assert Role.BUYER in type(buyer).objects.get(pk=buyer.pk).roles
