"""Floods refused per person: questions and bid submissions. Nothing typed is lost, the message
says what to do, and the window passes."""

import pytest
from django.urls import reverse

from bids.models import Bid, Receipt
from marketplace import ratelimit
from opportunities.models import Question
from tests.support.forms import _form_data

pytestmark = pytest.mark.django_db


def test_questions_beyond_the_limit_are_refused_and_the_text_is_kept(
    client, opportunity, supplier, settings, clock
):
    settings.QUESTION_RATE_LIMIT = (2, 3600)
    client.force_login(supplier)
    url = reverse("opportunities:ask", args=[opportunity.pk])
    for number in (1, 2):
        client.post(url, {"text": f"Question number {number}?"})
    refused = client.post(url, {"text": "A third question, typed with care?"}, follow=True)
    page = refused.content.decode()
    assert Question.objects.count() == 2
    assert "You have asked many questions in the last hour" in page
    assert "A third question, typed with care?" in page  # back in the form
    # Shown once: the next visit has an empty form.
    again = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "A third question, typed with care?" not in again
    clock["t"] += 3600
    client.post(url, {"text": "A third question, typed with care?"})
    assert Question.objects.count() == 3


def test_the_question_limit_is_per_person(client, opportunity, supplier, settings, clock):
    from tests.factories import SupplierProfileFactory

    settings.QUESTION_RATE_LIMIT = (1, 3600)
    url = reverse("opportunities:ask", args=[opportunity.pk])
    client.force_login(supplier)
    client.post(url, {"text": "Mine?"})
    client.force_login(SupplierProfileFactory().user)
    client.post(url, {"text": "Theirs?"})
    assert Question.objects.count() == 2


def test_submissions_beyond_the_limit_are_refused_and_the_draft_is_saved(
    client, opportunity, supplier, settings, clock
):
    from bids import services

    settings.BID_SUBMISSION_RATE_LIMIT = (2, 600)
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    url = reverse("bids:edit", args=[bid.pk])
    for _ in range(2):
        assert client.post(url, _form_data(bid, action_submit="Submit")).status_code == 302
    # Both count against the limit; the same submission twice stands as one receipt.
    assert Receipt.objects.filter(bid=bid).count() == 1
    changed = _form_data(bid, action_submit="Submit")
    first_answer = next(key for key in changed if key.startswith("answer_"))
    changed[first_answer] = "A better answer, typed in the last minute."
    refused = client.post(url, changed, follow=True)
    assert "You have submitted many times in a few minutes" in refused.content.decode()
    assert Receipt.objects.filter(bid=bid).count() == 1
    bid.refresh_from_db()
    assert bid.answers.filter(text="A better answer, typed in the last minute.").exists()
    clock["t"] += 600
    assert client.post(url, changed).status_code == 302
    assert Receipt.objects.filter(bid=bid).count() == 2
    assert Bid.objects.get(pk=bid.pk).status == Bid.Status.SUBMITTED


def test_nothing_is_refused_while_the_cache_is_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "marketplace.cache_backends.FailSafeRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    assert all(
        ratelimit.rate_limit_allows(scope="t", who="1", limit=1, seconds=60) for _ in range(5)
    )
