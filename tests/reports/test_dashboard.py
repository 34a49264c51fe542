"""The program dashboard: figures from a small hand-built history, charts, CSV, the period
filter, who may see it, and the nightly snapshot."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from bids.models import Bid
from marketplace.models import AuditEvent, JobRun, Role
from opportunities.models import Opportunity
from reports import dashboard, services
from reports.dashboard import Period
from reports.models import MetricsSnapshot, OpportunityMeasures
from reports.tasks import metrics_snapshot
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.reports.history import at, bid, build_history, trail

pytestmark = pytest.mark.django_db

PERIOD = Period(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
QUERY = {"start": "2026-01-01", "end": "2026-03-31"}


@pytest.fixture
def history():
    return build_history()


def _table(slug: str, period: Period = PERIOD):
    return next(t for t in dashboard.dashboard_figures(period).tables if t.slug == slug)


def _rows(slug: str) -> dict:
    return {row[0]: row[1:] for row in _table(slug).rows}


def test_the_paid_file_is_measured_against_the_baseline(history):
    rows = _rows("baseline")
    # 15 business days from Monday the 2nd to Friday the 20th; people worked on 5 of them
    # (the 2nd, 3rd, 12th, 19th and 20th: the close is the system's, the question a bidder's).
    assert rows["Working days from draft to payment (median)"] == [15, 75]
    assert rows["Touch time: days someone worked on the file (median)"] == [5, 8]
    assert rows["Waiting time: days no one worked on the file (median)"] == [10, 67]
    assert rows["Flow efficiency (touch time ÷ elapsed time, %)"] == [33.3, 11]
    # The buyer, the admin, the card holder and the supplier who did the work.
    assert rows["People involved (median)"] == [4, 7]
    assert "1 opportunities published in the period and paid" in _table("baseline").note


def test_each_step_has_its_median_and_90th_percentile(history):
    rows = _rows("cycle-time")
    assert rows["Drafted → Published"] == [2, 1.0, 1.0]  # 25 h and 24 h
    assert rows["Published → Closed"] == [2, 7.0, 7.0]
    assert rows["Closed → Awarded"] == [1, 2.0, 2.0]
    assert rows["Awarded → Work accepted"] == [1, 7.0, 7.0]
    assert rows["Work accepted → Paid"] == [1, 1.2, 1.2]  # 10:00 to 15:00 the next day
    assert rows["Drafted → Paid"] == [1, 18.2, 18.2]


def test_quarters_participation_regions_awards_and_open_source(history):
    assert _rows("quarters") == {"2025-26 Q4": [2, 1, 18.2, 18.2, 33.3]}
    reach = _rows("participation")
    assert reach["Opportunities closed"] == [2]
    assert reach["Bids per opportunity (median)"] == [2.0]  # 3 and 1
    assert reach["Opportunities with 3 bids or more (%)"] == [50.0]
    assert reach["Suppliers who bid"] == [3]
    assert reach["First-time suppliers (first bid in the period)"] == [2]  # not Toronto
    assert reach["Suppliers outside the National Capital Region"] == [2]  # Toronto, Vancouver
    assert reach["Individuals"] == [2] and reach["Organizations"] == [1]
    assert _rows("regions") == {"Ontario": [2], "British Columbia": [1]}
    assert _rows("awards-by-size") == {"Individuals": [1, 500_000]}  # cents: see formats.Cents
    assert _rows("open-source") == {"2025-26 Q4": [1, 1, "MIT (1)"]}


def test_the_period_leaves_out_what_was_published_outside_it(history):
    autumn = Period(start=dt.date(2025, 10, 1), end=dt.date(2025, 12, 31))
    assert _table("participation", autumn).rows[0] == ["Opportunities closed", 1]
    assert _table("open-source", autumn).rows == []
    # Its trail has the draft; the publication is the one the opportunity itself records.
    assert _table("cycle-time", autumn).rows[0][1:] == [1, 1.0, 1.0]
    assert _table("cycle-time", autumn).rows[1][1:] == [1, 9.0, 9.0]
    assert _table("cycle-time", autumn).rows[2][1:] == [0, "—", "—"]


def test_the_dashboard_is_for_program_admins_only(client, history):
    url = reverse("reports:metrics")
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for role in (Role.BUYER, Role.EVALUATOR, Role.CARD_HOLDER):
        client.force_login(StaffFactory(roles=[role]))
        assert client.get(url).status_code == 403
        assert client.get(reverse("reports:metrics_csv", args=["baseline"])).status_code == 403
        assert client.post(reverse("reports:metrics_refresh")).status_code == 403
    client.force_login(SupplierProfileFactory().user)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("language", ["en", "fr"])
def test_charts_render_with_their_tables(client, history, language):
    client.force_login(history["admin"])
    response = client.get(f"/{language}/reports/metrics/", QUERY)
    assert response.status_code == 200
    html = response.content.decode()
    # Every table with a chart column and rows: cycle time, quarters, regions, awards, open source.
    assert html.count('<svg role="img"') == 5
    assert html.count("<h1") == 1
    # Coordinates stay machine numbers in French too (never "12,5").
    assert 'width="300.0"' in html and not any(f'width="{n},' in html for n in range(400))
    assert 'id="table-cycle-time"' in html and "18.2" in html.replace(",", ".")


@pytest.mark.parametrize(
    ("language", "one_day", "days", "money", "figure"),
    [
        ("en", "1.0 days", "18.2 days", "$5,000.00", "18.2"),
        ("fr", "1,0 jour", "18,2 jours", "5 000,00 $", "18,2"),
    ],
)
def test_figures_are_written_in_the_pages_language(client, history, language, one_day, days,
                                                   money, figure):  # fmt: skip
    client.force_login(history["admin"])
    html = client.get(f"/{language}/reports/metrics/", QUERY).content.decode()
    html = html.replace("\u202f", " ").replace("\u00a0", " ")  # French no-break spaces
    # The charts: the plural of the figure as written ("1,0 jour": French is singular below 2).
    assert f'class="metrics-chart-value">{one_day}</text>' in html
    assert f'class="metrics-chart-value">{days}</text>' in html
    assert money in html  # awards by size
    assert f'<td class="gc-text-end">{figure}</td>' in html
    if language == "fr":
        assert "jours</text>" in html and "1,0 jours" not in html and "$5" not in html
    # The CSV keeps the machine's figures, whatever the page's language.
    response = client.get(f"/{language}/reports/metrics/awards-by-size.csv", QUERY)
    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert rows[1][1:] == ["1", "5000.00"]


def test_every_table_downloads_as_csv_for_the_same_period(client, history):
    client.force_login(history["admin"])
    for table in dashboard.dashboard_figures(PERIOD).tables:
        response = client.get(reverse("reports:metrics_csv", args=[table.slug]), QUERY)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert f"{table.slug}-20260101-20260331.csv" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
        assert rows[0] == table.headers
        assert rows[1:] == [[str(cell) for cell in row] for row in table.rows]
    assert client.get(reverse("reports:metrics_csv", args=["nothing"])).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"start": "yesterday", "end": "2026-03-31"},
        {"start": "2026-03-31", "end": "2026-01-01"},
        {"start": "2026-02-30"},
        {"end": "9999999-01-01"},
    ],
)
def test_a_bad_period_is_explained_and_the_default_period_shown(client, history, query):
    client.force_login(history["admin"])
    response = client.get(reverse("reports:metrics"), query)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["period"] == Period.default()
    csv_response = client.get(reverse("reports:metrics_csv", args=["baseline"]), query)
    assert csv_response.status_code == 200


def test_the_dashboard_reads_in_the_same_number_of_queries_whatever_the_history(
    client, history, django_assert_max_num_queries
):
    client.force_login(history["admin"])
    url = reverse("reports:metrics")
    with django_assert_max_num_queries(20) as small:
        client.get(url, QUERY)
    for day in range(2, 12):
        opportunity = OpportunityFactory(
            status=Opportunity.Status.CLOSED, published_at=at(3, day), closed_at=at(3, day + 5)
        )
        bid(opportunity, SupplierProfileFactory(), at(3, day + 1))
    services.measures_refresh()
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url, QUERY)


def test_measuring_again_now_updates_what_changed(client, history):
    client.force_login(history["admin"])
    assert client.get(reverse("reports:metrics_refresh")).status_code == 405
    evaluating = history["evaluating"]
    trail(evaluating, ("opportunity.awarded", history["admin"], at(2, 13), "awarded"))
    response = client.post(reverse("reports:metrics_refresh"), {"query": "start=2026-01-01"})
    assert response.status_code == 302 and response["Location"].endswith("?start=2026-01-01")
    assert OpportunityMeasures.objects.get(pk=evaluating.pk).awarded_at == at(2, 13)


def test_a_finished_file_is_not_measured_again_until_it_changes(history):
    paid = OpportunityMeasures.objects.get(pk=history["paid"].pk)
    assert services.measures_refresh() == 2  # the two files still open, not the paid one
    assert OpportunityMeasures.objects.get(pk=paid.pk).computed_at == paid.computed_at
    Opportunity.objects.filter(pk=paid.pk).update(updated_at=timezone.now())
    assert services.measures_refresh() == 3


def test_the_nightly_snapshot_runs_once_a_day(history):
    assert metrics_snapshot.apply().get() == 1
    assert metrics_snapshot.apply().get() == 0  # the same day: nothing more
    snapshot = MetricsSnapshot.objects.get()
    assert snapshot.taken_on == timezone.localdate()
    assert snapshot.figures["published"] == 3 and snapshot.figures["paid"] == 1
    assert snapshot.figures["median_working_days_to_payment"] == 15
    assert snapshot.figures["suppliers_who_bid"] == 3
    run = JobRun.objects.get(name="reports.tasks.metrics_snapshot")
    assert run.last_result == "0"
    assert AuditEvent.objects.filter(verb="metrics.snapshot_taken").count() == 1
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert services.metrics_snapshot_take(today=tomorrow) is not None
    assert MetricsSnapshot.objects.count() == 2


def test_a_group_of_four_never_appears_as_a_number_on_the_dashboard_or_in_its_csv(client, history):
    from reports.models import SelfIdentification

    women = SelfIdentification.Group.WOMEN
    people = set(Bid.objects.values_list("supplier", flat=True))
    assert len(people) == 4  # three who bid in the quarter, one who only drafted
    for user_id in people:
        SelfIdentification.objects.create(user_id=user_id, groups=[women], consented_at=at(1, 2, 9))
    # The figures are the quarter's published snapshot, kept by the nightly job.
    taken = services.diversity_snapshots_take()
    assert taken[0].quarter_start == PERIOD.start
    client.force_login(history["admin"])
    html = client.get(reverse("reports:metrics"), QUERY).content.decode()
    table = html[html.index('id="diversity-table"') :]
    table = table[: table.index("</table>")]
    women_row = table[table.index("Women") :]
    women_row = women_row[: women_row.index("</tr>")]
    assert women_row.count("&lt;5") == 3  # 4 answered, 3 of them bid, 1 was awarded
    for n in range(1, 5):
        assert f">{n}<" not in table
    response = client.get(reverse("reports:metrics_csv", args=["diversity"]), QUERY)
    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert rows[1][0] == "Women" and rows[1][1:] == ["<5", "<5", "<5"]
    assert not any(cell in {"1", "2", "3", "4"} for row in rows for cell in row)


def test_each_opportunity_is_listed_with_its_measures_and_downloads_as_csv(client, history):
    url = reverse("reports:metrics_opportunities")
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert client.get(url).status_code == 403
    assert client.get(reverse("reports:metrics_opportunities_csv")).status_code == 403
    client.force_login(history["admin"])
    response = client.get(url, {**QUERY, "page": "abc"})  # a bad page shows the first
    assert response.status_code == 200
    rows = response.context["rows"]
    paid, evaluating = history["paid"], history["evaluating"]
    assert [row[0] for row in rows] == [paid.pk, evaluating.pk]  # newest publication first
    assert rows[0][3:] == [
        *(dt.date(2026, 2, day) for day in (2, 3, 10, 12, 19, 20)),
        15, 5, 10, 4,
    ]  # fmt: skip
    assert rows[1][6:9] == [None, None, None]  # not awarded, accepted or paid yet
    # People read the dates written out; the CSV keeps them ISO.
    assert "February 2, 2026" in response.content.decode()
    assert "2026-02-02" not in response.content.decode()
    response = client.get(reverse("reports:metrics_opportunities_csv"), QUERY)
    lines = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert lines[0][0] == "Number" and len(lines) == 3
    assert lines[1][-4:] == ["15", "5", "10", "4"]
    assert lines[1][3:9] == ["2026-02-02", "2026-02-03", "2026-02-10", "2026-02-12", "2026-02-19",
                             "2026-02-20"]  # fmt: skip
    assert lines[2][6:9] == ["", "", ""]


def test_the_opportunity_list_pages_in_a_fixed_number_of_queries(
    client, history, django_assert_max_num_queries
):
    client.force_login(history["admin"])
    url = reverse("reports:metrics_opportunities")
    for day in range(2, 30):
        OpportunityFactory(status=Opportunity.Status.PUBLISHED, published_at=at(1, day))
    services.measures_refresh()
    with django_assert_max_num_queries(10):
        response = client.get(url, QUERY)
    assert len(response.context["rows"]) == 30


def test_awards_are_counted_by_size_of_supplier(history):
    from payments.models import Contract

    for size, value in (("10-49", 300_000), ("10-49", 200_000), ("", 100_000)):
        profile = SupplierProfileFactory(size=size)
        opportunity = OpportunityFactory(
            status=Opportunity.Status.AWARDED, published_at=at(3, 2), closed_at=at(3, 10)
        )
        won = bid(opportunity, profile, at(3, 3), status=Bid.Status.AWARDED)
        Contract.objects.create(
            opportunity=opportunity, bid=won, supplier=profile.user, value_cents=value
        )
    declined = OpportunityFactory(status=Opportunity.Status.AWARDED, published_at=at(3, 2))
    profile = SupplierProfileFactory(size="500+")
    Contract.objects.create(
        opportunity=declined,
        bid=bid(declined, profile, at(3, 3)),
        supplier=profile.user,
        value_cents=900_000,
        status=Contract.Status.DECLINED,
    )
    assert list(_rows("awards-by-size").items()) == [
        ("Individuals", [1, 500_000]),
        ("Organizations: 10 to 49 people", [2, 500_000]),
        ("Organizations that did not give their size", [1, 100_000]),
    ]
