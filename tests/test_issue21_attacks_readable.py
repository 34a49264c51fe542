"""Attacks on what issue 21 made readable (audit sentences, bid labels, the section 34
statement, French pages after a POST): a hostile insider or bidder finds no identity, no
markup, no 500, and French readers nothing left in English or as a raw code."""

# French typography (the typographic apostrophe) is what these pages must keep.
# ruff: noqa: RUF001
from __future__ import annotations

import hashlib
import json
import re

import lxml.html
import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone, translation

from evaluation import services as evaluation_services
from evaluation.models import Evaluation
from marketplace import audit_verbs
from marketplace.models import AuditEvent, Role
from payments import contracts
from tests.builders import (
    award_first_in_rank,
    consensus_all,
    labels,
    mark_all,
    seat_panel,
)
from tests.factories import StaffFactory
from tests.support.gcds import plain, scripted
from tests.support.page_text import Shown, TextGate, catalogue, raw_codes

pytestmark = pytest.mark.django_db


def _locked(closed, evaluators) -> Evaluation:
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    scores = {label: (True, 6) for label in labels(evaluation)}
    seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    consensus_all(evaluation, evaluators[0], scores)
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    return Evaluation.objects.get(pk=evaluation.pk)


def _shown(html: str) -> Shown:
    """Roughly what the crawl's gate reads: the visible text less <code>, <pre>, other
    languages' parts, scripts; one line per element."""
    tree = lxml.html.fromstring(html)
    page_language = (tree.get("lang") or "").split("-")[0]
    for element in tree.xpath("//script|//style|//code|//kbd|//samp|//pre|//*[@translate='no']"):
        element.drop_tree()
    for element in tree.xpath("//*[@lang]"):
        if element is not tree and element.get("lang").split("-")[0] != page_language:
            element.drop_tree()
    body = tree.find("body")
    lines = [" ".join(text.split()) for text in body.itertext()] if body is not None else []
    text = "\n".join(line for line in lines if line)
    title = tree.findtext(".//title") or ""
    return Shown(text="\n".join([" ".join(title.split()), text]))


@pytest.fixture(scope="module")
def french_gate():
    return TextGate("fr", raw_codes(), foreign=catalogue("en"))


# --- The public draw: the order can be recomputed from what each row shows -------------------


def test_each_row_of_the_french_draw_order_shows_the_label_its_hash_is_made_of(
    client,
    closed,
    evaluators,
):
    """The order's table puts a label beside SHA-256("<seed>:<label>"). In French the label
    reads "Soumission K7Q"; hashing what the row shows must still give the row's value, so the
    row also shows the label on record, as a code, like the seed it is hashed with."""
    evaluation = _locked(closed, evaluators)
    with translation.override("fr"):
        page = client.get(reverse("evaluation:draw", args=[evaluation.opportunity_id]))
    tree = lxml.html.fromstring(page.content.decode())
    seed = evaluation.seed
    table = next(
        t for t in tree.xpath("//table") if "ordre" in (t.findtext("caption") or "").lower()
    )
    rows = table.xpath("./tbody/tr")
    assert len(rows) == len(evaluation.draw_order)
    for row in rows:
        label_cell, key_cell = row.xpath("./td")[1], row.xpath("./td")[2]
        key = key_cell.text_content().strip()
        shown = [code.text_content() for code in label_cell.xpath(".//code")]
        shown.append(label_cell.text_content().strip())
        assert any(
            hashlib.sha256(f"{seed}:{text}".encode()).hexdigest() == key for text in shown
        ), (shown, key)
        assert "Soumission" in label_cell.text_content()


# --- French after a POST: flash messages and form errors (the crawl only GETs) ---------------


def _french_problems(gate, response, client) -> list[str]:
    """The gate's problems on the page a POST answers with, or the page it redirects to
    (where its flash message is shown)."""
    if response.status_code in (301, 302, 303):
        response = client.get(response["Location"])
    assert response.status_code < 500
    found = gate.problems(_shown(response.content.decode()))
    # A person as "Name <email>" in a list to choose from is not a Python repr.
    return [problem for problem in found if not re.match(r"Python repr “<[^ ]+@", problem)]


