"""Open data: the OCDS release package, the CSV and the public "what we bought" page."""

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from django.utils import timezone

from bids import services as bid_services
from lifecycle import closing
from marketplace.models import SupplierProfile
from opportunities.addenda import opportunity_amend
from opportunities.cancellation import opportunity_cancel
from opportunities.models import Opportunity, OpportunityType
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from payments import contracts, paying, recorded
from payments.models import Payment
from reports import ocds, selectors
from reports.models import SelfIdentification
from reports.views import PurchaseListView
from tests.builders import award_first_in_rank, fill
from tests.factories import OpportunityFactory, SupplierFactory, SupplierProfileFactory

PREFIX = "ocds-xxxxxx-esdc-ma"

# --- A small shape validator, from the required fields and closed codelists of OCDS 1.1 --------

PACKAGE_REQUIRED = {"uri", "publishedDate", "releases", "version", "publisher"}
RELEASE_REQUIRED = {"ocid", "id", "date", "tag", "initiationType"}
RELEASE_TAGS = {
    "planning", "planningUpdate", "tender", "tenderAmendment", "tenderUpdate",
    "tenderCancellation", "award", "awardUpdate", "awardCancellation", "contract",
    "contractUpdate", "contractAmendment", "implementation", "implementationUpdate",
    "contractTermination", "compiled",
}  # fmt: skip
TENDER_STATUSES = {"planning", "planned", "active", "cancelled", "unsuccessful", "complete",
                   "withdrawn"}  # fmt: skip
AWARD_STATUSES = {"pending", "active", "cancelled", "unsuccessful"}
CONTRACT_STATUSES = {"pending", "active", "cancelled", "terminated"}
PROCUREMENT_METHODS = {"open", "selective", "limited", "direct"}
CATEGORIES = {"goods", "services", "works"}
# OCDS 1.1 translations: the field name, an underscore and a language tag.
LANGUAGE_VARIANT = re.compile(r"^[a-zA-Z]+_[a-z]{2}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _date_time(value) -> None:
    assert isinstance(value, str) and RFC3339.match(value), value


def _value(value) -> None:
    assert isinstance(value["amount"], int | float) and not isinstance(value["amount"], bool)
    assert value["currency"] == "CAD"


def _walk(node, path="$"):
    """Every (path, key, value) below node: no nulls, and only `<field>_fr` translations."""
    if isinstance(node, dict):
        for key, value in node.items():
            assert value is not None, f"{path}.{key} is null: omit it instead"
            if "_" in key:
                assert LANGUAGE_VARIANT.match(key) and key.endswith("_fr"), f"{path}.{key}"
            yield path, key, value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")


def assert_ocds_release_package(package: dict) -> None:
    assert package.keys() >= PACKAGE_REQUIRED
    assert package["version"] == "1.1"
    assert package["uri"].startswith("http") and package["uri"].endswith(".json")
    _date_time(package["publishedDate"])
    assert package["publisher"]["name"]
    assert package["license"].startswith("https://")
    assert package["publicationPolicy"].startswith("http")
    list(_walk(package))
    seen_ocids, seen_ids = set(), set()
    for release in package["releases"]:
        assert release.keys() >= RELEASE_REQUIRED, release.keys()
        assert release["ocid"] not in seen_ocids
        assert release["id"] not in seen_ids and "#" not in release["id"]
        seen_ocids.add(release["ocid"])
        seen_ids.add(release["id"])
        assert release["ocid"].startswith(f"{PREFIX}-")
        _date_time(release["date"])
        assert release["tag"] and set(release["tag"]) <= RELEASE_TAGS
        assert release["initiationType"] == "tender"
        assert release["language"] == "en"
        parties = {party["id"]: party for party in release["parties"]}
        assert len(parties) == len(release["parties"]), "party ids are unique"

        def reference(ref, role, parties=parties):
            assert ref["id"] in parties and parties[ref["id"]]["name"] == ref["name"]
            assert role in parties[ref["id"]]["roles"]

        reference(release["buyer"], "buyer")
        tender = release["tender"]
        assert tender["id"] and tender["title"]
        assert tender["status"] in TENDER_STATUSES
        assert tender["procurementMethod"] in PROCUREMENT_METHODS
        assert tender["mainProcurementCategory"] in CATEGORIES
        assert tender["submissionMethod"] == ["electronicSubmission"]
        _value(tender["value"])
        for moment in tender["tenderPeriod"].values():
            _date_time(moment)
        award_ids = set()
        for award in release.get("awards", []):
            assert award["id"] not in award_ids
            award_ids.add(award["id"])
            assert award["status"] in AWARD_STATUSES
            _date_time(award["date"])
            _value(award["value"])
            for supplier in award["suppliers"]:
                reference(supplier, "supplier")
        for contract in release.get("contracts", []):
            assert contract["id"] and contract["awardID"] in award_ids
            assert contract["status"] in CONTRACT_STATUSES
            _value(contract["value"])
            for transaction in contract.get("implementation", {}).get("transactions", []):
                assert transaction["id"]
                _date_time(transaction["date"])
                _value(transaction["value"])
                reference(transaction["payer"], "payer")
                reference(transaction["payee"], "payee")


# --- A small history -----------------------------------------------------------------------------


@dataclass
class History:
    completed: Opportunity
    awarded: Opportunity
    open: Opportunity
    cancelled: Opportunity
    unsuccessful: Opportunity
    draft: Opportunity
    in_review: Opportunity
    payment: Payment
    winners: dict = field(default_factory=dict)  # opportunity pk → supplier profile
    private: list[str] = field(default_factory=list)  # strings that must never be published


def _publish(program_admin, **fields) -> Opportunity:
    draft = OpportunityFactory(**fields)
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=program_admin, opportunity=draft)


