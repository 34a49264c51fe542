"""Stripe's webhooks: each event is verified and stored once (`stripe_event_receive`, in the
request), then applied by a task (`stripe_event_process`), safely twice and in any order. An
event that acts on a payment is compared with it first: money that is not the payment's as it
stands is reported, never taken (`payments.outcomes.payment_mismatch`)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.jobs import enqueue_on_commit
from marketplace.services import audit_event_record

from . import gateway
from .checkout import checkout_closed
from .connect import stripe_account_apply
from .history import payment_note, payment_transition
from .models import Payment, StripeAccount, StripeEvent
from .outcomes import (
    differs,
    intent_mismatch,
    payment_failed_notify,
    payment_mismatch,
    payment_paid,
    session_mismatch,
)

logger = logging.getLogger(__name__)

PStatus = Payment.Status


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify and store a webhook event once. Returns None for a duplicate; raises ValueError
    (or the library's signature error) when the event is not Stripe's, or is dated in the
    future (gateway.EventRefused: recorded in the audit trail, and not stored, so that Stripe's
    retry is taken once the clocks agree)."""
    try:
        event = gateway.event_construct(payload, signature)
    except gateway.EventRefused as refused:
        with transaction.atomic():
            audit_event_record(
                actor=None,
                verb="stripe.event_refused",
                data={
                    "event": str(refused.event.get("id", ""))[:255],
                    "type": str(refused.event.get("type", ""))[:100],
                    "account": str(refused.event.get("account") or "")[:64],
                    "created": refused.event.get("created"),
                    "reason": refused.reason,
                },
            )
        logger.warning("Refused Stripe event %s: %s", refused.event.get("id"), refused.reason)
        raise
    created = dt.datetime.fromtimestamp(int(event["created"]), tz=dt.UTC)
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=event["id"],
                type=event["type"],
                account=event.get("account") or "",
                created=created,
                payload=event,
            )
    except IntegrityError:
        return None
    enqueue_on_commit("payments.tasks.stripe_event_process", stored.pk)
    return stored


def _payment_for(data: dict) -> Payment | None:
    metadata = data.get("metadata") or {}
    pk = metadata.get("payment_id") or data.get("client_reference_id")
    if not pk and str(data.get("transfer_group", "")).startswith("marketplace-payment-"):
        pk = data["transfer_group"].rsplit("-", 1)[-1]
    if not pk or not str(pk).isdigit():
        return None
    return Payment.objects.filter(pk=int(pk)).first()


@transaction.atomic
def stripe_event_process(*, event_pk: int) -> bool:
    """Apply one stored event. Safe to run twice, and in any order with the others."""
    event = StripeEvent.objects.select_for_update().get(pk=event_pk)
    if event.processed_at is not None:
        return False
    data = event.payload["data"]["object"]
    kind = event.type
    if kind == "account.updated":
        account = StripeAccount.objects.filter(account_id=data.get("id")).first()
        if account is not None:
            stripe_account_apply(account, data, at=event.created)
    elif kind == "payout.paid":
        _payout_paid(event)
    else:
        payment = _payment_for(data)
        if payment is not None:
            _payment_event(payment, event, data)
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at", "mismatch"])
    return True


PAID_SESSION_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


# The events `_payment_event` acts on (the others are only kept in the payment's history).
ACTING_EVENTS = (
    *PAID_SESSION_EVENTS,
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)


def _acts(event: StripeEvent) -> bool:
    return event.type in ACTING_EVENTS or event.type.startswith("transfer.")


def _event_mismatch(payment: Payment, event: StripeEvent, data: dict) -> dict[str, Any]:
    """What in an event does not match the payment it names. Any event sent for another
    connected account than the payment's is refused. Our sessions, payment intents and
    transfers are the platform's (destination charges), so the events that act on a payment
    carry no `account`: one sent for a connected account, even the payee's own, is about that
    account's own Checkout page naming our payment (it would mark it paid, or fail the attempt
    under way), and is refused too. An event that would pay is compared in full."""
    problems = {}
    if event.account and (event.account != payment.stripe_account or _acts(event)):
        problems["account"] = differs("", event.account)
    if event.type in PAID_SESSION_EVENTS and data.get("payment_status") == "paid":
        problems.update(session_mismatch(payment, data))
    elif event.type == "payment_intent.succeeded":
        problems.update(intent_mismatch(payment, data))
    elif event.type.startswith("transfer.") and data.get("object") == "transfer":
        # Recorded on the payment only when it is the transfer to the payment's supplier.
        if data.get("destination") != payment.stripe_account:
            problems["destination"] = differs(payment.stripe_account, data.get("destination"))
        if str(data.get("currency") or "").lower() != payment.currency.lower():
            problems["currency"] = differs(payment.currency.lower(), data.get("currency"))
    return problems