def test_french_after_each_bid_post(client, french_gate, program_admin):
    from bids import services as bid_services
    from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
    from tests.factories import OpportunityFactory, SupplierProfileFactory

    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=program_admin, opportunity=draft)
    supplier = SupplierProfileFactory().user
    bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
    client.force_login(supplier)
    problems = {}
    url = f"/fr/bids/{bid.pk}/edit/"
    for name, data in {
        "submit empty": {"action_submit": "1"},
        "bad date": {"proposed_start_date": "31/02/2026", "action_submit": "1"},
        "save": {"proposed_start_date": "2026-12-30"},
    }.items():
        problems[name] = _french_problems(french_gate, client.post(url, data), client)
    problems["withdraw"] = _french_problems(
        french_gate, client.post(f"/fr/bids/{bid.pk}/withdraw/"), client
    )
    assert not any(problems.values()), problems


def test_french_after_each_contract_and_payment_post(
    client,
    closed,
    evaluators,
    french_gate,
):
    from payments.models import CardLimit

    opportunity, _bids = closed
    contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 5), (False, 1)])
    supplier, buyer = contract.supplier, opportunity.buyer
    problems = {}
    base = f"/fr/payments/contracts/{contract.pk}"
    client.force_login(supplier)
    problems["accept"] = _french_problems(french_gate, client.post(f"{base}/accept/"), client)
    problems["deliver bad"] = _french_problems(
        french_gate, client.post(f"{base}/deliver/", {"delivery_url": "pas une adresse"}), client
    )
    problems["deliver"] = _french_problems(
        french_gate,
        client.post(f"{base}/deliver/", {"delivery_url": "https://x.dev/pull/7", "notes": ""}),
        client,
    )
    client.force_login(buyer)
    problems["changes empty"] = _french_problems(
        french_gate, client.post(f"{base}/changes/", {"reasons": ""}), client
    )
    problems["certify unconfirmed"] = _french_problems(
        french_gate, client.post(f"{base}/certify/", {}), client
    )
    problems["certify"] = _french_problems(
        french_gate, client.post(f"{base}/certify/", {"confirmed": "on"}), client
    )
    problems["certify again"] = _french_problems(
        french_gate, client.post(f"{base}/certify/", {"confirmed": "on"}), client
    )
    contract.refresh_from_db()
    payment = contract.payment
    holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Casey Cardholder")
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=2_500_000
    )
    client.force_login(holder)
    pay = f"/fr/payments/{payment.pk}"
    today = timezone.localdate().isoformat()
    for name, data in {
        "record empty": {},
        "record wrong amount": {
            "amount": "1,00",
            "paid_on": today,
            "method": "card_terminal",
            "reference": "A1",
        },
        "record future": {
            "amount": str(payment.total_cents / 100).replace(".", ","),
            "paid_on": "2099-01-01",
            "method": "card_terminal",
            "reference": "A1",
        },
        "record": {
            "amount": str(payment.total_cents / 100).replace(".", ","),
            "paid_on": today,
            "method": "card_terminal",
            "reference": "A1",
        },
    }.items():
        problems[name] = _french_problems(french_gate, client.post(f"{pay}/record/", data), client)
    client.force_login(supplier)
    problems["missing empty"] = _french_problems(
        french_gate, client.post(f"{pay}/problem/", {"reason": ""}), client
    )
    problems["confirm"] = _french_problems(french_gate, client.post(f"{pay}/confirm/"), client)
    problems["confirm again"] = _french_problems(
        french_gate, client.post(f"{pay}/confirm/"), client
    )
    problems["payment page"] = _french_problems(french_gate, client.get(f"{pay}/"), client)
    problems["invoice page"] = _french_problems(french_gate, client.get(f"{pay}/invoice/"), client)
    payment.refresh_from_db()
    contract.refresh_from_db()
    assert (contract.status, payment.status) == ("accepted", "paid")
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