def _close(opportunity, capture) -> Opportunity:
    with capture(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    opportunity.refresh_from_db()
    return opportunity


def _awarded(program_admin, evaluators, capture, *, tag: str, **fields):
    """Closed with two bids by suppliers named after `tag`, awarded to the first in rank.
    Returns (opportunity, contract, the profile of the supplier who was not awarded)."""
    opportunity = _publish(program_admin, **fields)
    profiles = []
    for number in (1, 2):
        user = SupplierFactory(email=f"{tag}-bidder{number}@bidders.example")
        profile = SupplierProfileFactory(
            user=user,
            legal_name=f"{tag.title()} Bidder {number} Holdings Ltd.",
            trading_name=f"{tag.title()} Trading {number}",
            contact_name=f"{tag.title()} Contact Person {number}",
            phone="613-555-0177",
        )
        bid = bid_services.bid_start(supplier=user, opportunity=opportunity)
        fill(bid, user)
        bid_services.bid_submit(supplier=user, bid=bid)
        profiles.append(profile)
    _close(opportunity, capture)
    contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 4)])
    opportunity.refresh_from_db()
    loser = next(p for p in profiles if p.user_id != contract.supplier_id)
    winner = next(p for p in profiles if p.user_id == contract.supplier_id)
    return opportunity, contract, winner, loser


