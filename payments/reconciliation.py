"""Asking Stripe when a webhook may have been lost: payments pending for too long, declined
attempts whose Checkout page may still be open, and pages left behind whose expiry task was
lost. What Stripe answers is applied as the webhooks would have (`payments.outcomes`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from marketplace.jobs import enqueue_on_commit

from . import gateway
from .checkout import WITHDRAW_KIND, checkout_closed, checkout_withdrawn
from .history import payment_transition
from .models import Payment, PaymentEvent
from .outcomes import intent_mismatch, payment_mismatch, payment_paid, session_mismatch

PStatus = Payment.Status


def payments_reconcile(*, now: dt.datetime | None = None) -> int:
    """Ask Stripe about payments pending for too long, and about declined attempts whose
    Checkout page may still be open: a webhook may have been lost."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    checked = 0
    # A page lives 24 hours at most: a declined attempt is asked about once it must be over.
    declined = Q(status=PStatus.FAILED, provider=Payment.Provider.STRIPE) & ~Q(
        checkout_session_id=""
    )
    declined &= Q(started_at__lt=cutoff - dt.timedelta(hours=24))
    for payment in Payment.objects.filter(
        Q(status=PStatus.PENDING, started_at__lt=cutoff) | declined
    ):
        checked += 1
        if not payment.checkout_session_id:  # the task was lost: make the session again
            enqueue_on_commit("payments.tasks.payment_checkout_create", payment.pk, payment.attempt)
            continue
        session = gateway.checkout_retrieve(payment.checkout_session_id)
        paid = session.get("payment_status") == "paid"
        # The same comparison as the webhooks': a paid session is this payment's only if its
        # amount, currency and connected account (on its payment intent) are the payment's.
        intent_id = session.get("payment_intent") if paid else None
        intent = gateway.payment_intent_retrieve(intent_id) if intent_id else {}
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.status not in (PStatus.PENDING, PStatus.FAILED) or (
                locked.checkout_session_id != payment.checkout_session_id
            ):
                continue
            problems = (
                {**session_mismatch(locked, session), **intent_mismatch(locked, intent)}
                if paid
                else {}
            )
            if problems:
                seen = locked.events.filter(kind="reconcile_mismatch", data__session=session["id"])
                if not seen.exists():  # told once, not at every run
                    payment_mismatch(
                        locked, problems, kind="reconcile_mismatch", session=session["id"]
                    )
            elif paid:
                payment_paid(locked, actor=None, kind="reconciled_paid", session=session["id"])
            elif session.get("status") == "expired" and locked.status == PStatus.FAILED:
                checkout_closed(locked, kind="reconciled_expired", session=session["id"])
            elif session.get("status") == "expired":
                payment_transition(
                    locked, PStatus.DUE, actor=None, kind="reconciled_expired",
                    session=session["id"],
                ).save()  # fmt: skip
    _checkouts_withdraw_lost(now=now, cutoff=cutoff)
    return checked


def _checkouts_withdraw_lost(*, now: dt.datetime, cutoff: dt.datetime) -> None:
    """Sessions left behind whose expiry task was lost (a broker down): asked again. After
    a day and a half Stripe has closed them itself, and the late payment, if any, has come
    through the webhooks."""
    asked = PaymentEvent.objects.filter(
        kind=WITHDRAW_KIND, created_at__lt=cutoff, created_at__gte=now - dt.timedelta(hours=36)
    ).select_related("payment")
    for note in asked:
        session_id = str(note.data.get("session") or "")
        if session_id and not checkout_withdrawn(note.payment, session_id):
            enqueue_on_commit("payments.tasks.payment_checkout_expire", note.payment_id, session_id)
