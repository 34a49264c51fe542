"""A bid keeps who submitted it: renamed afterwards, the supplier stays anonymous (issue 21).

The packets the evaluators read are made at the close, with the supplier's identity taken out
of the answers. Taken as it stood at the close only, a supplier who submitted, then changed
their account name, email or profile before the close had the former identity their answers
carry shown to the evaluators. Each submission now keeps the identity it was made under
(`Bid.identity_at_submission`), and the packets are redacted with it as well.

Staff names are on the records of their work (certifications, invoices, conflict of interest
checks): once given, a staff member cannot change theirs from the dashboard. Suppliers can.
"""

from __future__ import annotations

import datetime as dt
import json
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from bids import services
from bids.identity import identity_matches, identity_merge, identity_tokens
from bids.models import Attachment, Bid
from bids.pdf import clean_pdf
from lifecycle import closing
from marketplace import services as marketplace_services
from marketplace.models import Role, User
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.builders import fill
from tests.factories import (
    OpportunityFactory,
    StaffFactory,
    SupplierFactory,
    SupplierProfileFactory,
)
from tests.support.attachments import text_pdf
from tests.support.error_summary import error_at_field
from tests.support.gcds import component_errors

pytestmark = pytest.mark.django_db

OLD = {
    "full_name": "Zebulon Quintessa",
    "contact_name": "Ottilie Varga",
    "legal_name": "Heronsgate Works Inc.",
    "email": "zq@heronsgate.example",
    "website": "https://quintessa-labs.example",
}
ANSWER = (
    "Zebulon Quintessa and Ottilie Varga of Heronsgate Works built it. Write to "
    "zq@heronsgate.example or see quintessa-labs.example/cases."
)
# Every piece of the former identity, as the answer writes it or as a reader would spot it.
OLD_WORDS = (
    "Zebulon",
    "Quintessa",
    "Ottilie",
    "Varga",
    "Heronsgate",
    "zq@",
    "heronsgate.example",
    "quintessa-labs",
)
STAFF_REFUSED = {
    "en": "Your name is on the records of your work for the program",
    "fr": "Votre nom figure dans les documents de votre travail pour le programme",
}


@pytest.fixture
def opportunity(db):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=admin, opportunity=draft)


@pytest.fixture
def supplier(db):
    return SupplierProfileFactory(
        user__full_name=OLD["full_name"],
        user__email=OLD["email"],
        contact_name=OLD["contact_name"],
        legal_name=OLD["legal_name"],
        website=OLD["website"],
    ).user


def _submit(opportunity, supplier, answer: str = ANSWER) -> Bid:
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    fill(bid, supplier, answers={c.pk: answer for c in opportunity.criteria.all()})
    services.bid_submit(supplier=supplier, bid=bid)
    return Bid.objects.get(pk=bid.pk)


def _rename_everything(supplier: User) -> None:
    """The account's name through the dashboard's service, the profile through its own, the
    account's email directly (as a change of primary address does)."""
    marketplace_services.user_set_full_name(user=supplier, full_name="Zeb Q")
    marketplace_services.supplier_profile_save(
        actor=supplier,
        user=supplier,
        contact_name="O. V.",
        legal_name="ZQOV Inc.",
        email="hello@zqov.example",
        website="https://zqov.example",
    )
    User.objects.filter(pk=supplier.pk).update(email="someone@zqov.example")


