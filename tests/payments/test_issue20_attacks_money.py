"""Issue 20, point 6 attacked: a hostile supplier with their own Stripe Connect account, and an
insider card holder, against the webhook comparisons and the monthly card limit.

Our Checkout sessions are the platform's (destination charges): every genuine event about a
payment's session, payment intent or transfer is a platform event, without `account`. What a
connected account sends is about its own objects, never our payment's, even the payee's own."""

import copy
import datetime as dt
import json
import time

import pytest
import stripe
from django.utils import timezone

from payments import gateway, limits, paying, reconciliation
from payments.models import CardLimit, Payment, StripeEvent
from tests.builders import certify
from tests.support import card_months
from tests.support.fake_stripe import sign
from tests.support.stripe_webhooks import (
    SECRET,
    assert_refused_and_recorded,
    assert_unchanged,
    genuine_events,
    post_event,
)

pytestmark = pytest.mark.django_db

PStatus = Payment.Status


@pytest.fixture(params=["eager", "lazy"])
def pending(request, fake):
    """A Stripe payment under way; "lazy": as Stripe API versions since 2022-08-01 do (and the
    one the library sends), the session has no payment intent until the card holder pays, so
    the payment knows none to compare with."""
    fake.eager_payment_intent = request.param == "eager"
    # The payment is started once the fake is set: the `pending` this overrides (in
    # tests/payments/conftest.py), which pytest gives a fixture that asks for its own name.
    return request.getfixturevalue("pending")


def _own_session(payment: Payment, account: str, *, amount: int, currency: str):
    """The payee's own Checkout page (a direct charge on their connected account), dressed up
    as our payment's current attempt: the metadata, the amount, the currency, and the funds
    going to the payee's account, all as the marketplace's own would have them."""
    metadata = {"payment_id": str(payment.pk), "attempt": str(payment.attempt)}
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": payment.invoice_number},
                },
            }
        ],
        payment_intent_data={
            "transfer_data": {"destination": account},
            "transfer_group": gateway.transfer_group(payment),
            "metadata": metadata,
        },
        metadata=metadata,
        client_reference_id=str(payment.pk),
        success_url="https://example.com/",
        stripe_account=account,
    )


def test_the_payees_own_connected_account_cannot_mark_the_payment_paid(
    fake, pending, ready_supplier, deliver
):
    """Every figure matches: only the account the event came from tells it is not ours."""
    session = _own_session(
        pending, ready_supplier.account_id, amount=pending.total_cents, currency="cad"
    )
    events = fake.pay(session.id)
    assert {event.get("account") for event in events} == {ready_supplier.account_id}
    assert not pending.payment_intent_id or fake.eager_payment_intent
    intent = next(e for e in events if e["type"] == "payment_intent.succeeded")
    deliver(intent)
    assert_unchanged(pending)
    assert_refused_and_recorded(pending, intent, {"account"})

    deliver(*genuine_events(fake, pending))
    pending.refresh_from_db()
    assert pending.status == PStatus.PAID


def test_the_payees_own_connected_account_cannot_fail_the_attempt_under_way(
    fake, pending, ready_supplier, deliver
):
    """Failing it would send the card holder to pay again while the first page is still open:
    paid twice, to the payee."""
    session = _own_session(
        pending, ready_supplier.account_id, amount=pending.total_cents, currency="cad"
    )
    [failed] = fake.pay(session.id, declined=True)
    assert failed["account"] == ready_supplier.account_id
    deliver(failed)
    assert_unchanged(pending)
    assert_refused_and_recorded(pending, failed, {"account"})


def test_an_event_without_an_account_is_still_compared(fake, pending, deliver):
    """`account` absent or null is the platform's own event: compared in full as ever."""
    _intent, completed, _transfer = genuine_events(fake, pending)
    forged = copy.deepcopy(completed)
    forged["id"] = "evt_null_account"
    forged["account"] = None
    forged["data"]["object"]["amount_total"] = str(pending.total_cents)  # a string, not cents
    deliver(forged)
    assert_unchanged(pending)
    assert "amount" in StripeEvent.objects.get(event_id="evt_null_account").mismatch


def test_a_signature_dated_ahead_is_refused_however_the_header_is_spaced(fake, pending, client):
    """The library reads the first `t=` exactly as written; a decoy ` t=` (with a space) ahead
    of it must not be the one the future check reads."""
    _intent, completed, _transfer = genuine_events(fake, pending)
    body = json.dumps(completed).encode()
    ahead = int(time.time()) + gateway.WEBHOOK_TOLERANCE_SECONDS + 600
    signed = sign(body, SECRET, timestamp=ahead)
    header = f" t={int(time.time())},{signed}"
    response = post_event(client, completed, payload=body, header=header)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert_unchanged(pending)


