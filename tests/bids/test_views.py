"""Bid pages: the form, the identity warning, autosave, receipts, and who sees what."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bids import services
from bids.identity import identity_matches, identity_tokens, redact
from bids.models import Bid, Receipt
from marketplace.models import Role
from opportunities.models import Opportunity
from tests.builders import fill
from tests.factories import StaffFactory, SupplierFactory, SupplierProfileFactory
from tests.support.forms import _form_data

pytestmark = pytest.mark.django_db


def test_a_supplier_starts_a_bid_from_the_opportunity_page(client, opportunity, supplier):
    client.force_login(supplier)
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Bid on this opportunity" in page
    response = client.post(reverse("bids:start", args=[opportunity.pk]))
    bid = Bid.objects.get(supplier=supplier)
    assert response.url == reverse("bids:edit", args=[bid.pk])
    form = client.get(response.url).content.decode()
    assert 'data-word-limit="300"' in form
    assert "data-deadline" in form
    assert "js/bid-form.js" in form


def test_an_incomplete_profile_is_sent_to_complete_it(client, opportunity):
    client.force_login(SupplierFactory())
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Complete your supplier profile to bid." in page
    assert client.post(reverse("bids:start", args=[opportunity.pk])).status_code == 403


def test_save_draft_then_submit_shows_the_receipt_with_the_digest(client, opportunity, supplier):
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    url = reverse("bids:edit", args=[bid.pk])
    saved = client.post(url, _form_data(bid, action_save="Save draft"), follow=True)
    assert "Your draft was saved" in saved.content.decode()
    bid.refresh_from_db()
    assert bid.status == Bid.Status.DRAFT and bid.draft_saved_at is not None
    response = client.post(url, _form_data(bid, action_submit="Submit bid"))
    receipt = Receipt.objects.get(bid=bid)
    assert response.url == reverse("bids:receipt", args=[bid.pk, 1])
    page = client.get(response.url).content.decode()
    assert receipt.digest in page
    detail = client.get(reverse("bids:detail", args=[bid.pk])).content.decode()
    assert receipt.digest in detail


def test_submitting_an_incomplete_bid_keeps_the_draft_and_marks_each_field(
    client, opportunity, supplier
):
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    rated = opportunity.criteria.get(kind="rated")
    long_answer = "word " * (rated.word_limit + 1)
    data = _form_data(bid, action_submit="Submit bid", **{f"answer_{rated.pk}": long_answer})
    del data["attest_no_conflict"]
    response = client.post(reverse("bids:edit", args=[bid.pk]), data)
    assert response.status_code == 400
    content = response.content.decode()
    assert "it is 1 word over the limit" in content
    assert "Confirm that you have no conflict of interest" in content
    assert (
        bid.answers.get(criterion=rated).text == long_answer.strip()
        or bid.answers.get(criterion=rated).text == long_answer
    )
    assert not Receipt.objects.exists()


def test_a_bad_date_is_a_form_error_not_a_500(client, opportunity, supplier):
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    response = client.post(
        reverse("bids:edit", args=[bid.pk]),
        _form_data(bid, proposed_start_date="31/31/2026", action_save="Save"),
    )
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_answers_that_name_the_supplier_get_a_warning_before_submission(
    client, opportunity, supplier
):
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    answer = (
        "At Maple Leaf Code Works we fixed this (see github.com/mlcw-dev, "
        "https://www.mapleleaf-code.example/work or call 613 555 0142)."
    )
    data = _form_data(bid, action_submit="Submit bid")
    data.update({key: answer for key in data if key.startswith("answer_")})
    warning = client.post(reverse("bids:edit", args=[bid.pk]), data)
    content = warning.content.decode()
    assert warning.status_code == 200
    assert "Your answers may reveal who you are" in content
    for shown in ("mlcw-dev", "mapleleaf-code.example", "613 555 0142", "Maple Leaf Code Works"):
        assert shown in content
    assert not Receipt.objects.exists()  # nothing submitted yet, but the draft is saved
    assert bid.answers.first().text == answer
    response = client.post(reverse("bids:submit", args=[bid.pk]))
    assert response.url == reverse("bids:receipt", args=[bid.pk, 1])


def test_identity_matching_and_redaction():
    supplier = SupplierProfileFactory(
        legal_name="Northern Lights Accessibility Co-op",
        contact_name="Jamal Okafor",
        website="https://nlac11y.example",
        github_handle="nlac11y",
        phone="204-555-0123",
    ).user
    tokens = identity_tokens(supplier, supplier.supplier_profile)
    text = (
        "Jamal OKAFOR led it; see https://github.com/NLAC11Y/fix or (204) 555-0123. "
        "Our accessibility work is open."
    )
    written = {f.value for f in identity_matches([text], tokens)}
    assert {"Jamal OKAFOR", "NLAC11Y", "204) 555-0123"} <= written
    labels = {str(f.label) for f in identity_matches([text], tokens)}
    assert {"contact person", "website", "phone"} <= labels
    assert "accessibility" not in {v.lower() for v in written}  # a common word of the firm name
    redacted = redact(text, tokens)
    assert "Okafor" not in redacted and "OKAFOR" not in redacted
    assert "NLAC11Y" not in redacted and "555-0123" not in redacted
    assert "Our accessibility work is open." in redacted


def test_autosave_saves_the_draft_and_answers_json(client, opportunity, supplier):
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    criterion = opportunity.criteria.first()
    response = client.post(
        reverse("bids:autosave", args=[bid.pk]), {f"answer_{criterion.pk}": "Half an answer"}
    )
    assert response.status_code == 200
    assert response.json()["saved"] is True
    assert "Draft saved at" in response.json()["message"]
    assert bid.answers.get(criterion=criterion).text == "Half an answer"
    bad = client.post(reverse("bids:autosave", args=[bid.pk]), {"proposed_start_date": "nope"})
    assert bad.status_code == 400 and bad.json()["saved"] is False


def test_after_the_deadline_the_form_is_closed_with_a_clear_message(
    client, opportunity, draft_bid, supplier
):
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=timezone.now() - dt.timedelta(seconds=1)
    )
    client.force_login(supplier)
    response = client.get(reverse("bids:edit", args=[draft_bid.pk]), follow=True)
    assert "This opportunity is closed" in response.content.decode()
    posted = client.post(
        reverse("bids:edit", args=[draft_bid.pk]),
        _form_data(draft_bid, action_submit="Submit bid"),
        follow=True,
    )
    assert posted.status_code == 200
    assert not Receipt.objects.exists()
    autosave = client.post(reverse("bids:autosave", args=[draft_bid.pk]), {})
    assert autosave.status_code == 409


def test_withdraw_asks_for_confirmation_then_withdraws(client, draft_bid, supplier):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    client.force_login(supplier)
    url = reverse("bids:withdraw", args=[draft_bid.pk])
    assert "Withdraw my bid" in client.get(url).content.decode()
    client.post(url)
    draft_bid.refresh_from_db()
    assert draft_bid.status == Bid.Status.WITHDRAWN


def test_bid_count_but_nothing_else_for_the_buyer_and_admins_before_the_close(
    client, opportunity, draft_bid, supplier
):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    for viewer in (opportunity.buyer, admin):
        client.force_login(viewer)
        page = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
        assert "1 bid submitted." in page
        assert supplier.email not in page and "keyboard trap" not in page
    client.force_login(StaffFactory(roles=[Role.EVALUATOR]))
    page = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "bid submitted" not in page


# --- Permission matrix ------------------------------------------------------------------------

OWNER_PAGES = [
    ("bids:detail", "get", 200),
    ("bids:edit", "get", 200),
    ("bids:withdraw", "get", 200),
    ("bids:receipt", "get", 200),
    ("bids:autosave", "post", 200),
    ("bids:confirm", "post", 302),
    ("bids:submit", "post", 302),
    ("bids:attachment_add", "post", 400),  # no file chosen: said at the file box
]


def _url(name, bid):
    if name == "bids:receipt":
        return reverse(name, args=[bid.pk, 1])
    return reverse(name, args=[bid.pk])


@pytest.mark.parametrize(("name", "method", "owner_status"), OWNER_PAGES)
def test_bid_pages_permission_matrix(client, draft_bid, supplier, name, method, owner_status):
    services.bid_submit(supplier=supplier, bid=draft_bid)
    url = _url(name, draft_bid)
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    others = {
        "another supplier": SupplierProfileFactory().user,
        "buyer": draft_bid.opportunity.buyer,
        "evaluator": StaffFactory(roles=[Role.EVALUATOR]),
        "card holder": StaffFactory(roles=[Role.CARD_HOLDER]),
        "program admin": StaffFactory(roles=[Role.PROGRAM_ADMIN]),
    }
    for who, user in others.items():
        client.force_login(user)
        assert getattr(client, method)(url).status_code == 404, who
    client.force_login(supplier)
    assert getattr(client, method)(url).status_code == owner_status


def test_the_bid_list_is_for_suppliers_and_shows_only_their_own(client, draft_bid, supplier):
    other = services.bid_start(
        supplier=SupplierProfileFactory().user, opportunity=draft_bid.opportunity
    )
    fill(other, other.supplier)
    client.force_login(supplier)
    page = client.get(reverse("bids:list"))
    assert list(page.context["bids"]) == [draft_bid]
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert client.get(reverse("bids:list")).status_code == 403


def test_terms_page_is_public(client, terms_version):
    page = client.get(reverse("bids:terms"))
    assert page.status_code == 200 and terms_version in page.content.decode()


def test_the_save_and_upload_buttons_can_be_read(client, opportunity, supplier):
    """Their outline style once sat on top of a filled one: blue text on a blue button."""
    import re

    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    page = client.get(reverse("bids:edit", args=[bid.pk])).content.decode()
    for name in ("action_save", "action_upload"):
        button = re.search(rf'<(?:input|button)[^>]*name="{name}"[^>]*>', page).group()
        classes = re.search(r'class="([^"]*)"', button).group(1).split()
        # One secondary (outlined) style of the GCDS buttons (static/css/site.css), never on
        # top of a filled one; no Bootstrap button class left to draw another.
        assert "gc-btn" in classes and "gc-btn-secondary" in classes, classes
        assert "gc-btn-primary" not in classes, classes
        assert not [c for c in classes if c == "btn" or c.startswith("btn-")], classes
