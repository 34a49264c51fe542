"""Uploading or removing an attachment keeps what was typed: the "Upload" and "Remove" buttons
send the whole bid form (no JavaScript needed), the draft is saved first, then the file is
handled; a refused file is said at the file box, and nothing typed is lost either way."""

import datetime as dt
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from bids import services
from bids.models import Attachment
from tests.support.attachments import upload
from tests.support.upload_limits import proposal

pytestmark = pytest.mark.django_db


def typed(bid, language: str) -> dict:
    """What a supplier typed and did not save: answers with numbers, a date, checkboxes."""
    words = {
        "en": "We fixed 1,234 forms in 2024 — 98.5 % of them in 3 days.",
        "fr": "Nous avons corrigé 1 234 formulaires en 2024 : 98,5 % en 3 jours, « à temps ».",
    }[language]
    data = {f"answer_{c.pk}": f"{words} ({c.pk})" for c in bid.opportunity.criteria.all()}
    data.update(
        proposed_start_date=(timezone.localdate() + dt.timedelta(days=9)).isoformat(),
        attest_can_work_in_canada="on",
        attest_no_conflict="on",
    )
    return data


def url(name: str, language: str, *args) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def assert_kept(bid, data: dict) -> None:
    bid.refresh_from_db()
    for criterion in bid.opportunity.criteria.all():
        assert bid.answers.get(criterion=criterion).text == data[f"answer_{criterion.pk}"]
    assert bid.proposed_start_date.isoformat() == data["proposed_start_date"]
    assert bid.attest_can_work_in_canada and bid.attest_no_conflict
    assert not bid.attest_can_be_paid_by_card


@pytest.mark.parametrize("language", ["en", "fr"])
def test_upload_saves_the_typed_draft_then_attaches_the_file(
    client, opportunity, supplier, language
):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    client.force_login(supplier)
    data = typed(bid, language)
    response = client.post(
        url("bids:attachment_add", language, bid.pk),
        {**data, "action_upload": "1", "attachment": upload(proposal("Our plan."))},
        follow=True,
    )
    assert response.status_code == 200
    assert Attachment.objects.filter(bid=bid).count() == 1
    assert_kept(bid, data)
    page = unescape(response.content.decode())
    for name, value in data.items():
        if name.startswith("answer_") or name == "proposed_start_date":
            assert value in page, name
    assert {"en": "The file was attached.", "fr": "Le fichier a été joint."}[language] in page


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_refused_file_keeps_the_typed_draft_and_says_why_at_the_file_box(
    client, opportunity, supplier, language
):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    client.force_login(supplier)
    data = typed(bid, language)
    response = client.post(
        url("bids:attachment_add", language, bid.pk),
        {**data, "action_upload": "1", "attachment": upload(b"MZ\x90\x00", "tool.pdf")},
    )
    assert response.status_code == 400
    assert not Attachment.objects.exists()
    assert_kept(bid, data)
    page = unescape(response.content.decode())
    assert re.search(r'<a href="#id_attachment" data-error-target="id_attachment">', page)
    assert 'id="id_attachment"' in page
    for name, value in data.items():
        if name.startswith("answer_"):
            assert value in page


def test_upload_without_a_file_saves_the_draft_and_asks_for_one(client, opportunity, supplier):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    client.force_login(supplier)
    data = typed(bid, "en")
    response = client.post(
        reverse("bids:attachment_add", args=[bid.pk]), {**data, "action_upload": "1"}
    )
    assert response.status_code == 400
    assert "Choose a PDF file to upload." in response.content.decode()
    assert_kept(bid, data)


def test_an_invalid_form_saves_nothing_and_attaches_nothing_but_keeps_the_text(
    client, draft_bid, supplier
):
    client.force_login(supplier)
    before = list(draft_bid.answers.values_list("text", flat=True))
    data = typed(draft_bid, "fr")
    data["proposed_start_date"] = "31/31/2026"
    response = client.post(
        url("bids:attachment_add", "fr", draft_bid.pk),
        {**data, "action_upload": "1", "attachment": upload(proposal())},
    )
    assert response.status_code == 400
    assert not Attachment.objects.exists()
    assert list(draft_bid.answers.values_list("text", flat=True)) == before
    page = unescape(response.content.decode())
    assert all(data[k] in page for k in data if k.startswith("answer_"))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_remove_saves_the_typed_draft_then_removes_the_file(
    client, opportunity, supplier, language
):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    attachment = services.attachment_add(supplier=supplier, bid=bid, upload=upload(proposal()))
    client.force_login(supplier)
    data = typed(bid, language)
    response = client.post(
        url("bids:attachment_remove", language, bid.pk, attachment.pk),
        {**data, "action_remove": str(attachment.pk)},
    )
    assert response.status_code == 302
    attachment.refresh_from_db()
    assert attachment.removed_at is not None
    assert_kept(bid, data)


def test_the_upload_and_remove_buttons_belong_to_the_bid_form_after_save(
    client, draft_bid, supplier
):
    services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(proposal()))
    client.force_login(supplier)
    page = client.get(reverse("bids:edit", args=[draft_bid.pk])).content.decode()
    assert 'enctype="multipart/form-data"' in page
    upload_button = re.search(r'<button[^>]*name="action_upload"[^>]*>', page).group()
    remove_button = re.search(r'<button[^>]*name="action_remove"[^>]*>', page).group()
    file_box = re.search(r'<input[^>]*name="attachment"[^>]*>', page).group()
    for element in (upload_button, remove_button, file_box):
        assert 'form="bid-form"' in element
    # "Save draft" comes first in the page: Enter in a field saves, never removes a file.
    assert page.index('name="action_save"') < page.index('name="action_remove"')
    assert page.index('name="action_save"') < page.index('name="action_upload"')
