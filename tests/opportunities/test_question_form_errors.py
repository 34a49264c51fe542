"""An empty or over-long question on the opportunity page: the page is shown again with the
error summary at its top and the message at the question box (no flash banner), in both
languages, what was typed kept."""

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from opportunities.models import Question
from tests.factories import SupplierProfileFactory
from tests.support.error_summary import (
    assert_every_link_reaches_a_field,
    assert_said_in_summary_and_at_its_field,
)
from tests.support.gcds import plain, scripted

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(r'<div class="gc-error-summary"[^>]*>(.*?)</div>', re.S)


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "There is a problem on this page"), ("fr", "Il y a un problème sur cette page")],
)
def test_an_empty_question_is_an_inline_error_with_the_summary(
    client, opportunity, language, heading
):
    client.force_login(SupplierProfileFactory().user)
    with translation.override(language):
        address = reverse("opportunities:ask", args=[opportunity.pk])
    response = client.post(address, {"text": "   "})
    assert response.status_code == 400
    page = response.content.decode()
    found = SUMMARY.findall(page)
    assert len(found) == 1 and heading in page
    targets = re.findall(r'<a href="#([^"]+)"', found[0])
    assert targets == ["id_text"]
    message = unescape(re.search(r'data-error-target="id_text">(.*?)</a>', found[0]).group(1))
    # The link reaches the question box (its component; without scripts, the textarea), and
    # the message is in the summary and at the box.
    assert_every_link_reaches_a_field(page, [("id_text", message)])
    assert re.search(r'<textarea[^>]*id="id_text"', plain(page))
    assert_said_in_summary_and_at_its_field(page, "id_text", message)
    assert 'class="gc-notice gc-notice-danger' not in page
    assert not Question.objects.exists()


def test_an_over_long_question_keeps_what_was_typed(client, opportunity):
    client.force_login(SupplierProfileFactory().user)
    text = "Pourquoi « ceci » ? " * 200
    response = client.post(reverse("opportunities:ask", args=[opportunity.pk]), {"text": text})
    assert response.status_code == 400
    raw = response.content.decode()
    page = unescape(raw)
    assert text.strip() in unescape(scripted(raw)) and text.strip() in unescape(plain(raw))
    assert 'href="#id_text"' in page
    assert not Question.objects.exists()
