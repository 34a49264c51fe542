"""The buyer dismisses a junk question (issue 23): as a duplicate or out of scope, with a
reason that only the asker reads (on the page, signed in, and in a notification in their
language); never published; audited; refused cleanly twice or after an answer; another buyer's
opportunity is a 404."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import AuditEvent, Notification, Role
from marketplace.notifications import render_subject
from opportunities.models import Question
from opportunities.questions import question_answer, question_ask, question_dismiss
from tests import builders
from tests.factories import StaffFactory, SupplierFactory

pytestmark = pytest.mark.django_db

REASON = "Already answered in question 2: the work is remote only."


@pytest.fixture
def asker(db):
    return SupplierFactory(full_name="Asha Asker", preferred_language="fr")


@pytest.fixture
def question(opportunity, asker):
    return question_ask(asker=asker, opportunity=opportunity, text="Can I work from Paris?")


def _dismiss_url(language, question):
    opportunity = question.opportunity_id
    return f"/{language}/opportunities/{opportunity}/questions/{question.pk}/dismiss/"


def _page(client, question, language="en"):
    return client.get(f"/{language}/opportunities/{question.opportunity_id}/").content.decode()


def _dismiss(question, **overrides):
    values = {"dismissed_as": "duplicate", "reason": REASON, **overrides}
    return question_dismiss(actor=question.opportunity.buyer, question=question, **values)


# --- The buyer dismisses it -----------------------------------------------------------------------


def test_the_buyer_sees_a_dismiss_form_beside_each_unanswered_question(client, question):
    client.force_login(question.opportunity.buyer)
    page = _page(client, question)
    assert _dismiss_url("en", question) in page
    assert "It repeats a question already asked or answered" in page
    assert "It is not about this opportunity" in page


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_buyer_dismisses_it_with_a_reason(
    client, django_capture_on_commit_callbacks, question, language
):
    buyer = question.opportunity.buyer
    client.force_login(buyer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _dismiss_url(language, question), {"dismissed_as": "out_of_scope", "reason": REASON}
        )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.dismissed_as == "out_of_scope"
    assert question.dismiss_reason == REASON
    assert question.dismissed_by == buyer and question.dismissed_at is not None
    assert question.answered_at is None
    event = AuditEvent.objects.get(verb="question.dismissed")
    assert event.actor == buyer
    assert event.data == {"question": question.pk, "as": "out_of_scope"}
    # No longer waiting for an answer on the buyer's page.
    assert _dismiss_url("en", question) not in _page(client, question)
    assert not Question.objects.awaiting_answer().exists()


def test_the_asker_is_told_in_their_language_with_the_reason(
    django_capture_on_commit_callbacks, question, asker
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _dismiss(question)
    notification = Notification.objects.get(kind="question.dismissed")
    assert notification.recipient == asker
    [message] = mail.outbox
    assert message.to == [asker.email]
    title_fr = question.opportunity.title_fr
    assert message.subject == f"Votre question n\u2019a pas été publiée\u00a0: {title_fr}"
    assert REASON in message.body
    assert "Can I work from Paris?" in message.body
    assert render_subject(notification, "en") == (
        f"Your question was not published: {question.opportunity.title_en}"
    )
    # Nobody else is told: not the buyer, not the followers.
    assert Notification.objects.filter(kind="question.dismissed").count() == 1


# --- Who sees it ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_only_the_asker_reads_the_reason(client, question, asker, language):
    _dismiss(question)
    client.force_login(asker)
    own = _page(client, question, language)
    assert "Can I work from Paris?" in own
    assert REASON in own
    assert {"en": "shown only to you", "fr": "visible par vous seul"}[language] in own

    client.force_login(SupplierFactory())
    other = _page(client, question, language)
    assert "Can I work from Paris?" not in other and REASON not in other

    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert REASON not in _page(client, question, language)

    client.force_login(question.opportunity.buyer)
    assert REASON not in _page(client, question, language)

    client.logout()
    public = _page(client, question, language)
    assert "Can I work from Paris?" not in public and REASON not in public


@pytest.mark.caching
def test_the_public_page_cache_never_shows_a_dismissed_question(
    client, django_capture_on_commit_callbacks, question
):
    # Cached before the dismissal.
    assert "Can I work from Paris?" not in _page(client, question)
    with django_capture_on_commit_callbacks(execute=True):
        _dismiss(question)
    public = _page(client, question)
    assert "Can I work from Paris?" not in public and REASON not in public


@pytest.mark.caching
def test_a_dismissal_replaces_the_cached_public_pages(
    client, django_capture_on_commit_callbacks, question
):
    _page(client, question)
    with CaptureQueriesContext(connection) as cached:
        _page(client, question)
    assert len(cached) == 0  # served from the cache
    with django_capture_on_commit_callbacks(execute=True):
        _dismiss(question)
    with CaptureQueriesContext(connection) as after:
        _page(client, question)
    assert len(after) > 0  # computed again, as after every write to the questions


def test_the_asker_sees_a_waiting_question_as_waiting(client, question, asker):
    client.force_login(asker)
    page = _page(client, question)
    assert "Can I work from Paris?" in page
    assert "Waiting for the buyer\u2019s answer." in page


# --- Refusals -------------------------------------------------------------------------------------


def test_dismissing_twice_is_refused_cleanly(client, question):
    _dismiss(question)
    with pytest.raises(ValidationError, match="already dismissed"):
        _dismiss(question, reason="Another reason")
    client.force_login(question.opportunity.buyer)
    response = client.post(
        _dismiss_url("en", question), {"dismissed_as": "duplicate", "reason": "Again"}
    )
    assert response.status_code == 302
    assert (
        "This question is already dismissed." in client.get(response["Location"]).content.decode()
    )
    question.refresh_from_db()
    assert question.dismiss_reason == REASON
    assert AuditEvent.objects.filter(verb="question.dismissed").count() == 1


def test_an_answered_question_cannot_be_dismissed(question):
    question_answer(
        actor=question.opportunity.buyer, question=question, answer_en="Yes.", answer_fr="Oui."
    )
    with pytest.raises(ValidationError, match="already answered"):
        _dismiss(question)
    question.refresh_from_db()
    assert question.dismissed_at is None


def test_a_dismissed_question_cannot_be_answered(question):
    _dismiss(question)
    with pytest.raises(ValidationError, match="dismissed"):
        question_answer(
            actor=question.opportunity.buyer, question=question, answer_en="Y", answer_fr="O"
        )
    question.refresh_from_db()
    assert question.answered_at is None
    assert not Question.objects.published().exists()


def test_another_buyers_opportunity_is_a_404(client, question):
    other_buyer = StaffFactory(roles=[Role.BUYER])
    with pytest.raises(PermissionDenied):
        question_dismiss(actor=other_buyer, question=question, dismissed_as="duplicate", reason="x")
    for person in (other_buyer, question.asker, SupplierFactory()):
        client.force_login(person)
        response = client.post(
            _dismiss_url("en", question), {"dismissed_as": "duplicate", "reason": "Junk"}
        )
        assert response.status_code == 404
    question.refresh_from_db()
    assert question.dismissed_at is None


def test_a_question_of_another_opportunity_is_a_404(client, question, program_admin):
    mine = builders.published_opportunity(admin=program_admin, buyer=question.opportunity.buyer)
    client.force_login(question.opportunity.buyer)
    response = client.post(
        f"/en/opportunities/{mine.pk}/questions/{question.pk}/dismiss/",
        {"dismissed_as": "duplicate", "reason": "Junk"},
    )
    assert response.status_code == 404


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_dismissal_without_a_reason_comes_back_with_errors_and_values(client, question, language):
    client.force_login(question.opportunity.buyer)
    response = client.post(_dismiss_url(language, question), {"dismissed_as": "out_of_scope"})
    assert response.status_code == 400
    page = response.content.decode()
    expected = {
        "en": "Explain to the supplier why it is not answered.",
        "fr": "Expliquez au fournisseur pourquoi la question reste sans réponse.",
    }
    assert expected[language] in page
    assert 'value="out_of_scope"' in page and "checked" in page
    assert '<details class="mt-300" open>' in page  # the form stays open at its error
    question.refresh_from_db()
    assert question.dismissed_at is None


# --- Hostile input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"dismissed_as": "spam", "reason": "x"},
        {"dismissed_as": "duplicate", "reason": "x" * 20_000},
        {"dismissed_as": "duplicate", "reason": "\x00\u202e"},
        {"dismissed_as": ["duplicate", "out_of_scope"], "reason": "\x00"},
        {},
    ],
)
def test_hostile_dismissals_are_refused_never_a_500(client, question, values):
    client.force_login(question.opportunity.buyer)
    response = client.post(_dismiss_url("en", question), values)
    assert response.status_code == 400
    question.refresh_from_db()
    assert question.dismissed_at is None


def test_the_service_refuses_what_the_form_would(question):
    with pytest.raises(ValidationError) as refused:
        _dismiss(question, dismissed_as="spam")
    assert "dismissed_as" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        _dismiss(question, reason="r" * (Question.REASON_MAX_LENGTH + 1))
    assert "reason" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        _dismiss(question, reason="\u202e\x00  ")
    assert "reason" in refused.value.message_dict
    question.refresh_from_db()
    assert question.dismissed_at is None


def test_nul_bytes_and_direction_overrides_are_dropped_from_the_reason(client, question, asker):
    _dismiss(question, reason="Dup\x00licate\u202e of question 2")
    question.refresh_from_db()
    assert question.dismiss_reason == "Duplicate of question 2"
    client.force_login(asker)
    assert "Duplicate of question 2" in _page(client, question)