def test_a_declined_attempt_still_payable_holds_the_monthly_limit(
    fake, ready_supplier, certified, card_holder, deliver, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The insider: start a card attempt, let the card be declined (the limit is freed), spend
    the whole month's limit on other payments, then pay the first Checkout page, still open
    for 24 hours: the month would hold the limit and that payment over it."""
    _opportunity, _contract, payment = certified
    CardLimit.objects.filter(card_holder=card_holder).update(monthly_cents=300_000)
    other = card_months.another_due_payment(150_000, since=card_months.local(2027, 3, 1, 9, 0))

    card_months.now_is(monkeypatch, card_months.local(2027, 3, 10, 10, 0))
    with django_capture_on_commit_callbacks(execute=True):
        paying.payment_start(payer=card_holder, payment=payment, provider="stripe")
    payment.refresh_from_db()
    deliver(*fake.pay(payment.checkout_session_id, declined=True))
    payment.refresh_from_db()
    assert payment.status == PStatus.FAILED
    # The page can be paid:
    assert card_months.month_committed(card_holder, 2027, 3) == payment.total_cents

    card_months.now_is(monkeypatch, card_months.local(2027, 3, 10, 10, 5))
    with pytest.raises(Exception, match="already committed this month"):
        card_months.record_card_payment(card_holder, other)
    other.refresh_from_db()
    assert other.status == PStatus.DUE

    # Paid on that page after all: counted once, in March.
    deliver(*fake.pay(payment.checkout_session_id))
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID
    assert card_months.month_committed(card_holder, 2027, 3) == payment.total_cents


def test_a_declined_attempt_frees_the_limit_once_its_page_has_expired(
    fake, ready_supplier, certified, card_holder, deliver, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _opportunity, _contract, payment = certified
    CardLimit.objects.filter(card_holder=card_holder).update(monthly_cents=300_000)
    other = card_months.another_due_payment(150_000, since=card_months.local(2027, 3, 1, 9, 0))
    card_months.now_is(monkeypatch, card_months.local(2027, 3, 10, 10, 0))
    with django_capture_on_commit_callbacks(execute=True):
        paying.payment_start(payer=card_holder, payment=payment, provider="stripe")
    payment.refresh_from_db()
    session = payment.checkout_session_id
    deliver(*fake.pay(session, declined=True))
    deliver(*fake.expire(session))
    payment.refresh_from_db()
    assert payment.status == PStatus.FAILED and not payment.checkout_session_id
    assert card_months.month_committed(card_holder, 2027, 3) == 0
    card_months.now_is(monkeypatch, card_months.local(2027, 3, 11, 10, 5))
    assert card_months.record_card_payment(card_holder, other).status == PStatus.RECORDED


def test_reconciliation_frees_a_declined_attempt_whose_expiry_was_lost(
    fake, ready_supplier, certified, card_holder, deliver, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    with django_capture_on_commit_callbacks(execute=True):
        paying.payment_start(payer=card_holder, payment=payment, provider="stripe")
    payment.refresh_from_db()
    deliver(*fake.pay(payment.checkout_session_id, declined=True))
    fake.expire(payment.checkout_session_id)  # the event never arrives
    later = timezone.now() + dt.timedelta(days=2)
    reconciliation.payments_reconcile(now=later)
    payment.refresh_from_db()
    assert payment.status == PStatus.FAILED and not payment.checkout_session_id
    assert limits.month_committed(card_holder, moment=timezone.now()) == 0


def test_reconciliation_pays_a_declined_attempt_paid_after_all(
    fake, ready_supplier, certified, card_holder, deliver, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    with django_capture_on_commit_callbacks(execute=True):
        paying.payment_start(payer=card_holder, payment=payment, provider="stripe")
    payment.refresh_from_db()
    deliver(*fake.pay(payment.checkout_session_id, declined=True))
    fake.pay(payment.checkout_session_id)  # paid on the same page; the events are lost
    reconciliation.payments_reconcile(now=timezone.now() + dt.timedelta(days=2))
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID


def test_renaming_the_profile_after_certification_does_not_let_the_card_holder_pay_themselves(
    awarded, card_holder, client
):
    """The invoice names the supplier as certified: "Casey Cardholder". The supplier renames
    their profile afterwards; the card holder of that name still cannot pay that invoice."""
    from marketplace.models import SupplierProfile
    from payments import limits

    opportunity, contract = awarded
    SupplierProfile.objects.filter(user=contract.supplier).update(
        legal_name="Casey Cardholder", trading_name="", contact_name="Casey Cardholder"
    )
    _opportunity, contract, _payment = certify(opportunity, contract)
    SupplierProfile.objects.filter(user=contract.supplier).update(
        legal_name="Unrelated Widgets Inc.", contact_name="Pat Other"
    )
    payment = Payment.objects.get(contract=contract)
    assert payment.contract.supplier_legal_name == "Casey Cardholder"
    problems = limits.payment_problems(payment, card_holder)
    assert "You cannot pay this supplier: you belong to its organization." in problems
    with pytest.raises(Exception, match="you belong to its organization"):
        card_months.record_card_payment(card_holder, payment)
    payment.refresh_from_db()
    assert payment.status == PStatus.DUE


def test_the_payees_own_account_telling_of_its_side_of_the_payment_is_only_kept(
    fake, pending, ready_supplier, deliver
):
    """What Connect sends the payee's account about its share (an event that acts on nothing)
    is kept in the history, without an alarm to the program team."""
    event = fake.event(
        "charge.succeeded",
        {"id": "py_1", "object": "charge", "metadata": {"payment_id": str(pending.pk)}},
        account=ready_supplier.account_id,
    )
    deliver(event)
    assert_unchanged(pending)
    assert not StripeEvent.objects.get(event_id=event["id"]).mismatch
    assert pending.events.filter(kind="charge.succeeded").exists()
    assert not pending.events.filter(kind="webhook_mismatch").exists()
