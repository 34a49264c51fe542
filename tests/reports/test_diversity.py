"""Self-identification: optional, consented, deletable, kept apart from everything staff see,
and reported only per complete quarter, frozen, with groups under 5 shown as "<5" and the rest
rounded (the differencing attack itself: tests/reports/test_diversity_snapshots.py)."""

import datetime as dt
import inspect
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from bids.models import Bid
from evaluation import services as evaluation_services
from lifecycle.award import evaluation_award
from marketplace.models import AuditEvent, Role
from payments import contracts
from payments.models import Contract
from reports import permissions, services
from reports.diversity import (
    SUPPRESSED,
    cell_range,
    diversity_csv_rows,
    publish,
    quarter_end,
    quarter_figures,
    respondents_reveal_a_cell,
    summary_from,
    suppress,
)
from reports.models import DiversitySnapshot, SelfIdentification
from tests.builders import labels, run_to_consensus
from tests.factories import (
    OpportunityFactory,
    StaffFactory,
    SupplierFactory,
)
from tests.support.gcds import component_values, plain

pytestmark = pytest.mark.django_db

Group = SelfIdentification.Group
ZONE = ZoneInfo(settings.TIME_ZONE)
TODAY = dt.date(2026, 11, 15)  # the last complete quarter ended on 2026-09-30
IN_PERIOD = dt.datetime(2026, 5, 10, 12, tzinfo=ZONE)
BEFORE = dt.datetime(2026, 3, 20, 12, tzinfo=ZONE)
THIS_QUARTER = dt.datetime(2026, 10, 20, 12, tzinfo=ZONE)
URL = "reports:self_identification"
DELETE_URL = "reports:self_identification_delete"


def identified(*groups: str):
    user = SupplierFactory()
    services.self_identification_save(user=user, groups=list(groups), consent=True)
    return user


def bid(supplier, *, when, status=Bid.Status.SEALED) -> Bid:
    return Bid.objects.create(
        opportunity=OpportunityFactory(), supplier=supplier, status=status, submitted_at=when
    )


def award(supplier, *, when, status=Contract.Status.IN_PROGRESS) -> Contract:
    placed = bid(supplier, when=when, status=Bid.Status.AWARDED)
    return Contract.objects.create(
        opportunity=placed.opportunity,
        bid=placed,
        supplier=supplier,
        value_cents=placed.opportunity.value_cents,
        created_at=when,
        status=status,
    )


@pytest.fixture
def history():
    """4 women (one also youth), 6 Indigenous, 5 youth; bids and awards in and out of period."""
    women_only = [identified(Group.WOMEN) for _ in range(3)]
    woman_and_youth = identified(Group.WOMEN, Group.YOUTH)
    youth_only = [identified(Group.YOUTH) for _ in range(4)]
    indigenous = [identified(Group.INDIGENOUS) for _ in range(6)]
    SupplierFactory()  # no answers at all
    services.self_identification_save(user=SupplierFactory(), groups=[], consent=True)

    # Bids: 3 women in the period, the third only in the current (incomplete) quarter.
    for supplier in [*women_only[:2], woman_and_youth]:
        bid(supplier, when=IN_PERIOD)
    bid(women_only[2], when=THIS_QUARTER)
    # 4 youth in the period; the fifth withdrew in the period and bid before it.
    for supplier in youth_only[:3]:
        bid(supplier, when=IN_PERIOD)
    bid(youth_only[3], when=IN_PERIOD, status=Bid.Status.WITHDRAWN)
    bid(youth_only[3], when=BEFORE)
    # Indigenous: all 6 bid; 5 awarded in the period, the sixth declined, then won this quarter.
    for supplier in indigenous[:5]:
        award(supplier, when=IN_PERIOD)
    award(indigenous[5], when=IN_PERIOD, status=Contract.Status.DECLINED)
    award(indigenous[5], when=THIS_QUARTER)
    # Someone who did not self-identify bids and wins: counted nowhere.
    award(SupplierFactory(), when=IN_PERIOD)
    # Everyone answered in March: their answers stood at the end of both quarters counted.
    SelfIdentification.objects.update(consented_at=BEFORE)
    return {"women": women_only, "youth": youth_only, "indigenous": indigenous}


def by_group(summary) -> dict[str, tuple]:
    return {row.group: (row.suppliers, row.bid, row.awarded) for row in summary.rows}


