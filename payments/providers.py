"""The ways a card holder pays, behind one interface (DESIGN.md §7).

`payments.paying.payment_start` locks the payment, checks the guardrails, then hands over to
the chosen provider's `start`, inside the same transaction. Each provider carries on in its own
module (`payments.recorded`, `payments.checkout`), which this one sits above."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from django.utils.translation import gettext as _

from marketplace.models import User

from . import gateway
from .checkout import payment_checkout_begin
from .models import Payment, StripeAccount
from .recorded import payment_record


class PaymentProvider(Protocol):
    # Read-only, so a provider may name itself with its `Payment.Provider` member.
    @property
    def code(self) -> str: ...

    def unavailable_reason(self, payment: Payment) -> str:
        """Why this provider cannot pay this payment now; empty when it can."""

    # Called as start(payment=…, payer=…, **data), each provider naming the data it needs; the
    # open signature is the one a protocol can give that every provider's narrower one matches.
    def start(self, *args: Any, **data: Any) -> Payment:
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
        return payment_record(
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
        account = self._account(payment)
        # payment_start has just asked unavailable_reason, which requires the account.
        assert account is not None
        return payment_checkout_begin(payer=payer, payment=payment, account=account)


PROVIDERS: dict[str, PaymentProvider] = {
    provider.code: provider for provider in (RecordedCard(), StripeCheckout())
}
