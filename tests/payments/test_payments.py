"""Payment by recorded acquisition card, the finance guardrails, invoices and oversight."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Approval, AuditEvent, Notification, Role
from opportunities.models import Guardrails, Opportunity
from payments import contracts, fiscal, paying, recorded, tasks
from payments.models import CardLimit, Contract, Payment, PaymentEvent
from tests.builders import certify
from tests.factories import StaffFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db

PStatus = Payment.Status


def _record(client, payment, **overrides):
    data = {
        "amount": f"{payment.total_cents / 100:.2f}",
        "paid_on": timezone.localdate().isoformat(),
        "method": Payment.Method.CARD_TERMINAL,
        "reference": "AUTH-482913",
        **overrides,
    }
    return client.post(reverse("payments:record", args=[payment.pk]), data)


def _start(payer, payment, **overrides):
    data = {
        "amount_cents": payment.total_cents,
        "paid_on": timezone.localdate(),
        "reference": "AUTH-1",
        "method": Payment.Method.CARD_TERMINAL,
        **overrides,
    }
    return paying.payment_start(
        payer=payer, payment=payment, provider=Payment.Provider.RECORDED_CARD, **data
    )


def test_certification_makes_the_payment_due_and_tells_the_card_holders(
    awarded, card_holder, django_capture_on_commit_callbacks
):
    opportunity, contract = awarded
    buyer_and_holder = opportunity.buyer
    buyer_and_holder.role_grants.create(role=Role.CARD_HOLDER)
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.example/pr/1", notes=""
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        contracts.contract_certify(buyer=opportunity.buyer, contract=contract, confirmed=True)
    payment = Payment.objects.get(contract=contract)
    assert payment.status == PStatus.DUE
    assert payment.total_cents == opportunity.value_cents == payment.subtotal_cents
    assert payment.tax_cents == 0  # the supplier gave no GST/HST number
    assert payment.invoice_number.startswith("MA-")
    due = [m for m in mail.outbox if m.subject.startswith("Payment due")]
    # The certifying buyer is a card holder too, but may not pay for it: not told.
    assert [m.to for m in due] == [[card_holder.email]]
    assert list(payment.events.values_list("kind", flat=True)) == ["due"]


def test_a_registered_supplier_invoice_shows_the_hst_of_their_province(awarded):
    opportunity, contract = awarded
    profile = contract.supplier.supplier_profile
    profile.province, profile.gst_hst_number = "NS", "123456789RT0001"
    profile.save()
    _opportunity, contract, _payment = certify(opportunity, contract)
    payment = Payment.objects.get(contract=contract)
    assert (payment.tax_label, payment.tax_rate_bp) == ("HST", 1400)
    assert payment.subtotal_cents + payment.tax_cents == payment.total_cents == 200_000
    assert payment.subtotal_cents == 175_439  # 200,000 / 1.14, to the cent


def test_recorded_card_payment_from_record_to_confirmed_receipt(
    certified, card_holder, client, django_capture_on_commit_callbacks
):
    opportunity, contract, payment = certified
    supplier = contract.supplier
    client.force_login(card_holder)
    page = client.get(reverse("payments:detail", args=[payment.pk]))
    assert page.status_code == 200 and b"Review the payment" in page.content

    wrong = _record(client, payment, amount="1999.99")
    assert wrong.status_code == 400 and b"Record the invoice total, $2,000.00." in wrong.content
    future = _record(client, payment, paid_on=(timezone.localdate() + dt.timedelta(days=2)))
    assert future.status_code == 400 and b"cannot be in the future" in future.content
    assert _record(client, payment, reference="").status_code == 400
    payment.refresh_from_db()
    assert payment.status == PStatus.DUE and payment.events.count() == 1  # nothing written

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = _record(client, payment)
        again = _record(client, payment)  # a double click, or the form posted twice
    assert done.status_code == again.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PStatus.RECORDED and payment.payer == card_holder
    assert payment.events.filter(kind="recorded").count() == 1
    [recorded] = [m for m in mail.outbox if m.to == [supplier.email]]
    assert "AUTH-482913" in recorded.body and "$2,000.00" in recorded.body
    followed = client.get(again["Location"])
    assert "nothing more to pay" in followed.content.decode()

    client.force_login(supplier)
    page = client.get(reverse("payments:detail", args=[payment.pk]))
    assert b"I received $2,000.00" in page.content
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("payments:confirm", args=[payment.pk]))
        client.post(reverse("payments:confirm", args=[payment.pk]))  # replayed
    payment.refresh_from_db()
    assert payment.status == PStatus.PAID and payment.confirmed_at and payment.paid_at
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.COMPLETED
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [opportunity.buyer.email, card_holder.email]
    )
    assert list(payment.events.values_list("kind", "to_status")) == [
        ("due", "due"),
        ("recorded", "recorded"),
        ("receipt_confirmed", "paid"),
    ]
    assert AuditEvent.objects.filter(verb="opportunity.completed").exists()


def test_a_missing_payment_is_disputed_then_corrected(
    certified, card_holder, program_admin, client, django_capture_on_commit_callbacks
):
    _opportunity, contract, payment = certified
    _start(card_holder, payment)
    client.force_login(contract.supplier)
    url = reverse("payments:report_missing", args=[payment.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"reason": "Nothing arrived on my card statement."})
    payment.refresh_from_db()
    assert payment.status == PStatus.DISPUTED
    told = sorted(m.to[0] for m in mail.outbox)
    assert told == sorted([program_admin.email, card_holder.email])
    assert "Nothing arrived" in mail.outbox[0].body
    payment = _start(card_holder, payment, reference="AUTH-2")  # corrected
    assert payment.status == PStatus.RECORDED and payment.reference == "AUTH-2"
    paid = recorded.payment_confirm_receipt(supplier=contract.supplier, payment=payment)
    assert paid.status == PStatus.PAID


def test_an_unconfirmed_payment_is_flagged_after_the_confirmation_period(
    certified, card_holder, program_admin, settings
):
    _opportunity, _contract, payment = certified
    payment = _start(card_holder, payment)
    recorded = payment.recorded_at
    days = settings.PAYMENT_CONFIRMATION_BUSINESS_DAYS
    from marketplace.calendar import add_business_days

    deadline = add_business_days(recorded, days)
    assert (
        tasks.payments_flag_unconfirmed(now=(deadline - dt.timedelta(minutes=1)).isoformat()) == 0
    )
    assert (
        tasks.payments_flag_unconfirmed(now=(deadline + dt.timedelta(minutes=1)).isoformat()) == 1
    )
    assert tasks.payments_flag_unconfirmed(now=(deadline + dt.timedelta(days=1)).isoformat()) == 0
    payment.refresh_from_db()
    assert payment.status == PStatus.DISPUTED
    assert "did not confirm" in payment.dispute_reason
    assert Notification.objects.filter(kind="payment.disputed", recipient=program_admin).exists()


def test_card_holders_are_reminded_of_a_payment_due_for_two_business_days(
    certified, card_holder, settings
):
    _opportunity, _contract, payment = certified
    from marketplace.calendar import add_business_days

    due_for = add_business_days(payment.due_since, settings.PAYMENT_REMINDER_BUSINESS_DAYS)
    assert tasks.payments_remind(now=(due_for - dt.timedelta(hours=1)).isoformat()) == 0
    first = due_for + dt.timedelta(hours=1)
    assert tasks.payments_remind(now=first.isoformat()) == 1
    # The same local day, then the next one — whatever the hour the suite runs at.
    end_of_day = timezone.localtime(first).replace(hour=23, minute=59)
    tasks.payments_remind(now=end_of_day.isoformat())
    reminders = Notification.objects.filter(kind="payment.reminder", recipient=card_holder)
    assert reminders.count() == 1
    tasks.payments_remind(now=(end_of_day + dt.timedelta(minutes=2)).isoformat())  # next day
    assert reminders.count() == 2
    _start(card_holder, payment)
    assert tasks.payments_remind(now=(due_for + dt.timedelta(days=2)).isoformat()) == 0


# --- Guardrails ------------------------------------------------------------------------------


def _refused(payer, payment, match, **overrides):
    with pytest.raises(ValidationError, match=match):
        _start(payer, payment, **overrides)
    payment.refresh_from_db()
    assert payment.status == PStatus.DUE and payment.payer is None


def test_only_a_card_holder_pays(certified):
    _opportunity, _contract, payment = certified
    _refused(StaffFactory(roles=[Role.BUYER]), payment, "Only a card holder can pay")


def test_the_certifying_buyer_cannot_also_pay_unless_the_setting_allows_it(certified, settings):
    opportunity, _contract, payment = certified
    buyer = opportunity.buyer
    buyer.role_grants.create(role=Role.CARD_HOLDER)
    CardLimit.objects.create(card_holder=buyer, per_transaction_cents=10**6, monthly_cents=10**7)
    _refused(buyer, payment, "You certified this work")
    settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER = False
    assert _start(buyer, payment).status == PStatus.RECORDED


def test_a_card_holder_cannot_pay_their_own_organization(certified):
    _opportunity, contract, payment = certified
    colleague = StaffFactory(roles=[Role.CARD_HOLDER])
    CardLimit.objects.create(
        card_holder=colleague, per_transaction_cents=10**6, monthly_cents=10**7
    )
    profile = contract.supplier.supplier_profile
    profile.email = f"billing@{colleague.email.split('@')[1]}"  # same organization's domain
    profile.save()
    _refused(colleague, payment, "you belong to its organization")


def test_the_total_must_fit_the_program_cap(certified, card_holder):
    _opportunity, _contract, payment = certified
    Guardrails.objects.update_or_create(pk=1, defaults={"value_cap_cents": 150_000})
    _refused(card_holder, payment, r"over the program cap of \$1,500.00")


def test_a_card_holder_without_limits_cannot_pay(certified, card_holder):
    _opportunity, _contract, payment = certified
    card_holder.card_limit.delete()
    _refused(card_holder, payment, "Your card limits are not set")


def test_the_single_purchase_limit_holds(certified, card_holder):
    _opportunity, _contract, payment = certified
    CardLimit.objects.filter(card_holder=card_holder).update(per_transaction_cents=199_999)
    _refused(card_holder, payment, r"over your single-purchase limit of \$1,999.99")


def test_the_monthly_limit_counts_what_the_card_holder_already_committed(certified, card_holder):
    _opportunity, _contract, payment = certified
    CardLimit.objects.filter(card_holder=card_holder).update(monthly_cents=300_000)
    earlier = Payment.objects.create(
        contract=_another_contract(),
        invoice_number="MA-TEST-1",
        issued_on=timezone.localdate(),
        province="ON",
        subtotal_cents=150_000,
        total_cents=150_000,
        due_since=timezone.now(),
        status=PStatus.RECORDED,
        payer=card_holder,
        started_at=timezone.now(),
        committed_at=timezone.now(),
    )
    _refused(card_holder, payment, r"\$1,500.00 already committed this month")
    Payment.objects.filter(pk=earlier.pk).update(
        committed_at=timezone.now() - dt.timedelta(days=40)
    )
    assert _start(card_holder, payment).status == PStatus.RECORDED


def _another_contract() -> Contract:
    from tests.factories import OpportunityFactory

    other = OpportunityFactory()
    from bids.models import Bid

    supplier = SupplierProfileFactory().user
    bid = Bid.objects.create(opportunity=other, supplier=supplier)
    return Contract.objects.create(
        opportunity=other, bid=bid, supplier=supplier, value_cents=150_000
    )


def test_the_payment_page_explains_why_a_card_holder_cannot_pay(certified, card_holder, client):
    _opportunity, _contract, payment = certified
    card_holder.card_limit.delete()
    client.force_login(card_holder)
    page = client.get(reverse("payments:detail", args=[payment.pk])).content.decode()
    assert "You cannot pay this invoice" in page and "Your card limits are not set" in page
    assert "Record the payment" not in page


@pytest.fixture
def low_threshold(settings):
    settings.SUPPLIER_FISCAL_YEAR_FLAG_CENTS = 100_000


def test_awards_over_the_fiscal_year_threshold_are_flagged_to_the_admins(
    low_threshold, program_admin, awarded, client
):
    _opportunity, contract = awarded
    flag = Notification.objects.get(kind="supplier.fiscal_year_threshold")
    assert flag.recipient == program_admin
    assert AuditEvent.objects.filter(verb="supplier.fiscal_year_threshold").count() == 1
    client.force_login(program_admin)
    page = client.get(reverse("payments:oversight")).content.decode()
    assert contract.supplier.supplier_profile.display_name in page
    assert "$2,000.00" in page


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (dt.date(2027, 3, 31), dt.date(2026, 4, 1)),
        (dt.date(2027, 4, 1), dt.date(2027, 4, 1)),
        (dt.date(2026, 11, 22), dt.date(2026, 4, 1)),
        (dt.date(2027, 1, 1), dt.date(2026, 4, 1)),
    ],
)
def test_the_fiscal_year_runs_april_to_march(day, start):
    assert fiscal.fiscal_year_start(day) == start


# --- Pages, permissions and the ledger -------------------------------------------------------


def test_only_the_parties_card_holders_and_admins_see_a_payment(certified, card_holder, client):
    opportunity, contract, payment = certified
    urls = [
        reverse(name, args=[payment.pk])
        for name in ("payments:detail", "payments:invoice", "payments:invoice_pdf")
    ]
    outsiders = [SupplierProfileFactory().user, StaffFactory(roles=[Role.BUYER])]
    for outsider in outsiders:
        client.force_login(outsider)
        for url in urls:
            assert client.get(url).status_code == 404
        assert client.post(reverse("payments:confirm", args=[payment.pk])).status_code == 404
        assert client.post(_record_url(payment), {}).status_code == 404
    for insider in (contract.supplier, opportunity.buyer, card_holder):
        client.force_login(insider)
        for url in urls:
            assert client.get(url).status_code == 200
    client.force_login(card_holder)  # a card holder may read the contract of a payment
    assert client.get(reverse("payments:contract", args=[contract.pk])).status_code == 200
    client.logout()
    assert client.get(urls[0]).status_code == 302  # to sign in


def _record_url(payment):
    return reverse("payments:record", args=[payment.pk])


def test_a_supplier_cannot_confirm_another_suppliers_payment(certified, card_holder):
    _opportunity, _contract, payment = certified
    _start(card_holder, payment)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        recorded.payment_confirm_receipt(supplier=SupplierProfileFactory().user, payment=payment)


def test_the_invoice_page_and_pdf_in_both_languages(certified, client):
    _opportunity, contract, payment = certified
    client.force_login(contract.supplier)
    page = client.get(reverse("payments:invoice", args=[payment.pk])).content.decode()
    assert payment.invoice_number in page and "Total (CAD)" in page
    assert "not registered for GST/HST" in page
    french = client.get(f"/fr/payments/{payment.pk}/invoice/").content.decode()
    assert "Facture" in french
    pdf = client.get(reverse("payments:invoice_pdf", args=[payment.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert payment.invoice_number in pdf["Content-Disposition"]


def test_payment_events_are_append_only(certified):
    _opportunity, _contract, payment = certified
    event = payment.events.get()
    event.kind = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    if connection.vendor == "postgresql":  # the database refuses it too
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            PaymentEvent.objects.filter(pk=event.pk).update(kind="tampered")
    assert PaymentEvent.objects.get(pk=event.pk).kind == "due"


def test_card_holder_lists_and_admin_limits(certified, card_holder, program_admin, client):
    _opportunity, contract, payment = certified
    client.force_login(card_holder)
    listing = client.get(reverse("payments:list")).content.decode()
    assert payment.invoice_number in listing
    assert client.get(reverse("payments:list") + "?show=paid").status_code == 200
    assert client.get(reverse("payments:oversight")).status_code == 403
    client.force_login(contract.supplier)
    assert client.get(reverse("payments:list")).status_code == 403

    client.force_login(program_admin)
    url = reverse("payments:card_limit", args=[card_holder.pk])
    prefix = f"holder{card_holder.pk}"
    bad = client.post(url, {f"{prefix}-per_transaction": "9000", f"{prefix}-monthly": "500"})
    assert bad.status_code == 400 and b"cannot exceed the monthly limit" in bad.content
    junk = client.post(url, {f"{prefix}-per_transaction": "lots", f"{prefix}-monthly": ""})
    assert junk.status_code == 400
    card_holder.card_limit.refresh_from_db()
    assert card_holder.card_limit.per_transaction_cents == 1_000_000  # unchanged
    # Asked for on the page, made when a second program admin approves.
    second = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    ok = client.post(url, {f"{prefix}-per_transaction": "5000", f"{prefix}-monthly": "20000.50"})
    assert ok.status_code == 302
    card_holder.card_limit.refresh_from_db()
    assert card_holder.card_limit.per_transaction_cents == 1_000_000  # not yet
    client.force_login(second)
    approval = Approval.objects.get(kind=Approval.Kind.CARD_LIMIT)
    client.post(reverse("marketplace:approval_approve", args=[approval.pk]))
    client.force_login(program_admin)
    card_holder.card_limit.refresh_from_db()
    assert (card_holder.card_limit.per_transaction_cents, card_holder.card_limit.monthly_cents) == (
        500_000,
        2_000_050,
    )
    assert AuditEvent.objects.filter(verb="card_limit.set").exists()
    not_holder = SupplierProfileFactory().user
    assert client.post(reverse("payments:card_limit", args=[not_holder.pk]), {}).status_code == 404
