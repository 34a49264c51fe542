"""What becomes of a payment attempt: paid (the money reached the supplier, however the
marketplace learnt it), failed (the card holder is told), or money Stripe reports that is not
this payment's as it stands (left as it is, reported to the people who can look at it).

Used by the flows that learn the outcome: `recorded` (the supplier confirms), `checkout`,
`webhooks` and `reconciliation` (Stripe says so). A payment settling completes the opportunity
(`opportunities.progress.opportunity_complete`): opportunities is below payments, so this stays
here rather than in a `lifecycle` module.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from marketplace.caching import public_pages_changed_on_commit
from marketplace.models import Role, User
from marketplace.selectors import users_with_role
from marketplace.services import audit_event_record, notification_send
from opportunities.models import Opportunity
from opportunities.progress import opportunity_complete

from .history import payment_context, payment_note, payment_transition
from .models import Payment

logger = logging.getLogger(__name__)

PStatus = Payment.Status


def payment_paid(payment: Payment, *, actor: User | None, kind: str, **data) -> Payment:
    """Money reached the supplier (Stripe said so, or the supplier confirmed): the opportunity
    is completed and everyone concerned is told. Idempotent: a paid payment stays as it is."""
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status == PStatus.PAID:
        payment_note(locked, f"{kind}_again", **data)
        return locked
    previous = locked.status
    locked = payment_transition(locked, PStatus.PAID, actor=actor, kind=kind, **data)
    if previous not in Payment.COMMITTED:  # a failed attempt paid after all: dated by its start
        locked.committed_at = locked.started_at or timezone.now()
    locked.paid_at = timezone.now()
    locked.save()
    opportunity = Opportunity.objects.select_for_update().get(pk=locked.contract.opportunity_id)
    if opportunity.status == Opportunity.Status.IN_DELIVERY:
        opportunity_complete(opportunity=opportunity, actor=actor)
        public_pages_changed_on_commit()  # the posting now reads "completed"
    recipients = [locked.contract.opportunity.buyer]
    if locked.payer is not None:
        recipients.append(locked.payer)
    notification_send(
        kind="payment.received",
        recipients=recipients,
        event_key=str(locked.pk),
        context=payment_context(locked),
    )
    if locked.provider == Payment.Provider.STRIPE:
        notification_send(
            kind="payment.sent",
            recipients=[locked.contract.supplier],
            event_key=str(locked.pk),
            context=payment_context(locked),
        )
    return locked


def payment_failed_notify(payment: Payment) -> None:
    payer = payment.payer
    if payer is None:
        return
    notification_send(
        kind="payment.failed",
        recipients=[payer],
        event_key=f"{payment.pk}:{payment.attempt}",
        context=payment_context(payment, reason=payment.failure_message),
    )


def differs(expected: Any, received: Any) -> dict[str, Any]:
    return {"expected": expected, "received": received}


def session_mismatch(payment: Payment, session: dict) -> dict[str, Any]:
    """What in a paid Checkout session does not match the payment: the amount, the currency
    and the session itself, which must be the current attempt's (an earlier attempt's, paid
    late, is not this payment's money as the card holder last asked for it)."""
    problems = {}
    if session.get("id") != payment.checkout_session_id:
        problems["session"] = differs(payment.checkout_session_id, session.get("id"))
    if session.get("amount_total") != payment.total_cents:
        problems["amount"] = differs(payment.total_cents, session.get("amount_total"))
    if str(session.get("currency") or "").lower() != payment.currency.lower():
        problems["currency"] = differs(payment.currency.lower(), session.get("currency"))
    return problems


def intent_mismatch(payment: Payment, intent: dict) -> dict[str, Any]:
    """What in a succeeded payment intent does not match the payment: the amount received,
    the currency, the connected account the funds go to, and the attempt."""
    problems = {}
    if payment.payment_intent_id and intent.get("id") != payment.payment_intent_id:
        problems["payment_intent"] = differs(payment.payment_intent_id, intent.get("id"))
    attempt = (intent.get("metadata") or {}).get("attempt")
    if attempt != str(payment.attempt):
        problems["attempt"] = differs(str(payment.attempt), attempt)
    received = intent.get("amount_received", intent.get("amount"))
    if received != payment.total_cents:
        problems["amount"] = differs(payment.total_cents, received)
    if str(intent.get("currency") or "").lower() != payment.currency.lower():
        problems["currency"] = differs(payment.currency.lower(), intent.get("currency"))
    destination = (intent.get("transfer_data") or {}).get("destination")
    if destination != payment.stripe_account:
        problems["destination"] = differs(payment.stripe_account, destination)
    return problems


def payment_mismatch(payment: Payment, problems: dict[str, Any], *, kind: str, **data: Any) -> None:
    """Stripe told of money that is not this payment's as it stands: the payment is left as it
    is, and the program admins and the card holder are told, to look at it in Stripe."""
    payment_note(payment, kind, problems=problems, **data)
    audit_event_record(
        actor=None, verb=f"payment.{kind}", target=payment, data={"problems": problems, **data}
    )
    logger.warning("Stripe %s for payment %s: %s", kind, payment.pk, sorted(problems))
    recipients = [*users_with_role(Role.PROGRAM_ADMIN), *([payment.payer] if payment.payer else [])]
    notification_send(
        kind="payment.webhook_mismatch",
        recipients=recipients,
        # Once a day per payment: every event is recorded, but a connected account sending
        # many cannot flood the program team's inboxes.
        event_key=f"{payment.pk}:{timezone.localdate().isoformat()}",
        context=payment_context(payment, differences=_mismatch_words(problems)),
    )


def _mismatch_words(problems: dict[str, Any]) -> dict[str, str]:
    """What differed, in each language (a notification's context is language-neutral)."""
    words = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels = dict.fromkeys(str(MISMATCH_LABELS.get(key, key)) for key in problems)
            words[code] = ", ".join(labels)
    return words


# What differed, as the people told read it (a list in their language).
MISMATCH_LABELS = {
    "account": gettext_lazy("the connected account"),
    "destination": gettext_lazy("the connected account"),
    "session": gettext_lazy("the Checkout session"),
    "payment_intent": gettext_lazy("the payment intent"),
    "attempt": gettext_lazy("the payment attempt"),
    "amount": gettext_lazy("the amount"),
    "currency": gettext_lazy("the currency"),
}
