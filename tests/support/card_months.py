"""Card payments in a given month, for the tests of the monthly card limit: the clock set to a
moment, a second payment due from the same card holder, a card payment recorded, and the money
the limit counts as committed in a month."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bids.models import Bid
from payments import limits, paying
from payments.models import Contract, Payment
from tests.factories import OpportunityFactory, SupplierProfileFactory


def now_is(monkeypatch, moment: dt.datetime) -> None:
    """`timezone.now()` answers `moment` for the rest of the test."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)


def local(year, month, day, hour, minute) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def another_due_payment(cents: int, *, since: dt.datetime) -> Payment:
    """A payment of `cents` due since `since`, on a contract made with the factories."""
    opportunity = OpportunityFactory()
    supplier = SupplierProfileFactory().user
    bid = Bid.objects.create(opportunity=opportunity, supplier=supplier)
    contract = Contract.objects.create(
        opportunity=opportunity, bid=bid, supplier=supplier, value_cents=cents
    )
    return Payment.objects.create(
        contract=contract, invoice_number=f"MA-T-{contract.pk}", issued_on=since.date(),
        province="ON", subtotal_cents=cents, total_cents=cents, due_since=since,
    )  # fmt: skip


def record_card_payment(payer, payment):
    """The card holder records the whole amount as paid today on the card terminal."""
    return paying.payment_start(
        payer=payer, payment=payment, provider=Payment.Provider.RECORDED_CARD,
        amount_cents=payment.total_cents, paid_on=timezone.localdate(), reference="AUTH-9",
        method=Payment.Method.CARD_TERMINAL,
    )  # fmt: skip


def month_committed(card_holder, year, month) -> int:
    """The cents the monthly limit counts as committed by `card_holder` in that month."""
    return limits.month_committed(card_holder, moment=local(year, month, 15, 12, 0))
