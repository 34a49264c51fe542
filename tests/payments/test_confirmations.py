"""Issue 23, "Check before you commit": certifying delivered work and recording a card payment
each go through a confirmation page (what will happen, the amounts and the recipient, one
button). The payment's details typed on the payment page are shown, then posted back hidden
with a digest of what was shown: a value changed on the way is refused, nothing recorded."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from marketplace import once
from marketplace.models import AuditEvent, Role
from payments import contracts
from payments.models import Contract, Payment
from tests.builders import awarded_without_test_transaction, card_holder, certify
from tests.factories import StaffFactory, SupplierProfileFactory
from tests.support.confirmations import text, twice_at_once, url

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "fr"]
PStatus = Payment.Status


def post_form(response) -> dict[str, str] | None:
    """The hidden fields (and a ticked box) of the page's form posting to its own address."""
    html = response.content.decode()
    path = response.wsgi_request.path
    for attrs, body in re.findall(r"<form([^>]*)>(.*?)</form>", html, re.S):
        action = re.search(r'action="([^"]*)"', attrs)
        if 'method="post"' in attrs and action and unescape(action.group(1)) == path:
            fields = {}
            for tag in re.findall(r"<input[^>]*>", body):
                name = re.search(r'name="([^"]+)"', tag)
                value = re.search(r'value="([^"]*)"', tag)
                if name and 'type="hidden"' in tag:
                    fields[name.group(1)] = unescape(value.group(1)) if value else ""
            return fields
    return None


def delivered(awarded) -> tuple:
    opportunity, contract = awarded
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/7", notes=""
    )
    return opportunity, contract


# --- Certify -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_buyer_reviews_what_certifying_does_before_certifying(client, awarded, language):
    opportunity, contract = delivered(awarded)
    client.force_login(opportunity.buyer)
    contract_page = client.get(url("payments:contract", contract.pk, language)).content.decode()
    address = url("payments:certify", contract.pk, language)
    assert f'href="{address}"' in contract_page and f'action="{address}"' not in contract_page
    response = client.get(address)
    assert response.status_code == 200
    shown = text(response)
    assert contract.supplier_name in shown
    assert ("2 000,00 $" if language == "fr" else "$2,000.00") in shown
    assert "https://x.dev/pull/7" in shown
    assert ("article 34" if language == "fr" else "section 34") in shown
    if language == "en":
        assert "Check before you certify the work" in shown
        assert "This cannot be undone" in shown
    form = post_form(response)
    assert form is not None and once.FIELD in form
    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.DELIVERED

    unticked = client.post(address, form)
    assert unticked.status_code == 400  # the statement must be ticked: shown again, nothing done
    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.DELIVERED
    done = client.post(address, {**form, "confirmed": "on"})
    assert done.status_code == 302
    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.ACCEPTED
    again = client.get(address)
    assert post_form(again) is None
    if language == "en":
        assert "already accepted and certified" in text(again)


def test_before_delivery_the_certify_page_offers_nothing(client, awarded):
    opportunity, contract = awarded
    client.force_login(opportunity.buyer)
    response = client.get(url("payments:certify", contract.pk))
    assert response.status_code == 200
    assert "once the supplier has delivered it" in text(response)
    assert post_form(response) is None


def test_the_certify_confirmation_is_the_buyers(client, awarded):
    _opportunity, contract = delivered(awarded)
    address = url("payments:certify", contract.pk)
    client.force_login(contract.supplier)  # a party, not the buyer
    assert client.get(address).status_code == 403
    for outsider in (StaffFactory(roles=[Role.BUYER]), SupplierProfileFactory().user):
        client.force_login(outsider)
        assert client.get(address).status_code == 404
    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.DELIVERED


