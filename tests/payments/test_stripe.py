"""Stripe Connect and Checkout through the real `stripe` library, against a local fake of the
Stripe API (tests/support/fake_stripe.py), with webhook payloads signed in the test."""

import datetime as dt
import json
import time

import pytest
import stripe
from celery.exceptions import Retry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Notification
from opportunities.models import Opportunity
from payments import checkout, paying, tasks
from payments.models import Payment, StripeAccount, StripeEvent
from tests import builders
from tests.support.fake_stripe import sign
from tests.support.stripe_webhooks import SECRET, WEBHOOK, post_event, start_checkout

pytestmark = pytest.mark.django_db

PStatus = Payment.Status


def test_the_supplier_onboards_a_connect_express_account(
    fake, certified, client, django_capture_on_commit_callbacks
):
    _opportunity, contract, _payment = certified
    supplier = contract.supplier
    client.force_login(supplier)
    profile = client.get(reverse("marketplace:supplier_profile")).content.decode()
    assert "Set up Stripe payouts" in profile
    first = client.post(reverse("payments:stripe_onboard"))
    second = client.post(reverse("payments:stripe_onboard"))  # a double click
    account = StripeAccount.objects.get(user=supplier)
    assert first["Location"].startswith(f"{fake.url}/onboarding/{account.account_id}")
    assert second.status_code == 302 and fake.count("account") == 1
    created = fake.get("account", account.account_id)
    assert created["type"] == "express" and created["country"] == "CA"
    assert created["email"] == supplier.supplier_profile.email

    client.get(reverse("payments:stripe_return"))  # back from Stripe, not finished yet
    account.refresh_from_db()
    assert not account.ready
    assert (
        "Finish setting up Stripe"
        in client.get(reverse("marketplace:supplier_profile")).content.decode()
    )
    refreshed = client.get(reverse("payments:stripe_refresh"))  # the link expired
    assert refreshed["Location"].startswith(f"{fake.url}/onboarding/")

    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, fake.complete_onboarding(account.account_id)).status_code == 200
    account.refresh_from_db()
    assert account.ready and account.charges_enabled


def test_without_stripe_configured_there_is_no_stripe_anywhere(certified, card_holder, client):
    _opportunity, contract, payment = certified
    client.force_login(contract.supplier)
    assert "Stripe" not in client.get(reverse("marketplace:supplier_profile")).content.decode()
    client.post(reverse("payments:stripe_onboard"))
    assert not StripeAccount.objects.exists()
    client.force_login(card_holder)
    assert (
        "Pay $2,000.00 by card"
        not in client.get(reverse("payments:detail", args=[payment.pk])).content.decode()
    )
    response = client.post(reverse("payments:checkout", args=[payment.pk]), follow=True)
    assert "Stripe is not set up" in response.content.decode()
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json").status_code == 400
    payment.refresh_from_db()
    assert payment.status == PStatus.DUE


