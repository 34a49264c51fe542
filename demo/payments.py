"""Demo delivery and payment (seed_demo), on the three awards to supplier 4: one in progress,
one delivered and waiting for the buyer, one certified and paid by recorded acquisition card.
The demo card holder gets limits a micro-acquisition fits in."""

from __future__ import annotations

from django.utils import timezone

from marketplace.models import User
from payments import contracts, limits, paying, recorded
from payments.models import CardLimit, Contract, Payment

from .evaluation import DELIVERED_TITLE, PAID_TITLE


def seed_payments() -> None:
    card_holder = User.objects.get(email="cardholder@demo.gc.ca")
    if not CardLimit.objects.filter(card_holder=card_holder).exists():
        # The system sets the seeded limits, as a command would: a program administrator
        # changes them only with a second one's approval.
        limits.card_limit_set(
            actor=None, card_holder=card_holder,
            per_transaction_cents=1_000_000, monthly_cents=3_000_000,
        )  # fmt: skip
    for title in (DELIVERED_TITLE, PAID_TITLE):
        contract = Contract.objects.filter(
            opportunity__title_en=title, status=Contract.Status.IN_PROGRESS
        ).first()
        if contract is None:  # already seeded
            continue
        contract = contracts.contract_deliver(
            supplier=contract.supplier,
            contract=contract,
            url="https://example.org/esdc/demo/pull/42",
            notes="Done as described; the write-up is in the pull request.",
        )
        if title != PAID_TITLE:
            continue
        contract = contracts.contract_certify(
            buyer=contract.opportunity.buyer, contract=contract, confirmed=True
        )
        payment = paying.payment_start(
            payer=card_holder,
            payment=contract.payment,
            provider=Payment.Provider.RECORDED_CARD,
            amount_cents=contract.payment.total_cents,
            paid_on=timezone.localdate(),
            reference="AUTH-310785",
            method=Payment.Method.CARD_TERMINAL,
        )
        recorded.payment_confirm_receipt(supplier=contract.supplier, payment=payment)
