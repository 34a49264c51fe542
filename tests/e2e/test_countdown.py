"""The countdowns (site.js) in the browser: they start from the text the server wrote
(formats.remaining), keep it up to date in the same words as the clock turns, in English and
French, under the site's Content Security Policy (the words come from a JSON data block)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from opportunities.models import Opportunity
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db(transaction=True)

LEFT = dt.timedelta(days=9, hours=19, minutes=9, seconds=30)

# How far the clock moves, then what the countdown says (rounded up to the minute).
STEPS = [
    (dt.timedelta(0), "9 days 19 hours left", "9 jours 19 heures restants"),
    (dt.timedelta(days=9, hours=18), "1 hour 10 minutes left", "1 heure 10 minutes restantes"),
    (dt.timedelta(hours=1), "10 minutes left", "10 minutes restantes"),
    (dt.timedelta(minutes=9), "1 minute left", "1 minute restante"),
    (dt.timedelta(minutes=1), "Closed", "Fermée"),
]


def _words(text: str):
    """`text`, with any space a no-break one (French puts them between a number and its unit)."""
    return re.compile("^" + re.escape(text).replace("\\ ", "[ \u00a0\u202f]") + "$")


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_countdown_keeps_counting_in_the_pages_words(live_server, browser: Browser, language):
    start = timezone.now().replace(microsecond=0)
    opportunity = OpportunityFactory(
        status=Opportunity.Status.PUBLISHED, published_at=start, closes_at=start + LEFT
    )
    # CSP enforced (the shared context bypasses it for axe-core); Eastern time like the server.
    context = browser.new_context(timezone_id="America/Toronto", locale=f"{language}-CA")
    page = context.new_page()
    errors = []  # a script the policy refused, or one that failed
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.clock.install(time=start)
    try:
        page.goto(f"{live_server.url}/{language}/opportunities/{opportunity.pk}/")
        countdown = page.locator("[data-deadline]")
        for advance, english, french in STEPS:
            if advance:
                page.clock.fast_forward(int(advance.total_seconds() * 1000))
            expect(countdown).to_have_text(_words(english if language == "en" else french))
        # "Your time:" beside the Eastern time, written as the server writes a date and time.
        local = _plain(page.locator("time[data-local-time]").inner_text())
        closes = timezone.localtime(opportunity.closes_at)
        if language == "fr":
            assert local.startswith("Votre heure : ") and f" à {closes.hour} h" in local
        else:
            assert local.startswith("Your time: ") and (" a.m." in local or " p.m." in local)
        assert [e for e in errors if "favicon" not in e and "404" not in e] == []
    finally:
        context.close()
