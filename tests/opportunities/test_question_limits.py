"""Public questions and answers have limits (issue 23, "Public text that cannot break a page"):
held by the form and by the service, refused with a clear error, never published nor emailed
over the limit, never a 500; what was typed is kept on the page sent back."""

import re
from html import unescape

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from marketplace.models import AuditEvent, Notification
from marketplace.public_text import public_text_clean
from opportunities.forms import AnswerForm, QuestionForm
from opportunities.models import Addendum, Question
from opportunities.questions import question_answer, question_ask
from tests.factories import SupplierFactory
from tests.support.error_summary import error_at_field
from tests.support.gcds import component_errors, component_values, plain

pytestmark = pytest.mark.django_db

LIMIT = Question.TEXT_MAX_LENGTH
ANSWER_LIMIT = Question.ANSWER_MAX_LENGTH


@pytest.fixture
def asker(db):
    return SupplierFactory()


@pytest.fixture
def question(opportunity, asker):
    return question_ask(asker=asker, opportunity=opportunity, text="Is Python 3.12 allowed?")


def _answer_url(language, question):
    return f"/{language}/opportunities/{question.opportunity_id}/questions/{question.pk}/answer/"


# --- The limits, in the form and in the service -------------------------------------------------


def test_the_limits_are_sensible():
    assert Question.TEXT_MAX_LENGTH == 2000
    assert Question.ANSWER_MAX_LENGTH == 5000


def test_the_form_says_the_limit_in_the_hint_and_carries_the_counter(client, opportunity, asker):
    client.force_login(asker)
    page = client.get(f"/en/opportunities/{opportunity.pk}/").content.decode()
    assert 'maxlength="2000"' in page and "data-counter" in page
    assert "At most 2,000 characters." in page
    french = client.get(f"/fr/opportunities/{opportunity.pk}/").content.decode()
    assert "2\u00a0000 caractères au maximum." in french


def test_the_counter_script_is_on_every_page_with_its_words_in_the_page_language(client):
    english = client.get("/en/opportunities/").content.decode()
    assert "js/counter.js" in english and "characters left" in english
    french = client.get("/fr/opportunities/").content.decode()
    assert "caractères restants" in french


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_question_one_over_the_limit_is_refused_and_kept_on_the_page(
    client, opportunity, asker, language
):
    client.force_login(asker)
    text = "é" * (LIMIT + 1)
    response = client.post(f"/{language}/opportunities/{opportunity.pk}/questions/", {"text": text})
    assert response.status_code == 400
    page = response.content.decode()
    expected = {
        "en": "Shorten this to 2,000 characters or fewer: it has 2,001.",
        "fr": "2\u00a0000",
    }[language]
    assert expected in page
    assert text in page  # what was typed is kept
    assert not Question.objects.exists()


def test_a_question_at_the_limit_is_accepted_counting_a_line_break_as_one(
    client, opportunity, asker
):
    client.force_login(asker)
    # The browser counts each line break once and submits it as two (CR LF).
    text = "\r\n".join(["x" * 99] * 20)  # 1,980 + 19 line breaks = 1,999
    response = client.post(f"/en/opportunities/{opportunity.pk}/questions/", {"text": text})
    assert response.status_code == 302
    assert Question.objects.get().text == text.replace("\r\n", "\n")


def test_the_service_refuses_a_question_over_the_limit(opportunity, asker):
    with pytest.raises(ValidationError) as refused:
        question_ask(asker=asker, opportunity=opportunity, text="x" * 20_000)
    assert "Shorten this to 2,000 characters or fewer" in str(refused.value)
    assert not Question.objects.exists()
    assert not Notification.objects.filter(kind="question.asked").exists()


@pytest.mark.parametrize("field", ["answer_en", "answer_fr"])
def test_a_20000_character_answer_posted_directly_is_refused_not_published_nor_emailed(
    client, django_capture_on_commit_callbacks, question, field
):
    client.force_login(question.opportunity.buyer)
    answers = {"answer_en": "Yes.", "answer_fr": "Oui.", "as_addendum": "on"}
    answers[field] = "A" * 20_000
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_answer_url("en", question), answers)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Shorten this to 5,000 characters or fewer: it has 20,000." in page
    # Nothing else lost: the other answer is still in its box.
    other = "Oui." if field == "answer_en" else "Yes."
    assert f">\n{other}</textarea>" in page
    question.refresh_from_db()
    assert question.answered_at is None and question.answer_en == "" and question.answer_fr == ""
    assert not Addendum.objects.exists()
    assert not AuditEvent.objects.filter(verb="question.answered").exists()
    assert not Notification.objects.filter(kind="question.answered").exists()
    assert mail.outbox == []
    public = client.get(f"/en/opportunities/{question.opportunity_id}/").content.decode()
    assert "A" * 100 not in public


