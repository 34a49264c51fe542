"""Crawl gates: every page each demo role can reach, in English and French, answers, passes
axe-core at WCAG 2.1 AA, has one h1, a unique non-empty title and the right <html lang>; French
pages show none of the catalogue's English interface strings. And a supplier bids with the
keyboard alone.

That every msgid has a French msgstr is checked once, on the catalogue itself:
tests/marketplace/test_i18n.py::test_every_interface_string_has_a_french_translation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import polib
import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from playwright.sync_api import Locator, Page, expect

from bids.models import Receipt
from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from marketplace.models import Role
from opportunities import services as opportunity_services
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, OpportunityFactory, StaffFactory, SupplierProfileFactory

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"

ROLES = {
    "anonymous": None,
    "program_admin": "admin@demo.gc.ca",
    "buyer": "buyer@demo.gc.ca",
    "evaluator": "evaluator1@demo.gc.ca",
    "card_holder": "cardholder@demo.gc.ca",
    "supplier": "supplier1@demo.example",
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

# The links of the page, and its text as people get it (what is shown, and the labels screen
# readers announce) less the parts marked as another language (the bilingual wordmark, the
# language toggle, a statement quoted as it was certified): those are meant to differ.
LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))"
TEXT_JS = """() => {
    const language = document.documentElement.lang;
    let text = document.body.innerText;
    for (const part of document.body.querySelectorAll('[lang]')) {
        if (part.lang !== language && part.innerText) text = text.replace(part.innerText, ' ');
    }
    const labelled = document.body.querySelectorAll('[aria-label], [alt], [placeholder], [title]');
    for (const element of labelled) {
        if (element.closest('[lang]') && element.closest('[lang]').lang !== language) continue;
        for (const name of ['aria-label', 'alt', 'placeholder', 'title']) {
            if (element.hasAttribute(name)) text += ' | ' + element.getAttribute(name);
        }
    }
    return text;
}"""


@dataclass
class Crawl:
    language: str
    titles: dict[str, str] = field(default_factory=dict)  # path -> <title>
    found_on: dict[str, str] = field(default_factory=dict)  # link -> the page showing it
    problems: list[str] = field(default_factory=list)
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


def crawl(page: Page, base: str, language: str, axe_violations, english=frozenset()) -> Crawl:
    """Breadth-first over the links the pages show, from the home page and the dashboard.
    GET only: forms are never submitted, and every action that changes something is a POST."""
    result = Crawl(language=language)
    queue = deque([f"/{language}/", f"/{language}/dashboard/"])
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
        response = page.goto(base + url)
        result.visited += 1
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
        violations = axe_violations(page)
        if violations:
            result.problems.append(f"{url}: axe-core {violations}")
        if english:
            text = " ".join(page.evaluate(TEXT_JS).split())
            shown = sorted(string for string in english if string in text)
            if shown:
                result.problems.append(f"{url}: English interface text {shown}")
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


EDGE_PUNCTUATION = " .,:;!?()-\u2013\u2014\u201c\u201d\u00ab\u00bb\"'\u2019"


def _placeholder_free_parts(text: str) -> list[str]:
    """The fixed parts of a msgid: split at placeholders and markup."""
    pieces = re.split(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}|<[^>]+>|&\w+;", text)
    return [" ".join(piece.split()).strip(EDGE_PUNCTUATION) for piece in pieces]


def english_interface_strings() -> set[str]:
    """The catalogue's English strings that French pages must not show.

    Strings French spells the same way ("Date", "Description", "GitHub") are left out, as are
    short ones (a word or two may well be in a supplier's English text); a msgid with
    placeholders or markup contributes its fixed parts of three words or more. A plural entry
    contributes both English forms, less anything in either French form.
    """
    strings: set[str] = set()
    french: set[str] = set()
    for entry in polib.pofile(str(PO)):
        if entry.obsolete or not entry.msgid:
            continue
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for msgstr in translations:
            french.update(_placeholder_free_parts(msgstr))
        for source in sources:
            parts = _placeholder_free_parts(source)
            whole = len(parts) == 1
            for part in parts:
                words = len(part.split())
                if words >= 3 or (whole and words >= 2 and len(part) >= 12):
                    strings.add(part)
    return strings - french


@pytest.mark.django_db(transaction=True)
def test_every_page_each_role_reaches_passes_the_gates(
    live_server, browser, browser_context_args, axe_violations
):
    """One seeded database for all the crawls (seeding takes longer than a crawl); a fresh
    browser context (no cookies) per role."""
    call_command("seed_demo", stdout=StringIO())
    base = live_server.url
    english = english_interface_strings()
    report = []
    for role, email in ROLES.items():
        context = browser.new_context(**browser_context_args)
        try:
            page = context.new_page()
            if email:
                sign_in(page, base, email, DEMO_PASSWORD)
            for language in LANGUAGES:
                strings = english if language == "fr" else frozenset()
                result = crawl(page, base, language, axe_violations, strings)
                report += [f"[{role} {language}] {problem}" for problem in result.report()]
        finally:
            context.close()
    assert report == [], "\n".join(report)


def _tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until the target has the focus, as a keyboard user would (no click)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


@pytest.mark.django_db(transaction=True)
def test_a_supplier_bids_with_the_keyboard_only(live_server, page: Page):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity_services.opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_services.opportunity_publish(actor=admin, opportunity=draft)
    supplier = SupplierProfileFactory().user
    base = live_server.url
    sign_in(page, base, supplier.email, PASSWORD)

    page.goto(f"{base}/en/opportunities/{opportunity.pk}/")
    _tab_to(page, page.get_by_role("button", name="Bid on this opportunity"))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(re.compile("^Your bid:"))

    for number in range(opportunity.criteria.count()):
        _tab_to(page, page.locator("textarea[data-word-limit]").nth(number))
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
