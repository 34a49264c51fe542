"""Money, numbers, percentages, dates, times and durations as people read them, in en-CA and
fr-CA (marketplace/formats.py; issue 21), with their edge cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from marketplace import formats

NBSP, NNBSP = "\u00a0", "\u202f"


def _spaces(text: str) -> str:
    """CLDR's French thousands separator is a narrow no-break space: compare with plain ones."""
    return text.replace(NNBSP, " ").replace(NBSP, " ")


@pytest.mark.parametrize(
    ("cents", "english", "french"),
    [
        (0, "$0.00", "0,00 $"),
        (1, "$0.01", "0,01 $"),
        (99, "$0.99", "0,99 $"),
        (480_000, "$4,800.00", "4 800,00 $"),
        (100_000_000, "$1,000,000.00", "1 000 000,00 $"),
        (-2_500, "-$25.00", "-25,00 $"),
    ],
)
def test_money(cents, english, french):
    assert formats.money(cents, language="en") == english
    assert _spaces(formats.money(cents, language="fr")) == french


def test_money_follows_the_active_language():
    with translation.override("fr"):
        assert _spaces(formats.money(450_000)) == "4 500,00 $"
    with translation.override("en"):
        assert formats.money(450_000) == "$4,500.00"


@pytest.mark.parametrize(
    ("value", "decimals", "english", "french"),
    [
        (0, None, "0", "0"),
        (1234567.5, None, "1,234,567.5", "1 234 567,5"),
        (Decimal("1.0"), 1, "1.0", "1,0"),
        (2.25, 1, "2.2", "2,2"),  # half to even
        (1_000_000, 0, "1,000,000", "1 000 000"),
    ],
)
def test_number(value, decimals, english, french):
    assert formats.number(value, decimals=decimals, language="en") == english
    assert _spaces(formats.number(value, decimals=decimals, language="fr")) == french


@pytest.mark.parametrize(
    ("ratio", "decimals", "english", "french"),
    [(0, 0, "0%", "0 %"), (1, 0, "100%", "100 %"), (0.133, 1, "13.3%", "13,3 %")],
)
def test_percent(ratio, decimals, english, french):
    assert formats.percent(ratio, decimals=decimals, language="en") == english
    assert _spaces(formats.percent(ratio, decimals=decimals, language="fr")) == french


@pytest.mark.parametrize(
    ("moment", "english", "french"),
    [
        (dt.time(0, 0), "12:00 a.m.", "0 h"),
        (dt.time(12, 0), "12:00 p.m.", "12 h"),
        (dt.time(14, 0), "2:00 p.m.", "14 h"),
        (dt.time(14, 30), "2:30 p.m.", "14 h 30"),
        (dt.time(9, 5), "9:05 a.m.", "9 h 05"),
        (dt.time(23, 59), "11:59 p.m.", "23 h 59"),
    ],
)
def test_time(moment, english, french):
    assert _spaces(formats.time(moment, language="en")) == english
    assert _spaces(formats.time(moment, language="fr")) == french


def test_dates_and_date_times_are_local_and_written_out(settings):
    settings.TIME_ZONE = "America/Toronto"
    moment = dt.datetime(2026, 12, 21, 19, 0, tzinfo=dt.UTC)  # 14:00 in Toronto
    assert formats.date(moment, language="en") == "December 21, 2026"
    assert formats.date(moment, language="fr") == "21 décembre 2026"
    assert _spaces(formats.datetime(moment, language="en")) == "December 21, 2026, 2:00 p.m."
    assert _spaces(formats.datetime(moment, language="fr")) == "21 décembre 2026 à 14 h"
    new_year = dt.datetime(2027, 1, 1, 4, 30, tzinfo=dt.UTC)  # still 2026 in Toronto
    assert formats.date(new_year, language="fr") == "31 décembre 2026"
    assert _spaces(formats.datetime(new_year, language="fr")) == "31 décembre 2026 à 23 h 30"


@pytest.mark.parametrize(
    ("span", "english", "french"),
    [
        (dt.timedelta(0), "0 minutes", "0 minute"),
        (dt.timedelta(seconds=59), "0 minutes", "0 minute"),
        (dt.timedelta(minutes=1), "1 minute", "1 minute"),
        (dt.timedelta(hours=1), "1 hour", "1 heure"),
        (dt.timedelta(days=1), "1 day", "1 jour"),
        (dt.timedelta(days=9, hours=19, minutes=9), "9 days 19 hours", "9 jours 19 heures"),
        (dt.timedelta(days=2, minutes=5), "2 days", "2 jours"),
        (dt.timedelta(hours=2, minutes=1), "2 hours 1 minute", "2 heures 1 minute"),
        (-dt.timedelta(hours=3), "0 minutes", "0 minute"),
    ],
)
def test_duration(span, english, french):
    with translation.override("en"):
        assert formats.duration(span) == english
    with translation.override("fr"):
        assert _spaces(formats.duration(span)) == french
