"""Issue 23, point 6: the awardee declines the contract from its page, after a confirmation
page, before the deadline to answer; the page gives that deadline, what happens without an
answer and the buyer's contact. Unanswered, the beat ends the award and passes it on. The
buyer is told in their language. Both languages; others get a 404; hostile input never a 500;
two posts at once decline once (PostgreSQL row locks)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone, translation

from evaluation.models import Evaluation, Offer
from lifecycle import award
from marketplace import once
from marketplace.calendar import add_business_days
from marketplace.models import AuditEvent, Notification, Role
from opportunities.models import Opportunity
from payments import contracts
from payments import tasks as payment_tasks
from payments.models import Contract
from tests import builders
from tests.factories import StaffFactory, SupplierProfileFactory

Status = Contract.Status


def _url(name: str, contract: Contract, language: str = "en") -> str:
    with translation.override(language):
        return reverse(name, args=[contract.pk])


def _events(verb: str) -> int:
    return AuditEvent.objects.filter(verb=verb).count()


def _offers(opportunity: Opportunity) -> list[tuple[int, str]]:
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    return list(evaluation.offers.order_by("number").values_list("number", "outcome"))


def _past_deadline(contract: Contract) -> Contract:
    Contract.objects.filter(pk=contract.pk).update(
        accept_by=timezone.now() - dt.timedelta(minutes=1)
    )
    return Contract.objects.get(pk=contract.pk)


# --- The deadline, set at the award ------------------------------------------------------------


@pytest.mark.django_db
def test_the_award_sets_a_deadline_in_business_days(awarded):
    _opportunity, contract = awarded
    assert contract.accept_by == add_business_days(
        contract.created_at, settings.OFFER_ACCEPT_BUSINESS_DAYS
    )
    assert contract.accept_by.weekday() < 5


# --- The contract page ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "deadline", "decline", "what_next"),
    [
        ("en", "Accept or decline by", "Decline this contract", "treated as declined"),
        (
            "fr",
            "Acceptez ou refusez au plus tard le",
            "Refuser ce contrat",
            "considérée comme refusée",
        ),
    ],
)
def test_the_awardee_sees_the_deadline_what_follows_and_whom_to_ask(
    client, awarded, language, deadline, decline, what_next
):
    opportunity, contract = awarded
    buyer = opportunity.buyer
    client.force_login(contract.supplier)
    page = client.get(_url("payments:contract", contract, language)).content.decode()
    assert deadline in page and what_next in page
    assert decline in page and _url("payments:decline", contract, language) in page
    assert buyer.get_full_name() in page and f'href="mailto:{buyer.email}"' in page


@pytest.mark.django_db
def test_the_contact_is_for_the_awardee_and_the_staff_of_the_contract_only(
    client, awarded, program_admin
):
    opportunity, contract = awarded
    buyer = opportunity.buyer
    for staff in (buyer, program_admin):
        client.force_login(staff)
        page = client.get(_url("payments:contract", contract)).content.decode()
        assert buyer.email in page
        assert "The supplier has until" in page  # the deadline, told to the buyer's side
        assert "Decline this contract" not in page
    for outsider in (SupplierProfileFactory().user, StaffFactory(roles=[Role.BUYER])):
        client.force_login(outsider)
        assert client.get(_url("payments:contract", contract)).status_code == 404
    client.logout()
    public = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert buyer.email not in public


# --- Declining ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_awardee_declines_after_a_confirmation_and_the_buyer_is_told_in_french(
    client, awarded, language, django_capture_on_commit_callbacks
):
    opportunity, contract = awarded
    buyer = opportunity.buyer
    buyer.preferred_language = "fr"
    buyer.save(update_fields=["preferred_language"])
    client.force_login(contract.supplier)
    confirm = client.get(_url("payments:decline", contract, language))
    assert confirm.status_code == 200
    page = confirm.content.decode()
    expected = {
        "en": ("What happens if you decline", "next qualified bid in rank", "Keep the contract"),
        "fr": ("Ce qui se passe si vous refusez", "soumission admissible suivante", "Garder"),
    }[language]
    assert all(text in page for text in expected)
    assert f'name="{once.FIELD}"' in page  # a double click declines once
    assert contract.status == Status.AWAITING_ACCEPTANCE  # the page changed nothing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            _url("payments:decline", contract, language), {"reason": "Booked « ailleurs »."}
        )
    assert done.status_code == 302 and done.url == _url("payments:contract", contract, language)
    contract.refresh_from_db()
    assert contract.status == Status.DECLINED and contract.ended_at
    assert _offers(opportunity) == [(1, Offer.Outcome.DECLINED), (2, Offer.Outcome.OPEN)]
    assert Offer.objects.get(number=1, evaluation__opportunity=opportunity).reason == (
        "Booked « ailleurs »."
    )
    assert _events("contract.declined") == 1 and _events("evaluation.offer_declined") == 1
    told = Notification.objects.get(kind="contract.declined")
    assert told.recipient == buyer and told.language == "fr"
    email = next(m for m in mail.outbox if m.to == [buyer.email])
    assert email.subject.endswith(f"Contrat refusé\u00a0: {opportunity.title_fr}")
    assert "Booked « ailleurs »." in email.body and "/fr/" in email.body
    # The next in rank is offered the work, with a contract and a deadline of its own.
    following = Contract.objects.exclude(pk=contract.pk).get(opportunity=opportunity)
    assert following.status == Status.AWAITING_ACCEPTANCE and following.accept_by


@pytest.mark.django_db
def test_a_decline_without_a_reason_tells_the_buyer_so(
    client, awarded, django_capture_on_commit_callbacks
):
    opportunity, contract = awarded
    client.force_login(contract.supplier)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url("payments:decline", contract), {"reason": "   "})
    email = next(m for m in mail.outbox if m.to == [opportunity.buyer.email])
    assert "No reason given." in email.body


@pytest.mark.django_db
def test_a_contract_with_no_award_behind_it_passes_the_reason_on_too(
    awarded, django_capture_on_commit_callbacks
):
    opportunity, contract = awarded
    Offer.objects.filter(packet__bid_id=contract.bid_id).delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        award.contract_decline(supplier=contract.supplier, contract=contract, reason="Booked.")
    email = next(m for m in mail.outbox if m.to == [opportunity.buyer.email])
    assert "Booked." in email.body and "No reason given." not in email.body


@pytest.mark.django_db
def test_posted_twice_it_declines_once(client, awarded):
    opportunity, contract = awarded
    client.force_login(contract.supplier)
    page = client.get(_url("payments:decline", contract)).content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert once.FIELD in fields
    first = client.post(_url("payments:decline", contract), {**fields, "reason": "No time."})
    second = client.post(_url("payments:decline", contract), {**fields, "reason": "No time."})
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == _url("payments:contract", contract)
    assert _events("contract.declined") == 1
    assert _offers(opportunity) == [(1, Offer.Outcome.DECLINED), (2, Offer.Outcome.OPEN)]


@pytest.mark.django_db
def test_only_the_awardee_reaches_the_decline_page(client, awarded, program_admin):
    opportunity, contract = awarded
    others = [
        opportunity.buyer,  # sees the contract, may not decline for the supplier
        program_admin,
        SupplierProfileFactory().user,
        StaffFactory(roles=[Role.BUYER]),
    ]
    for other in others:
        client.force_login(other)
        assert client.get(_url("payments:decline", contract)).status_code == 404
        assert client.post(_url("payments:decline", contract), {"reason": "x"}).status_code == 404
    client.logout()
    anonymous = client.get(_url("payments:decline", contract))
    assert anonymous.status_code == 302 and "login" in anonymous.url
    assert Contract.objects.get(pk=contract.pk).status == Status.AWAITING_ACCEPTANCE
    assert client.get("/en/payments/contracts/99999999/decline/").status_code in (302, 404)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_hostile_reasons_are_refused_on_the_page_keeping_what_was_typed(client, awarded, language):
    _opportunity, contract = awarded
    client.force_login(contract.supplier)
    long = "é" * 2001
    answer = client.post(_url("payments:decline", contract, language), {"reason": long})
    assert answer.status_code == 400
    page = answer.content.decode()
    assert long in page  # what was typed stays in the box
    assert ("2000" in page or "2\u00a0000" in page) and 'lang="' + language in page
    nul = client.post(_url("payments:decline", contract, language), {"reason": "a\x00b"})
    assert nul.status_code == 400
    assert Contract.objects.get(pk=contract.pk).status == Status.AWAITING_ACCEPTANCE


@pytest.mark.django_db
def test_once_accepted_the_contract_cannot_be_declined(client, awarded):
    _opportunity, contract = awarded
    builders.contract_in_progress(contract)
    client.force_login(contract.supplier)
    page = client.get(_url("payments:contract", contract)).content.decode()
    assert "Decline this contract" not in page and "Accept by" not in page
    shown = client.get(_url("payments:decline", contract), follow=True)
    assert "can no longer be declined" in shown.content.decode()
    refused = client.post(_url("payments:decline", contract), {"reason": ""}, follow=True)
    assert "already ended" in refused.content.decode() or "You accepted" in (
        refused.content.decode()
    )
    assert Contract.objects.get(pk=contract.pk).status == Status.IN_PROGRESS


# --- The deadline passes --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "refusal"),
    [("en", "The time to answer this award ended on"), ("fr", "Le délai pour répondre")],
)
def test_after_the_deadline_neither_a_decline_nor_an_acceptance_is_taken(
    client, awarded, language, refusal
):
    _opportunity, contract = awarded
    contract = _past_deadline(contract)
    client.force_login(contract.supplier)
    page = client.get(_url("payments:contract", contract, language)).content.decode()
    assert _url("payments:decline", contract, language) not in page
    redirected = client.get(_url("payments:decline", contract, language))
    assert redirected.status_code == 302
    refused = client.post(_url("payments:decline", contract, language), {}, follow=True)
    assert refused.status_code == 200
    assert refusal in refused.content.decode()
    with translation.override("en"):
        with pytest.raises(ValidationError, match="ended on"):
            contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
        with pytest.raises(ValidationError, match="ended on"):
            contracts.contract_decline(supplier=contract.supplier, contract=contract)
    assert Contract.objects.get(pk=contract.pk).status == Status.AWAITING_ACCEPTANCE


@pytest.mark.django_db
def test_the_beat_ends_an_unanswered_award_and_passes_it_on(
    awarded, django_capture_on_commit_callbacks
):
    opportunity, contract = awarded
    assert payment_tasks.contracts_lapse_unaccepted() == 0  # not due yet
    assert "payments.tasks.contracts_lapse_unaccepted" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    contract = _past_deadline(contract)
    with django_capture_on_commit_callbacks(execute=True):
        assert payment_tasks.contracts_lapse_unaccepted() == 1
    contract.refresh_from_db()
    assert contract.status == Status.DECLINED
    assert _offers(opportunity) == [(1, Offer.Outcome.DECLINED), (2, Offer.Outcome.OPEN)]
    lapsed = AuditEvent.objects.get(verb="contract.lapsed")
    assert lapsed.actor is None and _events("evaluation.offer_lapsed") == 1
    assert _events("contract.declined") == 0  # nobody declined: the deadline passed
    told = set(
        Notification.objects.filter(kind="contract.lapsed").values_list("recipient", flat=True)
    )
    assert told == {opportunity.buyer.pk, contract.supplier.pk}
    assert Notification.objects.filter(kind="bid.awarded").count() == 2  # the next awardee too
    # Run again, nothing more happens; the new award has its own, later, deadline.
    assert payment_tasks.contracts_lapse_unaccepted() == 0
    assert _events("contract.lapsed") == 1


@pytest.mark.django_db
def test_the_last_unanswered_award_ends_the_opportunity_without_an_award(awarded):
    opportunity, contract = awarded
    _past_deadline(contract)
    award.contracts_lapse_unaccepted()
    following = Contract.objects.get(opportunity=opportunity, status=Status.AWAITING_ACCEPTANCE)
    _past_deadline(following)
    award.contracts_lapse_unaccepted()
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.UNSUCCESSFUL
    assert Evaluation.objects.get(opportunity=opportunity).status == Evaluation.Status.UNSUCCESSFUL


@pytest.mark.django_db
def test_an_award_accepted_in_time_never_lapses(awarded):
    _opportunity, contract = awarded
    builders.contract_in_progress(contract)
    _past_deadline(contract)
    assert award.contracts_lapse_unaccepted() == 0
    assert Contract.objects.get(pk=contract.pk).status == Status.IN_PROGRESS


# --- Two at once (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_declines_at_once_decline_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (run by `make test` with DATABASE_URL set)")
    opportunity, contract = builders.awarded_without_test_transaction(bids=2)
    results: list[str] = []
    start = threading.Barrier(3)

    def decline() -> None:
        start.wait()
        try:
            award.contract_decline(
                supplier=contract.supplier, contract=Contract.objects.get(pk=contract.pk)
            )
            results.append("ok")
        except ValidationError:
            results.append("refused")
        except Exception as error:  # what a page would answer with a 500
            results.append(repr(error))
        finally:
            connections.close_all()

    def lapse() -> None:
        start.wait()
        try:
            results.append("lapsed" if award.contracts_lapse_unaccepted() else "nothing")
        except Exception as error:
            results.append(repr(error))
        finally:
            connections.close_all()

    # Two declines and the beat's sweep at the same moment (the deadline is still ahead).
    threads = [threading.Thread(target=decline) for _ in range(2)]
    threads.append(threading.Thread(target=lapse))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) in (["nothing", "ok", "refused"],), results
    assert _events("contract.declined") == 1 and _events("contract.lapsed") == 0
    assert _offers(opportunity) == [(1, Offer.Outcome.DECLINED), (2, Offer.Outcome.OPEN)]
    assert Notification.objects.filter(kind="contract.declined").count() == 1