def test_the_service_refuses_an_answer_over_the_limit_whatever_calls_it(question):
    with pytest.raises(ValidationError) as refused:
        question_answer(
            actor=question.opportunity.buyer,
            question=question,
            answer_en="Yes.",
            answer_fr="O" * (ANSWER_LIMIT + 1),
        )
    assert set(refused.value.message_dict) == {"answer_fr"}
    question.refresh_from_db()
    assert question.answered_at is None


def test_an_answer_at_the_limit_is_published(question):
    question_answer(
        actor=question.opportunity.buyer,
        question=question,
        answer_en="Y" * ANSWER_LIMIT,
        answer_fr="O" * ANSWER_LIMIT,
    )
    question.refresh_from_db()
    assert question.answered_at is not None


def test_the_model_holds_the_limits_too(question):
    question.answer_en = "x" * (ANSWER_LIMIT + 1)
    with pytest.raises(ValidationError) as refused:
        question.full_clean()
    assert "answer_en" in refused.value.message_dict


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_french_answer_form_with_an_error_keeps_every_value(client, question, language):
    client.force_login(question.opportunity.buyer)
    response = client.post(
        _answer_url(language, question),
        {"answer_en": "Yes, 3.11 or later.", "answer_fr": "", "as_addendum": "on"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    # Kept, with scripts (the components) and without (the plain fields).
    sent = component_values(page)
    assert sent["answer_en"] == ["Yes, 3.11 or later."] and sent["as_addendum"] == ["on"]
    assert ">\nYes, 3.11 or later.</textarea>" in plain(page)
    [checkbox] = re.findall(r"<input[^>]*name=\"as_addendum\"[^>]*>", plain(page))
    assert "checked" in checkbox
    expected = {"en": "Write the answer in French.", "fr": "Rédigez la réponse en français."}
    answer_fr = f"q{question.pk}-answer_form-answer_fr"  # the answer form's auto_id
    assert unescape(component_errors(page)[answer_fr]) == expected[language]
    assert expected[language] in error_at_field(page, answer_fr)


# --- Hostile input ------------------------------------------------------------------------------


def test_nul_bytes_never_reach_the_database(client, opportunity, asker):
    client.force_login(asker)
    response = client.post(
        f"/en/opportunities/{opportunity.pk}/questions/", {"text": "Is\x00 NUL\x00 fine?"}
    )
    assert response.status_code == 302
    assert Question.objects.get().text == "Is NUL fine?"


def test_nul_bytes_in_an_answer_are_dropped(client, question):
    client.force_login(question.opportunity.buyer)
    response = client.post(
        _answer_url("en", question), {"answer_en": "Y\x00es.", "answer_fr": "\x00Oui."}
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.answer_en, question.answer_fr) == ("Yes.", "Oui.")


def test_direction_overrides_cannot_reorder_the_public_page(client, opportunity, asker):
    # "\u202e" would show the rest of the page's line backwards: "txet" for "text".
    question = question_ask(
        asker=asker, opportunity=opportunity, text="Safe\u202e?elif.exe\u202c question\u2066"
    )
    assert question.text == "Safe?elif.exe question"
    question_answer(
        actor=opportunity.buyer,
        question=question,
        answer_en="\u202eYes",
        answer_fr="\u2067Oui\u2069",
    )
    question.refresh_from_db()
    assert (question.answer_en, question.answer_fr) == ("Yes", "Oui")
    page = client.get(f"/en/opportunities/{opportunity.pk}/").content.decode()
    assert "\u202e" not in page and "\u2066" not in page


def test_text_that_is_only_invisible_characters_is_an_empty_question(client, opportunity, asker):
    client.force_login(asker)
    response = client.post(
        f"/en/opportunities/{opportunity.pk}/questions/", {"text": "\u202e\x00 \r\n\u2066"}
    )
    assert response.status_code == 400
    assert "Write your question." in response.content.decode()
    assert not Question.objects.exists()


@override_settings(QUESTION_RATE_LIMIT=(100, 3600))
def test_a_huge_post_is_a_clear_refusal_never_a_500(client, opportunity, asker):
    client.force_login(asker)
    response = client.post(
        f"/en/opportunities/{opportunity.pk}/questions/", {"text": "\u202e" + "x" * 200_000}
    )
    assert response.status_code == 400
    assert not Question.objects.exists()


def test_clean_keeps_tabs_and_line_breaks_and_drops_other_controls():
    assert public_text_clean(" a\tb\r\nc\rd\x07\x1b[31m\x9b ") == "a\tb\nc\nd[31m"
    assert public_text_clean(None) == ""


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_forms_hold_the_limits_in_both_languages(language):
    with translation.override(language):
        question = QuestionForm({"text": "q" * (LIMIT + 1)})
        answer = AnswerForm({"answer_en": "a" * (ANSWER_LIMIT + 1), "answer_fr": "ok"})
        assert not question.is_valid() and "text" in question.errors
        assert not answer.is_valid() and list(answer.errors) == ["answer_en"]