def test_emails_to_french_people_from_award_to_certification_read_french(
    closed,
    evaluators,
    french_gate,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    from marketplace.models import User

    opportunity, _bids = closed
    User.objects.update(preferred_language="fr")
    for person in [*evaluators, opportunity.buyer]:
        person.refresh_from_db()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 5), (False, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
        contract = contracts.contract_deliver(
            supplier=contract.supplier, contract=contract, url="https://x.dev/pull/1", notes=""
        )
        contract = contracts.contract_certify(
            buyer=opportunity.buyer, contract=contract, confirmed=True
        )
    assert mailoutbox
    problems = {}
    for message in mailoutbox:
        found = french_gate.problems(Shown(text=f"{message.subject}\n{message.body}"))
        if found:
            problems[message.subject] = found
    assert not problems, problems


def test_french_after_each_evaluation_post(
    client,
    closed,
    evaluators,
    french_gate,
):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    base = f"/fr/evaluation/{opportunity.pk}"
    problems = {}
    client.force_login(opportunity.buyer)
    problems["appoint bad"] = _french_problems(
        french_gate, client.post(f"{base}/panel/", {"evaluator": "999999"}), client
    )
    problems["lock early"] = _french_problems(french_gate, client.post(f"{base}/lock/"), client)
    problems["reveal early"] = _french_problems(french_gate, client.post(f"{base}/reveal/"), client)
    problems["award early"] = _french_problems(french_gate, client.post(f"{base}/award/"), client)
    seat_panel(evaluation, evaluators[:2])
    client.force_login(evaluators[1])
    packet = evaluation.packets.first()
    criterion = opportunity.criteria.filter(kind="rated").first()
    problems["marks bad"] = _french_problems(
        french_gate,
        client.post(
            f"{base}/packets/{packet.pk}/", {f"score_{criterion.pk}": "999", "rationale": ""}
        ),
        client,
    )
    problems["submit early"] = _french_problems(french_gate, client.post(f"{base}/submit/"), client)
    problems["declare again"] = _french_problems(
        french_gate, client.post(f"{base}/declare/", {"conflict": "no"}), client
    )
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


# --- Hostile audit data: never a 500, never markup ---------------------------------------------

MARKUP = "<img src=x onerror=alert(1)>"
HOSTILE_DATA = [
    {"label": MARKUP, "number": MARKUP, "role": MARKUP, "kind": MARKUP, "count": MARKUP},
    {"label": "Bid " + MARKUP, "packet": ["x"], "number": 10**40, "count": -1},
    {"label": "x" * 20_000, "role": None, "kind": 7, "type": MARKUP},
    {"label": {"nested": MARKUP}, "offer": True, "receipt": 2.5},
    ["not", "a", "mapping"],
    MARKUP,
    7,
]
HOSTILE_VERBS = [
    MARKUP,
    "payment." + MARKUP + ".x",
    "packet.viewed",
    "role.granted",
    "approval.requested",
    "notifications.unsubscribed",
    "notification.retried_all",
    "",
]


def _events_about(target, actor=None) -> None:
    content_type = ContentType.objects.get_for_model(target)
    for verb in HOSTILE_VERBS:
        for data in HOSTILE_DATA:
            AuditEvent.objects.create(
                actor=actor,
                verb=verb[:64],
                target_type=content_type,
                target_id=str(target.pk),
                target_repr=MARKUP,
                data=data,
            )


def _assert_no_live_markup(response) -> None:
    assert response.status_code == 200
    page = response.content.decode()
    assert "<img src=x" not in page and '<img src="x"' not in page
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_hostile_audit_data_on_the_access_log_and_a_persons_page(
    client,
    closed,
    program_admin,
    language,
):
    opportunity, _bids = closed
    _events_about(opportunity.evaluation)
    _events_about(program_admin)
    for packet in opportunity.evaluation.packets.all():
        _events_about(packet)
    client.force_login(program_admin)
    log = client.get(f"/{language}/evaluation/{opportunity.pk}/access-log/")
    _assert_no_live_markup(log)
    person = client.get(reverse("marketplace:role_user_detail", args=[program_admin.pk]))
    with translation.override(language):
        person = client.get(reverse("marketplace:role_user_detail", args=[program_admin.pk]))
    _assert_no_live_markup(person)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_hostile_audit_data_in_the_technical_admin(admin_client, language):
    from marketplace.models import User

    target = User.objects.get(is_superuser=True)
    _events_about(target)
    listing = admin_client.get(f"/{language}/admin/marketplace/auditevent/", {"all": ""})
    _assert_no_live_markup(listing)
    for event in AuditEvent.objects.filter(target_id=str(target.pk))[:12]:
        page = admin_client.get(f"/{language}/admin/marketplace/auditevent/{event.pk}/change/")
        _assert_no_live_markup(page)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_hostile_payment_history_lines(
    client,
    closed,
    evaluators,
    language,
):
    from payments.models import PaymentEvent

    opportunity, _bids = closed
    contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 5), (False, 1)])
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/1", notes=""
    )
    contract = contracts.contract_certify(
        buyer=opportunity.buyer, contract=contract, confirmed=True
    )
    for kind in [MARKUP[:60], "stripe_paid", "x.y.z", "checkout.session.completed"]:
        for data in HOSTILE_DATA:
            PaymentEvent.objects.create(
                payment=contract.payment,
                kind=kind,
                data=data,
                from_status=MARKUP[:10],
                to_status="paid",
            )
    client.force_login(opportunity.buyer)
    _assert_no_live_markup(client.get(f"/{language}/payments/{contract.payment.pk}/"))
    with translation.override(language):
        for data in [*HOSTILE_DATA, None]:
            for verb in [*HOSTILE_VERBS, *audit_verbs.VERBS]:
                assert isinstance(audit_verbs.sentence(verb, data), str)


