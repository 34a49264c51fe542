"""The technical admin site shows no bidder identity and cannot change what the workflow guards
(DESIGN.md §4; issue 18, point 4)."""

import datetime as dt
import hashlib
import importlib
import io
import logging
import re

import pytest
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.models import Authenticator
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client, RequestFactory
from django.utils import timezone
from pypdf import PdfWriter

from bids import services as bid_services
from bids.models import Answer, Attachment, Bid, Receipt
from evaluation.models import (
    ConsensusMark,
    Evaluation,
    Mark,
    Offer,
    Packet,
    PacketAttachment,
    PanelMember,
)
from lifecycle import closing
from marketplace import services as marketplace_services
from marketplace.models import AuditEvent, Notification, Role, SupplierProfile, User
from opportunities.models import Alert, Criterion, Guardrails, Opportunity, Skill
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from reports.models import DiversitySnapshot, SelfIdentification
from tests.builders import fill
from tests.factories import OpportunityFactory, SkillFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "zephyrine.quillfeather@quillbyte-works.example"
FULL_NAME = "Zephyrine Quillfeather"
LEGAL_NAME = "Quillfeather Zephyr Systems Ltd."
TRADING_NAME = "Quillbyte Works"
FILE_NAME = "Quillbyte Works - Zephyrine Quillfeather proposal.pdf"
# Every way the supplier could show: lower-cased, the page is searched lower-cased too.
IDENTITY = ("quillfeather", "quillbyte", "zephyrine", "zephyr systems")

# Models whose rows say who bid, or decide the outcome: never editable in the admin.
GUARDED = (
    Bid,
    Receipt,
    Answer,
    Attachment,
    Evaluation,
    Packet,
    PacketAttachment,
    PanelMember,
    Mark,
    ConsensusMark,
    Offer,
    SelfIdentification,
    Opportunity,
    Criterion,
    Guardrails,
    AuditEvent,
    Notification,
    SupplierProfile,
)
# Never registered at all: the blind evaluation and the supplier's answers and files.
UNREGISTERED = (
    Receipt,
    Answer,
    Attachment,
    Evaluation,
    Packet,
    PacketAttachment,
    PanelMember,
    Mark,
    ConsensusMark,
    Offer,
    SelfIdentification,
    DiversitySnapshot,
    Criterion,
)
BID_LINKED = (Bid, Receipt, Answer, Attachment, Packet, PacketAttachment, Mark, ConsensusMark)


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=300, height=300)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def assert_blind(body: str, where: str) -> None:
    text = body.lower()
    found = [token for token in IDENTITY if token in text]
    assert not found, f"{where} shows {found}"


@pytest.fixture
def superuser(db):
    return UserFactory(
        email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True, full_name="Root Admin"
    )


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def bidder(db):
    """Signed up and profiled through the services, so the audit trail holds the account's own
    events (which may name it: they say nothing about a bid) as well as its bids'."""
    user = marketplace_services.user_create(
        email=EMAIL, password=None, full_name=FULL_NAME, email_verified=True
    )
    marketplace_services.user_signup_complete(user=user)
    marketplace_services.supplier_profile_save(
        actor=user,
        user=user,
        kind=SupplierProfile.Kind.ORGANIZATION,
        legal_name=LEGAL_NAME,
        trading_name=TRADING_NAME,
        contact_name=FULL_NAME,
        email=EMAIL,
        phone="613-555-0177",
        website="https://quillbyte-works.example",
        github_handle="quillfeather-dev",
        province="ON",
        postal_code="K1A 0B1",
    )
    SelfIdentification.objects.create(user=user, groups=["women"], consented_at=timezone.now())
    return user


def is_about_the_account(event: AuditEvent) -> bool:
    """Events whose target is the person or their profile: they name it, and no bid."""
    return event.target_type is not None and event.target_type.model_class() in (
        User,
        SupplierProfile,
    )


def published(program_admin) -> Opportunity:
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=program_admin, opportunity=draft)


