"""The metrics dashboard's figures, kept per period and language: computed once, served again
without re-reading the history, replaced at once by "Measure again now", never mixing
languages or periods, and computed anyway when the cache is down."""

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse

from opportunities.models import Opportunity
from reports import dashboard
from reports.dashboard import Period
from tests.factories import OpportunityFactory, SupplierProfileFactory
from tests.reports.history import at, bid, build_history

pytestmark = [pytest.mark.django_db, pytest.mark.caching]

QUERY = {"start": "2026-01-01", "end": "2026-03-31"}


@pytest.fixture
def history():
    return build_history()


def _participation_table(response) -> str:
    """The participation table as the page shows it."""
    html = response.content.decode()
    start = html.index('id="table-participation"')
    return html[start : html.index("</table>", start)]


def _tables_html(response) -> str:
    html = response.content.decode()
    return html[html.index("<section") : html.rindex("</section>")]


def test_the_figures_are_computed_once_then_served_kept(client, history, django_assert_num_queries):
    client.force_login(history["admin"])
    url = reverse("reports:metrics")
    with django_assert_num_queries(20, exact=False) as first:  # at most; the uncached page
        client.get(url, QUERY)
    with django_assert_num_queries(len(first.captured_queries), exact=False) as second:
        response = client.get(url, QUERY)
    # Only the session and the user with their roles (the badge is kept too): no history.
    assert len(second.captured_queries) == 2 < len(first.captured_queries)
    tables = " ".join(q["sql"] for q in second.captured_queries)
    assert "reports_opportunitymeasures" not in tables
    # The user's query asks whether they ever bid (staff powers depend on it); nothing else
    # reads the bids.
    assert all(
        'FROM "marketplace_user"' in q["sql"] or 'FROM "django_session"' in q["sql"]
        for q in second.captured_queries
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Figures computed at" in html
    # The kept HTML comes back as markup, not escaped text.
    assert '<svg role="img"' in html and "&lt;svg" not in html and "&lt;form" not in html


def test_measuring_again_now_replaces_the_kept_figures(
    client, history, django_capture_on_commit_callbacks
):
    client.force_login(history["admin"])
    url = reverse("reports:metrics")
    first = client.get(url, QUERY)
    before, before_html = _participation_table(first), _tables_html(first)
    for day in (2, 3, 4):
        opportunity = OpportunityFactory(
            status=Opportunity.Status.CLOSED, published_at=at(3, day), closed_at=at(3, day + 5)
        )
        bid(opportunity, SupplierProfileFactory(), at(3, day + 1))
    # New files, not yet measured: the kept figures are still served...
    kept = client.get(url, QUERY)
    assert _participation_table(kept) == before and _tables_html(kept) == before_html
    # ...until someone measures again now.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:metrics_refresh"), {"query": "start=2026-01-01"})
    again = client.get(url, QUERY)
    assert _participation_table(again) != before
    assert _tables_html(again) != before_html  # the kept HTML went with the figures


def test_each_language_and_period_has_its_own_figures(client, history):
    client.force_login(history["admin"])
    english = client.get("/en/reports/metrics/", QUERY).content.decode()
    french = client.get("/fr/reports/metrics/", QUERY).content.decode()
    assert "Participation and reach" in english and "Participation and reach" not in french
    assert client.get("/en/reports/metrics/", QUERY).content.decode().count(
        "Participation and reach"
    ) == english.count("Participation and reach")
    autumn = client.get("/en/reports/metrics/", {"start": "2025-10-01", "end": "2025-12-31"})
    assert _participation_table(autumn) != _participation_table(
        client.get("/en/reports/metrics/", QUERY)
    )


def test_the_csv_serves_the_same_kept_figures(client, history):
    client.force_login(history["admin"])
    client.get(reverse("reports:metrics"), QUERY)
    shown = dashboard.dashboard_figures_cached(
        Period(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    )
    baseline = next(t for t in shown.tables if t.slug == "baseline")
    response = client.get(reverse("reports:metrics_csv", args=["baseline"]), QUERY)
    lines = response.content.decode().lstrip("\ufeff").splitlines()
    assert len(lines) == 1 + len(baseline.rows)


def test_the_dashboard_is_computed_when_the_cache_is_down(client, history):
    client.force_login(history["admin"])
    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    with override_settings(CACHES=down):
        figures = dashboard.dashboard_figures_cached(dashboard.Period.default())
    assert figures.tables[0].slug == "baseline" and figures.computed_at is not None
