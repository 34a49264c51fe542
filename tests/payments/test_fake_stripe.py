"""The real `stripe` library against the local fake (tests/support/fake_stripe.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.support.fake_stripe import FakeStripe, parse_form, sign


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        monkeypatch.setattr(stripe, "api_key", "sk_test_fake")
        monkeypatch.setattr(stripe, "api_base", fake.url)
        monkeypatch.setattr(stripe, "max_network_retries", 0)
        yield fake


def _account() -> Any:
    return stripe.Account.create(
        type="express",
        country="CA",
        email="supplier@example.com",
        business_type="individual",
        capabilities={"transfers": {"requested": True}},
        metadata={"user_id": "7"},
    )


def _session(destination: str, **options: Any) -> Any:
    """The Checkout session payments/gateway.py asks for."""
    metadata = {"payment_id": "12", "invoice": "INV-12"}
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "quantity": 2,
                "price_data": {
                    "currency": "cad",
                    "unit_amount": 12_500,
                    "product_data": {"name": "Accessibility audit"},
                },
            }
        ],
        payment_intent_data={
            "transfer_data": {"destination": destination},
            "transfer_group": "marketplace-payment-12",
            "metadata": metadata,
        },
        metadata=metadata,
        client_reference_id="12",
        success_url="https://marketplace.test/paid",
        cancel_url="https://marketplace.test/cancel",
        **options,
    )


def _posts(fake: FakeStripe, path: str) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


def test_parse_form_nests_keys() -> None:
    body = (
        "line_items[0][price_data][unit_amount]=100&line_items[0][quantity]=1"
        "&metadata[payment_id]=5&expand[]=a&expand[]=b&note="
    )
    assert parse_form(body) == {
        "line_items": [{"price_data": {"unit_amount": "100"}, "quantity": "1"}],
        "metadata": {"payment_id": "5"},
        "expand": ["a", "b"],
        "note": "",
    }


def test_account_link_onboarding_and_retrieve(fake: FakeStripe) -> None:
    account = _account()
    assert account.id.startswith("acct_")
    assert (account.type, account.country, account.email) == (
        "express",
        "CA",
        "supplier@example.com",
    )
    assert account.metadata["user_id"] == "7"
    assert account.charges_enabled is False

    link = stripe.AccountLink.create(
        account=account.id,
        refresh_url="https://marketplace.test/refresh",
        return_url="https://marketplace.test/return",
        type="account_onboarding",
    )
    assert link.url == f"{fake.url}/onboarding/{account.id}"
    with urllib.request.urlopen(link.url, timeout=5) as page:  # noqa: S310 - the local fake
        assert page.status == 200
        assert "https://marketplace.test/return" in page.read().decode()

    event = fake.complete_onboarding(account.id)
    assert event["type"] == "account.updated"
    assert event["account"] == account.id
    retrieved = stripe.Account.retrieve(account.id)
    assert (retrieved.charges_enabled, retrieved.payouts_enabled) == (True, True)

    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.Account.retrieve("acct_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_checkout_session_with_destination_then_paid(fake: FakeStripe) -> None:
    account = _account()
    session = _session(account.id)
    assert session.id.startswith("cs_test_")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (25_000, "cad")
    assert session.url == f"{fake.url}/checkout/{session.id}"
    assert stripe.checkout.Session.retrieve(session.id).to_dict() == session.to_dict()

    intent = stripe.PaymentIntent.retrieve(session.payment_intent)
    assert intent.transfer_data.destination == account.id
    assert intent.transfer_group == "marketplace-payment-12"
    assert intent.metadata["payment_id"] == "12"
    assert (fake.count("checkout.session"), fake.count("payment_intent")) == (1, 1)

    events = fake.pay(session.id)
    assert [e["type"] for e in events] == [
        "payment_intent.succeeded",
        "checkout.session.completed",
        "transfer.created",
    ]
    transfer = events[-1]["data"]["object"]
    assert (transfer["amount"], transfer["destination"]) == (25_000, account.id)
    assert transfer["source_transaction"] == events[0]["data"]["object"]["latest_charge"]
    assert stripe.checkout.Session.retrieve(session.id).payment_status == "paid"


def test_declined_card_leaves_the_session_open(fake: FakeStripe) -> None:
    session = _session(_account().id)
    [event] = fake.pay(session.id, declined=True)
    assert event["type"] == "payment_intent.payment_failed"
    assert event["data"]["object"]["last_payment_error"]["code"] == "card_declined"
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    assert stripe.checkout.Session.expire(session.id).status == "expired"


def test_same_idempotency_key_creates_one_session(fake: FakeStripe) -> None:
    destination = _account().id
    first = _session(destination, idempotency_key="payment-12-checkout")
    second = _session(destination, idempotency_key="payment-12-checkout")
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert (fake.count("checkout.session"), fake.count("payment_intent")) == (1, 1)
    assert len(_posts(fake, "/v1/checkout/sessions")) == 2


@pytest.mark.parametrize("failure", [500, "drop"])
def test_library_retries_with_the_same_key(
    fake: FakeStripe, monkeypatch: pytest.MonkeyPatch, failure: int | str
) -> None:
    monkeypatch.setattr(stripe, "max_network_retries", 2)
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)  # no half-second back-off
    destination = _account().id
    fake.fail_next(1, status=failure)
    session = _session(destination)
    assert fake.count("checkout.session") == 1
    attempts = _posts(fake, "/v1/checkout/sessions")
    assert len(attempts) == 2
    assert attempts[0].idempotency_key == attempts[1].idempotency_key is not None
    assert fake.get("checkout.session", session.id)["payment_intent"] == session.payment_intent


def test_errors(fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        _session("acct_unknown")
    assert unknown.value.http_status == 400
    assert unknown.value.param == "payment_intent_data[transfer_data][destination]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.checkout.Session.create(mode="payment", success_url="https://marketplace.test/")
    assert missing.value.param == "line_items"
    assert fake.count("checkout.session") == 0

    monkeypatch.setattr(stripe, "api_key", "sk_live_nope")
    with pytest.raises(stripe.AuthenticationError):
        _account()
    assert fake.count("account") == 0


def test_signed_event_is_accepted_and_tampering_rejected(fake: FakeStripe) -> None:
    event = fake.payout(_account().id, 25_000)
    payload = json.dumps(event).encode()
    header = sign(payload, "whsec_test")

    constructed = stripe.Webhook.construct_event(payload, header, "whsec_test")
    assert (constructed.id, constructed.type) == (event["id"], "payout.paid")
    assert constructed["account"] == event["account"]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.replace(b"25000", b"99999"), header, "whsec_test")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload, "whsec_other"), "whsec_test")
