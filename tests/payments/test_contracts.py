"""Delivery and acceptance: terms, delivery, changes, certification (FAA s. 34), default."""

import datetime as dt
import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from bids.models import Bid
from evaluation.models import Offer
from lifecycle import award
from marketplace.models import AuditEvent, Role
from opportunities.models import Opportunity
from payments import contracts
from payments.models import Contract
from tests.factories import StaffFactory, SupplierProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Contract.Status


def test_the_award_creates_a_contract_waiting_for_the_supplier(awarded):
    opportunity, contract = awarded
    assert contract.status == Status.AWAITING_ACCEPTANCE
    assert contract.value_cents == opportunity.value_cents
    assert contract.supplier == contract.bid.supplier


def test_accept_deliver_change_redeliver_certify(awarded, django_capture_on_commit_callbacks):
    opportunity, contract = awarded
    supplier, buyer = contract.supplier, opportunity.buyer
    with pytest.raises(ValidationError):  # nothing to deliver before accepting
        contracts.contract_deliver(
            supplier=supplier, contract=contract, url="https://x.dev", notes=""
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        contract = contracts.contract_accept_terms(supplier=supplier, contract=contract)
    assert contract.status == Status.IN_PROGRESS and contract.terms_version
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.IN_DELIVERY
    assert mail.outbox[-1].to == [buyer.email]
    with pytest.raises(ValidationError, match="link"):
        contracts.contract_deliver(supplier=supplier, contract=contract, url=" ", notes="")
    with django_capture_on_commit_callbacks(execute=True):
        contract = contracts.contract_deliver(
            supplier=supplier,
            contract=contract,
            url="https://github.com/esdc/picker/pull/7",
            notes="Tests included.",
        )
    assert contract.status == Status.DELIVERED and contract.deliveries == 1
    assert mail.outbox[-1].subject.startswith("Work delivered")
    with pytest.raises(ValidationError, match="must change"):
        contracts.contract_request_changes(buyer=buyer, contract=contract, reasons="")
    with django_capture_on_commit_callbacks(execute=True):
        contract = contracts.contract_request_changes(
            buyer=buyer, contract=contract, reasons="Add a test for the Escape key."
        )
    assert contract.status == Status.CHANGES_REQUESTED
    assert contract.cure_deadline > timezone.localdate()
    assert "Add a test for the Escape key." in mail.outbox[-1].body
    contract = contracts.contract_deliver(
        supplier=supplier, contract=contract, url="https://github.com/esdc/picker/pull/7", notes=""
    )
    assert contract.deliveries == 2
    with pytest.raises(ValidationError, match="Confirm the certification"):
        contracts.contract_certify(buyer=buyer, contract=contract, confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        contract = contracts.contract_certify(buyer=buyer, contract=contract, confirmed=True)
    assert contract.status == Status.ACCEPTED and contract.certified_by == buyer
    assert "section 34" in contract.certification_statement
    assert mail.outbox[-1].subject.startswith("Work accepted")
    verbs = set(
        AuditEvent.objects.filter(verb__startswith="contract.").values_list("verb", flat=True)
    )
    assert {"contract.accepted", "contract.delivered", "contract.changes_requested",
            "contract.certified"} <= verbs  # fmt: skip


def test_only_the_parties_act(awarded):
    opportunity, contract = awarded
    other_supplier = SupplierProfileFactory().user
    with pytest.raises(PermissionDenied):
        contracts.contract_accept_terms(supplier=other_supplier, contract=contract)
    with pytest.raises(PermissionDenied):
        contracts.contract_accept_terms(supplier=opportunity.buyer, contract=contract)
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.example/pr/1", notes=""
    )
    with pytest.raises(PermissionDenied):
        contracts.contract_certify(
            buyer=StaffFactory(roles=[Role.BUYER]), contract=contract, confirmed=True
        )


def test_a_default_after_the_cure_period_passes_the_award_to_the_next_in_rank(awarded):
    opportunity, contract = awarded
    buyer = opportunity.buyer
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.example/pr/1", notes=""
    )
    contract = contracts.contract_request_changes(buyer=buyer, contract=contract, reasons="Broken.")
    with pytest.raises(ValidationError, match="after the cure period"):
        award.contract_default(buyer=buyer, contract=contract, reason="Late.")
    Contract.objects.filter(pk=contract.pk).update(
        cure_deadline=timezone.localdate() - dt.timedelta(days=1)
    )
    contract.refresh_from_db()
    with pytest.raises(ValidationError, match="reason"):
        award.contract_default(buyer=buyer, contract=contract, reason=" ")
    award.contract_default(buyer=buyer, contract=contract, reason="No fix in the cure period.")
    contract.refresh_from_db()
    assert contract.status == Status.DEFAULTED
    assert contract.bid.status == Bid.Status.TERMINATED
    next_contract = Contract.objects.exclude(pk=contract.pk).get()
    assert next_contract.status == Status.AWAITING_ACCEPTANCE
    assert next_contract.bid.packet.rank == 2
    assert Offer.objects.get(packet__bid=contract.bid).outcome == Offer.Outcome.DEFAULTED


