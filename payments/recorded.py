"""Paying with the acquisition card outside the marketplace (a card terminal, an online
transfer): the card holder records the payment (through the recorded-card provider), the
supplier confirms receipt or reports it missing, and a record left unconfirmed for too long
becomes disputed."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketplace import formats
from marketplace import notifications as notices
from marketplace.calendar import add_business_days
from marketplace.models import Role, User
from marketplace.selectors import users_with_role
from marketplace.services import notification_send

from . import permissions
from .checkout import checkout_leave
from .history import payment_context, payment_transition
from .models import Payment
from .outcomes import payment_paid

PStatus = Payment.Status


def payment_record_problems(
    payment: Payment, *, amount_cents: int, paid_on: dt.date, reference: str
) -> dict[str, str]:
    """What is wrong with a payment to record, by field: the confirmation page asks before it
    shows anything to confirm, and `payment_record` refuses the same."""
    errors = {}
    if amount_cents != payment.total_cents:
        errors["amount"] = _("Record the invoice total, %(total)s.") % {
            "total": formats.money(payment.total_cents)
        }
    if paid_on > timezone.localdate():
        errors["paid_on"] = _("The date cannot be in the future.")
    elif paid_on < timezone.localdate(payment.due_since):
        errors["paid_on"] = _("The date cannot be before the work was certified.")
    if not reference.strip():
        errors["reference"] = _("Give the reference of the card payment or transfer.")
    return errors


def payment_record(
    *, payer: User, payment: Payment, amount_cents: int, paid_on: dt.date, reference: str,
    method: str,
) -> Payment:  # fmt: skip
    """Recorded acquisition card: called by the provider inside payment_start."""
    errors = payment_record_problems(
        payment, amount_cents=amount_cents, paid_on=paid_on, reference=reference
    )
    if errors:
        raise ValidationError(errors)
    # A correction of a disputed record keeps the month the money was first committed in.
    committed_before = payment.status in Payment.COMMITTED and payment.committed_at
    payment = payment_transition(
        payment, PStatus.RECORDED, actor=payer, kind="recorded",
        amount_cents=amount_cents, paid_on=paid_on.isoformat(), reference=reference.strip(),
        method=method,
    )  # fmt: skip
    now = timezone.now()
    payment.provider = Payment.Provider.RECORDED_CARD
    payment.payer = payer
    payment.started_at = payment.started_at or now
    # Not `started_at`, which may be an earlier month's failed card attempt.
    payment.committed_at = committed_before or now
    payment.recorded_at = now
    payment.paid_on = paid_on
    payment.reference = reference.strip()
    payment.method = method
    # A declined card attempt's page is still payable: paid there too, the supplier would be
    # paid twice. Its id goes to the task that expires it; a late payment on it no longer
    # matches the payment (session_mismatch), so it is reported, not taken.
    checkout_leave(payment, reason="recorded")
    payment.checkout_session_id = payment.checkout_url = ""
    payment.save()
    notification_send(
        kind="payment.recorded",
        recipients=[payment.contract.supplier],
        event_key=f"{payment.pk}:{now.timestamp()}",
        context=payment_context(payment, reference=payment.reference, paid_on=notices.day(paid_on)),
    )
    return payment


@transaction.atomic
def payment_confirm_receipt(*, supplier: User, payment: Payment) -> Payment:
    if not permissions.is_contract_supplier(supplier, payment.contract):
        raise PermissionDenied
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status == PStatus.PAID and locked.confirmed_at is not None:
        return locked  # confirmed already (a double click): nothing more to record
    if locked.status not in (PStatus.RECORDED, PStatus.DISPUTED):
        raise ValidationError(_("There is no recorded payment to confirm."))
    paid = payment_paid(locked, actor=supplier, kind="receipt_confirmed")
    paid.confirmed_at = timezone.now()
    paid.save()
    return paid


@transaction.atomic
def payment_report_missing(*, supplier: User, payment: Payment, reason: str) -> Payment:
    """The supplier says the recorded payment did not arrive."""
    if not permissions.is_contract_supplier(supplier, payment.contract):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Say what is wrong with the recorded payment.")})
    return _payment_dispute(payment, actor=supplier, reason=reason.strip())


def _payment_dispute(payment: Payment, *, actor: User | None, reason: str) -> Payment:
    payment = payment_transition(
        payment, PStatus.DISPUTED, actor=actor, kind="disputed", reason=reason
    )
    payment.disputed_at = timezone.now()
    payment.dispute_reason = reason
    payment.save()
    admins = users_with_role(Role.PROGRAM_ADMIN)
    payer = payment.payer
    recipients = [*admins, *([payer] if payer is not None else [])]
    notification_send(
        kind="payment.disputed",
        recipients=recipients,
        event_key=f"{payment.pk}:{payment.disputed_at.timestamp()}",
        context=payment_context(payment, reason=reason),
    )
    return payment


def payments_flag_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Recorded payments the supplier has not confirmed in time become disputed."""
    now = now or timezone.now()
    flagged = 0
    candidates = Payment.objects.filter(status=PStatus.RECORDED).values_list("pk", "recorded_at")
    for pk, recorded_at in candidates:
        # Recording a payment is the one way into this status, and it stamps `recorded_at`.
        assert recorded_at is not None
        deadline = add_business_days(recorded_at, settings.PAYMENT_CONFIRMATION_BUSINESS_DAYS)
        if deadline > now:
            continue
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=pk)
            if payment.status != PStatus.RECORDED:
                continue
            with translation.override(settings.LANGUAGE_CODE):
                reason = _(
                    "The supplier did not confirm receipt within %(days)s business days."
                ) % {"days": settings.PAYMENT_CONFIRMATION_BUSINESS_DAYS}
            _payment_dispute(payment, actor=None, reason=reason)
            flagged += 1
    return flagged
