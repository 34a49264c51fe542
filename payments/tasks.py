"""Background work of payments: Checkout sessions, webhooks, reconciliation, reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypedDict

from celery import shared_task
from django.utils import timezone

from lifecycle import award
from marketplace.tasks import scheduled_job

from . import checkout, contracts, gateway, paying, reconciliation, recorded, webhooks


class _Retry(TypedDict):
    """The retry options of `shared_task`, typed so its overloads still match when spread."""

    autoretry_for: Sequence[type[BaseException]]
    retry_backoff: int
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int


# Only transient errors are retried (the stripe library has already retried network errors
# with the same idempotency key); a refusal fails the payment at once.
_RETRY: _Retry = {
    "autoretry_for": gateway.TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(acks_late=True, time_limit=120, soft_time_limit=90, **_RETRY)
def payment_checkout_create(payment_id: int, attempt: int) -> str:
    payment = checkout.payment_checkout_create(payment_id=payment_id, attempt=attempt)
    return payment.status if payment is not None else "skipped"


@shared_task(acks_late=True, time_limit=120, soft_time_limit=90, **_RETRY)
def payment_checkout_expire(payment_id: int, session_id: str) -> str:
    """Close at Stripe a Checkout page the payment left behind."""
    return checkout.payment_checkout_expire(payment_id=payment_id, session_id=session_id)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=90, **_RETRY)
def stripe_event_process(event_pk: int) -> bool:
    """A `payout.paid` asks Stripe which payments the payout carried: a transient failure
    there is tried again (the event stays unprocessed until then)."""
    return webhooks.stripe_event_process(event_pk=event_pk)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540, **_RETRY)
@scheduled_job
def payments_reconcile(now: str | None = None) -> int:
    return reconciliation.payments_reconcile(now=_moment(now))


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def payments_remind(now: str | None = None) -> int:
    return paying.payments_remind(now=_moment(now))


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def payments_flag_unconfirmed(now: str | None = None) -> int:
    return recorded.payments_flag_unconfirmed(now=_moment(now))


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def contracts_remind_overdue(now: str | None = None) -> int:
    return contracts.contracts_remind_overdue(now=_moment(now))


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def contracts_lapse_unaccepted(now: str | None = None) -> int:
    """Awards not accepted by their deadline pass to the next bid in rank."""
    return award.contracts_lapse_unaccepted(now=_moment(now))


def _moment(now: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(now) if now else timezone.now()