def test_certify_posted_twice_certifies_once(client, awarded):
    opportunity, contract = delivered(awarded)
    client.force_login(opportunity.buyer)
    address = url("payments:certify", contract.pk)
    form = {**post_form(client.get(address)), "confirmed": "on"}
    first, second = client.post(address, form), client.post(address, form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert AuditEvent.objects.filter(verb="contract.certified").count() == 1
    assert Payment.objects.filter(contract=contract).count() == 1


# --- Record a payment ----------------------------------------------------------------------


def details(payment: Payment, language: str = "en", **overrides) -> dict[str, str]:
    total = f"{payment.total_cents / 100:.2f}"
    return {
        "amount": total.replace(".", ",") if language == "fr" else total,
        "paid_on": timezone.localdate().isoformat(),
        "method": Payment.Method.CARD_TERMINAL,
        "reference": "AUTH-482913",
        **overrides,
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_card_holder_sees_the_amount_and_recipient_before_recording(
    client, certified, card_holder, language
):
    _opportunity, contract, payment = certified
    client.force_login(card_holder)
    page = client.get(url("payments:detail", payment.pk, language)).content.decode()
    address = url("payments:record", payment.pk, language)
    # The payment page's form asks, by GET, for the confirmation: it records nothing.
    assert re.search(
        rf'<form[^>]*action="{re.escape(address)}"[^>]*method="get"', page
    ) or re.search(rf'<form[^>]*method="get"[^>]*action="{re.escape(address)}"', page)
    response = client.get(address, details(payment, language))
    assert response.status_code == 200, text(response)
    shown = text(response)
    assert contract.supplier_name in shown
    assert payment.invoice_number in shown
    assert "AUTH-482913" in shown
    money = "2 000,00 $" if language == "fr" else "$2,000.00"
    assert money in shown
    if language == "en":
        assert "Check before you record the payment" in shown
        assert "The supplier is asked to confirm they received it" in shown
    form = post_form(response)
    assert form is not None and form["reviewed"] and form["reference"] == "AUTH-482913"
    assert form["amount"] == details(payment, language)["amount"]  # as typed, French comma kept
    assert Payment.objects.get(pk=payment.pk).status == payment.status  # a GET

    done = client.post(address, form)
    assert done.status_code == 302
    recorded = Payment.objects.get(pk=payment.pk)
    assert recorded.status == PStatus.RECORDED and recorded.reference == "AUTH-482913"
    assert recorded.total_cents == payment.total_cents
    again = client.get(address, details(payment, language))
    assert post_form(again) is None


def test_details_the_service_would_refuse_are_shown_on_the_form_not_confirmed(
    client, certified, card_holder
):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    address = url("payments:record", payment.pk)
    response = client.get(address, details(payment, amount="1999.99", reference=" "))
    assert response.status_code == 400
    shown = text(response)
    assert "Record the invoice total" in shown
    assert post_form(response) is None  # no confirmation: the form again, with the values typed
    assert 'value="1999.99"' in response.content.decode()
    future = client.get(
        address, details(payment, paid_on=(timezone.localdate().replace(year=2999)).isoformat())
    )
    assert future.status_code == 400 and "cannot be in the future" in text(future)


@pytest.mark.parametrize(
    "field, value",
    [
        ("reference", "AUTH-999999"),
        ("amount", "1999.99"),
        ("method", "online_card"),
        ("paid_on", ""),
    ],
)
def test_a_value_changed_after_the_review_is_refused_and_nothing_recorded(
    client, certified, card_holder, field, value
):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    address = url("payments:record", payment.pk)
    form = post_form(client.get(address, details(payment)))
    form[field] = value
    response = client.post(address, form)
    assert response.status_code == 400
    assert Payment.objects.get(pk=payment.pk).status == payment.status
    assert not AuditEvent.objects.filter(verb="payment.recorded").exists()


def test_a_forged_digest_is_refused_with_a_clear_message(client, certified, card_holder):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    address = url("payments:record", payment.pk)
    form = post_form(client.get(address, details(payment)))
    form["reviewed"] = "f" * 64
    response = client.post(address, form)
    assert response.status_code == 400
    assert "These details are not the ones you reviewed" in text(response)
    assert Payment.objects.get(pk=payment.pk).status == payment.status


def test_the_record_confirmation_is_the_card_holders(client, certified, card_holder):
    opportunity, contract, payment = certified
    address = url("payments:record", payment.pk)
    for party in (opportunity.buyer, contract.supplier):  # see the payment, cannot record it
        client.force_login(party)
        assert client.get(address, details(payment)).status_code == 403
    for outsider in (StaffFactory(roles=[Role.BUYER]), SupplierProfileFactory().user):
        client.force_login(outsider)
        assert client.get(address, details(payment)).status_code == 404
    assert Payment.objects.get(pk=payment.pk).status == payment.status


def test_without_details_the_confirmation_sends_back_to_the_payment(client, certified, card_holder):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    response = client.get(url("payments:record", payment.pk))
    assert response.status_code == 302 and response["Location"] == url(
        "payments:detail", payment.pk
    )


def test_go_back_keeps_what_was_typed(client, certified, card_holder):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    typed = details(payment, reference="SLIP-7731")
    response = client.get(url("payments:record", payment.pk), typed)
    back = re.search(r'href="([^"]*)"[^>]*>Go back', response.content.decode()).group(1)
    page = client.get(unescape(back)).content.decode()
    assert 'value="SLIP-7731"' in page


# --- Sent twice at once (PostgreSQL's row locks, and SQLite's write lock) -------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("keyed", [True, False], ids=["same key", "no key"])
def test_a_payment_confirmed_twice_at_once_is_recorded_once(keyed):
    opportunity, contract = awarded_without_test_transaction(bids=2)
    _opportunity, _contract, payment = certify(opportunity, contract)
    holder = card_holder()
    first = Client()
    first.force_login(holder)
    address = url("payments:record", payment.pk)
    form = post_form(first.get(address, details(payment)))
    if not keyed:
        form.pop(once.FIELD)
    results = twice_at_once(first, address, form)
    for response in results:
        assert response is not None and response.status_code == 302, response
    assert results[0]["Location"] == results[1]["Location"]
    assert AuditEvent.objects.filter(verb="payment.recorded").count() == 1
    assert payment.events.filter(kind="recorded").count() == 1
