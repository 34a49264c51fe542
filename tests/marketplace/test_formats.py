"""Money, numbers, percentages, dates, times and durations as people read them, in en-CA and
fr-CA (marketplace/formats.py; issue 21), with their edge cases."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from html import unescape

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

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


def test_duration_in_a_given_language_whatever_the_active_one():
    span = dt.timedelta(days=9, hours=19, minutes=9)
    with translation.override("en"):
        assert _spaces(formats.duration(span, language="fr")) == "9 jours 19 heures"
    with translation.override("fr"):
        assert formats.duration(span, language="en") == "9 days 19 hours"


def test_the_first_of_the_month_is_1er_in_french():
    assert formats.date(dt.date(2025, 6, 1), language="fr") == "1er juin 2025"
    assert formats.date(dt.date(2025, 6, 1), language="en") == "June 1, 2025"
    assert formats.date(dt.date(2025, 6, 11), language="fr") == "11 juin 2025"  # not "11er"
    moment = dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)  # still 31 December in Toronto
    assert formats.date(moment, language="fr") == "31 décembre 2025"


# --- A number of days: the plural of the figure as written ("1,0 jour", not "1,0 jours") ----


@pytest.mark.parametrize(
    ("value", "english", "french"),
    [
        (0, "0.0 days", "0,0 jour"),
        (1, "1.0 days", "1,0 jour"),  # CLDR: English "1.0" has a decimal, so "days"
        (Decimal("1.5"), "1.5 days", "1,5 jour"),  # French is singular below 2
        (1.96, "2.0 days", "2,0 jours"),  # the plural of the figure as it is written
        (2, "2.0 days", "2,0 jours"),
        (18.25, "18.2 days", "18,2 jours"),
        (1_000_000, "1,000,000.0 days", "1 000 000,0 jours"),
    ],
)
def test_days(value, english, french):
    assert formats.days(value, language="en") == english
    assert _spaces(formats.days(value, language="fr")) == french


def test_whole_days():
    assert formats.days(1, decimals=0, language="en") == "1 day"
    assert _spaces(formats.days(1, decimals=0, language="fr")) == "1 jour"
    assert formats.days(3, decimals=0, language="en") == "3 days"


# --- The time left before a deadline (the countdowns) ------------------------------------------

NOW = dt.datetime(2026, 12, 21, 19, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("left", "english", "french"),
    [
        (
            dt.timedelta(days=9, hours=19, minutes=9),
            "9 days 19 hours left",
            "9 jours 19 heures restants",
        ),
        (dt.timedelta(days=1), "1 day left", "1 jour restant"),
        (dt.timedelta(days=1, hours=2), "1 day 2 hours left", "1 jour 2 heures restants"),
        (dt.timedelta(days=2, minutes=5), "2 days left", "2 jours restants"),
        (dt.timedelta(hours=1), "1 hour left", "1 heure restante"),
        (
            dt.timedelta(hours=2, minutes=5),
            "2 hours 5 minutes left",
            "2 heures 5 minutes restantes",
        ),
        (dt.timedelta(hours=1, minutes=1), "1 hour 1 minute left", "1 heure 1 minute restantes"),
        (dt.timedelta(minutes=5), "5 minutes left", "5 minutes restantes"),
        (dt.timedelta(minutes=1), "1 minute left", "1 minute restante"),
        # Rounded up: a countdown never says "0 minutes" while the deadline is still ahead.
        (dt.timedelta(seconds=1), "1 minute left", "1 minute restante"),
        (dt.timedelta(hours=23, minutes=59, seconds=30), "1 day left", "1 jour restant"),
        (dt.timedelta(0), "Closed", "Fermée"),
        (-dt.timedelta(days=3), "Closed", "Fermée"),
    ],
)
def test_remaining(left, english, french):
    assert formats.remaining(NOW + left, now=NOW, language="en") == english
    assert _spaces(formats.remaining(NOW + left, now=NOW, language="fr")) == french


def test_countdown_labels_carry_the_catalogues_words():
    english = formats.countdown_labels("en")
    assert english["units"][0] == ["day", 86400, "%(count)d day", "%(count)d days"]
    assert english["left"]["hour"]["other"] == "%(duration)s left"
    assert english["closed"] == "Closed"
    french = formats.countdown_labels("fr")
    assert _spaces(french["units"][1][3]) == "%(count)d heures"
    assert french["left"]["day"]["other"] == "%(duration)s restants"
    assert french["left"]["minute"]["one"] == "%(duration)s restante"
    assert french["closed"] == "Fermée"


def test_cents_are_money_for_people_and_dollars_for_a_csv():
    assert str(formats.Cents(150_000)) == "1500.00"
    assert str(formats.Cents(5)) == "0.05"
    assert str(formats.Cents(-2_550)) == "-25.50"
    assert formats.Cents(150_000) == 150_000  # still a number: sums, charts
    assert formats.money(formats.Cents(150_000), language="en") == "$1,500.00"


# --- The template filters ({% load formats %}) ------------------------------------------------


def _render(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load formats %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("source", "context", "english", "french"),
    [
        ("{{ v|money }}", {"v": 480_000}, "$4,800.00", "4 800,00 $"),
        ("{{ v|money }}", {"v": 0}, "$0.00", "0,00 $"),
        ("{{ v|money }}", {"v": "99"}, "$0.99", "0,99 $"),
        ("{{ v|number }}", {"v": 1234567}, "1,234,567", "1 234 567"),
        ("{{ v|number:1 }}", {"v": Decimal("2.25")}, "2.2", "2,2"),
        ("{{ v|percent }}", {"v": 0.5}, "50%", "50 %"),
        ("{{ v|percent:1 }}", {"v": 0.133}, "13.3%", "13,3 %"),
        ("{{ v|days }}", {"v": 1.0}, "1.0 days", "1,0 jour"),
        ("{{ v|day }}", {"v": dt.date(2026, 12, 21)}, "December 21, 2026", "21 décembre 2026"),
        ("{{ v|day }}", {"v": "2026-12-21"}, "December 21, 2026", "21 décembre 2026"),
        ("{{ v|clock }}", {"v": dt.time(14, 0)}, "2:00 p.m.", "14 h"),
        ("{{ v|clock }}", {"v": dt.time(0, 0)}, "12:00 a.m.", "0 h"),
        ("{{ v|clock }}", {"v": dt.time(12, 30)}, "12:30 p.m.", "12 h 30"),
        (
            "{{ v|moment }}",
            {"v": dt.datetime(2026, 12, 21, 19, 0, tzinfo=dt.UTC)},
            "December 21, 2026, 2:00 p.m.",
            "21 décembre 2026 à 14 h",
        ),
        ("{{ v|moment }}", {"v": dt.date(2026, 12, 21)}, "December 21, 2026", "21 décembre 2026"),
        (
            "{{ v|duration }}",
            {"v": dt.timedelta(days=9, hours=19)},
            "9 days 19 hours",
            "9 jours 19 heures",
        ),
        ("{{ v|figure }}", {"v": formats.Cents(480_000)}, "$4,800.00", "4 800,00 $"),
        ("{{ v|figure }}", {"v": 1234}, "1,234", "1 234"),
        ("{{ v|figure }}", {"v": 18.25}, "18.2", "18,2"),
        ("{{ v|figure }}", {"v": dt.date(2026, 2, 2)}, "February 2, 2026", "2 février 2026"),
        ("{{ v|figure }}", {"v": "—"}, "—", "—"),
        ("{{ v|figure }}", {"v": "<5"}, "&lt;5", "&lt;5"),  # text stays text, escaped
    ],
)
def test_filters_write_for_the_pages_language(settings, source, context, english, french):
    settings.TIME_ZONE = "America/Toronto"
    assert _spaces(_render(source, "en", **context)) == english
    assert _spaces(_render(source, "fr", **context)) == french


def test_the_time_left_filter_counts_from_now():
    deadline = timezone.now() + dt.timedelta(days=9, hours=19, minutes=9, seconds=30)
    assert _render("{{ v|remaining }}", "en", v=deadline) == "9 days 19 hours left"
    assert _spaces(_render("{{ v|remaining }}", "fr", v=deadline)) == "9 jours 19 heures restants"
    past = timezone.now() - dt.timedelta(minutes=1)
    assert _render("{{ v|remaining }}", "fr", v=past) == "Fermée"


HOSTILE = [
    None, "", "abc", "1e999999999", "NaN", "-Infinity", "sNaN", float("nan"), float("inf"),
    10**400, True, [], {}, object(), "2026-13-45", "<script>", "\uff11\uff12\uff13", "\x00",
]  # fmt: skip


@pytest.mark.parametrize("name", ["money", "number", "percent", "days", "day", "clock", "moment",
                                  "duration", "remaining"])  # fmt: skip
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_bad_value_writes_nothing_and_never_breaks_the_page(name, value):
    for language in ("en", "fr"):
        assert _render(f"{{{{ v|{name} }}}}", language, v=value) == ""
        assert _render(f'{{{{ v|{name}|default:"—" }}}}', language, v=value) == "—"


@pytest.mark.parametrize("argument", ['"x"', "-3", "99", '""'])
def test_a_bad_argument_falls_back(argument):
    text = _render(f"{{{{ v|number:{argument} }}}}", "en", v=Decimal("1.25"))
    assert text.replace(",", "").replace(".", "").isdigit()


def test_countdown_labels_tag_is_json_escaped_for_an_attribute():
    html = _render(
        '<script src="/static/js/site.js" data-countdown="{% countdown_labels %}">', "fr"
    )
    value = html.split('data-countdown="', 1)[1].rsplit('">', 1)[0]
    assert '"' not in value and "<" not in value  # escaped: cannot end the attribute
    assert json.loads(unescape(value)) == formats.countdown_labels("fr")


def test_a_timestamp_to_the_second(settings):
    settings.TIME_ZONE = "America/Toronto"
    assert _spaces(formats.time(dt.time(14, 0, 5), seconds=True, language="en")) == "2:00:05 p.m."
    assert _spaces(formats.time(dt.time(14, 0, 5), seconds=True, language="fr")) == (
        "14 h 00 min 05 s"
    )
    moment = dt.datetime(2026, 12, 21, 19, 0, 5, tzinfo=dt.UTC)
    assert _spaces(_render('{{ v|moment:"seconds" }}', "fr", v=moment)) == (
        "21 décembre 2026 à 14 h 00 min 05 s"
    )
    assert _spaces(_render('{{ v|moment:"seconds" }}', "en", v=moment)) == (
        "December 21, 2026, 2:00:05 p.m."
    )
    assert _spaces(_render('{{ v|clock:"seconds" }}', "en", v=dt.time(9, 3, 5))) == "9:03:05 a.m."


def test_every_page_carries_the_countdown_words_of_its_own_language(client):
    """The words are written once per language and process: an English page then a French
    one each get their own."""
    english = client.get("/en/").content.decode()
    french = client.get("/fr/").content.decode()
    assert "restant" not in english and "left" in english.split("data-countdown=")[1][:2000]
    assert "restant" in french.split("data-countdown=")[1][:2000]