def _close(opportunity, capture):
    with capture(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    return opportunity.evaluation.packets.get()


def _packet_text(packet) -> str:
    """What the evaluators can read: the answers and the text of every attachment shown."""
    texts = [answer["text"] for answer in packet.answers]
    for attachment in packet.attachments.filter(withheld=False):
        with attachment.file.open("rb") as handle:
            texts.append(clean_pdf(handle.read()).text)
    return "\n".join(texts)


def _attach(bid: Bid, supplier: User, text: str) -> Attachment:
    return services.attachment_add(
        supplier=supplier,
        bid=bid,
        upload=SimpleUploadedFile("notes.pdf", text_pdf(text), "application/pdf"),
    )


# --- The packet ---------------------------------------------------------------------------------


def test_a_supplier_who_renames_everything_after_submitting_stays_anonymous(
    opportunity, supplier, django_capture_on_commit_callbacks
):
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    fill(bid, supplier, answers={c.pk: ANSWER for c in opportunity.criteria.all()})
    _attach(bid, supplier, "Our method: audit, fix, test with people who use screen readers.")
    services.bid_submit(supplier=supplier, bid=bid)
    _rename_everything(supplier)

    packet = _close(opportunity, django_capture_on_commit_callbacks)
    shown = _packet_text(packet)
    assert "audit, fix, test" in shown  # the attachment is there, and read
    for word in OLD_WORDS:
        assert word.casefold() not in shown.casefold(), word
    assert packet.answers[0]["text"].startswith("[redacted] and [redacted] of [redacted] built it.")
    # The copy served its purpose: not kept once the packets are made.
    bid.refresh_from_db()
    assert bid.identity_at_submission == {}


def test_the_identity_is_kept_beside_the_receipt_not_in_it(opportunity, supplier):
    bid = _submit(opportunity, supplier)
    assert bid.identity_at_submission["full_name"] == [OLD["full_name"]]
    assert bid.identity_at_submission["legal_name"] == [OLD["legal_name"]]
    assert bid.identity_at_submission["email"] == [OLD["email"]]
    assert bid.identity_at_submission["website"] == [OLD["website"]]
    # The receipt holds what was submitted, and its digest covers that alone.
    receipt = bid.last_receipt
    assert "Heronsgate Works Inc." not in json.dumps(receipt.content)
    assert receipt.digest == services.content_digest(receipt.content)


def test_every_submission_adds_who_made_it(
    opportunity, supplier, django_capture_on_commit_callbacks
):
    """Submitted as Zebulon, renamed, resubmitted with a changed answer that still names
    Zebulon, renamed again: both former names are redacted."""
    bid = _submit(opportunity, supplier)
    marketplace_services.user_set_full_name(user=supplier, full_name="Rosalind Thackeray")
    fill(
        bid,
        supplier,
        answers={
            c.pk: ANSWER + " Rosalind Thackeray reviewed it." for c in opportunity.criteria.all()
        },
    )
    services.bid_submit(supplier=supplier, bid=bid)
    bid.refresh_from_db()
    assert bid.identity_at_submission["full_name"] == ["Zebulon Quintessa", "Rosalind Thackeray"]
    assert bid.receipts.count() == 2
    marketplace_services.user_set_full_name(user=supplier, full_name="Zeb Q")

    shown = _packet_text(_close(opportunity, django_capture_on_commit_callbacks))
    for word in ("Zebulon", "Quintessa", "Rosalind", "Thackeray"):
        assert word not in shown


def test_a_bid_submitted_before_snapshots_were_kept_is_redacted_as_before(
    opportunity, supplier, django_capture_on_commit_callbacks
):
    bid = _submit(opportunity, supplier)
    Bid.objects.filter(pk=bid.pk).update(identity_at_submission={})
    packet = _close(opportunity, django_capture_on_commit_callbacks)
    shown = _packet_text(packet)
    for word in OLD_WORDS:  # the identity as it stands at the close
        assert word.casefold() not in shown.casefold(), word
    assert "built it" in shown


def test_an_attachment_naming_the_submitted_identity_is_withheld_at_the_close(
    opportunity, django_capture_on_commit_callbacks
):
    """A stored file whose text was never read (attachments kept from before their text was)
    is checked at the close against who submitted it, not only against who they are now."""
    supplier = SupplierProfileFactory(user__full_name="Sam Jones", contact_name="Sam Jones").user
    bid = fill(services.bid_start(supplier=supplier, opportunity=opportunity), supplier)
    attachment = _attach(bid, supplier, "Built by Zebulon Quintessa.")  # not their name yet
    Attachment.objects.filter(pk=attachment.pk).update(text="")
    marketplace_services.user_set_full_name(user=supplier, full_name="Zebulon Quintessa")
    services.bid_submit(supplier=supplier, bid=bid)
    marketplace_services.user_set_full_name(user=supplier, full_name="Zeb Q")

    packet = _close(opportunity, django_capture_on_commit_callbacks)
    [copy] = packet.attachments.all()
    assert copy.withheld and not copy.file
    assert "Quintessa" not in _packet_text(packet)


def test_a_file_naming_a_former_identity_is_refused_before_the_close(opportunity, supplier):
    """After a rename, the supplier is told — at upload, and at submission — that a file names
    who they were when they submitted, as for who they are."""
    bid = _submit(opportunity, supplier)
    _rename_everything(supplier)
    with pytest.raises(ValidationError, match="Heronsgate"):
        _attach(bid, supplier, "Heronsgate Works delivered this.")
    bid.refresh_from_db()
    attachment = _attach(bid, supplier, "A plain report.")
    Attachment.objects.filter(pk=attachment.pk).update(text="Ottilie Varga wrote this report.")
    with pytest.raises(ValidationError) as refused:
        services.bid_submit(supplier=supplier, bid=bid)
    assert "Ottilie Varga" in str(refused.value)


def test_the_warning_before_submitting_names_the_former_identity_too(opportunity, supplier):
    bid = _submit(opportunity, supplier)
    _rename_everything(supplier)
    tokens = services.supplier_identity(supplier, bid=bid)
    found = {finding.value for finding in identity_matches([ANSWER], tokens)}
    assert {"Zebulon Quintessa", "Ottilie Varga", "Heronsgate Works"} <= found


def test_a_stored_identity_that_is_not_what_we_wrote_is_ignored(supplier):
    """The stored copy is read as plain data: anything but lists of text counts for nothing."""
    hostile = {
        "full_name": "Marmaduke",  # text, not a list
        "email": [1, None, {"a": "b"}, "", "   "],
        "unknown": ["Persimmon"],
        "legal_name": ["Real Former Name Inc."],
    }
    assert identity_merge(hostile) == {"legal_name": ["Real Former Name Inc."]}
    tokens = identity_tokens(supplier, supplier.supplier_profile, earlier=hostile)
    values = {token.value for token in tokens}
    assert "Real Former Name Inc." in values and OLD["full_name"] in values
    assert not {"Marmaduke", "Persimmon"} & values
    assert identity_tokens(supplier, None, earlier={}) == identity_tokens(supplier, None)


# --- Names: suppliers rename freely; staff names stay as given ----------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_staff_member_cannot_rename_themself_from_the_dashboard(client, language):
    staff = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Ada Lovelace")
    client.force_login(staff)
    response = client.post(f"/{language}/preferences/name/", {"full_name": "Grace Hopper"})
    assert response.status_code == 200
    page = response.content.decode()
    # Said at the field: the component's error message, and the plain field's without scripts.
    assert STAFF_REFUSED[language] in unescape(component_errors(page)["id_full_name"])
    assert STAFF_REFUSED[language] in error_at_field(page, "id_full_name")
    staff.refresh_from_db()
    assert staff.full_name == "Ada Lovelace"


@pytest.mark.parametrize(
    "staff",
    [
        lambda: StaffFactory(roles=[Role.EVALUATOR], full_name="Ada Lovelace"),
        lambda: StaffFactory(roles=[Role.PROGRAM_ADMIN], full_name="Ada Lovelace"),
        # A staff address without a role yet, or any more: the name may be on records already.
        lambda: StaffFactory(full_name="Ada Lovelace"),
    ],
)
def test_no_staff_account_renames_itself(staff):
    person = staff()
    with pytest.raises(ValidationError) as refused:
        marketplace_services.user_set_full_name(user=person, full_name="Grace Hopper")
    assert "contact the program administrators" in str(refused.value)
    # The same name again (a double click, or spacing) is no change: nothing to refuse.
    marketplace_services.user_set_full_name(user=person, full_name=" Ada  Lovelace ")
    person.refresh_from_db()
    assert person.full_name == "Ada Lovelace"


def test_a_staff_member_without_a_name_may_give_one(client):
    staff = StaffFactory(roles=[Role.BUYER], full_name="")
    client.force_login(staff)
    response = client.post("/en/preferences/name/", {"full_name": "Ada Lovelace"})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.full_name == "Ada Lovelace"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_supplier_renames_freely_even_with_a_bid_waiting_for_the_close(
    client, opportunity, supplier, language
):
    _submit(opportunity, supplier)
    client.force_login(supplier)
    response = client.post(f"/{language}/preferences/name/", {"full_name": "Zeb Q"})
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.full_name == "Zeb Q"


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "contact the program administrators"), ("fr", "communiquez avec les administrateurs")],
)
def test_a_named_staff_member_sees_their_name_without_a_form_to_change_it(client, language, said):
    staff = StaffFactory(roles=[Role.BUYER], full_name="Ada Lovelace")
    client.force_login(staff)
    page = client.get(f"/{language}/dashboard/").content.decode()
    assert "Ada Lovelace" in page and said in page
    assert 'name="full_name"' not in page


def test_a_supplier_has_the_form_to_change_their_name(client):
    supplier = SupplierFactory(full_name="Ada Lovelace")
    client.force_login(supplier)
    page = client.get("/en/dashboard/").content.decode()
    assert 'name="full_name"' in page
