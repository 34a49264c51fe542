"""Drafts, submission, receipts, withdrawal and sealing."""

import datetime as dt
import hashlib
import json

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bids import services
from bids.models import Bid, Receipt
from lifecycle import closing
from marketplace.models import AuditEvent, Notification
from opportunities.addenda import opportunity_amend
from opportunities.models import Opportunity
from tests.builders import complete_answers, fill
from tests.factories import SupplierFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db

Status = Bid.Status


def test_a_supplier_without_a_complete_profile_cannot_start_a_bid(opportunity):
    with pytest.raises(PermissionDenied):
        services.bid_start(supplier=SupplierFactory(), opportunity=opportunity)
    assert not Bid.objects.exists()


def test_starting_twice_gives_the_same_single_bid(opportunity, supplier):
    first = services.bid_start(supplier=supplier, opportunity=opportunity)
    second = services.bid_start(supplier=supplier, opportunity=opportunity)
    assert first == second and Bid.objects.count() == 1
    assert first.status == Status.DRAFT


def test_a_draft_keeps_over_long_answers_and_submission_names_each_problem(opportunity, supplier):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    mandatory, rated = opportunity.criteria.all()
    too_long = "word " * (rated.word_limit + 3)
    services.bid_save_draft(supplier=supplier, bid=bid, answers={rated.pk: too_long})
    with pytest.raises(ValidationError) as refused:
        services.bid_submit(supplier=supplier, bid=bid)
    problems = refused.value.message_dict
    assert problems[f"answer_{rated.pk}"] == [
        f"Shorten your answer to criterion 2, {services.criterion_name(rated)}: it is 3 words "
        f"over the limit of {rated.word_limit}."
    ]
    assert problems[f"answer_{mandatory.pk}"] == [
        f"Enter your answer to criterion 1, {services.criterion_name(mandatory)}."
    ]
    assert problems["proposed_start_date"] == ["Enter the date you could start the work."]
    for name in Bid.ATTESTATIONS:
        assert problems[name] == [str(services.ATTESTATION_PROBLEMS[name])]
    assert problems["accept_terms"] == [
        "Accept the bid terms: a bid cannot be submitted without them."
    ]
    bid.refresh_from_db()
    assert bid.status == Status.DRAFT
    assert bid.answers.get(criterion=rated).text == too_long  # nothing typed is lost
    assert not Receipt.objects.exists()


def test_a_start_date_in_the_past_is_refused(draft_bid, supplier):
    fill(draft_bid, supplier, proposed_start_date=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match=r"today or later: .* is in the past"):
        services.bid_submit(supplier=supplier, bid=draft_bid)