def _payment_event(payment: Payment, event: StripeEvent, data: dict) -> None:
    kind = event.type
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    problems = _event_mismatch(payment, event, data)
    if problems:
        event.mismatch = problems
        payment_mismatch(payment, problems, kind="webhook_mismatch", event=event.event_id,
                          type=kind)  # fmt: skip
        return
    if kind in PAID_SESSION_EVENTS:
        if data.get("payment_status") == "paid":
            _stripe_paid(payment, event, payment_intent=data.get("payment_intent") or "")
        else:
            payment_note(payment, kind, event=event.event_id)
    elif kind == "payment_intent.succeeded":
        _stripe_paid(payment, event, payment_intent=data.get("id") or "")
    elif kind == "payment_intent.payment_failed":
        error = data.get("last_payment_error") or {}
        # Only a failure of the attempt under way fails it (not a late one of an earlier try).
        current = (data.get("metadata") or {}).get("attempt") == str(payment.attempt)
        if payment.status == PStatus.PENDING and current:
            failed = payment_transition(
                payment, PStatus.FAILED, actor=None, kind="stripe_failed",
                event=event.event_id, code=error.get("code", ""),
            )  # fmt: skip
            failed.failure_message = (error.get("message") or error.get("code") or "")[:500]
            failed.save()
            payment_failed_notify(failed)
        else:  # late, or for an attempt already settled: history only
            payment_note(payment, "stripe_failed_ignored", event=event.event_id)
    elif kind == "checkout.session.expired":
        if payment.status == PStatus.PENDING and data.get("id") == payment.checkout_session_id:
            expired = payment_transition(
                payment, PStatus.DUE, actor=None, kind="checkout_expired", event=event.event_id
            )
            expired.save()
        elif payment.status == PStatus.FAILED and data.get("id") == payment.checkout_session_id:
            checkout_closed(payment, kind="checkout_expired", event=event.event_id)
        else:
            payment_note(payment, "checkout_expired_ignored", event=event.event_id)
    elif kind.startswith("transfer."):
        if kind == "transfer.created" and not payment.transfer_id:
            Payment.objects.filter(pk=payment.pk).update(transfer_id=data.get("id", ""))
        payment_note(payment, kind, event=event.event_id, transfer=data.get("id", ""))
    else:
        payment_note(payment, kind, event=event.event_id)


def _stripe_paid(payment: Payment, event: StripeEvent, *, payment_intent: str) -> None:
    if payment.status in (PStatus.DUE, PStatus.RECORDED, PStatus.DISPUTED):
        # Paid through a session the marketplace no longer waits for: keep it in the history
        # for the admins; a card holder must not pay twice.
        payment_note(payment, "stripe_paid_unexpected", event=event.event_id)
        logger.warning("Stripe says payment %s is paid while it is %s", payment.pk, payment.status)
        return
    paid = payment_paid(payment, actor=None, kind="stripe_paid", event=event.event_id)
    if payment_intent and not paid.payment_intent_id:
        Payment.objects.filter(pk=paid.pk).update(payment_intent_id=payment_intent)


def _payout_paid(event: StripeEvent) -> None:
    """A payout from the supplier's Stripe balance to their bank: the money of the payments it
    carried has arrived — those found in its balance transactions, never every paid payment of
    the account (a payout may carry some of them, and the others come in a later one)."""
    if not event.account:
        return
    payout_id = str(event.payload["data"]["object"].get("id") or "")
    groups = gateway.payout_transfer_groups(account_id=event.account, payout_id=payout_id)
    prefix = "marketplace-payment-"
    carried = {
        int(group.removeprefix(prefix))
        for group in groups
        if group.startswith(prefix) and group.removeprefix(prefix).isdigit()
    }
    arrived = timezone.now()
    for payment in Payment.objects.select_for_update().filter(
        pk__in=carried,
        stripe_account=event.account,
        status=PStatus.PAID,
        paid_out_at__isnull=True,
    ):
        payment.paid_out_at = arrived
        payment.save(update_fields=["paid_out_at", "updated_at"])
        payment_note(payment, "payout.paid", event=event.event_id)
