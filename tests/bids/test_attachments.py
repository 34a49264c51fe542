"""Attachments: PDF by content, no active content, metadata stripped, private."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from bids import services
from bids.models import Attachment
from tests.factories import SupplierProfileFactory

pytestmark = pytest.mark.django_db

XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:creator>Aurelie Tremblay</dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def make_pdf(*, javascript: bool = False, embedded: bool = False, metadata: bool = True) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=300, height=300)
    if metadata:
        writer.add_metadata(
            {"/Author": "Aurelie Tremblay", "/Producer": "MLCW Writer 9", "/Title": "Our bid"}
        )
        writer.xmp_metadata = XMP
    if javascript:
        writer.add_open_action(JavaScript("app.alert('hello');"))
    if embedded:
        writer.add_attachment("tool.exe", b"MZ\x90\x00")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def upload(data: bytes, name: str = "proposal.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_a_pdf_is_stored_without_author_producer_or_xmp(draft_bid, supplier, settings):
    original = make_pdf()
    assert b"Aurelie Tremblay" in original and b"MLCW Writer" in original
    attachment = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(original))
    stored = attachment.file.open("rb").read()
    assert b"Aurelie Tremblay" not in stored
    assert b"MLCW Writer" not in stored
    assert b"xmpmeta" not in stored
    reader = PdfReader(io.BytesIO(stored))
    assert len(reader.pages) == 1
    assert not reader.metadata
    assert "/Metadata" not in reader.trailer["/Root"]
    # Stored outside the public media directory, under a name that is not the supplier's.
    assert attachment.file.path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert "proposal" not in attachment.file.name
    assert str(settings.MEDIA_ROOT) not in attachment.file.path
    assert attachment.name == "proposal.pdf"
    import hashlib

    assert attachment.sha256 == hashlib.sha256(stored).hexdigest()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"MZ\x90\x00\x03" + b"\x00" * 200, "proposal.pdf", "not a PDF"),
        (b"<html><script>alert(1)</script></html>", "proposal.pdf", "not a PDF"),
        (make_pdf(javascript=True), "proposal.pdf", "scripts, actions or embedded files"),
        (make_pdf(embedded=True), "proposal.pdf", "scripts, actions or embedded files"),
        (make_pdf()[:400], "proposal.pdf", "incomplete or damaged"),
        (b"%PDF-1.7\n%%EOF", "proposal.pdf", "incomplete or damaged"),
    ],
    ids=["renamed-executable", "html", "javascript", "embedded-file", "truncated", "empty"],
)
def test_refused_files_give_a_clear_error_and_keep_the_draft(
    draft_bid, supplier, data, name, message
):
    before = list(draft_bid.answers.values_list("text", flat=True))
    with pytest.raises(ValidationError, match=message):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data, name))
    assert not Attachment.objects.exists()
    assert list(draft_bid.answers.values_list("text", flat=True)) == before


def test_an_oversized_file_is_refused_before_it_is_read(draft_bid, supplier, settings):
    settings.BID_ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(ValidationError, match="larger than"):
        services.attachment_add(
            supplier=supplier, bid=draft_bid, upload=upload(b"%PDF-" + b"0" * 2000)
        )


def test_at_most_three_attachments(draft_bid, supplier):
    for _ in range(3):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(make_pdf()))
    with pytest.raises(ValidationError, match="at most 3"):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(make_pdf()))


def test_a_removed_attachment_stays_available_to_the_receipt_that_names_it(
    draft_bid, supplier, client
):
    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(make_pdf())
    )
    receipt = services.bid_submit(supplier=supplier, bid=draft_bid)
    assert receipt.content["attachments"] == [
        {"id": attachment.pk, "name": "proposal.pdf", "sha256": attachment.sha256}
    ]
    services.attachment_remove(supplier=supplier, bid=draft_bid, attachment=attachment)
    assert services.bid_content(draft_bid)["attachments"] == []
    client.force_login(supplier)
    response = client.get(reverse("bids:attachment", args=[draft_bid.pk, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "private" in response["Cache-Control"]


def test_attachments_are_served_to_their_owner_only(draft_bid, supplier, client, opportunity):
    from marketplace.models import Role
    from tests.factories import StaffFactory

    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(make_pdf())
    )
    url = reverse("bids:attachment", args=[draft_bid.pk, attachment.pk])
    assert client.get(url).status_code == 302  # anonymous: sign in first
    for intruder in (
        SupplierProfileFactory().user,
        opportunity.buyer,
        StaffFactory(roles=[Role.PROGRAM_ADMIN]),
        StaffFactory(roles=[Role.EVALUATOR]),
    ):
        client.force_login(intruder)
        assert client.get(url).status_code == 404
    client.force_login(supplier)
    assert client.get(url).status_code == 200


def test_upload_through_the_page_shows_the_refusal(draft_bid, supplier, client):
    client.force_login(supplier)
    response = client.post(
        reverse("bids:attachment_add", args=[draft_bid.pk]),
        {"file": upload(b"MZ\x90\x00 not really", "cv.pdf")},
        follow=True,
    )
    assert response.status_code == 200
    assert "This file is not a PDF" in response.content.decode()
    assert not Attachment.objects.exists()
