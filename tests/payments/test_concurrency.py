"""Payments against real parts: concurrent pay attempts on PostgreSQL row locks, and Stripe's
webhooks processed by a real Celery worker."""

import json
import threading

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from marketplace.celery import app
from marketplace.models import Role
from payments import connect, paying
from payments.models import CardLimit, Payment, PaymentEvent, StripeEvent
from tests.builders import awarded_without_test_transaction, certify
from tests.factories import StaffFactory
from tests.support.fake_stripe import FakeStripe, sign
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _certified_payment() -> Payment:
    _opportunity, contract, _payment = certify(*awarded_without_test_transaction(bids=1))
    return Payment.objects.get(contract=contract)


def _holder(monthly_cents: int = 10_000_000):
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=monthly_cents
    )
    return holder


def _race(attempts):
    """Run the callables at the same moment, each on its own connection."""
    results = [None] * len(attempts)
    start = threading.Barrier(len(attempts))

    def run(index, attempt):
        start.wait()
        try:
            results[index] = ("ok", attempt())
        except ValidationError as refused:
            results[index] = ("refused", refused.messages)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _record(holder, payment):
    return lambda: paying.payment_start(
        payer=holder,
        payment=Payment.objects.get(pk=payment.pk),
        provider=Payment.Provider.RECORDED_CARD,
        amount_cents=payment.total_cents,
        paid_on=timezone.localdate(),
        reference=f"AUTH-{holder.pk}",
        method=Payment.Method.CARD_TERMINAL,
    )


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (run by `make test` with DATABASE_URL set)")


def test_card_holders_paying_at_once_make_exactly_one_payment():
    _needs_postgresql()
    payment = _certified_payment()
    holders = [_holder() for _ in range(6)]
    results = _race([_record(holder, payment) for holder in holders])
    outcomes = sorted(outcome for outcome, _detail in results)
    assert outcomes == ["ok"] + ["refused"] * 5
    for outcome, detail in results:
        if outcome == "refused":
            assert "nothing more to pay" in detail[0]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RECORDED
    assert PaymentEvent.objects.filter(payment=payment, kind="recorded").count() == 1


def test_one_card_holder_paying_two_invoices_at_once_stays_within_the_monthly_limit():
    _needs_postgresql()
    first, second = _certified_payment(), _certified_payment()
    holder = _holder(monthly_cents=first.total_cents + second.total_cents - 1)  # room for one
    results = _race([_record(holder, first), _record(holder, second)])
    assert sorted(outcome for outcome, _detail in results) == ["ok", "refused"]
    [(_outcome, messages)] = [r for r in results if r[0] == "refused"]
    assert "monthly limit" in messages[0]
    committed = Payment.objects.filter(payer=holder, status=Payment.Status.RECORDED)
    assert committed.count() == 1


@pytest.mark.worker
@pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (run by `make test` with REDIS_URL set)"
)
def test_stripe_webhooks_are_processed_by_a_real_worker(settings, client):
    payment = _certified_payment()
    holder = _holder()
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_worker"
        settings.STRIPE_WEBHOOK_SECRET = secret = "whsec_worker"
        settings.STRIPE_API_BASE = fake.url
        supplier = payment.contract.supplier
        account = connect.stripe_account_ensure(supplier=supplier)
        fake.complete_onboarding(account.account_id)
        connect.stripe_account_refresh(account)
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            paying.payment_start(payer=holder, payment=payment, provider=Payment.Provider.STRIPE)
            assert wait_for(lambda: Payment.objects.get(pk=payment.pk).checkout_session_id)
            payment.refresh_from_db()
            events = fake.pay(payment.checkout_session_id)
            for event in [*events, events[0]]:  # and a duplicate
                body = json.dumps(event).encode()
                response = client.post(
                    "/stripe/webhook/",
                    data=body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=sign(body, secret),
                )
                assert response.status_code == 200
            assert wait_for(
                lambda: StripeEvent.objects.filter(processed_at__isnull=False).count() == 3
            )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.events.filter(kind="stripe_paid").count() == 1
    assert fake.count("checkout.session") == 1
