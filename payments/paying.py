"""A payment from the invoice to the card holder's choice: issued when the work is certified,
paid through one provider (`payments.providers`) within the finance guardrails
(`payments.limits`), and reminded while it stays due.

How each provider carries on is its own module's: `payments.recorded` (paid outside, then
confirmed by the supplier) and `payments.checkout` (Stripe Checkout, settled by
`payments.webhooks` and `payments.reconciliation`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import notifications as notices
from marketplace.calendar import add_business_days
from marketplace.models import Role, User
from marketplace.selectors import users_with_role
from marketplace.services import audit_event_record, notification_send

from . import tax
from .history import payment_context
from .limits import payment_problems
from .models import Contract, Payment, PaymentEvent
from .providers import PROVIDERS

PStatus = Payment.Status


def card_holders_for(payment: Payment, *, holders: list[User] | None = None) -> list[User]:
    """Who may pay: active card holders (`holders` when the caller has them already), less
    the certifying buyer when duties are separated."""
    if holders is None:
        holders = list(users_with_role(Role.CARD_HOLDER))
    certifier = payment.contract.certified_by_id
    if settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER and certifier:
        return [holder for holder in holders if holder.pk != certifier]
    return holders


def payment_create(*, contract: Contract) -> Payment:
    """When the buyer certifies the work (in contract_certify's transaction): the invoice
    figures are fixed now, from the supplier's details recorded on the contract at
    certification, and the payment is due."""
    split = tax.split_tax_included(
        contract.value_cents,
        province=contract.supplier_province,
        registered=bool(contract.supplier_gst_hst_number),
    )
    today = timezone.localdate()
    payment = Payment.objects.create(
        contract=contract,
        invoice_number=f"MA-{today.year}-{contract.pk:05d}",
        issued_on=today,
        province=contract.supplier_province,
        gst_hst_number=contract.supplier_gst_hst_number,
        subtotal_cents=split.subtotal_cents,
        tax_label=split.label,
        tax_rate_bp=split.rate_bp,
        tax_cents=split.tax_cents,
        total_cents=split.total_cents,
        due_since=contract.certified_at or timezone.now(),
    )
    PaymentEvent.objects.create(payment=payment, kind="due", to_status=PStatus.DUE)
    audit_event_record(actor=None, verb="payment.due", target=payment)
    notification_send(
        kind="payment.due",
        recipients=card_holders_for(payment),
        event_key=str(payment.pk),
        context=payment_context(payment),
    )
    return payment


@transaction.atomic
def payment_start(*, payer: User, payment: Payment, provider: str, **data: Any) -> Payment:
    """The card holder pays through a provider (payments.providers), within the guardrails.

    The payment row is locked, then the card holder's limits, so a double click, a replayed
    request or two card holders at once give one payment, and limits hold under concurrency."""
    if provider not in PROVIDERS:
        raise ValidationError(_("Choose how to pay."))
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status not in (*Payment.OPEN, PStatus.DISPUTED) or (
        locked.status == PStatus.DISPUTED and provider != Payment.Provider.RECORDED_CARD
    ):
        raise ValidationError(
            _("This payment is already “%(status)s”: nothing more to pay.")
            % {"status": PStatus(locked.status).label}
        )
    locked = Payment.objects.select_related(
        "contract__supplier__supplier_profile", "contract__opportunity"
    ).get(pk=locked.pk)
    problems = payment_problems(locked, payer, lock=True)
    if problems:
        raise ValidationError(problems)
    chosen = PROVIDERS[provider]
    reason = chosen.unavailable_reason(locked)
    if reason:
        raise ValidationError(reason)
    return chosen.start(payment=locked, payer=payer, **data)


def payments_remind(*, now: dt.datetime | None = None) -> int:
    """Daily: card holders hear of every payment due for more than N business days."""
    now = now or timezone.now()
    reminded = 0
    holders = list(users_with_role(Role.CARD_HOLDER))
    for payment in Payment.objects.filter(status__in=Payment.OPEN).select_related(
        "contract__opportunity"
    ):
        if add_business_days(payment.due_since, settings.PAYMENT_REMINDER_BUSINESS_DAYS) > now:
            continue
        with transaction.atomic():
            notification_send(
                kind="payment.reminder",
                recipients=card_holders_for(payment, holders=holders),
                event_key=f"{payment.pk}:{timezone.localdate(now).isoformat()}",
                context=payment_context(payment, since=notices.moment(payment.due_since)),
            )
        reminded += 1
    return reminded
