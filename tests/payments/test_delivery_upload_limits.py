"""A delivery's PDF is checked like a bid attachment, within the same limits (issue 19): counted
per person with bid attachments, one at a time, stopped at the time limit. A refused file stays
on the form with what was typed; nothing is delivered."""

import time

import pytest
from django.urls import reverse

from bids.pdf_worker import check_admitted
from payments import contracts
from payments.models import Contract, DeliveryFile
from tests.support.attachments import upload
from tests.support.upload_limits import MARGIN, proposal, slow_pdf

pytestmark = pytest.mark.django_db

URL = "https://github.com/esdc/picker/pull/7"


@pytest.fixture
def in_progress(awarded, client):
    _opportunity, contract = awarded
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    client.force_login(contract.supplier)
    return contract


def deliver(client, contract, data: bytes | None = None):
    fields = {"delivery_url": URL, "notes": "Tested with a screen reader."}
    if data is not None:
        fields["file"] = upload(data, "guide.pdf")
    return client.post(reverse("payments:deliver", args=[contract.pk]), fields)


def assert_not_delivered(contract, page, message: str) -> None:
    body = page.content.decode()
    assert page.status_code == 400  # the form again, with its error; never a 500
    assert message in body
    assert URL in body and "Tested with a screen reader." in body  # what was typed stays
    contract.refresh_from_db()
    assert contract.status == Contract.Status.IN_PROGRESS
    assert not DeliveryFile.objects.exists()


def test_delivery_files_beyond_the_limit_are_refused_but_a_link_alone_is_not(
    client, in_progress, settings, clock
):
    settings.BID_ATTACHMENT_RATE_LIMIT = (1, 600)
    assert_not_delivered(in_progress, deliver(client, in_progress, b"MZ\x90\x00"), "not a PDF")
    assert_not_delivered(
        in_progress,
        deliver(client, in_progress, proposal("Guide.")),
        "You have sent many files in a few minutes. Nothing was attached: try again in 10 minutes.",
    )
    assert deliver(client, in_progress).status_code == 302  # no file: nothing to check
    in_progress.refresh_from_db()
    assert in_progress.status == Contract.Status.DELIVERED


def test_a_delivery_file_while_another_file_of_theirs_is_checked_is_refused(client, in_progress):
    with check_admitted(who=in_progress.supplier.pk):
        page = deliver(client, in_progress, proposal("Guide."))
    assert_not_delivered(in_progress, page, "Another of your files is still being checked.")
    assert deliver(client, in_progress, proposal("Guide.")).status_code == 302
    assert DeliveryFile.objects.count() == 1


def test_a_delivery_file_too_slow_to_check_is_refused_in_time(client, in_progress, settings):
    settings.BID_ATTACHMENT_CHECK_SECONDS = 1
    started = time.monotonic()
    page = deliver(client, in_progress, slow_pdf())
    assert time.monotonic() - started < 1 + MARGIN
    assert_not_delivered(in_progress, page, "This PDF took too long to check")
