"""The Stripe fixtures the payment tests share: the local fake of the Stripe API, a supplier it
can pay, events delivered to our webhook as Stripe sends them, and a payment under way."""

import pytest

from payments import connect
from payments.models import Payment
from tests.support.fake_stripe import FakeStripe
from tests.support.stripe_webhooks import SECRET, post_event, start_checkout


@pytest.fixture
def fake(settings):
    """The fake Stripe API, with the settings pointing the `stripe` library at it."""
    with FakeStripe() as server:
        settings.STRIPE_SECRET_KEY = "sk_test_marketplace"
        settings.STRIPE_WEBHOOK_SECRET = SECRET
        settings.STRIPE_API_BASE = server.url
        yield server


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Post signed events to the webhook as Stripe would; the stored events are processed."""

    def run(*events):
        responses = []
        with django_capture_on_commit_callbacks(execute=True):
            for event in events:
                responses.append(post_event(client, event))
        assert [r.status_code for r in responses] == [200] * len(events)
        return responses

    return run


@pytest.fixture
def ready_supplier(fake, certified):
    """The awardee has onboarded a Stripe Express account that can be paid."""
    _opportunity, contract, _payment = certified
    account = connect.stripe_account_ensure(supplier=contract.supplier)
    fake.complete_onboarding(account.account_id)
    return connect.stripe_account_refresh(account)


@pytest.fixture
def pending(
    fake, ready_supplier, certified, card_holder, client, django_capture_on_commit_callbacks
):
    """A Stripe payment under way: the card holder is on the Checkout page of attempt 1."""
    _opportunity, _contract, payment = certified
    _response, payment = start_checkout(
        client, card_holder, payment, django_capture_on_commit_callbacks
    )
    client.logout()
    assert payment.status == Payment.Status.PENDING and payment.checkout_session_id
    return payment