def test_the_awardee_declines_only_before_accepting(awarded):
    _opportunity, contract = awarded
    offer = Offer.objects.get(packet__bid=contract.bid)
    contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    with pytest.raises(ValidationError, match="contact the buyer"):
        award.offer_end(actor=contract.supplier, offer=offer, outcome=Offer.Outcome.DECLINED)
    assert Contract.objects.get(pk=contract.pk).status == Status.IN_PROGRESS


def test_a_decline_before_accepting_ends_the_contract_and_offers_the_next(awarded):
    _opportunity, contract = awarded
    offer = Offer.objects.get(packet__bid=contract.bid)
    award.offer_end(actor=contract.supplier, offer=offer, outcome=Offer.Outcome.DECLINED)
    assert Contract.objects.get(pk=contract.pk).status == Status.DECLINED
    assert Contract.objects.filter(status=Status.AWAITING_ACCEPTANCE).count() == 1


def test_contract_page_for_the_parties_and_a_404_for_others(client, awarded, evaluators):
    opportunity, contract = awarded
    url = reverse("payments:contract", args=[contract.pk])
    for outsider in (
        SupplierProfileFactory().user,
        StaffFactory(roles=[Role.BUYER]),
        evaluators[0],
        StaffFactory(roles=[Role.CARD_HOLDER]),
    ):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.post(reverse("payments:accept_terms", args=[contract.pk])).status_code == 404
    client.force_login(contract.supplier)
    page = client.get(url).content.decode()
    assert "Accept the contract" in page
    client.post(reverse("payments:accept_terms", args=[contract.pk]))
    bad = client.post(
        reverse("payments:deliver", args=[contract.pk]), {"delivery_url": "not a url"}
    )
    assert bad.status_code == 400 and "Enter a valid URL." in bad.content.decode()
    client.post(
        reverse("payments:deliver", args=[contract.pk]),
        {"delivery_url": "github.com/esdc/picker/pull/7", "notes": ""},
    )
    contract.refresh_from_db()
    assert contract.status == Status.DELIVERED
    assert contract.delivery_url == "https://github.com/esdc/picker/pull/7"
    client.force_login(opportunity.buyer)
    page = client.get(url).content.decode()
    certify_url = reverse("payments:certify", args=[contract.pk])
    assert f'href="{certify_url}"' in page  # to the confirmation page, which certifies
    page = client.get(certify_url).content.decode()
    assert "Accept and certify the work" in page and "section 34" in page
    missing = client.post(reverse("payments:certify", args=[contract.pk]), {})
    assert missing.status_code == 400
    client.post(reverse("payments:certify", args=[contract.pk]), {"confirmed": "on"})
    assert Contract.objects.get(pk=contract.pk).status == Status.ACCEPTED


def test_the_section_34_statement_is_offered_in_the_page_language_and_quoted_as_certified(
    client, awarded
):
    opportunity, contract = awarded
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/7", notes=""
    )
    client.force_login(opportunity.buyer)
    french = client.get(f"/fr/payments/contracts/{contract.pk}/certify/").content.decode()
    assert "article 34 de la Loi" in french and "Under section 34" not in french
    client.post(f"/en/payments/contracts/{contract.pk}/certify/", {"confirmed": "on"})
    french = client.get(f"/fr/payments/contracts/{contract.pk}/").content.decode()
    assert '<span lang="en">Under section 34' in french


def test_an_overdue_delivery_is_announced_once_to_both_parties(
    awarded, django_capture_on_commit_callbacks
):
    from payments import tasks

    opportunity, contract = awarded
    contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    due = timezone.localdate() + dt.timedelta(days=10)
    Opportunity.objects.filter(pk=opportunity.pk).update(expected_delivery_date=due)
    on_time = timezone.make_aware(dt.datetime.combine(due, dt.time(9, 15)))
    assert tasks.contracts_remind_overdue(now=on_time.isoformat()) == 0
    late = on_time + dt.timedelta(days=1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.contracts_remind_overdue(now=late.isoformat()) == 1
        assert tasks.contracts_remind_overdue(now=late.isoformat()) == 0  # run twice: once
        tasks.contracts_remind_overdue(now=(late + dt.timedelta(days=1)).isoformat())
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [contract.supplier.email, opportunity.buyer.email]
    )
    assert all(m.subject.startswith("Delivery overdue") for m in mail.outbox)


