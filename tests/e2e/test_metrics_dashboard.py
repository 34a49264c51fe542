"""The program dashboard in a real browser: charts and tables, no axe-core violation, EN and FR."""

import pytest
from playwright.sync_api import Page

from tests.factories import PASSWORD
from tests.reports.history import build_history
from tests.support.browser import sign_in


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_dashboard_has_no_accessibility_violations(
    live_server, page: Page, axe_violations, lang
):
    admin = build_history()["admin"]
    sign_in(page, live_server.url, admin.email, PASSWORD, language=lang)
    page.goto(f"{live_server.url}/{lang}/reports/metrics/?start=2026-01-01&end=2026-03-31")
    assert page.locator("h1").count() == 1
    assert page.locator("#main-content svg[role=img]").count() == 5
    assert page.locator("#table-baseline tbody tr").count() == 5
    assert axe_violations(page) == []
    # A bad period: the error is shown next to its field, and the page still passes.
    page.goto(f"{live_server.url}/{lang}/reports/metrics/?start=2026-03-31&end=2026-01-01")
    assert page.locator(".gc-error").count() == 1  # the dates are plain fields
    assert axe_violations(page) == []
