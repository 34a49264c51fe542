"""A supplier discards a draft bid: a confirmation page, then one button; only their own
draft (anybody else's is a 404, and so is a bid already submitted); audited; gone from their
bids afterwards, files included."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from bids import services
from bids.models import Answer, Attachment, Bid
from marketplace.models import AuditEvent
from tests.factories import SupplierProfileFactory
from tests.support.attachments import upload
from tests.support.upload_limits import proposal

pytestmark = pytest.mark.django_db


def test_the_confirmation_page_says_what_will_go_then_one_post_discards_it(
    client, draft_bid, supplier, django_capture_on_commit_callbacks
):
    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(proposal("Our plan."))
    )
    stored = Path(attachment.file.path)
    assert stored.exists()
    client.force_login(supplier)
    url = reverse("bids:discard", args=[draft_bid.pk])
    page = client.get(url).content.decode()
    assert "Your answers to 2 criteria will be deleted." in page
    assert "1 attached file will be deleted." in page
    assert 'name="form_once"' in page
    # The bid form offers it.
    assert url in client.get(reverse("bids:edit", args=[draft_bid.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("bids:list")
    assert "was discarded" in response.content.decode()
    assert not Bid.objects.filter(pk=draft_bid.pk).exists()
    assert not Answer.objects.exists() and not Attachment.objects.exists()
    assert not stored.exists()
    event = AuditEvent.objects.get(verb="bid.discarded")
    assert event.actor == supplier and event.target_id == str(draft_bid.pk)
    assert list(response.context["bids"]) == []
    dashboard = client.get(reverse("marketplace:dashboard")).content.decode()
    assert reverse("bids:edit", args=[draft_bid.pk]) not in dashboard


def test_another_suppliers_draft_is_a_404_and_stays(client, draft_bid):
    client.force_login(SupplierProfileFactory().user)
    url = reverse("bids:discard", args=[draft_bid.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Bid.objects.filter(pk=draft_bid.pk).exists()
    assert not AuditEvent.objects.filter(verb="bid.discarded").exists()


def test_a_submitted_bid_cannot_be_discarded(client, draft_bid, supplier):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    client.force_login(supplier)
    url = reverse("bids:discard", args=[draft_bid.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    with pytest.raises(services.ValidationError):
        services.bid_discard(supplier=supplier, bid=draft_bid)
    assert Bid.objects.get(pk=draft_bid.pk).status == Bid.Status.SUBMITTED


def test_a_second_discard_does_nothing_more(draft_bid, supplier):
    services.bid_discard(supplier=supplier, bid=draft_bid)
    services.bid_discard(supplier=supplier, bid=draft_bid)
    assert AuditEvent.objects.filter(verb="bid.discarded").count() == 1


def test_the_page_speaks_french(client, draft_bid, supplier):
    client.force_login(supplier)
    with translation.override("fr"):
        url = reverse("bids:discard", args=[draft_bid.pk])
    page = client.get(url).content.decode()
    assert "Supprimer cette ébauche" in page
    assert "Vos réponses à 2 critères seront supprimées." in page


def test_a_new_bid_can_be_started_after_discarding(client, draft_bid, supplier, opportunity):
    services.bid_discard(supplier=supplier, bid=draft_bid)
    again = services.bid_start(supplier=supplier, opportunity=opportunity)
    assert again.pk != draft_bid.pk and again.status == Bid.Status.DRAFT