def test_a_delivery_can_carry_a_pdf_for_the_parties_only(awarded, client):
    from tests.support.attachments import make_pdf, upload

    opportunity, contract = awarded
    supplier = contract.supplier
    contracts.contract_accept_terms(supplier=supplier, contract=contract)
    client.force_login(supplier)
    url = reverse("payments:deliver", args=[contract.pk])
    refused = client.post(
        url,
        {"delivery_url": "https://x.example/pr/1", "notes": "", "file": upload(b"MZ\x90\x00")},
    )
    assert refused.status_code == 400 and b"PDF" in refused.content
    contract.refresh_from_db()
    assert contract.status == Status.IN_PROGRESS and not contract.files.exists()

    delivered = client.post(
        url,
        {
            "delivery_url": "https://x.example/pr/1",
            "notes": "",
            "file": upload(make_pdf(), "guide.pdf"),
        },
    )
    assert delivered.status_code == 302
    [document] = contract.files.all()
    assert document.name == "guide.pdf" and document.delivery == 1
    stored = document.file.open("rb").read()
    assert stored.startswith(b"%PDF") and b"Aurelie Tremblay" not in stored
    download = reverse("payments:file", args=[contract.pk, document.pk])
    assert b"guide.pdf" in client.get(reverse("payments:contract", args=[contract.pk])).content
    client.force_login(opportunity.buyer)
    response = client.get(download)
    assert response.status_code == 200 and b"".join(response.streaming_content) == stored
    client.force_login(SupplierProfileFactory().user)
    assert client.get(download).status_code == 404


# --- A contract's text names no one ------------------------------------------------------------


def test_a_contracts_text_and_its_audit_events_name_no_one(awarded, client):
    """Stored as the audit target of contract events, shown and searched in the admin: like a
    bid's, the text says which contract and which opportunity, never who won."""
    opportunity, contract = awarded
    email = contract.supplier.email
    assert (
        str(contract)
        == f"Contract {contract.pk} for opportunity {opportunity.pk} (awaiting_acceptance)"
    )
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    events = AuditEvent.objects.for_target(contract)
    assert {"contract.created"} <= set(events.values_list("verb", flat=True))
    for event in events:
        assert email not in event.target_repr
        assert re.fullmatch(
            rf"Contract {contract.pk} for opportunity {opportunity.pk} \([a-z_]+\)",
            event.target_repr,
        )
    root = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    client.force_login(root)
    found = client.get("/en/admin/marketplace/auditevent/", {"q": email, "all": ""})
    assert not [e for e in found.context["cl"].result_list if e.verb.startswith("contract.")]
    for event in events:
        page = client.get(f"/en/admin/marketplace/auditevent/{event.pk}/change/").content.decode()
        assert email not in page


def test_the_migration_rewrites_old_contract_texts_that_named_the_supplier(awarded):
    migration = importlib.import_module("marketplace.migrations.0005_audit_texts_without_identity")
    opportunity, contract = awarded
    email = contract.supplier.email
    contract_type = ContentType.objects.get_for_model(Contract)
    old = AuditEvent.objects.create(
        verb="contract.accepted",
        target_type=contract_type,
        target_id=str(contract.pk),
        target_repr=f"{opportunity.pk} → {email} (in_progress)",
    )
    cut = AuditEvent.objects.create(
        verb="contract.delivered",
        target_type=contract_type,
        target_id=str(contract.pk),
        target_repr=f"{opportunity.pk} → {'q' * 250}{email} (delivered)"[:255],
    )
    gone = AuditEvent.objects.create(
        verb="contract.created",
        target_type=contract_type,
        target_id="999999",
        target_repr=f"{'q' * 250}{email}"[:255],
    )
    user_event = AuditEvent.objects.create(
        verb="user.created",
        target_type=ContentType.objects.get_for_model(contract.supplier),
        target_id=str(contract.supplier_id),
        target_repr=email,
    )
    migration.forwards(django_apps, None)
    migration.forwards(django_apps, None)  # a second run changes nothing
    texts = dict(AuditEvent.objects.values_list("pk", "target_repr"))
    assert texts[old.pk] == f"Contract {contract.pk} for opportunity {opportunity.pk} (in_progress)"
    assert texts[cut.pk] == f"Contract {contract.pk} for opportunity {opportunity.pk}"
    assert texts[gone.pk] == "Contract 999999"
    assert texts[user_event.pk] == email  # about the account itself: it names no contract
    for event in AuditEvent.objects.filter(target_type=contract_type):
        assert email not in event.target_repr
