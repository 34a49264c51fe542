"""Paying by card on Stripe Checkout: an attempt begins (`payment_checkout_begin`, through the
Stripe provider), a task makes its Checkout page, and every page the payment no longer waits
for is expired at Stripe. What Stripe says afterwards is `payments.webhooks`' and, when a
webhook is lost, `payments.reconciliation`'s.

Tasks are enqueued by name (`marketplace.jobs`): the task module imports this one, never the
other way round.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.jobs import enqueue_on_commit
from marketplace.models import User

from . import gateway
from .history import payment_note, payment_transition
from .models import Payment, StripeAccount
from .outcomes import differs, payment_failed_notify, payment_mismatch

PStatus = Payment.Status


def payment_checkout_begin(*, payer: User, payment: Payment, account: StripeAccount) -> Payment:
    """Stripe: called by the provider inside payment_start. The session is made by a task."""
    payment = payment_transition(payment, PStatus.PENDING, actor=payer, kind="checkout_started")
    payment.provider = Payment.Provider.STRIPE
    payment.payer = payer
    payment.started_at = payment.committed_at = timezone.now()
    payment.attempt += 1
    payment.stripe_account = account.account_id
    checkout_leave(payment, reason="new_attempt")  # the earlier attempt's page, if any
    payment.checkout_session_id = payment.checkout_url = payment.payment_intent_id = ""
    payment.failure_message = ""
    payment.save()
    enqueue_on_commit("payments.tasks.payment_checkout_create", payment.pk, payment.attempt)
    return payment


def payment_checkout_create(*, payment_id: int, attempt: int) -> Payment | None:
    """Task body: create the Checkout session for this attempt (idempotent: the key is the
    attempt's, so a retried task gets the same session back). Transient errors propagate
    for the task to retry; a refusal fails the payment."""
    payment = Payment.objects.select_related("contract__opportunity").get(pk=payment_id)
    if payment.status != PStatus.PENDING or payment.attempt != attempt:
        return None
    if payment.checkout_session_id:
        return payment
    site = settings.SITE_URL.rstrip("/")
    detail = site + reverse("payments:detail", args=[payment.pk])
    opportunity = payment.contract.opportunity
    try:
        session = gateway.checkout_create(
            payment=payment,
            name=f"{payment.invoice_number} — {opportunity.title_en}",
            success_url=site + reverse("payments:checkout_return", args=[payment.pk]),
            cancel_url=detail,
        )
    except gateway.TRANSIENT_ERRORS:
        raise  # the task retries with backoff
    except gateway.StripeError as error:  # refused: retrying would not help
        with transaction.atomic():
            failed = payment_transition(
                payment, PStatus.FAILED, actor=None, kind="checkout_refused",
                error=str(getattr(error, "user_message", "") or error),
            )  # fmt: skip
            failed.failure_message = str(getattr(error, "user_message", "") or error)[:500]
            failed.save()
            payment_failed_notify(failed)
        return failed
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PStatus.PENDING or locked.attempt != attempt:
            # Another attempt began (or the payment was recorded) while Stripe made this page:
            # nobody waits for it, and it must not stay payable.
            checkout_withdraw(locked, session["id"], reason="abandoned_attempt")
            return locked
        locked.checkout_session_id = session["id"]
        locked.checkout_url = session.get("url") or ""
        locked.payment_intent_id = session.get("payment_intent") or ""
        locked.save()
        payment_note(locked, "checkout_created", session=session["id"])
    return locked


# A session left behind, and what became of it (one of the latter per session, at most).
WITHDRAW_KIND = "checkout_withdraw"


WITHDRAWN_KINDS = ("checkout_withdrawn", "checkout_withdrawn_paid")


def checkout_leave(payment: Payment, *, reason: str) -> None:
    """The payment leaves its current Checkout session behind (a new attempt, a payment
    recorded outside Stripe): have it expired. Callers hold the payment's lock."""
    if payment.checkout_session_id:
        checkout_withdraw(payment, payment.checkout_session_id, reason=reason)


def checkout_withdraw(payment: Payment, session_id: str, *, reason: str) -> None:
    """Stripe keeps a Checkout page payable for up to 24 hours: one the marketplace no longer
    waits for is expired at Stripe by a task, once this transaction commits. The note keeps
    the session's id (the payment's own field is cleared) for the task, and for the sweeper
    in payments_reconcile should the task be lost."""
    if payment.events.filter(kind=WITHDRAW_KIND, data__session=session_id).exists():
        return
    payment_note(payment, WITHDRAW_KIND, session=session_id, reason=reason)
    enqueue_on_commit("payments.tasks.payment_checkout_expire", payment.pk, session_id)


def checkout_withdrawn(payment: Payment, session_id: str) -> bool:
    return payment.events.filter(kind__in=WITHDRAWN_KINDS, data__session=session_id).exists()


def payment_checkout_expire(*, payment_id: int, session_id: str) -> str:
    """Task body: expire a Checkout session the payment left behind. Idempotent: once the
    outcome is noted nothing is asked again, and the request's key is the session's, so a
    retry after an answer that never arrived replays it. Transient errors propagate for the
    task to retry. Stripe refuses to expire a session that is not open: it is then looked
    at, and a completed one means the card was charged on a page nobody waited for, which
    is reported as a webhook that does not match would be."""
    payment = Payment.objects.get(pk=payment_id)
    if checkout_withdrawn(payment, session_id):
        return "done"
    if session_id == payment.checkout_session_id:
        return "current"  # never the page of the attempt under way
    try:
        session = gateway.checkout_expire(session_id)
        outcome = "expired"
    except gateway.InvalidRequestError as refused:  # not open (or unknown): what is it now?
        try:
            session = gateway.checkout_retrieve(session_id)
        except gateway.InvalidRequestError:
            session = {"id": session_id, "status": "missing"}
        status = str(session.get("status") or "unknown")
        if status == "open":  # refused for another reason: not done, the sweeper asks again
            raise refused
        outcome = "already_expired" if status == "expired" else status
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment_id)
        if checkout_withdrawn(locked, session_id):
            return "done"
        if outcome == "complete":
            payment_mismatch(
                locked,
                {"session": differs(locked.checkout_session_id, session_id)},
                kind="checkout_withdrawn_paid",
                session=session_id,
                payment_status=str(session.get("payment_status") or ""),
            )
        else:
            payment_note(locked, "checkout_withdrawn", session=session_id, outcome=outcome)
    return outcome


def checkout_closed(payment: Payment, *, kind: str, **data: Any) -> None:
    """A declined attempt's Checkout page has expired: nothing can be paid on it any more, so
    it no longer holds the card holder's monthly limit (month_committed)."""
    Payment.objects.filter(pk=payment.pk).update(checkout_session_id="", checkout_url="")
    payment_note(payment, kind, **data)
