"""The ways a card holder pays, behind one interface (DESIGN.md §7).

`services.payment_start` locks the payment, checks the guardrails, then hands over to the
chosen provider's `start`, inside the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from django.utils.translation import gettext as _

from marketplace.models import User

from . import gateway, services
from .models import Payment, StripeAccount


class PaymentProvider(Protocol):
    code: str

    def unavailable_reason(self, payment: Payment) -> str:
        """Why this provider cannot pay this payment now; empty when it can."""

    def start(self, *, payment: Payment, payer: User, **data) -> Payment:
        """Move the (locked, checked) payment along; runs in payment_start's transaction."""


class RecordedCard:
    """The card holder pays outside (card terminal, online transfer) and records it; the
    supplier then confirms receipt."""

    code = Payment.Provider.RECORDED_CARD

    def unavailable_reason(self, payment: Payment) -> str:
        return ""

    def start(
        self, *, payment: Payment, payer: User, amount_cents: int, paid_on: dt.date,
        reference: str, method: str,
    ) -> Payment:  # fmt: skip
        return services.payment_record(
            payer=payer, payment=payment, amount_cents=amount_cents, paid_on=paid_on,
            reference=reference, method=method,
        )  # fmt: skip


class StripeCheckout:
    """The card holder pays by card on Stripe Checkout; the funds go to the supplier's
    connected account; webhooks say when it is paid."""

    code = Payment.Provider.STRIPE

    def _account(self, payment: Payment) -> StripeAccount | None:
        return StripeAccount.objects.filter(user_id=payment.contract.supplier_id).first()

    def unavailable_reason(self, payment: Payment) -> str:
        if not gateway.enabled():
            return _("Stripe is not set up on this marketplace.")
        account = self._account(payment)
        if account is None or not account.ready:
            return _("The supplier has not finished setting up Stripe payouts.")
        return ""

    def start(self, *, payment: Payment, payer: User) -> Payment:
        return services.payment_checkout_begin(
            payer=payer, payment=payment, account=self._account(payment)
        )


PROVIDERS: dict[str, PaymentProvider] = {
    provider.code: provider for provider in (RecordedCard(), StripeCheckout())
}
