"""Crawl gates: every page each demo role can reach, in English and French, answers, has one
h1, a unique non-empty title and the right <html lang>, and shows people no raw code and nothing
in the other language: no English interface string on a French page, no French one on an English
page (the text gate: tests/support/page_text.py says what is read, what is exempt, and what is
flagged). At 1280 and at 390 px wide (the same loaded page, resized: each page is requested
once), it passes axe-core at WCAG 2.1 AA and, separately, every visible button and link has text
that contrasts with its own background; at 390 px, nothing scrolls sideways
(tests/support/page_checks.py). And a supplier bids with the keyboard alone.

That every msgid has a French msgstr is checked once, on the catalogue itself:
tests/marketplace/test_i18n.py::test_every_interface_string_has_a_french_translation.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from bids.models import Receipt
from demo.accounts import DEMO_PASSWORD
from evaluation import panel as evaluation_panel
from evaluation.models import Evaluation, PanelMember
from marketplace import approvals
from marketplace.models import Approval, AuditEvent, Notification, Role, User
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from payments.models import PaymentEvent
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.browser import HAS_FOCUS, sign_in
from tests.support.page_checks import (
    NARROW,
    WIDE,
    control_problems,
    next_frame,
    overflow_problem,
    settle,
)
from tests.support.page_text import RawCodes, Shown, TextGate, catalogue, raw_codes

ROOT = Path(__file__).resolve().parents[2]
# Where the whole report is also written, when set (the assertion message is the same text).
REPORT = os.environ.get("CRAWL_REPORT")

ROLES = {
    "anonymous": None,
    "program_admin": "admin@demo.gc.ca",
    # The second administrator decides what the first asks (approvals, set up by the test).
    "second_program_admin": "admin2@demo.gc.ca",
    "buyer": "buyer@demo.gc.ca",
    "evaluator": "evaluator1@demo.gc.ca",
    "card_holder": "cardholder@demo.gc.ca",
    "supplier": "supplier1@demo.example",  # bids in every state, a draft among them
    "awarded_supplier": "supplier4@demo.example",  # contracts, deliveries, invoices, payments
}
LANGUAGES = ("en", "fr")
PER_PATTERN = 2  # pages rendered per URL pattern: the same template with other data adds little
MAX_PAGES = 60  # pages rendered per role and language
# Links over PER_PATTERN are still requested (same session, no rendering) to see that they
# answer, up to this many per pattern: the demo lists some forty opportunities and users.
CHECKED_PER_PATTERN = 10

# Never followed: signing out would end the crawl's session; the technical admin is Django's
# own; Stripe's return addresses act on a GET (they sync the account or the payment, then may
# send the browser to Stripe) and no page links to them.
SKIPPED_URL_NAMES = {
    "account_logout",
    "payments:stripe_refresh",
    "payments:stripe_return",
    "payments:checkout_return",
}
SKIPPED_ROUTES = ("admin/",)
# Files, not pages: requested to see that they answer, never rendered (no h1, no axe).
DOWNLOAD_URL_NAMES = {
    "opportunities:feed",
    "opportunities:skill_feed",
    "bids:attachment",
    "evaluation:packet_attachment",
    "payments:invoice_pdf",
    "payments:file",
    "reports:metrics_csv",
    "reports:metrics_opportunities_csv",
    "reports:ocds_package",
    "reports:contracts_csv",
}
DOWNLOAD_SUFFIXES = (".pdf", ".csv", ".ics", ".xml", ".json", ".rss", ".atom")

# No link the site shows may answer 4xx or 5xx. Anonymous links to signed-in pages are not an
# exception: they redirect to the sign-in page (302, then 200), which is what the crawl sees.
# No other exception was needed; one would be listed here with its reason.

# The crawl is the suite's longest test: it says how far it is on the terminal, every this many
# pages, even under pytest's output capture (Progress).
PROGRESS_EVERY = 25

LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))"

# axe-core runs at both widths (a narrow layout has its own hidden, reflowed and collapsed
# parts); it is most of the crawl's time per page (the timings are on the terminal at the end).
AXE_AT_NARROW = True


T = TypeVar("T")


class Timings(Counter):
    """Seconds spent per check, over the whole crawl (said on the terminal at the end)."""

    def time(self, what: str, check: Callable[[], T]) -> T:
        start = time.monotonic()
        try:
            return check()
        finally:
            self[what] += time.monotonic() - start

    def __str__(self) -> str:
        return ", ".join(f"{what} {seconds:.0f}s" for what, seconds in self.most_common())


def _at_widths(wide: list[str], narrow: list[str]) -> list[str]:
    """One line per problem, saying at which width(s) it shows."""
    widths = {problem: [] for problem in [*wide, *narrow]}
    for width, problems in ((WIDE["width"], wide), (NARROW["width"], narrow)):
        for problem in problems:
            if width not in widths[problem]:
                widths[problem].append(width)
    return [f"at {' and '.join(map(str, at))} px: {problem}" for problem, at in widths.items()]


def _page_checks(page: Page, axe_violations, timings: Timings) -> list[str]:
    """The checks of a loaded page at both widths: at 1280 px (the crawl's window) axe-core and
    the buttons' and links' text; then at 390 px on the same page, resized (no second request),
    the same and the sideways scroll. The window is wide again afterwards."""
    settled = timings.time("custom elements", lambda: settle(page))
    found: dict[int, list[str]] = {}
    for size in (WIDE, NARROW):
        problems = found[size["width"]] = [settled] if settled else []
        if size is NARROW:
            page.set_viewport_size(NARROW)
            next_frame(page)
        if size is WIDE or AXE_AT_NARROW:
            violations = timings.time(f"axe {size['width']}", lambda: axe_violations(page))
            problems += [f"axe-core {violation}" for violation in violations]
        problems += timings.time(f"controls {size['width']}", lambda: control_problems(page))
        if size is NARROW:
            overflow = timings.time("overflow", lambda: overflow_problem(page))
            problems += [overflow] if overflow else []
    page.set_viewport_size(WIDE)
    return _at_widths(found[WIDE["width"]], found[NARROW["width"]])


@dataclass
class Crawl:
    language: str
    titles: dict[str, str] = field(default_factory=dict)  # path -> <title>
    found_on: dict[str, str] = field(default_factory=dict)  # link -> the page showing it
    problems: list[str] = field(default_factory=list)
    # page -> what it shows wrongly (text, axe-core, controls, width): reported once per page and
    # problem, with the roles that saw it
    page_problems: dict[str, list[str]] = field(default_factory=dict)
    views: set[str] = field(default_factory=set)  # the view names of the pages rendered
    visited: int = 0
    capped: bool = False

    def where(self, link: str) -> str:
        return f"{link} (linked from {self.found_on.get(link, 'the start')})"

    def report(self) -> list[str]:
        by_title = defaultdict(list)
        for path, title in self.titles.items():
            by_title[title].append(path)
        shared = {title: paths for title, paths in by_title.items() if len(paths) > 1}
        problems = list(self.problems)
        if shared:
            problems.append(f"titles shared by different pages: {shared}")
        if self.capped:
            problems.append(f"the crawl stopped at {MAX_PAGES} pages: raise MAX_PAGES")
        return problems


class Progress:
    """One line on the terminal every PROGRESS_EVERY pages ("crawl: 150 pages (at most 960), 3m10s,
    buyer fr"), written past pytest's capture as `capsys.disabled()` does; the total is the
    ceiling (MAX_PAGES per role and language). Nothing when pytest has no terminal."""

    def __init__(self, pytestconfig: pytest.Config, total: int) -> None:
        plugins = pytestconfig.pluginmanager
        self.terminal = plugins.get_plugin("terminalreporter")
        self.capture = plugins.get_plugin("capturemanager")
        self.total, self.pages, self.start, self.where = total, 0, time.monotonic(), ""
        self.timings = Timings()

    def page(self) -> None:
        self.pages += 1
        if self.pages % PROGRESS_EVERY == 0:
            self.say(f"{self.pages} pages (at most {self.total}; {self.timings})")

    def say(self, what: str) -> None:
        if self.terminal is None:
            return
        minutes, seconds = divmod(int(time.monotonic() - self.start), 60)
        line = f"crawl: {what}, {minutes}m{seconds:02d}s{f', {self.where}' if self.where else ''}"
        if self.capture is None:
            self.terminal.write_line(line)
            return
        with self.capture.global_and_fixture_disabled():
            self.terminal.write_line(line)


def _route(path: str) -> tuple[str, str] | None:
    """(route, view name) of a path, or None when no URL pattern matches it."""
    # i18n_patterns match the prefix of the active language only.
    with translation.override(path.split("/")[1]):
        try:
            match = resolve(path)
        except Resolver404:
            return None
    return match.route, match.view_name


def _same_site_link(href: str, current: str, base: str, language: str) -> str | None:
    """The path?query a link leads to, when it is on this site under the crawl's language."""
    if not href or href.startswith(("mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(urljoin(current, href))
    if f"{parts.scheme}://{parts.netloc}" != base:
        return None  # another site
    if not parts.path.startswith(f"/{language}/"):
        return None  # the language toggle
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(
    page: Page,
    base: str,
    language: str,
    axe_violations,
    gate: TextGate | None = None,
    starts: tuple[str, ...] = (),
    progress: Callable[[], None] | None = None,
    timings: Timings | None = None,
) -> Crawl:
    """Breadth-first over the links the pages show, from the home page, the dashboard and any
    other `starts` (paths after the language prefix). GET only: forms are never submitted, and
    every action that changes something is a POST."""
    result = Crawl(language=language)
    timings = Timings() if timings is None else timings
    queue = deque(f"/{language}/{path}" for path in ("", "dashboard/", *starts))
    seen = set(queue)
    rendered: Counter[str] = Counter()  # per route
    checked: Counter[str] = Counter()
    to_check: list[str] = []  # requested only
    checked_pages = set()
    while queue:
        url = queue.popleft()
        if result.visited >= MAX_PAGES:
            result.capped = True
            to_check.append(url)
            continue
        try:
            response = timings.time("load", lambda url=url: page.goto(base + url))
        except PlaywrightError as error:  # Chromium gives up on an error with no body
            status = page.request.get(base + url).status
            first_line = error.message.splitlines()[0]
            result.problems.append(f"{result.where(url)} answered {status} ({first_line})")
            continue
        result.visited += 1
        if progress is not None:
            progress()
        status = response.status if response else 0
        if status >= 400:
            result.problems.append(f"{result.where(url)} answered {status}")
            continue
        final = page.url.removeprefix(base)
        if final in checked_pages:  # a redirect to a page already checked (the sign-in page)
            continue
        checked_pages.add(final)
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue  # a file this test did not recognise from its address
        title = page.title().strip()
        if not title:
            result.problems.append(f"{url}: empty <title>")
        result.titles.setdefault(urlsplit(final).path, title)
        lang = page.locator("html").get_attribute("lang")
        if lang != language:
            result.problems.append(f"{url}: <html lang={lang!r}>")
        h1s = page.locator("h1").count()
        if h1s != 1:
            result.problems.append(f"{url}: {h1s} h1 elements")
        here = _route(urlsplit(final).path)
        if here:
            result.views.add(here[1])
        shown = []
        if gate is not None:
            shown = timings.time("text", lambda: gate.problems(Shown.from_page(page)))
        shown += _page_checks(page, axe_violations, timings)
        if shown:
            result.page_problems[url] = shown
        for href in page.evaluate(LINKS_JS):
            link = _same_site_link(href, page.url, base, language)
            if link is None or link in seen:
                continue
            seen.add(link)
            result.found_on[link] = url
            matched = _route(urlsplit(link).path)
            if matched is None:
                to_check.append(link)  # no pattern: it will answer 404, and be reported
                continue
            route, view_name = matched
            if view_name in SKIPPED_URL_NAMES or route.startswith(
                tuple(f"{language}/{skipped}" for skipped in SKIPPED_ROUTES)
            ):
                continue
            is_file = view_name in DOWNLOAD_URL_NAMES or urlsplit(link).path.endswith(
                DOWNLOAD_SUFFIXES
            )
            if not is_file and rendered[route] < PER_PATTERN:
                rendered[route] += 1
                queue.append(link)
            elif checked[route] < CHECKED_PER_PATTERN:
                checked[route] += 1
                to_check.append(link)
    for link in to_check:  # with the browser's session, following redirects
        status = page.request.get(base + link).status
        if status >= 400:
            result.problems.append(f"{result.where(link)} answered {status}")
    return result


# What each signed-in crawl must reach, to know it crawled that role's pages and not only the
# public ones (a failed sign-in would otherwise pass quietly).
REACHES = {
    "program_admin": "evaluation:access_log",
    "second_program_admin": "marketplace:approval_detail",
    "buyer": "opportunities:edit",
    "evaluator": "evaluation:packet",  # after the declaration the test makes
    "card_holder": "payments:detail",
    "supplier": "bids:edit",
    "awarded_supplier": "payments:contract",
}


def _states_to_crawl() -> dict[str, tuple[str, ...]]:
    """What the demo does not show by links alone: approvals of both administrators (one
    waiting for the second, one approved, one refused); the evaluator's declaration on the panel
    under way, which opens its packets. Returns the pages each role starts from besides the home
    page and the dashboard: pages of theirs no link leads to within the crawl's limits (the
    program admins reach evaluations only by address; the paid tab of the payments is a query
    on a page already rendered twice)."""
    admin = User.objects.get(email=ROLES["program_admin"])
    second = User.objects.get(email=ROLES["second_program_admin"])
    holder = User.objects.get(email=ROLES["card_holder"])
    approvals.approval_request(
        actor=admin,
        kind=Approval.Kind.CARD_LIMIT,
        payload={
            "card_holder": holder.pk,
            "per_transaction_cents": 400_000,
            "monthly_cents": 1_500_000,
        },
        reason="Quarter-end purchases.",
    )
    granted = approvals.approval_request(
        actor=second,
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": User.objects.get(email="evaluator2@demo.gc.ca").pk, "role": Role.BUYER},
    )
    approvals.approval_approve(actor=admin, approval=granted, note="Confirmed with her manager.")
    refused = approvals.approval_request(
        actor=admin,
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": User.objects.get(email="buyer3@demo.gc.ca").pk, "role": Role.EVALUATOR},
    )
    approvals.approval_reject(actor=second, approval=refused, note="Not on the roster.")
    seat = PanelMember.objects.filter(
        evaluator__email=ROLES["evaluator"], declaration=PanelMember.Declaration.PENDING
    ).first()
    evaluation_panel.panel_declare(evaluator=seat.evaluator, member=seat, conflict=False)
    awarded = Evaluation.objects.filter(status=Evaluation.Status.AWARDED).order_by("pk").first()
    evaluations = [
        f"evaluation/{awarded.opportunity_id}/",
        f"evaluation/{seat.evaluation.opportunity_id}/",
    ]
    return {
        "program_admin": tuple(evaluations),
        "second_program_admin": tuple(evaluations),
        "card_holder": ("payments/?show=paid",),
    }


# The crawl checks what pages say, which does not depend on the database: it runs once, on
# PostgreSQL, to keep the suite's time down (`make test` runs the rest on both; the view tests
# and the browser journeys render the pages on SQLite too).
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the crawl runs once, on PostgreSQL (run by `make test` with DATABASE_URL set)",
)
@pytest.mark.django_db(transaction=True)
def test_every_page_each_role_reaches_passes_the_gates(
    live_server, browser, browser_context_args, axe_violations, pytestconfig
):
    """One seeded database for all the crawls (seeding takes longer than a crawl); a fresh
    browser context (no cookies) per role. What a page shows wrongly is reported once per page
    and problem, with the roles that saw it."""
    progress = Progress(pytestconfig, MAX_PAGES * len(ROLES) * len(LANGUAGES))
    timings = progress.timings
    progress.say("seeding the demo")
    call_command("seed_demo", stdout=StringIO())
    starts = _states_to_crawl()
    base = live_server.url
    # The codes of the code, and those of this database (audit verbs, history and notice kinds).
    codes = raw_codes(
        [
            *AuditEvent.objects.values_list("verb", flat=True).distinct(),
            *PaymentEvent.objects.values_list("kind", flat=True).distinct(),
            *Notification.objects.values_list("kind", flat=True).distinct(),
        ]
    )
    gates = {
        "en": TextGate("en", codes, catalogue("fr")),
        "fr": TextGate("fr", codes, catalogue("en")),
    }
    report = []
    shown_by: dict[tuple[str, str], list[str]] = defaultdict(list)  # (page, problem) -> roles
    reached = {}  # role -> the view names of the pages rendered
    for role, email in ROLES.items():
        context = browser.new_context(**{**browser_context_args, "viewport": WIDE})
        try:
            page = context.new_page()
            if email:
                sign_in(page, base, email, DEMO_PASSWORD)
            views = set()
            for language in LANGUAGES:
                progress.where = f"{role} {language}"
                result = crawl(
                    page,
                    base,
                    language,
                    axe_violations,
                    gates[language],
                    starts.get(role, ()),
                    progress=progress.page,
                    timings=timings,
                )
                report += [f"[{role} {language}] {problem}" for problem in result.report()]
                for url, problems in result.page_problems.items():
                    for problem in problems:
                        shown_by[(url, problem)].append(role)
                views |= result.views
            reached[role] = sorted(views)
            if role in REACHES and REACHES[role] not in views:
                report.append(
                    f"[{role}] the crawl never reached a {REACHES[role]} page: {sorted(views)}"
                )
        finally:
            context.close()
    progress.where = ""
    progress.say(f"done, {progress.pages} pages ({timings})")
    report += [
        f"{url} [{', '.join(roles)}]: {problem}"
        for (url, problem), roles in sorted(shown_by.items())
    ]
    if REPORT:  # with what each role reached, to see what the crawl covers
        covered = [
            f"# {role} reached {len(views)} views: {views}" for role, views in reached.items()
        ]
        Path(REPORT).write_text("\n".join(report + covered) + "\n", encoding="utf-8")
    assert report == [], "\n".join(report)


SAMPLE = """<!doctype html><html lang="fr"><head><title>Paiement — Marché</title></head><body>
<h1>Paiement</h1>
<p>Reçu : <code class="digest">sha256_of_receipt</code>, facture
  <span translate="no">INV_2026_0001</span>.</p>
<pre>status = "in_delivery"</pre>
<p lang="en">Payment history, as the supplier wrote it</p>
<table><tr><th>État</th><td>receipt_confirmed</td><td>draft</td></tr></table>
<div hidden>in_review</div>
<button aria-label="Payer $4,800.00">Payer</button>
</body></html>"""


def test_the_text_gate_reads_what_people_see_less_machine_values(page: Page):
    """What the crawl reads of a page: hidden parts, <code>, <pre>, translate="no" and parts in
    another language are left out (and put back afterwards); labels are read too."""
    page.set_content(SAMPLE)
    codes = RawCodes.of(["receipt_confirmed", "in_delivery", "in_review", "draft"])
    shown = Shown.from_page(page)
    problems = TextGate("fr", codes).problems(shown)
    flagged = {re.search(r"“(.*?)”", problem).group(1) for problem in problems}
    assert flagged == {"receipt_confirmed", "draft", "$4"}, problems
    assert "Payment history" not in shown.text and "in_review" not in shown.text
    assert "Paiement — Marché" in shown.text  # the <title>
    expect(page.locator("code.digest")).to_be_visible()  # the page is as it was
    expect(page.locator("p[lang=en]")).to_be_visible()


def _tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until the target has the focus, as a keyboard user would (no click)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate(HAS_FOCUS):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


@pytest.mark.django_db(transaction=True)
def test_a_supplier_bids_with_the_keyboard_only(live_server, page: Page):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=admin, opportunity=draft)
    supplier = SupplierProfileFactory().user
    base = live_server.url
    sign_in(page, base, supplier.email, PASSWORD)

    page.goto(f"{base}/en/opportunities/{opportunity.pk}/")
    _tab_to(page, page.get_by_role("button", name="Bid on this opportunity"))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(re.compile("^Your bid:"))

    for number in range(opportunity.criteria.count()):
        _tab_to(page, page.locator("#bid-form textarea[name^=answer_]").nth(number))
        page.keyboard.type(f"Answer {number + 1}: we fixed the same keyboard trap last spring.")
    _tab_to(page, page.locator("#id_proposed_start_date"))
    start = timezone.localdate() + dt.timedelta(days=10)
    # Chromium's date field shows month/day/year whatever the page's locale; typing the digits
    # moves from one part to the next.
    page.keyboard.type(start.strftime("%m%d%Y"))
    assert page.locator("#id_proposed_start_date").input_value() == start.isoformat()
    for name in ("attest_can_work_in_canada", "attest_can_be_paid_by_card", "attest_no_conflict"):
        _tab_to(page, page.locator(f"#id_{name}"))
        page.keyboard.press("Space")
    _tab_to(page, page.locator("#id_accept_terms"))
    page.keyboard.press("Space")
    _tab_to(page, page.get_by_role("button", name="Submit bid"))
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Bid received")
    receipt = Receipt.objects.get()
    expect(page.locator("code.digest")).to_have_text(receipt.digest)
    assert receipt.bid.supplier == supplier