def attach(bid: Bid) -> Attachment:
    """An attachment whose file name names the supplier (made directly: its name is the point,
    not the upload checks, which tests/bids covers)."""
    data = blank_pdf()
    return Attachment.objects.create(
        bid=bid,
        file=ContentFile(data, name="upload.pdf"),
        name=FILE_NAME,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture
def bids(program_admin, bidder, django_capture_on_commit_callbacks) -> dict[str, Bid]:
    """One bid of the same supplier in every status, each made through the services as far as
    they go (start, answers naming the supplier, an attachment, submit, withdraw, the close that
    seals and builds the packets); the statuses the evaluation sets after that are set directly."""
    made = {}
    for status in Bid.Status.values:
        opportunity = published(program_admin)
        bid = bid_services.bid_start(supplier=bidder, opportunity=opportunity)
        text = f"{FULL_NAME} of {TRADING_NAME} ({EMAIL}) fixed this for {LEGAL_NAME}."
        fill(bid, bidder, answers={c.pk: text for c in opportunity.criteria.all()})
        attach(bid)
        if status != Bid.Status.DRAFT:
            bid_services.bid_submit(supplier=bidder, bid=bid)
        if status == Bid.Status.WITHDRAWN:
            bid_services.bid_withdraw(supplier=bidder, bid=bid)
        if status not in (Bid.Status.DRAFT, Bid.Status.SUBMITTED, Bid.Status.WITHDRAWN):
            with django_capture_on_commit_callbacks(execute=True):
                closing.opportunity_close(
                    opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
                )
            Bid.objects.filter(pk=bid.pk).update(status=status)
        bid.refresh_from_db()
        assert bid.status == status
        made[status] = bid
    return made


@pytest.fixture
def sealed_bid(program_admin, bidder, django_capture_on_commit_callbacks) -> Bid:
    """One sealed bid, with its receipt, attachment and packet: for the tests that need a row
    of each kind rather than every status."""
    opportunity = published(program_admin)
    bid = bid_services.bid_start(supplier=bidder, opportunity=opportunity)
    fill(bid, bidder, answers={c.pk: f"{FULL_NAME} did it." for c in opportunity.criteria.all()})
    attach(bid)
    bid_services.bid_submit(supplier=bidder, bid=bid)
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    bid.refresh_from_db()
    return bid


def admin_pages(bids: dict[str, Bid], bidder: User) -> list[str]:
    """Every admin page that reaches a bid or something about one."""
    pages = [
        "admin/",
        "admin/bids/",
        "admin/bids/bid/",
        "admin/bids/bid/?o=1",
        "admin/bids/bid/?o=-2",
        "admin/bids/bid/?o=3",
        "admin/marketplace/auditevent/?o=2&verb__exact=bid.submitted",
        "admin/marketplace/auditevent/?o=-2&verb__exact=bid.started",
        "admin/marketplace/notification/",
        "admin/marketplace/notification/?o=2",
        "admin/marketplace/notification/?kind__exact=bid.submitted",
        "admin/opportunities/opportunity/",
    ]
    for status, bid in bids.items():
        pages += [
            f"admin/bids/bid/?status__exact={status}",
            f"admin/bids/bid/{bid.pk}/change/",
            f"admin/bids/bid/{bid.pk}/history/",
            f"admin/opportunities/opportunity/{bid.opportunity_id}/change/",
        ]
    for verb in AuditEvent.objects.filter(verb__startswith="bid.").values_list("verb", flat=True):
        pages.append(f"admin/marketplace/auditevent/?verb__exact={verb}")
    for event in AuditEvent.objects.select_related("target_type"):
        if not is_about_the_account(event):
            pages.append(f"admin/marketplace/auditevent/{event.pk}/change/")
    for notification in Notification.objects.filter(recipient=bidder):
        pages.append(f"admin/marketplace/notification/{notification.pk}/change/")
    return pages


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_admin_page_about_bids_names_the_bidder_in_any_bid_status(
    admin_client, bids, bidder, language
):
    assert set(bids) == set(Bid.Status.values)
    assert Packet.objects.filter(bid__supplier=bidder).count() == len(Bid.Status.values) - 3
    for page in admin_pages(bids, bidder):
        response = admin_client.get(f"/{language}/{page}")
        assert response.status_code == 200, page
        assert_blind(response.content.decode(), page)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_whole_audit_list_names_the_bidder_only_on_events_about_their_account(
    admin_client, bids, bidder, language
):
    response = admin_client.get(f"/{language}/admin/marketplace/auditevent/", {"all": ""})
    events = {event.pk: event for event in response.context["cl"].result_list}
    assert len(events) == AuditEvent.objects.count()
    rows = re.findall(r"<tr[^>]*>.*?</tr>", response.content.decode(), flags=re.S)
    naming = 0
    for row in rows:
        link = re.search(r"/admin/marketplace/auditevent/(\d+)/change/", row)
        if link is None:
            continue
        event = events[int(link[1])]
        if is_about_the_account(event):
            naming += 1
        else:
            assert_blind(row, f"{event.verb} row")
    assert naming  # the account's own events (sign-up, role, profile) do name it


def test_the_admin_lists_bids_and_their_events_but_never_who_made_them(admin_client, bids, bidder):
    sealed = bids[Bid.Status.SEALED]
    page = admin_client.get("/en/admin/bids/bid/").content.decode()
    assert f"Bid {sealed.pk} on opportunity {sealed.opportunity_id} (sealed)" in page
    page = admin_client.get("/en/admin/marketplace/auditevent/?verb__exact=bid.submitted")
    rows = page.context["cl"].result_list
    assert len(rows) == len(Bid.Status.values) - 1  # every bid but the draft was submitted
    assert {event.actor_id for event in rows} == {bidder.pk}
    body = page.content.decode()
    assert "a supplier (hidden)" in body
    assert f"Bid {sealed.pk} on opportunity {sealed.opportunity_id} (submitted)" in body
    page = admin_client.get(f"/en/admin/bids/bid/{sealed.pk}/change/").content.decode()
    # The receipt's number and digest, never its content nor a link to the supplier.
    assert sealed.last_receipt.digest in page
    assert f"/admin/marketplace/user/{bidder.pk}/" not in page
    assert "answer" not in page.lower()


def test_a_users_and_a_profiles_admin_pages_list_none_of_their_bids(admin_client, bids, bidder):
    profile = bidder.supplier_profile
    for page in (
        f"/en/admin/marketplace/user/{bidder.pk}/change/",
        f"/en/admin/marketplace/supplierprofile/{profile.pk}/change/",
        f"/en/admin/marketplace/user/{bidder.pk}/history/",
    ):
        body = admin_client.get(page).content.decode()
        assert not re.search(r"/admin/bids/bid/\d", body), page  # the sidebar links the list
        for bid in bids.values():
            assert f"Bid {bid.pk} on" not in body, page
            assert bid.opportunity.title_en not in body, page
    # The deletion page would list the bids that protect the account: accounts are deactivated.
    assert admin_client.get(f"/en/admin/marketplace/user/{bidder.pk}/delete/").status_code == 403
    response = admin_client.post(f"/en/admin/marketplace/user/{bidder.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=bidder.pk).exists()


def test_searching_the_admin_for_the_bidder_finds_nothing_about_their_bids(
    admin_client, bids, bidder
):
    for term in ("quillfeather", EMAIL, LEGAL_NAME, FULL_NAME):
        response = admin_client.get("/en/admin/marketplace/auditevent/", {"q": term})
        found = response.context["cl"].result_list
        assert all(is_about_the_account(event) for event in found), term
        response = admin_client.get("/en/admin/marketplace/notification/", {"q": term})
        assert response.context["cl"].result_count == 0, term
    # The bid pages have no search at all.
    response = admin_client.get("/en/admin/bids/bid/", {"q": "quillfeather"})
    assert response.context["cl"].result_count == len(Bid.Status.values)


@pytest.mark.parametrize(
    "changelist, lookup",
    [
        ("bids/bid", "supplier"),
        ("bids/bid", "supplier__email"),
        ("bids/bid", "supplier__email__icontains"),
        ("bids/bid", "answers__text__icontains"),
        ("bids/bid", "attachments__name__icontains"),
        ("marketplace/user", "bids"),
        ("marketplace/user", "bids__opportunity"),
        ("marketplace/auditevent", "actor"),
        ("marketplace/auditevent", "actor__email"),
        ("marketplace/auditevent", "target_id"),
        ("marketplace/notification", "recipient"),
        ("marketplace/notification", "context__icontains"),
        ("marketplace/supplierprofile", "user"),
    ],
)
def test_the_admin_refuses_filters_that_would_tell_whose_bid_it_is(
    admin_client, sealed_bid, bidder, changelist, lookup
):
    value = sealed_bid.pk if lookup.startswith("bids") else bidder.pk
    if "icontains" in lookup or lookup.endswith("email"):
        value = "quillfeather"
    response = admin_client.get(f"/en/admin/{changelist}/", {lookup: value})
    assert response.status_code == 400, lookup
    assert_blind(response.content.decode(), lookup)


@pytest.mark.parametrize("model", UNREGISTERED, ids=lambda m: m._meta.label)
def test_evaluation_answers_files_and_self_identification_are_not_in_the_admin(
    admin_client, sealed_bid, model
):
    assert model not in admin.site._registry
    opts = model._meta
    response = admin_client.get(f"/en/admin/{opts.app_label}/{opts.model_name}/")
    assert response.status_code == 404
    row = model.objects.first()
    if row is not None:
        response = admin_client.get(
            f"/en/admin/{opts.app_label}/{opts.model_name}/{row.pk}/change/"
        )
        assert response.status_code == 404


def _admins_of(model):
    model_admin = admin.site._registry.get(model)
    found = [model_admin] if model_admin else []
    for registered in admin.site._registry.values():
        found += [
            inline(registered.model, admin.site)
            for inline in registered.inlines
            if inline.model is model
        ]
    return found


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m._meta.label)
def test_no_admin_of_a_guarded_model_can_add_change_or_delete(superuser, model):
    request = RequestFactory().get("/en/admin/")
    request.user = superuser
    for model_admin in _admins_of(model):
        inline = isinstance(model_admin, admin.options.InlineModelAdmin)
        for obj in (None, model()):
            # An inline's add permission is asked about its parent object; a page's is not.
            assert not model_admin.has_add_permission(request, *([obj] if inline else []))
            assert not model_admin.has_change_permission(request, obj)
            assert not model_admin.has_delete_permission(request, obj)
        assert model_admin.has_view_permission(request)


def test_no_registered_admin_shows_a_supplier_next_to_a_bid_or_inlines_bids():
    for model, model_admin in admin.site._registry.items():
        for inline in model_admin.inlines:
            # Only a bid's own receipts (number, time, digest) sit inside another page.
            assert inline.model not in BID_LINKED or (model, inline.model) == (Bid, Receipt), (
                model,
                inline,
            )
        if model in BID_LINKED:
            names = [
                *model_admin.list_display,
                *model_admin.list_filter,
                *model_admin.search_fields,
                *(model_admin.fields or ()),
                *model_admin.readonly_fields,
            ]
            assert not [n for n in names if isinstance(n, str) and "supplier" in n], model
            assert not [n for n in names if isinstance(n, str) and n in ("answers", "attachments")]


@pytest.mark.parametrize("status", Opportunity.Status.values)
def test_an_opportunity_and_its_criteria_cannot_be_changed_in_the_admin_in_any_status(
    admin_client, status
):
    """Read-only even as a draft: its buyer edits a draft on the draft page, where the
    guardrails are checked and the change audited."""
    opportunity = OpportunityFactory()
    Opportunity.objects.filter(pk=opportunity.pk).update(status=status)
    criteria = list(opportunity.criteria.order_by("pk").values())
    before = Opportunity.objects.filter(pk=opportunity.pk).values().get()
    events = AuditEvent.objects.count()
    rated = opportunity.criteria.get(kind=Criterion.Kind.RATED)
    page = f"/en/admin/opportunities/opportunity/{opportunity.pk}/change/"
    form = {
        "title_en": "Changed behind the workflow",
        "value_cents": "999999999",
        "status": "draft",
        "criteria-TOTAL_FORMS": "3",
        "criteria-INITIAL_FORMS": "2",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "1000",
        "criteria-0-id": str(rated.pk),
        "criteria-0-opportunity": str(opportunity.pk),
        "criteria-0-kind": "rated",
        "criteria-0-text_en": "Weighted in secret",
        "criteria-0-weight": "99",
        "criteria-0-max_score": "100",
        "criteria-1-id": str(opportunity.criteria.exclude(pk=rated.pk).get().pk),
        "criteria-1-DELETE": "on",
        "criteria-2-kind": "rated",
        "criteria-2-text_en": "A new criterion",
        "criteria-2-weight": "50",
    }
    assert admin_client.get(page).status_code == 200  # viewable
    assert admin_client.post(page, form).status_code == 403
    assert admin_client.post("/en/admin/opportunities/opportunity/add/", form).status_code == 403
    delete = f"/en/admin/opportunities/opportunity/{opportunity.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Opportunity.objects.filter(pk=opportunity.pk).values().get() == before
    assert list(opportunity.criteria.order_by("pk").values()) == criteria
    assert AuditEvent.objects.count() == events
    # The page shows the criteria as text, with no form field to change them.
    body = admin_client.get(page).content.decode()
    assert 'name="criteria-0-weight"' not in body and 'name="title_en"' not in body


def test_guardrails_cannot_be_changed_in_the_admin(admin_client):
    guardrails = Guardrails.current()
    before = Guardrails.objects.values().get()
    page = f"/en/admin/opportunities/guardrails/{guardrails.pk}/change/"
    form = {
        "value_cap_cents": "99999999",
        "min_open_business_days": "0",
        "allowed_types": "[]",
        "split_window_days": "0",
    }
    assert admin_client.get(page).status_code == 200
    assert admin_client.post(page, form).status_code == 403
    assert admin_client.post("/en/admin/opportunities/guardrails/add/", form).status_code == 403
    delete = f"/en/admin/opportunities/guardrails/{guardrails.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Guardrails.objects.values().get() == before


def test_bids_profiles_and_the_audit_trail_cannot_be_changed_in_the_admin(
    admin_client, sealed_bid, bidder
):
    bid = sealed_bid
    profile = bidder.supplier_profile
    event = AuditEvent.objects.filter(verb="bid.submitted").first()
    before = (
        Bid.objects.values().get(pk=bid.pk),
        SupplierProfile.objects.values().get(pk=profile.pk),
        AuditEvent.objects.values().get(pk=event.pk),
    )
    attempts = [
        (f"bids/bid/{bid.pk}/change/", {"status": "awarded"}),
        (f"bids/bid/{bid.pk}/delete/", {"post": "yes"}),
        ("bids/bid/add/", {"opportunity": str(bid.opportunity_id), "status": "sealed"}),
        (f"marketplace/supplierprofile/{profile.pk}/change/", {"legal_name": "Someone Else"}),
        (f"marketplace/auditevent/{event.pk}/change/", {"target_repr": "rewritten"}),
        (f"marketplace/auditevent/{event.pk}/delete/", {"post": "yes"}),
    ]
    for page, form in attempts:
        assert admin_client.post(f"/en/admin/{page}", form).status_code == 403, page
    assert (
        Bid.objects.values().get(pk=bid.pk),
        SupplierProfile.objects.values().get(pk=profile.pk),
        AuditEvent.objects.values().get(pk=event.pk),
    ) == before


def test_a_users_address_cannot_be_changed_in_the_admin(admin_client, bidder):
    """The address decides the roles: its owner changes it through the pages that verify it."""
    page = f"/en/admin/marketplace/user/{bidder.pk}/change/"
    body = admin_client.get(page).content.decode()
    assert 'name="email"' not in body
    admin_client.post(
        page,
        {
            "email": "reviewer@esdc-edsc.gc.ca",
            "full_name": FULL_NAME,
            "preferred_language": "en",
            "is_active": "on",
            "last_login_0": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "role_grants-TOTAL_FORMS": "0",
            "role_grants-INITIAL_FORMS": "0",
        },
    )
    bidder.refresh_from_db()
    assert bidder.email == EMAIL


def test_a_bids_text_and_its_linked_rows_name_no_one(bids):
    offer_made = False
    for bid in bids.values():
        linked = [bid, *bid.receipts.all(), *bid.answers.all(), *bid.attachments.all()]
        packet = Packet.objects.filter(bid=bid).first()
        if packet is not None:
            linked += [packet, *packet.attachments.all()]
            if not offer_made:
                linked.append(
                    Offer.objects.create(
                        evaluation=packet.evaluation,
                        packet=packet,
                        number=1,
                        offered_by=bid.opportunity.buyer,
                    )
                )
                offer_made = True
        for row in linked:
            assert_blind(str(row), repr(type(row)))
        assert str(bid) == f"Bid {bid.pk} on opportunity {bid.opportunity_id} ({bid.status})"
    assert offer_made


def test_audit_events_about_bids_name_no_one(bids, bidder):
    bid_type = ContentType.objects.get_for_model(Bid)
    events = AuditEvent.objects.filter(target_type=bid_type)
    assert {e.verb for e in events} >= {"bid.started", "bid.submitted", "bid.withdrawn"}
    for event in events:
        assert_blind(event.target_repr, event.verb)
        assert re.fullmatch(r"Bid \d+ on opportunity \d+ \([a-z_]+\)", event.target_repr)


def test_bidding_and_the_close_log_no_identity(program_admin, bidder, caplog):
    caplog.set_level(logging.DEBUG)
    opportunity = published(program_admin)
    bid = bid_services.bid_start(supplier=bidder, opportunity=opportunity)
    fill(bid, bidder)
    bid_services.bid_submit(supplier=bidder, bid=bid)
    bid_services.bid_withdraw(supplier=bidder, bid=bid)
    bid_services.bid_submit(supplier=bidder, bid=bid)
    closing.opportunity_close(
        opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
    )
    for record in caplog.records:
        assert_blind(f"{record.name} {record.getMessage()}", record.name)


def test_the_migration_rewrites_old_audit_texts_that_named_the_bidder(program_admin, bidder):
    migration = importlib.import_module("marketplace.migrations.0005_audit_texts_without_identity")
    opportunity = published(program_admin)
    bid = bid_services.bid_start(supplier=bidder, opportunity=opportunity)
    bid_type = ContentType.objects.get_for_model(Bid)
    user_type = ContentType.objects.get_for_model(User)
    old = AuditEvent.objects.create(
        verb="bid.submitted",
        actor=bidder,
        target_type=bid_type,
        target_id=str(bid.pk),
        target_repr=f"{EMAIL} → {opportunity.pk} (submitted)",
    )
    cut = AuditEvent.objects.create(
        verb="bid.started",
        target_type=bid_type,
        target_id=str(bid.pk),
        target_repr=(f"{'q' * 250}{EMAIL} → {opportunity.pk} (draft)")[:255],
    )
    user_event = AuditEvent.objects.create(
        verb="user.created", target_type=user_type, target_id=str(bidder.pk), target_repr=EMAIL
    )
    migration.forwards(django_apps, None)
    migration.forwards(django_apps, None)  # a second run changes nothing
    texts = dict(AuditEvent.objects.values_list("pk", "target_repr"))
    assert texts[old.pk] == f"Bid {bid.pk} on opportunity {opportunity.pk} (submitted)"
    assert texts[cut.pk] == f"Bid {bid.pk} on opportunity {opportunity.pk}"
    # Events about the account itself keep its address: they say nothing about a bid.
    assert texts[user_event.pk] == EMAIL
    for event in AuditEvent.objects.filter(target_type=bid_type):
        assert_blind(event.target_repr, event.verb)


# --- A former supplier stays hidden ---------------------------------------------------------


def _revoke_supplier_role(program_admin, user) -> None:
    marketplace_services.role_revoke(actor=program_admin, user=user, role=Role.SUPPLIER)
    assert not User.objects.with_roles().get(pk=user.pk).granted_roles


@pytest.mark.parametrize("language", ["en", "fr"])
def test_revoking_the_supplier_role_does_not_make_the_bidder_visible_in_the_admin(
    admin_client, bids, bidder, program_admin, language
):
    """Blindness is about who is or was a supplier, not about the role held today."""
    _revoke_supplier_role(program_admin, bidder)
    assert Notification.objects.filter(recipient=bidder).exists()
    for page in admin_pages(bids, bidder):
        response = admin_client.get(f"/{language}/{page}")
        assert response.status_code == 200, page
        assert_blind(response.content.decode(), page)
    body = admin_client.get(f"/{language}/admin/marketplace/notification/").content.decode()
    assert {"en": "a supplier (hidden)", "fr": "un fournisseur (masqué)"}[language] in body


@pytest.mark.parametrize(
    "history",
    ["role_granted_once", "profile_only", "bid_only"],
)
def test_anyone_who_ever_was_a_supplier_is_hidden_in_notifications_and_the_audit_trail(
    admin_client, program_admin, history
):
    """The role granted once (the audit trail keeps it), a profile, or a bid: each is enough."""
    person = marketplace_services.user_create(
        email=EMAIL, password=None, full_name=FULL_NAME, email_verified=True
    )
    if history == "role_granted_once":
        marketplace_services.user_signup_complete(user=person)  # the supplier role, audited
        _revoke_supplier_role(program_admin, person)
    elif history == "profile_only":
        SupplierProfile.objects.create(
            user=person,
            legal_name=LEGAL_NAME,
            contact_name=FULL_NAME,
            email=EMAIL,
            phone="613-555-0177",
            province="ON",
            postal_code="K1A 0B1",
        )
    else:
        Bid.objects.create(opportunity=OpportunityFactory(), supplier=person)
    notification = Notification.objects.create(
        recipient=person, kind="opportunity.closed", language="en", dedupe_key="x"
    )
    event = AuditEvent.objects.create(actor=person, verb="opportunity.watched")
    pages = [
        "admin/marketplace/notification/",
        f"admin/marketplace/notification/{notification.pk}/change/",
        "admin/marketplace/auditevent/?verb__exact=opportunity.watched",
        f"admin/marketplace/auditevent/{event.pk}/change/",
    ]
    for page in pages:
        body = admin_client.get(f"/en/{page}").content.decode()
        assert_blind(body, page)
        assert "a supplier (hidden)" in body, page


def test_staff_who_never_were_suppliers_are_still_named_in_the_admin(admin_client, program_admin):
    """The rule hides suppliers only: a program admin's events and notices keep their name."""
    event = AuditEvent.objects.create(actor=program_admin, verb="opportunity.published")
    notification = Notification.objects.create(
        recipient=program_admin, kind="opportunity.submitted", language="en", dedupe_key="y"
    )
    for page in (
        f"admin/marketplace/auditevent/{event.pk}/change/",
        f"admin/marketplace/notification/{notification.pk}/change/",
    ):
        assert program_admin.email in admin_client.get(f"/en/{page}").content.decode(), page


# --- No account takeover ---------------------------------------------------------------------

NEW_PASSWORD = "Tech-admin-chose-this-1!"


@pytest.mark.parametrize("who", ["bidder", "program_admin"])
def test_the_admin_cannot_set_anyones_password(admin_client, bidder, program_admin, who):
    """Setting a password would let the technical admin sign in as a bidder (and read their
    bids) or as a program admin, with nothing in the audit trail: people reset their own."""
    person = {"bidder": bidder, "program_admin": program_admin}[who]
    before = User.objects.get(pk=person.pk).password
    page = f"/en/admin/marketplace/user/{person.pk}/password/"
    assert admin_client.get(page).status_code == 403
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert admin_client.post(page, form).status_code == 403
    assert User.objects.get(pk=person.pk).password == before
    change = admin_client.get(f"/en/admin/marketplace/user/{person.pk}/change/")
    assert change.status_code == 200
    assert "password/" not in change.content.decode()
    assert not Client().login(email=person.email, password=NEW_PASSWORD)


def test_allauth_email_addresses_are_read_only_in_the_admin(admin_client, bidder):
    """Re-pointing a bidder's verified address would send their password reset to the admin."""
    address = EmailAddress.objects.get(user=bidder)
    before = EmailAddress.objects.values().get(pk=address.pk)
    assert admin_client.get("/en/admin/account/emailaddress/").status_code == 200
    page = f"/en/admin/account/emailaddress/{address.pk}/change/"
    assert admin_client.get(page).status_code == 200  # viewable
    form = {"user": bidder.pk, "email": "root-inbox@example.org", "verified": "on", "primary": "on"}
    assert admin_client.post(page, form).status_code == 403
    assert admin_client.post("/en/admin/account/emailaddress/add/", form).status_code == 403
    delete = f"/en/admin/account/emailaddress/{address.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    # allauth's own "mark as verified" action is gone too.
    unverified = EmailAddress.objects.create(user=bidder, email="other@example.org")
    admin_client.post(
        "/en/admin/account/emailaddress/",
        {"action": "make_verified", "_selected_action": [unverified.pk]},
    )
    unverified.refresh_from_db()
    assert not unverified.verified
    assert EmailAddress.objects.values().get(pk=address.pk) == before


def test_authenticators_are_not_in_the_admin(admin_client, program_admin):
    """A TOTP row holds the secret; deleting one switches a program admin's second factor off."""
    totp = Authenticator.objects.create(
        user=program_admin, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    assert not admin.site.is_registered(Authenticator)
    assert admin_client.get("/en/admin/mfa/authenticator/").status_code == 404
    delete = f"/en/admin/mfa/authenticator/{totp.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 404
    assert Authenticator.objects.filter(pk=totp.pk).exists()


def test_no_registered_admin_can_change_an_address_a_password_or_an_authenticator(superuser):
    request = RequestFactory().get("/en/admin/")
    request.user = superuser
    for model in (Authenticator, EmailConfirmation):
        assert not admin.site.is_registered(model), model
    address_admin = admin.site._registry[EmailAddress]
    for obj in (None, EmailAddress()):
        assert not address_admin.has_add_permission(request)
        assert not address_admin.has_change_permission(request, obj)
        assert not address_admin.has_delete_permission(request, obj)
    user_admin = admin.site._registry[User]
    assert "email" in user_admin.get_readonly_fields(request, superuser)
    fields = [
        f
        for _name, options in user_admin.get_fieldsets(request, superuser)
        for f in options["fields"]
    ]
    assert "password" not in fields
    for model, model_admin in admin.site._registry.items():
        for inline in model_admin.inlines:
            assert inline.model not in (EmailAddress, Authenticator), (model, inline)


# --- Skills --------------------------------------------------------------------------------


def test_a_skill_cannot_be_deleted_in_the_admin_but_can_be_renamed(admin_client, program_admin):
    """Deleting would take the skill out of published opportunities and saved alerts, unaudited;
    its confirmation page would list the alerts' owners."""
    opportunity = published(program_admin)
    skill = SkillFactory()
    opportunity.skills.add(skill)
    alert = Alert.objects.create(user=UserFactory())
    alert.skills.add(skill)
    delete = f"/en/admin/opportunities/skill/{skill.pk}/delete/"
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    admin_client.post(
        "/en/admin/opportunities/skill/",
        {"action": "delete_selected", "_selected_action": [skill.pk], "post": "yes"},
    )
    assert Skill.objects.filter(pk=skill.pk).exists()
    assert list(opportunity.skills.all()) == [skill] and list(alert.skills.all()) == [skill]
    response = admin_client.post(
        f"/en/admin/opportunities/skill/{skill.pk}/change/",
        {"slug": skill.slug, "name_en": "Renamed", "name_fr": "Renommée"},
    )
    assert response.status_code == 302
    skill.refresh_from_db()
    assert skill.name_en == "Renamed"
