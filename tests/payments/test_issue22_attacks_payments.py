"""Issue 22 attacked, payments' side: the checkout's tasks, enqueued by name, run; two card
holders pressing "Pay by card" at the same moment start one Checkout (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from marketplace.models import Role
from payments import connect, paying
from payments.models import CardLimit, Payment, PaymentEvent
from tests.builders import awarded_without_test_transaction, certify
from tests.factories import StaffFactory
from tests.support.fake_stripe import FakeStripe
from tests.support.jobs import RanByName
from tests.support.stripe_webhooks import start_checkout


@pytest.mark.django_db
def test_the_checkout_tasks_named_by_the_payment_run(
    monkeypatch, fake, ready_supplier, certified, card_holder, client,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    ran = RanByName(monkeypatch)
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    assert "payments.tasks.payment_checkout_create" in ran.names()
    assert payment.checkout_session_id and fake.count("checkout.session") == 1


@pytest.mark.django_db(transaction=True)
def test_two_card_holders_starting_checkout_at_once_start_one(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (run by `make test` with DATABASE_URL set)")
    _opportunity, contract, payment = certify(*awarded_without_test_transaction(bids=1))
    holders = []
    for _ in range(2):
        holder = StaffFactory(roles=[Role.CARD_HOLDER])
        CardLimit.objects.create(
            card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=10_000_000
        )
        holders.append(holder)
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_race"
        settings.STRIPE_WEBHOOK_SECRET = "whsec_race"
        settings.STRIPE_API_BASE = fake.url
        account = connect.stripe_account_ensure(supplier=contract.supplier)
        fake.complete_onboarding(account.account_id)
        connect.stripe_account_refresh(account)
        results: list[tuple[str, object]] = [("missing", None)] * 2
        start = threading.Barrier(2)

        def pay(index: int) -> None:
            start.wait()
            try:
                paying.payment_start(
                    payer=holders[index],
                    payment=Payment.objects.get(pk=payment.pk),
                    provider=Payment.Provider.STRIPE,
                )
                results[index] = ("ok", None)
            except ValidationError as refused:
                results[index] = ("refused", refused.messages)
            except Exception as error:  # what the test is looking for
                results[index] = ("error", repr(error))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=pay, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(r[0] for r in results) == ["ok", "refused"], results
        assert "nothing more to pay" in next(r for r in results if r[0] == "refused")[1][0]
        payment.refresh_from_db()
        assert payment.status == Payment.Status.PENDING and payment.attempt == 1
        assert PaymentEvent.objects.filter(payment=payment, kind="checkout_started").count() == 1
        assert fake.count("checkout.session") == 1
