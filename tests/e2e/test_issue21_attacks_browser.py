"""Issue 21 attacks in the browser, on a 390 px phone in fr-CA and en-CA: a French buyer types
"2 500,50 $" (with the no-break spaces a French keyboard or a paste gives) into a draft and finds
it, and the deadlines, as they were on reopening; and site.js's countdown against
formats.remaining at every edge (closed, one second, a minute, an hour, a day and a minute,
hundreds of days), on a page made here with the words the server gives site.js."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation
from playwright.sync_api import Browser, expect

from marketplace import formats
from opportunities.models import Opportunity
from tests.factories import PASSWORD, OpportunityFactory
from tests.support.browser import sign_in

LANGUAGES = [code for code, _name in settings.LANGUAGES]
SITE_JS = Path(settings.BASE_DIR) / "static" / "js" / "site.js"

# Each on the half-minute, so that the instant the page takes never crosses a minute.
SPANS = [
    dt.timedelta(hours=-1),
    dt.timedelta(seconds=-30),
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=1, seconds=30),
    dt.timedelta(minutes=59, seconds=30),
    dt.timedelta(hours=1, seconds=-30),
    dt.timedelta(hours=1, seconds=30),
    dt.timedelta(hours=23, minutes=59, seconds=30),
    dt.timedelta(days=1, seconds=-30),
    dt.timedelta(days=1, seconds=30),
    dt.timedelta(days=1, hours=1, seconds=30),
    dt.timedelta(days=2, seconds=-30),
    dt.timedelta(days=9, hours=19, minutes=9, seconds=30),
    dt.timedelta(days=400, seconds=30),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_site_js_writes_the_countdown_as_the_server_does(browser: Browser, language):
    context = browser.new_context(
        locale=f"{language}-CA",
        timezone_id="America/Toronto",
        viewport={"width": 390, "height": 800},
    )
    page = context.new_page()
    try:
        now = timezone.now().replace(microsecond=0)
        with translation.override(language):
            labels = json.dumps(formats.countdown_labels(), ensure_ascii=False)
        items = "".join(
            f'<p id="s{index}" data-deadline="{(now + span).isoformat()}">—</p>'
            for index, span in enumerate(SPANS)
        )
        page.clock.install(time=now)
        page.set_content(
            f'<!doctype html><html lang="{language}"><body>{items}'
            f'<script data-countdown="{html.escape(labels, quote=True)}">'
            f"{SITE_JS.read_text()}</script></body></html>"
        )
        for index, span in enumerate(SPANS):
            server = formats.remaining(now + span, now=now, language=language)
            browser_text = page.locator(f"#s{index}").inner_text()
            assert browser_text == server, (span, browser_text, server)
    finally:
        context.close()


# "Your time:" beside an Eastern time, as the server writes a moment: the first of the month,
# midnight, noon, minutes, in French with the no-break space before the colon.
LOCAL_MOMENTS = [
    dt.datetime(2026, 6, 1, 0, 0),
    dt.datetime(2026, 12, 21, 12, 0),
    dt.datetime(2026, 12, 21, 14, 5),
    dt.datetime(2027, 1, 1, 23, 59),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_site_js_writes_your_time_as_the_server_does(browser: Browser, language):
    context = browser.new_context(
        locale=f"{language}-CA",
        timezone_id="America/Toronto",
        viewport={"width": 390, "height": 800},
    )
    page = context.new_page()
    try:
        moments = [timezone.make_aware(moment) for moment in LOCAL_MOMENTS]
        items = "".join(
            f'<time id="t{index}" data-local-time datetime="{moment.isoformat()}" hidden></time>'
            for index, moment in enumerate(moments)
        )
        page.set_content(
            f'<!doctype html><html lang="{language}"><body>{items}'
            f"<script>{SITE_JS.read_text()}</script></body></html>"
        )
        label = "Votre heure\u00a0: " if language == "fr" else "Your time: "
        for index, moment in enumerate(moments):
            written = page.locator(f"#t{index}").inner_text()
            server = label + formats.datetime(moment, language=language)
            if language == "en":  # a.m./p.m. after a space or a narrow no-break one
                written, server = written.replace("\u202f", " "), server.replace("\u202f", " ")
            assert written == server, (moment, written, server)
    finally:
        context.close()


PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "typed", "shown"),
    [
        ("fr", "2\u202f500,50\u00a0$", "2\u00a0500,50"),
        ("fr", "  2500.5 ", "2\u00a0500,50"),
        ("en", "$2,500.50", "2,500.50"),
    ],
)
def test_a_draft_keeps_its_amount_and_deadlines_on_a_phone(
    live_server, browser: Browser, language, typed, shown
):
    opportunity = OpportunityFactory()
    closes = timezone.localtime(opportunity.closes_at).strftime("%Y-%m-%dT%H:%M")
    context = browser.new_context(
        locale=f"{language}-CA", timezone_id="America/Toronto", viewport=PHONE
    )
    page = context.new_page()
    try:
        sign_in(page, live_server.url, opportunity.buyer.email, PASSWORD, language)
        address = f"{live_server.url}/{language}/opportunities/{opportunity.pk}/edit/"
        page.goto(address)
        expect(page.locator("#id_closes_at")).to_have_value(closes)
        page.locator("#id_value_dollars").fill(typed)
        with page.expect_navigation():
            page.locator("form button.gc-btn-primary[type=submit]").first.click()
        opportunity.refresh_from_db()
        assert opportunity.value_cents == 250_050
        page.goto(address)
        expect(page.locator("#id_value_dollars")).to_have_value(shown)
        expect(page.locator("#id_closes_at")).to_have_value(closes)
        assert Opportunity.objects.get(pk=opportunity.pk).closes_at == opportunity.closes_at
    finally:
        context.close()