# --- Section 34: the statement recorded is the one the buyer read, in its language -----------


@pytest.fixture
def delivered(closed, evaluators):
    opportunity, _bids = closed
    contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 5), (False, 1)])
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/1", notes=""
    )
    return opportunity, contract


def _certification_page(client, contract_url: str) -> str:
    """The page the buyer certifies on: the contract page's "Review and certify the work" link
    opens it (the confirmation page of issue 23, which holds the statement's tick box)."""
    contract_page = client.get(contract_url).content.decode()
    certify_url = f"{contract_url}certify/"
    assert f'href="{certify_url}"' in contract_page, "the contract page leads to certifying"
    response = client.get(certify_url)
    assert response.status_code == 200
    return response.content.decode()


def _statement_offered(page: str) -> str:
    """The statement as the certification form shows it: the label of its checkbox, the same
    with scripts (the GCDS component's one option) and without (the plain label, its
    "(required)" marker apart)."""
    (component,) = lxml.html.fromstring(scripted(page)).xpath(
        "//gcds-checkboxes[@data-field-id='id_confirmed']"
    )
    (option,) = json.loads(component.get("options"))
    (label,) = lxml.html.fromstring(plain(page)).xpath("//label[@for='id_confirmed']")
    for marker in label.xpath(".//*[contains(concat(' ', @class, ' '), ' gc-required ')]"):
        marker.drop_tree()

    def spaced(text: str) -> str:  # a no-break space is the statement's own, and stays
        return re.sub(r"[ \t\r\n]+", " ", text).strip()

    assert spaced(option["label"]) == spaced(label.text_content())
    return " ".join(option["label"].split())


