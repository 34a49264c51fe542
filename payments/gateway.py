"""Every call to Stripe, in one place, answering plain dicts. Each write carries an idempotency
key derived from the object it is for, so a retried task or a replayed request never creates a
second one."""

from __future__ import annotations

import time
from typing import Any

import stripe
from django.conf import settings

from .models import Payment

_STRIPE_API_BASE = stripe.api_base

StripeError = stripe.StripeError
# Errors worth retrying later (the library already retried the network ones a few times).
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
InvalidRequestError = stripe.InvalidRequestError


def enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


_http_clients: dict[float, Any] = {}


def _http_client(timeout: float):
    """One HTTP client (and its kept-alive connections) per timeout the settings ask for."""
    client = _http_clients.get(timeout)
    if client is None:
        client = _http_clients[timeout] = stripe.new_default_http_client(timeout=timeout)
    return client


def _stripe():
    """The library, configured from settings at call time (tests point it at a local fake)."""
    stripe.api_key = settings.STRIPE_SECRET_KEY
    stripe.api_base = settings.STRIPE_API_BASE or _STRIPE_API_BASE
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = _http_client(settings.STRIPE_TIMEOUT_SECONDS)
    return stripe


def account_create(*, user_id: int, email: str, individual: bool) -> dict[str, Any]:
    return (
        _stripe()
        .Account.create(
            type="express",
            country="CA",
            email=email,
            business_type="individual" if individual else "company",
            capabilities={"transfers": {"requested": True}},
            metadata={"user_id": str(user_id)},
            idempotency_key=f"marketplace-supplier-{user_id}-account",
        )
        .to_dict()
    )


def account_retrieve(account_id: str) -> dict[str, Any]:
    return _stripe().Account.retrieve(account_id).to_dict()


def account_link(*, account_id: str, refresh_url: str, return_url: str) -> str:
    link = _stripe().AccountLink.create(
        account=account_id,
        refresh_url=refresh_url,
        return_url=return_url,
        type="account_onboarding",
    )
    return link.url


def checkout_create(
    *, payment: Payment, name: str, success_url: str, cancel_url: str
) -> dict[str, Any]:
    """A Checkout session whose funds go to the supplier's connected account."""
    metadata = {
        "payment_id": str(payment.pk),
        "attempt": str(payment.attempt),
        "invoice": payment.invoice_number,
    }
    return (
        _stripe()
        .checkout.Session.create(
            mode="payment",
            line_items=[
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": payment.currency.lower(),
                        "unit_amount": payment.total_cents,
                        "product_data": {"name": name[:250]},
                    },
                }
            ],
            payment_intent_data={
                "transfer_data": {"destination": payment.stripe_account},
                "transfer_group": transfer_group(payment),
                "metadata": metadata,
            },
            metadata=metadata,
            client_reference_id=str(payment.pk),
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"{payment.idempotency_prefix}-checkout",
        )
        .to_dict()
    )


def checkout_retrieve(session_id: str) -> dict[str, Any]:
    return _stripe().checkout.Session.retrieve(session_id).to_dict()


def checkout_expire(session_id: str) -> dict[str, Any]:
    """Close a Checkout page nobody should pay on any more. Stripe refuses (InvalidRequestError)
    a session that is not open: already expired, or completed, which the caller must look at.
    The key is the session's: a retried task replays the first answer rather than being
    refused for a session it expired itself."""
    return (
        _stripe()
        .checkout.Session.expire(session_id, idempotency_key=f"marketplace-expire-{session_id}")
        .to_dict()
    )


def transfer_group(payment: Payment) -> str:
    return f"marketplace-payment-{payment.pk}"


def payout_transfer_groups(*, account_id: str, payout_id: str) -> list[str]:
    """The transfer groups of what one payout of a connected account carried: each of its
    balance transactions of type "payment" is the arrival of a destination charge's transfer
    (a py_ charge whose source_transfer is that transfer, in the payment's transfer group)."""
    listed = _stripe().BalanceTransaction.list(
        payout=payout_id,
        type="payment",
        limit=100,
        expand=["data.source.source_transfer"],
        stripe_account=account_id,
    )
    groups = []
    for txn in listed.auto_paging_iter():
        source = txn.to_dict().get("source") or {}
        transfer = source.get("source_transfer") if isinstance(source, dict) else None
        if isinstance(transfer, dict) and transfer.get("transfer_group"):
            groups.append(str(transfer["transfer_group"]))
    return groups


def payment_intent_retrieve(intent_id: str) -> dict[str, Any]:
    return _stripe().PaymentIntent.retrieve(intent_id).to_dict()


# How far a webhook's signature time may be from now, either way, and how far ahead of now an
# event's `created` may be: Stripe's own tolerance, which allows for clocks a little apart.
WEBHOOK_TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE


class EventRefused(ValueError):
    """A correctly signed event that is not taken: it is dated in the future."""

    def __init__(self, reason: str, event: dict[str, Any]):
        super().__init__(reason)
        self.reason = reason
        self.event = event


def _signed_at(signature: str) -> int:
    """The `t=` of a Stripe-Signature header the library has verified already, read as the
    library reads it (the first item named exactly `t`): a decoy ` t=` must not be the one
    checked while another was signed."""
    for part in signature.split(","):
        key, _sep, value = part.partition("=")
        if key == "t":
            return int(value)
    raise ValueError("No timestamp in the signature")


def event_construct(payload: bytes, signature: str, *, now: float | None = None) -> dict[str, Any]:
    """Raises ValueError or stripe.SignatureVerificationError when the event is not Stripe's.

    The library refuses a signature older than the tolerance (a replay) but not one dated
    ahead, which could be replayed for as long as it is ahead; nor does it look at the event's
    own `created`, which orders events (an `account.updated` dated ahead would make every real
    one after it look older, and be ignored). Both are refused ahead of the tolerance. An old
    `created` is normal: Stripe retries an event for days, with its first `created`."""
    event = stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=WEBHOOK_TOLERANCE_SECONDS
    ).to_dict()
    limit = (time.time() if now is None else now) + WEBHOOK_TOLERANCE_SECONDS
    if _signed_at(signature) > limit:
        raise EventRefused("The signature is dated in the future", event)
    if int(event["created"]) > limit:
        raise EventRefused("The event is dated in the future", event)
    return event
