"""A Checkout page the payment left behind is closed at Stripe (issue 20): when the card holder
starts a new attempt, or records a card payment made outside, the earlier page stays payable
for up to 24 hours, and paying there would pay the supplier twice. A task expires it after
commit; a page paid before the expiry arrives is noted and reported, not taken.

The Stripe API is the local fake (tests/support/fake_stripe.py) driven through the real
`stripe` library; webhooks are signed as Stripe signs them."""

import datetime as dt

import pytest
from celery.exceptions import Retry
from django.db.models import F
from django.utils import timezone

from marketplace.models import AuditEvent, Notification
from payments import checkout, gateway, paying, reconciliation, tasks
from payments.models import Payment, StripeEvent
from tests.support.card_months import record_card_payment
from tests.support.stripe_webhooks import start_checkout

pytestmark = pytest.mark.django_db

PStatus = Payment.Status


def _expiries(fake, session_id: str) -> list:
    return [r for r in fake.requests if r.path == f"/v1/checkout/sessions/{session_id}/expire"]


def _hold_expiries(monkeypatch) -> list:
    """The expiry task is on its way but has not run: its calls are kept, not sent."""
    held: list = []
    monkeypatch.setattr(
        tasks.payment_checkout_expire, "apply_async", lambda args=(), **_k: held.append(args)
    )
    return held


