"""CSRF on every state-changing request: a POST without the token is refused on every URL
pattern of the site, signed in or not, but for the two whose authorization is not a session."""

import pytest
from django.test import Client

from tests.factories import SupplierFactory
from tests.support.urls import all_url_patterns

# Authorized by something other than a session cookie, so a cross-site request gains nothing:
EXEMPT = {
    "stripe_webhook",  # Stripe's signature over the payload
    "marketplace:unsubscribe",  # the signed token in the link (RFC 8058 one-click POST)
}


def _refused_for_csrf(response) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "supplier"])
def test_a_post_without_the_token_is_refused_everywhere_but_the_exempt_two(signed_in):
    client = Client(enforce_csrf_checks=True)
    if signed_in:
        client.force_login(SupplierFactory())
    patterns = all_url_patterns()
    assert len(patterns) > 150
    accepted = sorted(
        name
        for name, path in patterns
        if not _refused_for_csrf(client.post(path, {"anything": "x"}))
    )
    assert accepted == sorted(EXEMPT)


@pytest.mark.django_db
def test_a_post_with_the_token_gets_through(client):
    client = Client(enforce_csrf_checks=True)
    supplier = SupplierFactory()
    client.force_login(supplier)
    page = client.get("/en/notifications/settings/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    token = token or client.cookies["csrftoken"].value
    response = client.post("/en/notifications/settings/", {"emailed": []}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