def test_submission_gives_a_receipt_whose_digest_matches_the_content(
    draft_bid, supplier, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.bid_submit(supplier=supplier, bid=draft_bid)
    canonical = json.dumps(
        receipt.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert receipt.digest == hashlib.sha256(canonical.encode()).hexdigest()
    assert [a["text"] for a in receipt.content["answers"]] == list(
        complete_answers(draft_bid).values()
    )
    draft_bid.refresh_from_db()
    assert draft_bid.status == Status.SUBMITTED
    assert draft_bid.submitted_at == receipt.received_at <= receipt.submitted_at
    [email] = mail.outbox
    assert email.to == [supplier.email]
    assert email.subject == f"Bid received: {draft_bid.opportunity.title_en}"
    assert receipt.digest in email.body
    assert timezone.localtime(receipt.submitted_at).strftime("%-d, %Y") in email.body
    assert AuditEvent.objects.filter(verb="bid.submitted", actor=supplier).exists()


def test_the_receipt_email_is_in_the_suppliers_language(
    draft_bid, supplier, django_capture_on_commit_callbacks
):
    supplier.preferred_language = "fr"
    supplier.save()
    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.bid_submit(supplier=supplier, bid=draft_bid)
    [email] = mail.outbox
    assert email.subject == f"Soumission reçue\u00a0: {draft_bid.opportunity.title_fr}"
    assert receipt.digest in email.body


def test_changes_after_submission_count_only_when_submitted_again(draft_bid, supplier):
    first = services.bid_submit(supplier=supplier, bid=draft_bid)
    fill(draft_bid, supplier, answers=complete_answers(draft_bid, "A better answer."))
    draft_bid.refresh_from_db()
    assert draft_bid.last_receipt == first  # the working copy changed, the receipt did not
    second = services.bid_submit(supplier=supplier, bid=draft_bid)
    assert second.number == 2 and second.digest != first.digest
    assert second.content["answers"][0]["text"] == "A better answer."
    assert AuditEvent.objects.filter(verb="bid.resubmitted").count() == 1


def test_withdraw_then_submit_again(draft_bid, supplier, django_capture_on_commit_callbacks):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    with django_capture_on_commit_callbacks(execute=True):
        services.bid_withdraw(supplier=supplier, bid=draft_bid)
    draft_bid.refresh_from_db()
    assert draft_bid.status == Status.WITHDRAWN
    assert mail.outbox[-1].subject.startswith("Bid withdrawn:")
    with pytest.raises(ValidationError, match="Only a submitted bid"):
        services.bid_withdraw(supplier=supplier, bid=draft_bid)
    services.bid_submit(supplier=supplier, bid=draft_bid)
    draft_bid.refresh_from_db()
    assert draft_bid.status == Status.SUBMITTED and draft_bid.withdrawn_at is None


def test_another_supplier_cannot_touch_the_bid(draft_bid):
    intruder = SupplierProfileFactory().user
    for action in (services.bid_submit, services.bid_withdraw):
        with pytest.raises(PermissionDenied):
            action(supplier=intruder, bid=draft_bid)
    with pytest.raises(PermissionDenied):
        services.bid_save_draft(supplier=intruder, bid=draft_bid, answers={})


def test_an_answer_for_another_opportunitys_criterion_is_refused(draft_bid, supplier):
    from tests.factories import OpportunityFactory

    foreign = OpportunityFactory().criteria.first()
    with pytest.raises(ValidationError, match="another opportunity"):
        services.bid_save_draft(supplier=supplier, bid=draft_bid, answers={foreign.pk: "x"})


def test_a_submission_after_the_deadline_is_refused_even_before_the_close_task_runs(
    draft_bid, supplier
):
    opportunity = draft_bid.opportunity
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=timezone.now() - dt.timedelta(milliseconds=1)
    )
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.PUBLISHED  # the close has not run
    with pytest.raises(ValidationError, match="closed at"):
        services.bid_submit(supplier=supplier, bid=draft_bid)
    with pytest.raises(ValidationError, match="closed at"):
        fill(draft_bid, supplier, answers=complete_answers(draft_bid, "late change"))
    assert not Receipt.objects.exists()
    assert draft_bid.answers.first().text != "late change"


def test_the_close_seals_submitted_bids_which_then_cannot_change(
    draft_bid, supplier, opportunity, django_capture_on_commit_callbacks
):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    other = services.bid_start(supplier=SupplierProfileFactory().user, opportunity=opportunity)
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    draft_bid.refresh_from_db()
    other.refresh_from_db()
    assert draft_bid.status == Status.SEALED and draft_bid.sealed_at is not None
    assert other.status == Status.DRAFT  # never submitted: not sealed, not evaluated
    assert [m.to for m in mail.outbox if "Closed for bids" in m.subject] == [
        [opportunity.buyer.email],
        [supplier.email],
    ] or sorted(m.to[0] for m in mail.outbox if "Closed for bids" in m.subject) == sorted(
        [opportunity.buyer.email, supplier.email]
    )
    with pytest.raises(ValidationError):
        services.bid_submit(supplier=supplier, bid=draft_bid)
    with pytest.raises(ValidationError):
        services.bid_withdraw(supplier=supplier, bid=draft_bid)


def test_an_addendum_asks_bidders_to_confirm_or_revise(
    draft_bid, supplier, opportunity, django_capture_on_commit_callbacks
):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    drafter = SupplierProfileFactory().user
    services.bid_start(supplier=drafter, opportunity=opportunity)
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_amend(
            actor=opportunity.buyer,
            opportunity=opportunity,
            note_en="Python 3.12 is now required.",
            note_fr="Python 3.12 est maintenant exigé.",
            summary_en=opportunity.summary_en + " (Python 3.12)",
        )
    kinds = dict(
        Notification.objects.filter(kind__in=("bid.addendum", "opportunity.amended")).values_list(
            "recipient", "kind"
        )
    )
    assert kinds[supplier.pk] == "bid.addendum"
    assert kinds[drafter.pk] == "opportunity.amended"
    bidder_email = next(m for m in mail.outbox if m.to == [supplier.email])
    assert "confirm or revise" in bidder_email.subject
    services.bid_confirm(supplier=supplier, bid=draft_bid)
    draft_bid.refresh_from_db()
    assert draft_bid.confirmed_addendum == 1


def test_closing_reminders_reach_draft_holders_but_not_submitted_bidders(
    draft_bid, supplier, opportunity, django_capture_on_commit_callbacks
):
    from opportunities.tasks import opportunities_closing_reminders

    submitted = services.bid_start(supplier=SupplierProfileFactory().user, opportunity=opportunity)
    fill(submitted, submitted.supplier)
    services.bid_submit(supplier=submitted.supplier, bid=submitted)
    at_23h = (opportunity.closes_at - dt.timedelta(hours=23)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        assert opportunities_closing_reminders(now=at_23h) == 1
        assert opportunities_closing_reminders(now=at_23h) == 0  # once
    [reminder] = mail.outbox
    assert reminder.to == [supplier.email]
    assert reminder.subject.startswith("Closes in 24 hours")