def published(start: dt.date, *, today: dt.date = TODAY):
    """The quarter's figures as its snapshot keeps them and the dashboard shows them."""
    figures, answers_before = quarter_figures(start, today=today)
    assert answers_before == quarter_end(start) + dt.timedelta(days=1)  # no earlier quarter
    snapshot = DiversitySnapshot(
        quarter_start=start,
        quarter_end=quarter_end(start),
        answers_before=answers_before,
        figures=figures,
    )
    return summary_from(snapshot)


Q2 = dt.date(2026, 4, 1)


# --- Suppression and rounding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"), [(0, 0), (1, "<5"), (2, "<5"), (3, "<5"), (4, "<5"), (5, 5), (17, 17)]
)
def test_suppress_hides_counts_from_one_to_four_and_shows_zero(count, shown):
    assert suppress(count) == shown


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "<5"), (4, "<5"), (5, 5), (6, 5), (7, 5), (8, 10), (12, 10), (13, 15), (102, 100)],
)
def test_publish_suppresses_small_counts_and_rounds_the_rest_to_the_nearest_five(count, shown):
    assert publish(count) == shown
    low, high = cell_range(shown)
    assert low <= count <= high  # every published figure is a range the true count is in


def test_suppress_refuses_a_negative_count():
    with pytest.raises(ValueError):
        suppress(-1)
    with pytest.raises(ValueError):
        publish(-1)


def test_a_total_that_would_pin_suppressed_groups_is_withheld():
    # 8 respondents in two groups of 4: "10" less the other group's at most 4 leaves at least 4.
    assert respondents_reveal_a_cell(publish(8), [SUPPRESSED, SUPPRESSED, 0])
    # 14 respondents across groups of 4, 6 and 5 (some in two): no group is narrowed.
    assert not respondents_reveal_a_cell(publish(14), [SUPPRESSED, 5, 5, 0])
    assert not respondents_reveal_a_cell(SUPPRESSED, [SUPPRESSED, SUPPRESSED])


def test_two_groups_of_four_and_no_one_else_publish_no_total():
    for group in (Group.BLACK, Group.DISABILITY):
        for _ in range(4):
            identified(group)
    SelfIdentification.objects.update(consented_at=BEFORE)
    summary = published(Q2)
    assert by_group(summary)[Group.BLACK] == (SUPPRESSED, SUPPRESSED, SUPPRESSED)
    assert summary.respondents is None
    html = render_to_string("reports/includes/diversity_table.html", {"summary": summary})
    assert "The number of respondents is withheld" in html and "Respondents:" not in html
    assert diversity_csv_rows(summary)[-1][1] == "withheld"


def test_figures_suppress_small_groups_round_the_rest_and_count_only_the_quarter(history):
    summary = published(Q2)
    assert (summary.start, summary.end) == (Q2, dt.date(2026, 6, 30))
    rows = by_group(summary)
    assert rows[Group.WOMEN] == (SUPPRESSED, SUPPRESSED, SUPPRESSED)
    assert rows[Group.INDIGENOUS] == (5, 5, 5)  # 6, 6 and 5: rounded to the nearest 5
    assert rows[Group.YOUTH] == (5, SUPPRESSED, SUPPRESSED)
    for other in (Group.BLACK, Group.RACIALIZED, Group.DISABILITY, Group.LGBTQ):
        assert rows[other] == (0, 0, 0)
    assert [row.group for row in summary.rows] == Group.values
    assert summary.respondents == 15  # 14 people (one counted once in two groups), rounded


def test_the_quarter_before_counts_its_own_bids_only(history):
    rows = by_group(published(dt.date(2026, 1, 1)))
    assert rows[Group.YOUTH] == (5, SUPPRESSED, SUPPRESSED)  # the youth who bid in March
    assert rows[Group.INDIGENOUS] == (5, SUPPRESSED, SUPPRESSED)  # none: "<5" too


def test_answers_saved_after_the_quarter_ended_are_counted_from_the_next_one(history):
    SelfIdentification.objects.filter(user__in=history["indigenous"][:2]).update(
        consented_at=THIS_QUARTER
    )
    assert by_group(published(Q2))[Group.INDIGENOUS] == (SUPPRESSED, SUPPRESSED, SUPPRESSED)