def _form_fields(page: str) -> dict[str, str]:
    tree = lxml.html.fromstring(page)
    (form,) = [f for f in tree.xpath("//form") if f.xpath(".//input[@name='confirmed']")]
    return {
        field.get("name"): field.get("value") or ""
        for field in form.xpath(".//input[@name]")
        if field.get("type") != "checkbox"
    }


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_statement_recorded_is_exactly_the_one_shown_whatever_is_forged(
    client, delivered, language
):
    """A French buyer certifies from the French form: the French text is recorded, exactly as
    shown; a forged `language` field and another Accept-Language change nothing."""
    opportunity, contract = delivered
    client.force_login(opportunity.buyer)
    url = f"/{language}/payments/contracts/{contract.pk}/"
    page = _certification_page(client, url)
    shown = _statement_offered(page)
    other = "en" if language == "fr" else "fr"
    response = client.post(
        f"{url}certify/",
        {**_form_fields(page), "confirmed": "on", "language": other},
        HTTP_ACCEPT_LANGUAGE=other,
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == "accepted"
    assert " ".join(contract.certification_statement.split()) == shown
    # Quoted as certified, marked with its language; a translation only for other readers.
    same = client.get(url).content.decode()
    assert (
        f'<span lang="{language}">{contract.certification_statement}' in same.replace("&#x27;", "'")
        or f'lang="{language}"' in same
    )
    assert "Translation:" not in same and "Traduction" not in same
    across = client.get(f"/{other}/payments/contracts/{contract.pk}/").content.decode()
    assert f'lang="{language}"' in across


def test_a_statement_changed_between_reading_and_certifying_is_not_recorded_unread(
    client, delivered, monkeypatch
):
    """The statement's wording changes (a new catalogue is deployed) while the buyer has the
    page open: what is recorded must be what they read, or nothing, with the new text shown
    to read again. Never a text they did not see."""
    from django.utils.functional import lazy

    opportunity, contract = delivered
    client.force_login(opportunity.buyer)
    url = f"/fr/payments/contracts/{contract.pk}/"
    page = _certification_page(client, url)
    shown = _statement_offered(page)
    reworded = "En vertu de l’article 34, j’atteste la réception du travail (nouvelle version)."
    monkeypatch.setattr(contracts, "CERTIFICATION", lazy(lambda: reworded, str)())
    response = client.post(f"{url}certify/", {**_form_fields(page), "confirmed": "on"})
    contract.refresh_from_db()
    if contract.certification_statement:
        assert " ".join(contract.certification_statement.split()) == shown
    else:
        assert response.status_code == 400
        assert reworded in response.content.decode().replace("&#x27;", "’")
        assert contract.status == "delivered"


def test_a_french_form_posted_to_the_english_address_records_nothing_unread(client, delivered):
    """The French form sent to /en/ (a forged or stale action): the English statement was never
    shown, so it is shown now, to read, and nothing is certified until it is ticked there."""
    opportunity, contract = delivered
    client.force_login(opportunity.buyer)
    french = _certification_page(client, f"/fr/payments/contracts/{contract.pk}/")
    response = client.post(
        f"/en/payments/contracts/{contract.pk}/certify/",
        {**_form_fields(french), "confirmed": "on"},
    )
    assert response.status_code == 400
    contract.refresh_from_db()
    assert contract.status == "delivered" and not contract.certification_statement
    english = response.content.decode()
    shown = _statement_offered(english)
    assert shown.startswith("Under section 34")
    again = client.post(
        f"/en/payments/contracts/{contract.pk}/certify/",
        {**_form_fields(english), "confirmed": "on"},
    )
    assert again.status_code == 302
    contract.refresh_from_db()
    assert " ".join(contract.certification_statement.split()) == shown


def test_french_after_each_approval_post_and_in_its_emails(
    client,
    program_admin,
    french_gate,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    from marketplace.models import Approval, User

    second = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    third = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory()
    User.objects.update(preferred_language="fr")
    problems = {}
    client.force_login(program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        problems["grant bad"] = _french_problems(
            french_gate,
            client.post(f"/fr/program/users/{staff.pk}/grant/", {"role": "nope"}),
            client,
        )
        problems["grant self"] = _french_problems(
            french_gate,
            client.post(f"/fr/program/users/{program_admin.pk}/grant/", {"role": "evaluator"}),
            client,
        )
        problems["grant"] = _french_problems(
            french_gate,
            client.post(f"/fr/program/users/{staff.pk}/grant/", {"role": "evaluator"}),
            client,
        )
        problems["grant again"] = _french_problems(
            french_gate,
            client.post(f"/fr/program/users/{staff.pk}/grant/", {"role": "evaluator"}),
            client,
        )
        approval = Approval.objects.get()
        problems["approve own"] = _french_problems(
            french_gate, client.post(f"/fr/program/approvals/{approval.pk}/approve/"), client
        )
        client.force_login(second)
        problems["reject empty"] = _french_problems(
            french_gate,
            client.post(f"/fr/program/approvals/{approval.pk}/reject/", {"reason": ""}),
            client,
        )
        problems["approve"] = _french_problems(
            french_gate, client.post(f"/fr/program/approvals/{approval.pk}/approve/"), client
        )
        problems["approve again"] = _french_problems(
            french_gate, client.post(f"/fr/program/approvals/{approval.pk}/approve/"), client
        )
        client.force_login(third)
        problems["person page"] = _french_problems(
            french_gate, client.get(f"/fr/program/users/{staff.pk}/"), client
        )
    for message in mailoutbox:
        found = french_gate.problems(Shown(text=f"{message.subject}\n{message.body}"))
        if found:
            problems[message.subject] = found
    assert mailoutbox
    assert staff.role_grants.filter(role=Role.EVALUATOR).exists()
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_sentence_never_reads_true_or_false_for_a_number(language):
    """JSON true is an int to Python: a count or a number of true reads "—", not "True"."""
    with translation.override(language):
        for verb, data in [
            ("notification.retried_all", {"count": True}),
            ("bid.submitted", {"receipt": True}),
            ("opportunity.amended", {"addendum": False}),
        ]:
            said = audit_verbs.sentence(verb, data)
            assert "True" not in said and "False" not in said and "—" in said, said