def test_a_supplier_not_onboarded_cannot_be_paid_through_stripe(
    fake, certified, card_holder, client, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    assert payment.status == PStatus.DUE and fake.count("checkout.session") == 0
    page = client.get(response["Location"]).content.decode()
    assert "has not finished setting up Stripe payouts" in page


def test_the_card_holder_pays_through_checkout_and_the_webhooks_complete_it(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    opportunity, contract, payment = certified
    response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    assert payment.status == PStatus.PENDING and payment.provider == Payment.Provider.STRIPE
    session = fake.get("checkout.session", payment.checkout_session_id)
    assert session["amount_total"] == payment.total_cents == 200_000
    assert session["currency"] == "cad"
    assert session["metadata"]["payment_id"] == str(payment.pk)
    intent = fake.get("payment_intent", payment.payment_intent_id)
    assert intent["transfer_data"]["destination"] == ready_supplier.account_id
    [create] = [r for r in fake.requests if r.path == "/v1/checkout/sessions"]
    assert create.idempotency_key == f"marketplace-payment-{payment.pk}-attempt-1-checkout"
    page = client.get(response["Location"]).content.decode()
    assert "Continue to the secure payment page" in page and session["url"] in page
    assert client.get(reverse("payments:checkout_return", args=[payment.pk])).status_code == 302

    mail.outbox.clear()
    events = fake.pay(payment.checkout_session_id)
    assert [e["type"] for e in events] == [
        "payment_intent.succeeded",
        "checkout.session.completed",
        "transfer.created",
    ]
    deliver(*events)
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID and payment.paid_at
    assert payment.transfer_id == events[2]["data"]["object"]["id"]
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.COMPLETED
    assert {m.to[0] for m in mail.outbox} == {
        contract.supplier.email,
        opportunity.buyer.email,
        card_holder.email,
    }
    assert (
        payment.events.filter(to_status=PStatus.PAID).exclude(from_status=PStatus.PAID).count() == 1
    )

    deliver(fake.payout(ready_supplier.account_id, 200_000))
    payment.refresh_from_db()
    assert payment.paid_out_at is not None


def test_a_bad_signature_is_refused_and_changes_nothing(
    fake, ready_supplier, certified, card_holder, client, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    [succeeded, *_rest] = fake.pay(payment.checkout_session_id)
    body = json.dumps(succeeded).encode()
    tampered = body.replace(b'"succeeded"', b'"succeeded" ', 1)
    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            post_event(client, succeeded, secret="whsec_someone_else"),
            post_event(client, succeeded, payload=tampered, header=sign(body, SECRET)),
            post_event(client, succeeded, header=""),
            post_event(client, succeeded, payload=b"not json", header=sign(b"not json", SECRET)),
            post_event(
                client, succeeded, header=sign(body, SECRET, timestamp=1_000_000_000)
            ),  # old
        ]
    assert [r.status_code for r in responses] == [400] * 5
    assert not StripeEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == PStatus.PENDING


def test_a_duplicate_event_is_processed_once(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    succeeded = fake.pay(payment.checkout_session_id)[0]
    deliver(succeeded, succeeded, succeeded)
    assert StripeEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID
    assert payment.events.filter(kind="stripe_paid").count() == 1
    assert Notification.objects.filter(kind="payment.sent").count() == 1
    assert tasks.stripe_event_process(StripeEvent.objects.get().pk) is False  # already done


def test_events_out_of_order_end_in_the_right_state(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    [declined] = fake.pay(payment.checkout_session_id, declined=True)  # first card refused
    paid = fake.pay(payment.checkout_session_id)  # second card accepted
    deliver(paid[2], paid[1], paid[0], declined)  # transfer first, the decline last
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID
    assert payment.transfer_id == paid[2]["data"]["object"]["id"]
    assert payment.events.filter(kind="stripe_failed_ignored").count() == 1

    # An older account.updated arriving after a newer one does not undo it.
    account = ready_supplier
    newer = fake.event("account.updated", {**fake.get("account", account.account_id)})
    older = json.loads(json.dumps(newer))
    older["id"] = "evt_older"
    older["created"] = newer["created"] - 60
    older["data"]["object"].update(charges_enabled=False, payouts_enabled=False)
    deliver(newer, older)
    account.refresh_from_db()
    assert account.ready


def test_a_declined_card_fails_the_payment_and_the_card_holder_tries_again(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    mail.outbox.clear()
    deliver(*fake.pay(payment.checkout_session_id, declined=True))
    payment.refresh_from_db()
    assert payment.status == PStatus.FAILED
    assert payment.failure_message == "Your card was declined."
    [told] = mail.outbox
    assert told.to == [card_holder.email] and "Your card was declined." in told.body
    page = client.get(reverse("payments:detail", args=[payment.pk])).content.decode()
    assert "Your card was declined." in page and "Pay $2,000.00 by card" in page

    first_session = payment.checkout_session_id
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    assert payment.status == PStatus.PENDING and payment.attempt == 2
    assert fake.count("checkout.session") == 2  # a new attempt, a new key, a new session
    # The first page is closed at Stripe (test_checkout_expire); a failure on it sent late
    # does not fail the attempt under way.
    first = fake.get("checkout.session", first_session)
    assert first["status"] == "expired"
    intent = fake.get("payment_intent", first["payment_intent"])
    deliver(fake.event("payment_intent.payment_failed", {**intent, "status": "canceled"}))
    payment.refresh_from_db()
    assert payment.status == PStatus.PENDING  # does not fail the attempt under way
    deliver(*fake.pay(payment.checkout_session_id))
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID


def test_network_errors_are_retried_with_the_same_idempotency_key(
    fake, ready_supplier, certified, card_holder
):
    _opportunity, _contract, payment = certified
    paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    fake.fail_next(1, status="drop")
    fake.fail_next(1, status=500)
    payment = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    assert payment.checkout_session_id and fake.count("checkout.session") == 1
    keys = {r.idempotency_key for r in fake.requests if r.path == "/v1/checkout/sessions"}
    attempts = [r for r in fake.requests if r.path == "/v1/checkout/sessions"]
    assert len(attempts) >= 2 and keys == {f"{payment.idempotency_prefix}-checkout"}


def test_an_answer_that_never_arrives_is_retried_and_makes_one_session(
    fake, ready_supplier, certified, card_holder, settings
):
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    _opportunity, _contract, payment = certified
    paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    # Stripe makes the session but its answer comes after the library stopped waiting.
    fake.fail_next(1, status="timeout", stall=10)
    started = time.monotonic()
    payment = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    assert time.monotonic() - started < 8  # it stopped waiting after STRIPE_TIMEOUT_SECONDS
    [session] = fake.objects("checkout.session")
    assert payment.checkout_session_id == session["id"]
    attempts = [r for r in fake.requests if r.path == "/v1/checkout/sessions"]
    assert len(attempts) == 2  # the retry is answered from the first one's idempotency key
    assert {r.idempotency_key for r in attempts} == {f"{payment.idempotency_prefix}-checkout"}


def test_a_longer_outage_leaves_the_payment_pending_for_the_task_to_retry(
    fake, ready_supplier, certified, card_holder, settings
):
    _opportunity, _contract, payment = certified
    paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    # Down for the first call and the library's own retries of it.
    fake.fail_next(1 + settings.STRIPE_MAX_NETWORK_RETRIES, status=503)
    with pytest.raises(stripe.APIError):  # transient: the task's autoretry takes it
        checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    payment.refresh_from_db()
    assert payment.status == PStatus.PENDING and not payment.checkout_session_id
    assert fake.count("checkout.session") == 0
    payment = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    assert payment.checkout_session_id and fake.count("checkout.session") == 1


def test_a_refusal_fails_the_payment_at_once(
    fake, ready_supplier, certified, card_holder, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    with django_capture_on_commit_callbacks(execute=False):
        paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    Payment.objects.filter(pk=payment.pk).update(stripe_account="acct_unknown")
    payment = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    assert payment.status == PStatus.FAILED and "acct_unknown" in payment.failure_message
    assert fake.count("checkout.session") == 0


def test_the_same_idempotency_key_twice_gives_one_session(
    fake, ready_supplier, certified, card_holder
):
    """A worker that dies after Stripe made the session but before it was saved: the retry
    gets the same session back."""
    _opportunity, _contract, payment = certified
    paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    first = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    Payment.objects.filter(pk=payment.pk).update(checkout_session_id="", checkout_url="")
    second = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    assert second.checkout_session_id == first.checkout_session_id
    assert fake.count("checkout.session") == 1 and fake.count("payment_intent") == 1


def test_a_double_clicked_pay_button_starts_one_checkout(
    fake, ready_supplier, certified, card_holder, client, django_capture_on_commit_callbacks
):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("payments:checkout", args=[payment.pk]))
        again = client.post(reverse("payments:checkout", args=[payment.pk]), follow=True)
    assert "nothing more to pay" in again.content.decode()
    payment.refresh_from_db()
    assert payment.attempt == 1 and fake.count("checkout.session") == 1


def test_reconciliation_settles_payments_whose_webhooks_were_lost(
    fake, ready_supplier, certified, card_holder
):
    _opportunity, _contract, payment = certified
    paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    payment = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    fake.pay(payment.checkout_session_id)  # Stripe's events never arrive
    soon = payment.started_at + dt.timedelta(minutes=1)
    assert tasks.payments_reconcile(now=soon.isoformat()) == 0  # too early to ask
    later = payment.started_at + dt.timedelta(minutes=30)
    assert tasks.payments_reconcile(now=later.isoformat()) == 1
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID
    assert payment.events.filter(kind="reconciled_paid").count() == 1


def test_reconciliation_returns_an_expired_session_to_due(
    fake, ready_supplier, certified, card_holder
):
    _opportunity, _contract, payment = certified
    paying.payment_start(payer=card_holder, payment=payment, provider=Payment.Provider.STRIPE)
    payment = checkout.payment_checkout_create(payment_id=payment.pk, attempt=1)
    fake.expire(payment.checkout_session_id)
    tasks.payments_reconcile(now=(timezone.now() + dt.timedelta(hours=25)).isoformat())
    payment.refresh_from_db()
    assert payment.status == PStatus.DUE


def test_stripe_unreachable_during_onboarding_is_explained(fake, certified, client, settings):
    _opportunity, contract, _payment = certified
    client.force_login(contract.supplier)
    fake.fail_next(1 + settings.STRIPE_MAX_NETWORK_RETRIES, status=503)
    response = client.post(reverse("payments:stripe_onboard"), follow=True)
    assert response.status_code == 200
    assert "Stripe could not be reached" in response.content.decode()
    assert not StripeAccount.objects.exists()


def test_a_payout_marks_the_payments_it_carried_and_no_others(
    fake, ready_supplier, certified, card_holder, client, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """A payout carries some of an account's balance: the payments found in its balance
    transactions are paid out, the others wait for the payout that carries them."""
    _opportunity, _contract, first = certified
    _response, first = start_checkout(
        client, card_holder, first, django_capture_on_commit_callbacks
    )
    deliver(*fake.pay(first.checkout_session_id))
    first.refresh_from_db()
    assert first.status == PStatus.PAID and first.transfer_id
    # Two more payments of the same account, paid (their transfers arrived in its balance).
    account = ready_supplier.account_id
    second, third = (builders.payment_due()[2] for _ in range(2))
    Payment.objects.filter(pk__in=[second.pk, third.pk]).update(
        status=PStatus.PAID, stripe_account=account, provider=Payment.Provider.STRIPE
    )
    transfers = {
        payment.pk: fake.transfer(
            account, payment.total_cents, transfer_group=f"marketplace-payment-{payment.pk}"
        )
        for payment in (second, third)
    }

    payout = fake.payout(account, 400_000, transfers=[first.transfer_id, transfers[second.pk]])
    deliver(payout)
    deliver(payout)  # Stripe sends it again: nothing more
    out = dict(Payment.objects.filter(stripe_account=account).values_list("pk", "paid_out_at"))
    assert out[first.pk] is not None and out[second.pk] is not None
    assert out[third.pk] is None
    assert fake.requests[-1].params["payout"] == payout["data"]["object"]["id"]

    deliver(fake.payout(account, 200_000))  # the rest of the balance: the third payment
    assert Payment.objects.get(pk=third.pk).paid_out_at is not None
    assert Payment.objects.get(pk=first.pk).paid_out_at == out[first.pk]  # not moved again


def test_a_payout_for_an_account_with_no_payment_of_ours_changes_nothing(
    fake, ready_supplier, certified, deliver
):
    _opportunity, _contract, payment = certified
    Payment.objects.filter(pk=payment.pk).update(
        status=PStatus.PAID, stripe_account=ready_supplier.account_id
    )
    fake.transfer(ready_supplier.account_id, 5_000, transfer_group="someone-else-42")
    deliver(fake.payout(ready_supplier.account_id, 5_000))
    assert Payment.objects.get(pk=payment.pk).paid_out_at is None


def test_stripe_failing_while_a_payout_is_read_leaves_the_event_to_a_retry(
    fake, ready_supplier, certified, deliver
):
    _opportunity, _contract, payment = certified
    Payment.objects.filter(pk=payment.pk).update(
        status=PStatus.PAID, stripe_account=ready_supplier.account_id
    )
    fake.transfer(
        ready_supplier.account_id, 5_000, transfer_group=f"marketplace-payment-{payment.pk}"
    )
    fake.fail_next(3)  # the first try and the library's two retries
    event = fake.payout(ready_supplier.account_id, 5_000)
    with pytest.raises(Retry):  # Celery schedules the task again
        deliver(event)
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.processed_at is None
    assert Payment.objects.get(pk=payment.pk).paid_out_at is None
    assert tasks.stripe_event_process(stored.pk) is True  # Stripe answers again
    assert Payment.objects.get(pk=payment.pk).paid_out_at is not None