@pytest.fixture
def history(program_admin, evaluators, card_holder, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    completed, contract, completed_winner, completed_loser = _awarded(
        program_admin, evaluators, capture, tag="quokka",
        title_en="Make the forms keyboard accessible",
        title_fr="Rendre les formulaires accessibles au clavier",
        type=OpportunityType.ACCESSIBILITY,
    )  # fmt: skip
    supplier = contract.supplier
    contract = contracts.contract_accept_terms(supplier=supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=supplier, contract=contract, url="https://github.com/example/forms/pull/7",
        notes="Private delivery notes for the buyer only.",
    )  # fmt: skip
    contract = contracts.contract_certify(buyer=completed.buyer, contract=contract, confirmed=True)
    payment = paying.payment_start(
        payer=card_holder, payment=contract.payment, provider=Payment.Provider.RECORDED_CARD,
        amount_cents=contract.payment.total_cents, paid_on=timezone.localdate(),
        reference="AUTH-SECRET-REF-88231", method=Payment.Method.CARD_TERMINAL,
    )  # fmt: skip
    payment = recorded.payment_confirm_receipt(supplier=supplier, payment=payment)
    completed.refresh_from_db()

    awarded, _contract, awarded_winner, awarded_loser = _awarded(
        program_admin, evaluators, capture, tag="wombat",
        title_en="Prototype a benefits estimator", title_fr="Prototyper un estimateur",
        type=OpportunityType.PROTOTYPE,
    )  # fmt: skip
    # A supplier who bid, lost, and gave their (consented) self-identification.
    SelfIdentification.objects.create(
        user=awarded_loser.user,
        groups=[SelfIdentification.Group.INDIGENOUS],
        consented_at=timezone.now(),
    )
    open_ = _publish(program_admin, title_en="Fix the search box", title_fr="Réparer la recherche")
    cancelled = _publish(program_admin, title_en="Translate the help pages")
    cancelled = opportunity_cancel(
        actor=cancelled.buyer, opportunity=cancelled, reason="The need went away."
    )
    unsuccessful = _close(_publish(program_admin, title_en="Nobody bid on this"), capture)
    draft = OpportunityFactory(title_en="Secret draft about a reorganization")
    in_review = OpportunityFactory(title_en="Posting still under review")
    opportunity_submit_for_review(actor=in_review.buyer, opportunity=in_review)
    private = [
        draft.title_en,
        in_review.title_en,
        # The suppliers who were not awarded, and every supplier's contact details.
        *(p.legal_name for p in (completed_loser, awarded_loser)),
        *(p.trading_name for p in (completed_loser, awarded_loser)),
        *(p.user.email for p in (completed_loser, awarded_loser, completed_winner, awarded_winner)),
        *(p.contact_name for p in (completed_winner, awarded_winner)),
        "613-555-0177",
        # The panel, the buyers and the card holder.
        *(e.email for e in evaluators),
        *(e.full_name for e in evaluators),
        completed.buyer.email,
        completed.buyer.full_name,
        awarded.buyer.email,
        card_holder.email,
        card_holder.full_name,
        # The bids' answers, the payment's references, the delivery notes.
        "keyboard trap",
        payment.reference,
        payment.invoice_number,
        "Private delivery notes",
    ]
    return History(
        completed=completed,
        awarded=awarded,
        open=open_,
        cancelled=cancelled,
        unsuccessful=unsuccessful,
        draft=draft,
        in_review=in_review,
        payment=payment,
        winners={completed.pk: completed_winner, awarded.pk: awarded_winner},
        private=private,
    )


def _package(client) -> dict:
    response = client.get(reverse("reports:ocds_package"))
    assert response.status_code == 200
    return json.loads(response.content)


def _releases(package: dict) -> dict[str, dict]:
    return {release["ocid"]: release for release in package["releases"]}


def _ocid(opportunity) -> str:
    return f"{PREFIX}-{opportunity.pk}"


# --- The release package ---------------------------------------------------------------------


def test_ocds_package_is_valid_json_with_the_required_fields_and_identifiers(client, history):
    response = client.get(reverse("reports:ocds_package"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'inline; filename="ocds-release-package.json"'
    package = json.loads(response.content.decode("utf-8"))
    assert_ocds_release_package(package)
    assert package["uri"] == "http://127.0.0.1:8000/en/reports/open-data/ocds-release-package.json"
    assert package["publishedDate"] == max(r["date"] for r in package["releases"])
    assert package["license"] == "https://open.canada.ca/en/open-government-licence-canada"


def test_ocds_package_holds_published_opportunities_and_never_drafts(client, history):
    releases = _releases(_package(client))
    assert set(releases) == {
        _ocid(o)
        for o in (
            history.completed,
            history.awarded,
            history.open,
            history.cancelled,
            history.unsuccessful,
        )
    }
    stages = {
        ocid: (release["tag"], release["tender"]["status"]) for ocid, release in releases.items()
    }
    assert stages == {
        _ocid(history.completed): (["implementation"], "complete"),
        _ocid(history.awarded): (["award"], "complete"),
        _ocid(history.open): (["tender"], "active"),
        _ocid(history.cancelled): (["tenderCancellation"], "cancelled"),
        _ocid(history.unsuccessful): (["tender"], "unsuccessful"),
    }
    for opportunity in (history.open, history.cancelled, history.unsuccessful):
        release = releases[_ocid(opportunity)]
        assert "awards" not in release and "contracts" not in release
        assert [p["roles"] for p in release["parties"]] == [["buyer", "procuringEntity"]]


def test_completed_release_has_the_award_contract_and_payment_in_dollars(client, history):
    release = _releases(_package(client))[_ocid(history.completed)]
    winner = history.winners[history.completed.pk]
    tender = release["tender"]
    assert tender["title"] == "Make the forms keyboard accessible"
    assert tender["title_fr"] == "Rendre les formulaires accessibles au clavier"
    assert tender["value"] == {"amount": 2000.0, "currency": "CAD"}
    assert tender["numberOfTenderers"] == 2
    assert tender["items"][0]["classification"]["id"] == "accessibility"
    assert tender["tenderPeriod"]["endDate"] == ocds.timestamp(history.completed.closes_at)
    supplier = {"id": f"supplier-{winner.user_id}", "name": winner.trading_name}
    parties = {p["id"]: p for p in release["parties"]}
    assert parties[supplier["id"]] == {
        **supplier,
        "identifier": {"legalName": winner.legal_name},
        "roles": ["supplier", "payee"],
    }
    assert parties["ESDC"]["roles"] == ["buyer", "procuringEntity", "payer"]
    [award] = release["awards"]
    assert award["status"] == "active" and award["suppliers"] == [supplier]
    assert award["value"] == {"amount": 2000.0, "currency": "CAD"}
    [contract] = release["contracts"]
    assert contract["awardID"] == award["id"]
    assert contract["status"] == "terminated"
    assert "dateSigned" in contract
    [transaction] = contract["implementation"]["transactions"]
    assert transaction["value"] == {
        "amount": history.payment.total_cents / 100,
        "currency": "CAD",
    }
    assert transaction["date"] == ocds.timestamp(history.payment.paid_at)
    assert transaction["payee"] == supplier
    assert transaction["payer"] == {"id": "ESDC", "name": ocds.BUYER["name"]}
    [deliverable] = contract["implementation"]["documents"]
    assert deliverable["url"] == "https://github.com/example/forms/pull/7"
    # The last event shown (the tests close opportunities at their future deadline).
    last = max(history.payment.paid_at, history.completed.closed_at)
    assert release["date"] == ocds.timestamp(last)


def test_awarded_release_names_the_awardee_and_a_pending_contract_without_payment(client, history):
    release = _releases(_package(client))[_ocid(history.awarded)]
    winner = history.winners[history.awarded.pk]
    [award] = release["awards"]
    assert award["suppliers"][0]["name"] == winner.trading_name
    [contract] = release["contracts"]
    assert contract["status"] == "pending"
    assert "implementation" not in contract and "dateSigned" not in contract
    assert [p["roles"] for p in release["parties"]] == [["buyer", "procuringEntity"], ["supplier"]]


@pytest.mark.parametrize(
    ("kind", "size", "scale"),
    [
        ("individual", "1", "selfEmployed"),
        ("organization", "2-9", "micro"),
        ("organization", "100-499", "sme"),
        ("organization", "500+", "large"),
        ("organization", "", None),
    ],
)
def test_the_awardee_party_gives_its_ocds_scale(client, history, kind, size, scale):
    winner = history.winners[history.awarded.pk]
    SupplierProfile.objects.filter(pk=winner.pk).update(kind=kind, size=size)
    release = _releases(_package(client))[_ocid(history.awarded)]
    supplier = next(p for p in release["parties"] if "supplier" in p["roles"])
    assert supplier.get("details", {}).get("scale") == scale


def test_open_tender_does_not_count_its_bids_before_the_close(client, history):
    supplier = SupplierProfileFactory().user
    bid = bid_services.bid_start(supplier=supplier, opportunity=history.open)
    fill(bid, supplier)
    bid_services.bid_submit(supplier=supplier, bid=bid)
    release = _releases(_package(client))[_ocid(history.open)]
    assert "numberOfTenderers" not in release["tender"]
    assert (
        _releases(_package(client))[_ocid(history.unsuccessful)]["tender"]["numberOfTenderers"] == 0
    )


def test_release_ids_change_when_the_release_shows_something_new(client, history):
    before = _releases(_package(client))[_ocid(history.awarded)]
    assert _releases(_package(client))[_ocid(history.awarded)]["id"] == before["id"]
    contract = history.awarded.contracts.get()
    contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    after = _releases(_package(client))[_ocid(history.awarded)]
    assert after["tag"] == ["contract"] and after["contracts"][0]["status"] == "active"
    assert after["id"] != before["id"] and after["date"] >= before["date"]


def test_french_texts_are_ocds_language_variants_and_left_out_when_missing(client, history):
    releases = _releases(_package(client))
    assert releases[_ocid(history.open)]["tender"]["title_fr"] == "Réparer la recherche"
    history.open.title_fr = ""
    history.open.save()
    assert "title_fr" not in _releases(_package(client))[_ocid(history.open)]["tender"]


def test_release_of_an_unpublished_opportunity_is_refused(db):
    with pytest.raises(ValueError):
        ocds.release(OpportunityFactory())


def test_ocid_prefix_comes_from_the_settings(client, history, settings):
    settings.OCDS_OCID_PREFIX = "ocds-abc123"
    ocids = [release["ocid"] for release in _package(client)["releases"]]
    assert ocids and all(re.fullmatch(r"ocds-abc123-\d+", ocid) for ocid in ocids)


def test_empty_package_is_still_a_valid_package(client, db):
    package = _package(client)
    assert package["releases"] == []
    assert_ocds_release_package(package)


# --- Nothing private ---------------------------------------------------------------------------


def _all_open_data(client) -> str:
    texts = [
        client.get(reverse("reports:ocds_package")).content.decode("utf-8"),
        client.get(reverse("reports:contracts_csv")).content.decode("utf-8"),
    ]
    for language in ("en", "fr"):
        for name in ("reports:purchases", "reports:open_data"):
            texts.append(client.get(f"/{language}{reverse(name)[3:]}").content.decode("utf-8"))
    return "\n".join(texts)


def test_nothing_private_appears_in_the_open_data(client, history):
    text = _all_open_data(client)
    published = json.loads(client.get(reverse("reports:ocds_package")).content)
    leaks = [secret for secret in history.private if secret.lower() in text.lower()]
    assert leaks == []
    # No diversity data at all (the group code and its label), no bids, scores or panel.
    assert "indigenous" not in text.lower()
    keys = {key.lower() for _path, key, _value in _walk(published)}
    assert not {k for k in keys if re.search(r"score|rank|bid|label|evaluat|email|phone", k)}
    assert "tenderers" not in keys  # who bid is not published; only how many
    # What must be public is.
    for profile in history.winners.values():
        assert profile.legal_name in text


def test_packet_labels_and_scores_do_not_appear(client, history):
    from evaluation.models import Packet

    text = _all_open_data(client)
    labels = list(Packet.objects.values_list("label", flat=True))
    assert labels and not [label for label in labels if label in text]


# --- Anonymous access and queries --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["reports:open_data", "reports:ocds_package", "reports:contracts_csv", "reports:purchases"],
)
def test_open_data_is_public(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200


def test_queries_do_not_grow_with_the_number_of_opportunities(
    client, history, program_admin, evaluators, django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):  # fmt: skip
    def measure():
        # The opportunities, their contracts (with supplier and payment), their addenda.
        with django_assert_max_num_queries(3):
            package = _package(client)
        # And the fiscal years offered, and the count for the pages.
        with django_assert_max_num_queries(5):
            assert client.get(reverse("reports:purchases")).status_code == 200
        with django_assert_max_num_queries(3):
            assert client.get(reverse("reports:contracts_csv")).status_code == 200
        return len(package["releases"])

    assert measure() == 5
    for tag in ("koala", "dingo"):
        _awarded(program_admin, evaluators, django_capture_on_commit_callbacks, tag=tag)
    opportunity_amend(
        actor=history.open.buyer, opportunity=history.open, note_en="More detail.",
        note_fr="Plus de détails.", summary_en="A clearer summary.",
    )  # fmt: skip
    _publish(program_admin)
    assert measure() == 8


# --- The CSV ---------------------------------------------------------------------------------


def test_contracts_csv_lists_each_purchase(client, history):
    response = client.get(reverse("reports:contracts_csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["ocid"] for row in rows] == [_ocid(history.awarded), _ocid(history.completed)]
    completed = rows[1]
    assert completed["title_fr"] == "Rendre les formulaires accessibles au clavier"
    assert completed["supplier_legal_name"] == history.winners[history.completed.pk].legal_name
    assert completed["value_cad"] == "2000.00"
    assert completed["amount_paid_cad"] == f"{history.payment.total_cents / 100:.2f}"
    assert completed["delivered_work_url"] == "https://github.com/example/forms/pull/7"
    assert rows[0]["paid_at"] == "" and rows[0]["delivered_work_url"] == ""


def test_contracts_csv_neutralizes_formulas(client, history):
    history.awarded.title_en = '=HYPERLINK("http://evil.example")'
    history.awarded.save()
    rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("reports:contracts_csv")).content.decode("utf-8-sig"))
        )
    )
    assert '\'=HYPERLINK("http://evil.example")' in [cell for row in rows for cell in row]


# --- The pages -------------------------------------------------------------------------------


def test_what_we_bought_lists_purchases_in_english(client, history):
    response = client.get("/en/reports/what-we-bought/")
    assert response.status_code == 200
    page = response.content.decode()
    winner = history.winners[history.completed.pk]
    assert "<h1>What we bought</h1>" in page
    assert "Make the forms keyboard accessible" in page
    assert winner.trading_name in page and f"Legal name: {winner.legal_name}" in page
    assert "$2,000.00" in page
    assert "https://github.com/example/forms/pull/7" in page
    assert "Prototype a benefits estimator" in page
    for absent in ("Fix the search box", "Translate the help pages", "Nobody bid on this"):
        assert absent not in page
    assert page.index("Prototype a benefits estimator") < page.index("Make the forms")


def test_what_we_bought_in_french_shows_the_french_titles(client, history):
    response = client.get("/fr/reports/what-we-bought/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert "Rendre les formulaires accessibles au clavier" in page
    assert "Make the forms keyboard accessible" not in page


def test_what_we_bought_filters_by_fiscal_year_and_type(client, history):
    year = selectors.fiscal_year_of(timezone.now())
    page = client.get(reverse("reports:purchases"), {"type": "prototype"}).content.decode()
    assert "Prototype a benefits estimator" in page and "Make the forms" not in page
    page = client.get(reverse("reports:purchases"), {"year": str(year)}).content.decode()
    assert "Prototype a benefits estimator" in page and "Make the forms" in page
    assert f"{year}-{year + 1}" in page
    page = client.get(
        reverse("reports:purchases"), {"year": str(year), "type": "analysis"}
    ).content.decode()
    assert "Nothing was bought that matches these filters." in page


@pytest.mark.parametrize(
    "query",
    [{"year": "abc"}, {"year": "1999"}, {"type": "<script>"}, {"page": "abc"}, {"page": "9999"},
     {"page": "-1"}],
)  # fmt: skip
def test_what_we_bought_answers_bad_filters_with_a_clear_page(client, history, query):
    response = client.get(reverse("reports:purchases"), query)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Make the forms keyboard accessible" in page  # the bad filter is left out
    if "page" not in query:
        assert "A filter was not understood and was left out." in page
    assert "<script>" not in page


def test_what_we_bought_is_paginated(client, history, monkeypatch):
    monkeypatch.setattr(PurchaseListView, "paginate_by", 1)
    first = client.get(reverse("reports:purchases")).content.decode()
    second = client.get(reverse("reports:purchases"), {"page": "2"}).content.decode()
    assert "Page 1 of 2" in first and "Prototype a benefits estimator" in first
    assert "Make the forms" not in first
    assert "Page 2 of 2" in second and "Make the forms keyboard accessible" in second
    assert "?page=2" in first


def test_what_we_bought_empty_state(client, db):
    page = client.get(reverse("reports:purchases")).content.decode()
    assert "Nothing has been bought yet." in page


@pytest.mark.parametrize("language", ["en", "fr"])
def test_open_data_page_links_to_the_data_and_its_licence(client, db, language):
    response = client.get(f"/{language}/reports/open-data/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert f'href="/{language}/reports/open-data/ocds-release-package.json"' in page
    assert f'href="/{language}/reports/open-data/contracts.csv"' in page
    licence = {
        "en": "https://open.canada.ca/en/open-government-licence-canada",
        "fr": "https://ouvert.canada.ca/fr/licence-du-gouvernement-ouvert-canada",
    }[language]
    assert f'href="{licence}"' in page
    assert PREFIX in page


def test_footer_links_to_the_open_data(client, db):
    page = client.get("/en/").content.decode()
    assert 'href="/en/reports/open-data/"' in page and 'href="/en/reports/what-we-bought/"' in page
