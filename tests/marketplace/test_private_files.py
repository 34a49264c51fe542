"""Every private file leaves with the same headers (marketplace/files.py): a bid attachment, a
packet's attachment, a delivered document and an invoice are never kept by a browser or a
proxy, never sniffed for another type, and named as RFC 6266 says."""

import pytest
from django.http import Http404
from django.urls import reverse

from marketplace.files import private_file_response

pytestmark = pytest.mark.django_db


def _downloads(world):
    o = world.objects
    contract, payment = o["contract"], o["payment"]
    return (
        ("winner", reverse("bids:attachment", args=[o["winner_bid"].pk, o["attachment"].pk])),
        (
            "chair",
            reverse("evaluation:packet_attachment", args=[o["awarded"].pk, o["packet"].pk, 1]),
        ),
        ("winner", reverse("payments:file", args=[contract.pk, o["delivery_file"].pk])),
        ("winner", reverse("payments:invoice_pdf", args=[payment.pk])),
    )


def test_every_private_file_is_sent_with_the_same_safe_headers(client, world):
    for visitor, url in _downloads(world):
        client.force_login(world.people[visitor])
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/pdf"
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith(("attachment; ", "inline; "))
    invoice = client.get(_downloads(world)[-1][1])
    number = world.objects["payment"].invoice_number
    assert invoice["Content-Disposition"] == f'inline; filename="{number}.pdf"'


def test_a_name_beyond_ascii_is_encoded_and_a_missing_file_is_a_404(world):
    attachment = world.objects["attachment"]
    response = private_file_response(attachment.file, filename="Résumé «final».pdf")
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''R%C3%A9sum%C3%A9%20%C2%ABfinal%C2%BB.pdf"
    )
    response.file_to_stream.close()  # not response.close(): it ends the "request" and its database
    attachment.file.storage.delete(attachment.file.name)
    gone = type(attachment).objects.get(pk=attachment.pk)  # as a request reads it
    with pytest.raises(Http404):
        private_file_response(gone.file, filename="gone.pdf")