@pytest.fixture
def declined(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """Attempt 1 was declined: its page is still open, the card holder can pay on it."""
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    deliver(*fake.pay(payment.checkout_session_id, declined=True))
    payment.refresh_from_db()
    assert payment.status == PStatus.FAILED and payment.checkout_session_id
    assert fake.get("checkout.session", payment.checkout_session_id)["status"] == "open"
    return payment


def test_a_new_attempt_expires_the_earlier_page(
    fake, declined, card_holder, client, deliver, django_capture_on_commit_callbacks
):
    first = declined.checkout_session_id
    _response, payment = start_checkout(
        client, card_holder, declined, django_capture_on_commit_callbacks
    )
    assert payment.status == PStatus.PENDING and payment.attempt == 2
    assert payment.checkout_session_id not in ("", first)

    assert fake.get("checkout.session", first)["status"] == "expired"
    with pytest.raises(ValueError, match="expired"):
        fake.pay(first)  # the first page cannot be paid any more
    [request] = _expiries(fake, first)
    assert request.idempotency_key == f"marketplace-expire-{first}"
    [asked] = payment.events.filter(kind="checkout_withdraw")
    assert asked.data == {"session": first, "reason": "new_attempt"}
    [done] = payment.events.filter(kind="checkout_withdrawn")
    assert done.data == {"session": first, "outcome": "expired"}

    # Stripe tells of the expiry: history only, the attempt under way is untouched.
    [expired] = [e for e in fake.events if e["type"] == "checkout.session.expired"]
    assert expired["data"]["object"]["id"] == first
    deliver(expired)
    payment.refresh_from_db()
    assert payment.status == PStatus.PENDING and payment.attempt == 2
    assert payment.events.filter(kind="checkout_expired_ignored").exists()

    deliver(*fake.pay(payment.checkout_session_id))  # the current page pays, once
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID
    assert not Notification.objects.filter(kind="payment.webhook_mismatch").exists()


def test_a_page_stripe_expired_already_is_noted_and_nothing_is_reported(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    first = payment.checkout_session_id
    deliver(*fake.expire(first))  # 24 hours later: back to due
    payment.refresh_from_db()
    assert payment.status == PStatus.DUE

    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    assert payment.status == PStatus.PENDING and payment.attempt == 2
    assert len(_expiries(fake, first)) == 1  # refused by Stripe: not open
    [done] = payment.events.filter(kind="checkout_withdrawn")
    assert done.data == {"session": first, "outcome": "already_expired"}
    assert not Notification.objects.filter(kind="payment.webhook_mismatch").exists()


def test_recording_a_payment_made_outside_expires_the_open_page(
    fake, declined, card_holder, django_capture_on_commit_callbacks
):
    first = declined.checkout_session_id
    with django_capture_on_commit_callbacks(execute=True):
        payment = record_card_payment(card_holder, declined)
    payment.refresh_from_db()
    assert payment.status == PStatus.RECORDED
    assert payment.checkout_session_id == payment.checkout_url == ""
    assert fake.get("checkout.session", first)["status"] == "expired"
    assert payment.events.filter(kind="checkout_withdraw", data__reason="recorded").exists()
    assert payment.events.get(kind="checkout_withdrawn").data["outcome"] == "expired"
    with pytest.raises(ValueError, match="expired"):
        fake.pay(first)


def test_recording_with_no_page_open_asks_stripe_nothing(
    fake, ready_supplier, certified, card_holder, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    with django_capture_on_commit_callbacks(execute=True):
        record_card_payment(card_holder, payment)
    assert not [r for r in fake.requests if r.path.endswith("/expire")]
    assert not payment.events.filter(kind__startswith="checkout_withdraw").exists()


def test_a_page_paid_before_its_expiry_arrives_is_noted_and_reported(
    fake, declined, card_holder, program_admin, deliver, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    first = declined.checkout_session_id
    held = _hold_expiries(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        payment = record_card_payment(card_holder, declined)
    assert held == [(payment.pk, first)]
    late = fake.pay(first)  # the card is charged on the first page meanwhile

    outcome = tasks.payment_checkout_expire.apply(args=held[0]).get()  # the expiry arrives
    assert outcome == "complete"
    payment.refresh_from_db()
    assert payment.status == PStatus.RECORDED and payment.paid_at is None
    [note] = payment.events.filter(kind="checkout_withdrawn_paid")
    assert note.data["session"] == first and note.data["payment_status"] == "paid"
    assert set(note.data["problems"]) == {"session"}
    assert AuditEvent.objects.filter(
        verb="payment.checkout_withdrawn_paid", target_id=str(payment.pk)
    ).exists()
    told = Notification.objects.filter(kind="payment.webhook_mismatch")
    assert {n.recipient for n in told} >= {card_holder, program_admin}

    # Stripe's own events for that page are refused too: the payment is not paid by them.
    deliver(*late)
    payment.refresh_from_db()
    assert payment.status == PStatus.RECORDED
    completed = next(e for e in late if e["type"] == "checkout.session.completed")
    assert "session" in StripeEvent.objects.get(event_id=completed["id"]).mismatch

    # Run again (a retry, a sweep): nothing more is asked or recorded.
    asked = len(_expiries(fake, first))
    assert tasks.payment_checkout_expire.apply(args=held[0]).get() == "done"
    assert len(_expiries(fake, first)) == asked
    assert payment.events.filter(kind="checkout_withdrawn_paid").count() == 1


def test_the_task_retried_expires_the_page_once(
    fake, declined, card_holder, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    first = declined.checkout_session_id
    held = _hold_expiries(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        payment = record_card_payment(card_holder, declined)

    # Stripe expires the page but its answer never arrives: the task is to be retried.
    fake.fail_next(1, status="timeout", stall=5)
    with pytest.raises(gateway.TRANSIENT_ERRORS):
        checkout.payment_checkout_expire(payment_id=payment.pk, session_id=held[0][1])
    assert fake.get("checkout.session", first)["status"] == "expired"
    assert not payment.events.filter(kind="checkout_withdrawn").exists()

    # The retry replays the first answer (same key) rather than being refused; the next
    # run finds the outcome noted and asks nothing.
    assert tasks.payment_checkout_expire.apply(args=held[0]).get() == "expired"
    assert tasks.payment_checkout_expire.apply(args=held[0]).get() == "done"
    requests = _expiries(fake, first)
    assert len(requests) == 2
    assert {r.idempotency_key for r in requests} == {f"marketplace-expire-{first}"}
    assert payment.events.get(kind="checkout_withdrawn").data["outcome"] == "expired"
    expired = [e for e in fake.events if e["type"] == "checkout.session.expired"]
    assert [e["data"]["object"]["id"] for e in expired] == [first]


def test_a_server_error_is_retried_by_the_task(fake, declined, card_holder, monkeypatch, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    first = declined.checkout_session_id
    held = _hold_expiries(monkeypatch)
    record_card_payment(card_holder, declined)  # on_commit never runs in this test's transaction
    payment = Payment.objects.get(pk=declined.pk)
    assert payment.events.filter(kind="checkout_withdraw").exists()
    fake.fail_next(1, status=500)
    with pytest.raises(Retry):  # a transient error: Celery retries it, with backoff
        tasks.payment_checkout_expire.apply(args=(payment.pk, first)).get()
    assert fake.get("checkout.session", first)["status"] == "open"
    assert not payment.events.filter(kind="checkout_withdrawn").exists()
    assert tasks.payment_checkout_expire.apply(args=(payment.pk, first)).get() == "expired"
    assert fake.get("checkout.session", first)["status"] == "expired"
    assert held == []


def test_a_session_made_for_an_attempt_left_meanwhile_is_expired(
    fake, ready_supplier, certified, card_holder, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """Another attempt began while Stripe was making this one's page: nobody waits for it."""
    _opportunity, _contract, payment = certified
    monkeypatch.setattr(tasks.payment_checkout_create, "apply_async", lambda *a, **k: None)
    paying.payment_start(payer=card_holder, payment=payment, provider="stripe")
    made = gateway.checkout_create

    def slow(**kwargs):
        session = made(**kwargs)
        Payment.objects.filter(pk=payment.pk).update(attempt=F("attempt") + 1)
        return session

    monkeypatch.setattr(gateway, "checkout_create", slow)
    with django_capture_on_commit_callbacks(execute=True):
        checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    payment.refresh_from_db()
    [session] = fake.objects("checkout.session")
    assert payment.checkout_session_id == "" and session["status"] != "open"
    assert fake.get("checkout.session", session["id"])["status"] == "expired"
    assert payment.events.get(kind="checkout_withdraw").data["reason"] == "abandoned_attempt"


def test_the_reconciliation_expires_a_page_whose_task_was_lost(
    fake, declined, card_holder, client, monkeypatch, django_capture_on_commit_callbacks
):
    first = declined.checkout_session_id
    held = _hold_expiries(monkeypatch)  # the broker lost it
    _response, payment = start_checkout(
        client, card_holder, declined, django_capture_on_commit_callbacks
    )
    assert held and fake.get("checkout.session", first)["status"] == "open"
    monkeypatch.undo()

    later = timezone.now() + dt.timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation.payments_reconcile(now=later)
    assert fake.get("checkout.session", first)["status"] == "expired"
    assert payment.events.get(kind="checkout_withdrawn").data["session"] == first

    # Once done, the next sweeps leave it.
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation.payments_reconcile(now=later + dt.timedelta(minutes=30))
    assert len(_expiries(fake, first)) == 1
