"""A buyer takes a posting back from review before anyone acts on it, and throws a draft away;
both behind a page that says what will happen; nobody else's posting can be touched."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from marketplace.audit_verbs import sentence
from marketplace.models import AuditEvent, Notification, Role
from opportunities.drafting import opportunity_discard
from opportunities.models import Opportunity
from opportunities.publishing import (
    opportunity_publish,
    opportunity_recall,
    opportunity_request_changes,
    opportunity_submit_for_review,
)
from tests import builders
from tests.factories import OpportunityFactory, StaffFactory

pytestmark = pytest.mark.django_db

Status = Opportunity.Status


def _url(name: str, pk: int, language: str = "en") -> str:
    with translation.override(language):
        return reverse(name, args=[pk])


@pytest.fixture
def admins():
    return [builders.program_admin(), builders.program_admin()]


@pytest.fixture
def in_review(buyer, admins):
    draft = OpportunityFactory(buyer=buyer)
    return opportunity_submit_for_review(actor=buyer, opportunity=draft)


# --- Recall ---------------------------------------------------------------------------------


def test_recall_takes_it_back_to_draft_audited_and_out_of_the_queue(
    client, buyer, admins, in_review
):
    recalled = opportunity_recall(actor=buyer, opportunity=in_review)
    assert recalled.status == Status.DRAFT
    assert recalled.submitted_at is None
    event = AuditEvent.objects.for_target(recalled).get(verb="opportunity.recalled")
    assert event.actor == buyer
    assert event.data["from"] == Status.IN_REVIEW and event.data["to"] == Status.DRAFT
    client.force_login(admins[0])
    queue = client.get(reverse("opportunities:review_queue")).content.decode()
    assert in_review.title_en not in queue
    # A reviewer following the old link is told, not shown a page to act on.
    response = client.get(reverse("opportunities:review", args=[in_review.pk]), follow=True)
    assert "no longer waiting for review" in response.content.decode()


def test_the_reviewers_who_were_told_are_told_it_was_taken_back(buyer, admins, in_review):
    told = set(
        Notification.objects.filter(kind="opportunity.submitted").values_list(
            "recipient_id", flat=True
        )
    )
    assert told == {admin.pk for admin in admins}
    late_admin = builders.program_admin()  # never told of the submission
    opportunity_recall(actor=buyer, opportunity=in_review)
    recalled = set(
        Notification.objects.filter(kind="opportunity.recalled").values_list(
            "recipient_id", flat=True
        )
    )
    assert recalled == told
    assert late_admin.pk not in recalled


def test_recall_refused_once_the_reviewer_acted(buyer, admins, in_review):
    opportunity_publish(actor=admins[0], opportunity=in_review)
    with pytest.raises(PermissionDenied):
        opportunity_recall(actor=buyer, opportunity=Opportunity.objects.get(pk=in_review.pk))
    other = opportunity_submit_for_review(actor=buyer, opportunity=OpportunityFactory(buyer=buyer))
    stale = Opportunity.objects.get(pk=other.pk)
    opportunity_request_changes(actor=admins[0], opportunity=other, note="Add a criterion.")
    # The buyer's page was loaded while it was in review: the transition refuses it.
    with pytest.raises(ValidationError):
        opportunity_recall(actor=buyer, opportunity=stale)
    assert Opportunity.objects.get(pk=other.pk).review_note == "Add a criterion."


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_recall_page_confirms_then_one_button_takes_it_back(client, buyer, in_review, language):
    client.force_login(buyer)
    detail = client.get(_url("opportunities:detail", in_review.pk, language)).content.decode()
    assert _url("opportunities:recall", in_review.pk, language) in detail
    page = client.get(_url("opportunities:recall", in_review.pk, language))
    assert page.status_code == 200
    text = page.content.decode()
    assert in_review.title_en in text or in_review.title_fr in text
    expected = "Take it back to my drafts" if language == "en" else "Reprendre dans mes ébauches"
    assert expected in text
    # A GET changes nothing.
    assert Opportunity.objects.get(pk=in_review.pk).status == Status.IN_REVIEW
    response = client.post(_url("opportunities:recall", in_review.pk, language))
    assert response.status_code == 302
    assert response.url == _url("opportunities:edit", in_review.pk, language)
    assert Opportunity.objects.get(pk=in_review.pk).status == Status.DRAFT
    # Sent again (a double click): lands on the draft, says so.
    again = client.post(_url("opportunities:recall", in_review.pk, language))
    assert again.status_code == 302 and again.url.endswith(f"/{in_review.pk}/edit/")


def test_another_buyers_posting_cannot_be_recalled_or_discarded(client, in_review):
    other_buyer = StaffFactory(roles=[Role.BUYER])
    draft = OpportunityFactory(buyer=in_review.buyer)
    client.force_login(other_buyer)
    for name, pk in (("opportunities:recall", in_review.pk), ("opportunities:discard", draft.pk)):
        assert client.get(_url(name, pk)).status_code == 404
        assert client.post(_url(name, pk)).status_code == 404
    assert Opportunity.objects.get(pk=in_review.pk).status == Status.IN_REVIEW
    assert Opportunity.objects.filter(pk=draft.pk).exists()
    with pytest.raises(PermissionDenied):
        opportunity_recall(actor=other_buyer, opportunity=in_review)
    with pytest.raises(PermissionDenied):
        opportunity_discard(actor=other_buyer, opportunity=draft)


def test_a_supplier_or_an_admin_is_refused(client, in_review, program_admin):
    client.force_login(program_admin)
    assert client.post(_url("opportunities:recall", in_review.pk)).status_code == 403
    assert Opportunity.objects.get(pk=in_review.pk).status == Status.IN_REVIEW


def test_the_verbs_read_as_sentences_in_both_languages():
    for verb in ("opportunity.recalled", "opportunity.discarded"):
        with translation.override("en"):
            english = sentence(verb, {})
        with translation.override("fr"):
            french = sentence(verb, {})
        assert english and french and english != french


# --- Discard --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_discarding_a_draft_confirms_deletes_it_and_leaves_an_audit_line(client, buyer, language):
    draft = OpportunityFactory(buyer=buyer)
    pk = draft.pk
    client.force_login(buyer)
    edit = client.get(_url("opportunities:edit", pk, language)).content.decode()
    assert _url("opportunities:discard", pk, language) in edit
    page = client.get(_url("opportunities:discard", pk, language)).content.decode()
    expected = "This cannot be undone." if language == "en" else "Cette action est irréversible."
    assert expected in page
    assert Opportunity.objects.filter(pk=pk).exists()
    response = client.post(_url("opportunities:discard", pk, language))
    assert response.status_code == 302
    assert not Opportunity.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(verb="opportunity.discarded", target_id=str(pk))
    assert event.actor == buyer
    assert event.data == {"title_en": draft.title_en, "title_fr": draft.title_fr}
    dashboard = client.get(response.url).content.decode()
    assert f"/opportunities/{pk}/" not in dashboard  # gone from the buyer's lists
    assert client.get(_url("opportunities:detail", pk, language)).status_code == 404


def test_only_a_draft_is_discarded(client, buyer, in_review):
    with pytest.raises(PermissionDenied):
        opportunity_discard(actor=buyer, opportunity=in_review)
    client.force_login(buyer)
    response = client.post(_url("opportunities:discard", in_review.pk))
    assert response.status_code == 302
    assert Opportunity.objects.filter(pk=in_review.pk, status=Status.IN_REVIEW).exists()


def test_hostile_addresses_are_not_found(client, buyer):
    client.force_login(buyer)
    for path in ("/en/opportunities/999999/recall/", "/en/opportunities/999999/discard/"):
        assert client.post(path).status_code == 404