def test_only_a_complete_quarter_is_counted(history):
    with pytest.raises(ValueError):
        quarter_figures(dt.date(2026, 10, 1), today=TODAY)
    with pytest.raises(ValueError):
        quarter_figures(dt.date(2026, 7, 1), today=dt.date(2026, 9, 30))


def test_deleted_answers_no_longer_count_in_a_quarter_not_yet_computed(history):
    services.self_identification_delete(user=history["indigenous"][0])
    summary = published(Q2)
    assert by_group(summary)[Group.INDIGENOUS] == (5, 5, SUPPRESSED)  # 5, 5 and 4
    assert summary.respondents == 15  # 13


def test_the_figures_cannot_be_asked_for_a_single_opportunity():
    assert set(inspect.signature(quarter_figures).parameters) == {"start", "today", "previous"}


def _cells(html: str) -> list[str]:
    return [cell.strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", html, re.S)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_group_of_four_never_appears_as_a_number_in_the_table(history, language):
    with translation.override(language):
        summary = published(Q2)
        html = render_to_string("reports/includes/diversity_table.html", {"summary": summary})
        women_label = str(Group.WOMEN.label)
        respondents = {"en": "Respondents: 15.", "fr": "Répondants : 15."}[language]
        rounded = {
            "en": "Other figures are rounded to the nearest 5, totals included.",
            "fr": "Les autres chiffres sont arrondis au multiple de 5 le plus proche, "
            "totaux compris.",
        }[language]
        frozen = {
            "en": "computed once, after it ends, and never change",
            "fr": "calculés une seule fois, après sa fin, et ne changent plus",
        }[language]
    for small in range(1, 5):
        assert f">{small}<" not in html
        assert str(small) not in _cells(html)
    assert "&lt;5" in html and "<5" not in html  # escaped everywhere, never markup
    women = next(r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if women_label in r)
    assert _cells(women) == [women_label, "&lt;5", "&lt;5", "&lt;5"]
    assert "<caption>" in html and 'scope="row"' in html and 'scope="col"' in html
    text = html.replace("\u00a0", " ")
    assert respondents in text and rounded in text and frozen in text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_without_a_published_quarter_the_table_says_so(language):
    with translation.override(language):
        html = render_to_string("reports/includes/diversity_table.html", {"summary": None})
        expected = {
            "en": "No quarter of this period has published figures yet",
            "fr": "Aucun trimestre de cette période n\u2019a encore de chiffres publiés",
        }[language]
    assert expected in html and "<table" not in html


def test_csv_rows_are_published_figures_with_a_header_first(history):
    rows = diversity_csv_rows(published(Q2))
    assert rows[0][0] == "Group" and len(rows[0]) == 4
    assert rows[1] == [str(Group.WOMEN.label), "<5", "<5", "<5"]
    assert rows[2] == [str(Group.INDIGENOUS.label), 5, 5, 5]
    assert rows[-1][1:] == [15, "", ""]
    figures = [cell for row in rows[1:] for cell in row[1:]]
    assert not any(isinstance(cell, int) and cell % 5 for cell in figures)
    assert all(isinstance(cell, str) for cell in rows[0])


def test_csv_rows_are_the_header_alone_without_a_published_quarter():
    assert len(diversity_csv_rows(None)) == 1


# --- Saving and deleting -------------------------------------------------------------------------


def test_a_supplier_saves_their_groups_with_consent_and_sees_a_confirmation(client):
    supplier = SupplierFactory()
    client.force_login(supplier)
    response = client.post(
        reverse(URL), {"groups": [Group.YOUTH, Group.WOMEN], "consent": "on"}, follow=True
    )
    record = SelfIdentification.objects.get(user=supplier)
    assert record.groups == ["women", "youth"] and record.consented_at is not None
    assert "Your answers are saved" in response.content.decode()
    page = client.get(reverse(URL)).content.decode()
    # Ticked as saved: the component with scripts, the plain boxes without.
    assert component_values(page)["groups"] == ["women", "youth"]
    ticked = re.findall(
        r'<input type="checkbox"[^>]*name="groups" value="(\w+)"[^>]*checked', plain(page)
    )
    assert ticked == ["women", "youth"]
    assert reverse(DELETE_URL) in page


def test_saving_without_consent_is_refused_and_nothing_is_stored(client):
    supplier = SupplierFactory()
    client.force_login(supplier)
    response = client.post(reverse(URL), {"groups": [Group.WOMEN]})
    assert response.status_code == 200
    assert "Tick the consent box" in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert not SelfIdentification.objects.exists()
    with pytest.raises(ValidationError):
        services.self_identification_save(user=supplier, groups=[Group.WOMEN], consent=False)
    assert not SelfIdentification.objects.exists()


def test_an_unknown_group_is_refused_and_nothing_is_stored(client):
    supplier = SupplierFactory()
    client.force_login(supplier)
    response = client.post(reverse(URL), {"groups": ["women", "martians"], "consent": "on"})
    assert response.status_code == 200
    assert "martians is not one of the available choices" in response.content.decode()
    assert not SelfIdentification.objects.exists()
    with pytest.raises(ValidationError):
        services.self_identification_save(user=supplier, groups=["martians"], consent=True)
    assert not SelfIdentification.objects.exists()


def test_prefer_not_to_say_keeps_nothing_and_removes_earlier_answers(client):
    supplier = identified(Group.BLACK)
    client.force_login(supplier)
    response = client.post(reverse(URL), {}, follow=True)
    assert "Nothing is kept" in response.content.decode()
    assert not SelfIdentification.objects.filter(user=supplier).exists()
    assert AuditEvent.objects.filter(verb="self_identification.deleted").count() == 1


def test_the_delete_page_confirms_then_removes_the_row_entirely(client):
    supplier = identified(Group.DISABILITY)
    client.force_login(supplier)
    page = client.get(reverse(DELETE_URL))
    assert page.status_code == 200 and "removed entirely" in page.content.decode()
    assert SelfIdentification.objects.filter(user=supplier).exists()  # a GET deletes nothing
    response = client.post(reverse(DELETE_URL), follow=True)
    assert "Your answers are deleted" in response.content.decode()
    assert not SelfIdentification.objects.filter(user=supplier).exists()
    event = AuditEvent.objects.get(verb="self_identification.deleted")
    assert event.actor is None and event.data == {} and event.target_id == ""
    # Nothing left to delete: the page says so instead of asking.
    again = client.get(reverse(DELETE_URL), follow=True)
    assert "You have no answers to delete" in again.content.decode()


def test_the_audit_trail_never_holds_the_groups():
    supplier = identified(Group.INDIGENOUS, Group.LGBTQ)
    services.self_identification_save(user=supplier, groups=[Group.YOUTH], consent=True)
    services.self_identification_delete(user=supplier)
    events = AuditEvent.objects.filter(verb__startswith="self_identification.")
    assert sorted(events.values_list("verb", flat=True)) == [
        "self_identification.deleted",
        "self_identification.saved",
        "self_identification.saved",
    ]
    for event in events:
        assert event.actor is None and event.data == {}
        assert event.target_type is None and event.target_repr == ""
        assert not any(value in str(event.data) for value in Group.values)


def test_only_suppliers_may_self_identify_and_only_program_admins_see_metrics():
    supplier = SupplierFactory()
    admin_user = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    assert permissions.can_self_identify(supplier)
    assert not permissions.can_self_identify(admin_user)
    assert permissions.can_view_metrics(admin_user)
    assert not permissions.can_view_metrics(supplier)
    with pytest.raises(PermissionDenied):
        services.self_identification_save(user=admin_user, groups=[Group.WOMEN], consent=True)


@pytest.mark.parametrize("role", [Role.BUYER, Role.EVALUATOR, Role.CARD_HOLDER, Role.PROGRAM_ADMIN])
def test_other_roles_are_refused_both_pages(client, role):
    client.force_login(StaffFactory(roles=[role]))
    for name in (URL, DELETE_URL):
        assert client.get(reverse(name)).status_code == 403
        assert client.post(reverse(name), {"groups": ["women"], "consent": "on"}).status_code == 403
    assert not SelfIdentification.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in (URL, DELETE_URL):
        for response in (client.get(reverse(name)), client.post(reverse(name))):
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_works_in_french(client):
    supplier = SupplierFactory()
    client.force_login(supplier)
    with translation.override("fr"):
        url = reverse(URL)
        delete_url = reverse(DELETE_URL)
    assert url.startswith("/fr/")
    assert client.get(url).status_code == 200
    response = client.post(url, {"groups": ["youth"], "consent": "on"})
    assert response.status_code == 302 and response["Location"].startswith("/fr/")
    assert client.get(delete_url).status_code == 200
    assert client.post(delete_url)["Location"].startswith("/fr/")
    assert not SelfIdentification.objects.exists()


def test_the_supplier_profile_links_to_the_separate_page(client):
    client.force_login(SupplierFactory())
    page = client.get(reverse("marketplace:supplier_profile")).content.decode()
    assert reverse(URL) in page and "kept apart from this profile" in page


def test_self_identification_is_not_in_the_django_admin():
    assert SelfIdentification not in admin.site._registry


# --- Never shown to evaluators, buyers or other staff --------------------------------------------


def _assert_no_self_identification(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    for language in ("en", "fr"):
        with translation.override(language):
            for label in Group.labels:
                assert str(label) not in html, (url, label)
    assert "self-identif" not in html.lower() and "self_identif" not in html.lower(), url


def test_staff_pages_about_a_bid_never_show_self_identification(client, closed, evaluators):
    opportunity, bids = closed
    for placed in bids:
        services.self_identification_save(user=placed.supplier, groups=Group.values, consent=True)
    evaluation = opportunity.evaluation
    ls = labels(evaluation)
    run_to_consensus(
        evaluation, evaluators, {ls[0]: (True, 9), ls[1]: (True, 5), ls[2]: (False, 1)}
    )
    packet = evaluation.packets.first()
    pk = opportunity.pk
    for evaluator in evaluators[:2]:
        client.force_login(evaluator)
        for url in (
            reverse("evaluation:overview", args=[pk]),
            reverse("evaluation:packets", args=[pk]),
            reverse("evaluation:packet", args=[pk, packet.pk]),
        ):
            _assert_no_self_identification(client, url)
    client.force_login(evaluators[0])  # the chair
    for url in (
        reverse("evaluation:consensus", args=[pk]),
        reverse("evaluation:consensus_packet", args=[pk, packet.pk]),
    ):
        _assert_no_self_identification(client, url)

    buyer = opportunity.buyer
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    contract = evaluation_award(actor=buyer, evaluation=evaluation).packet.bid
    contract = contract.contract
    client.force_login(buyer)
    for url in (
        reverse("evaluation:overview", args=[pk]),  # names the suppliers now
        reverse("opportunities:detail", args=[pk]),
        reverse("opportunities:awarded"),
        reverse("payments:contract", args=[contract.pk]),
    ):
        _assert_no_self_identification(client, url)

    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    contract = contracts.contract_certify(buyer=buyer, contract=contract, confirmed=True)
    _assert_no_self_identification(client, reverse("payments:detail", args=[contract.payment.pk]))
    program_admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    client.force_login(program_admin)
    for url in (
        reverse("marketplace:role_user_detail", args=[contract.supplier.pk]),
        reverse("payments:list"),
        reverse("payments:oversight"),
        reverse("evaluation:access_log", args=[pk]),
    ):
        _assert_no_self_identification(client, url)
    assert SelfIdentification.objects.count() == 3  # the answers were there all along


ROOT = Path(settings.BASE_DIR)
KEPT_APART = ["bids", "evaluation", "opportunities", "payments", "marketplace"]


def test_no_code_or_template_staff_use_reads_self_identification():
    """Only the reports app touches the answers; the supplier's own pages link to them."""
    own_pages = {
        Path("templates/marketplace/supplierprofile_form.html"),
        # The audit verbs' sentences: it names the events ("… was saved"), reads nothing.
        Path("marketplace/audit_verbs.py"),
        # The privacy notice says what becomes of the answers; it reads none.
        Path("templates/marketplace/pages/privacy.en.html"),
        Path("templates/marketplace/pages/privacy.fr.html"),
    }
    files = [p for app in KEPT_APART for p in (ROOT / app).rglob("*.py")]
    files += [p for app in KEPT_APART for p in (ROOT / "templates" / app).rglob("*.html")]
    assert len(files) > 50
    readers = [
        str(path.relative_to(ROOT))
        for path in files
        if path.relative_to(ROOT) not in own_pages
        and re.search(r"self.?identification", path.read_text(), re.IGNORECASE)
    ]
    assert readers == []
