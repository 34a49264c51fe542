"""Stripe as the payment tests meet it: events posted to our webhook signed as Stripe signs them,
the card holder sent to Checkout, and the checks made on a payment an event did not match.

The fake Stripe API itself is tests/support/fake_stripe.py; the fixtures that start it and
deliver its events (`fake`, `deliver`, `ready_supplier`, `pending`) are in
tests/payments/conftest.py.
"""

from __future__ import annotations

import json

from django.urls import reverse

from marketplace.models import AuditEvent, Notification
from payments.models import Payment, StripeEvent
from tests.support.fake_stripe import sign

SECRET = "whsec_test_marketplace"
WEBHOOK = "/stripe/webhook/"


def post_event(client, event, *, secret=SECRET, payload=None, header=None):
    """Post `event` to the webhook, signed with `secret` (or the raw `payload` and `header`)."""
    body = payload if payload is not None else json.dumps(event).encode()
    signature = header if header is not None else sign(body, secret)
    return client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def start_checkout(client, card_holder, payment, django_capture_on_commit_callbacks):
    """The card holder presses "Pay by card": (the response, the payment as it is now)."""
    client.force_login(card_holder)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("payments:checkout", args=[payment.pk]))
    payment.refresh_from_db()
    return response, payment


def genuine_events(fake, payment):
    """What Stripe sends when the card holder pays on the payment's own Checkout page:
    (payment_intent.succeeded, checkout.session.completed, transfer.created)."""
    payment_intent, completed, transfer = fake.pay(payment.checkout_session_id)
    return payment_intent, completed, transfer


def assert_unchanged(payment: Payment) -> None:
    """The payment is still under way, as it was: nothing an event said was taken."""
    before = (payment.status, payment.paid_at, payment.payment_intent_id, payment.attempt)
    payment.refresh_from_db()
    assert (payment.status, payment.paid_at, payment.payment_intent_id, payment.attempt) == before
    assert payment.status == Payment.Status.PENDING and payment.paid_at is None


def assert_refused_and_recorded(payment: Payment, event: dict, differs: set[str]) -> None:
    """The event is kept, marked with what differed, in the payment's history and the audit
    trail; the program admins and the card holder are told."""
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.processed_at is not None
    assert differs <= set(stored.mismatch)
    [note] = payment.events.filter(kind="webhook_mismatch", data__event=event["id"])
    assert note.from_status == note.to_status == Payment.Status.PENDING
    assert differs <= set(note.data["problems"])
    audit = AuditEvent.objects.filter(verb="payment.webhook_mismatch", target_id=str(payment.pk))
    assert audit.filter(data__event=event["id"]).exists()
    told = Notification.objects.filter(kind="payment.webhook_mismatch")
    assert told.filter(recipient=payment.payer).exists()
