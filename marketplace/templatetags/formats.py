"""`{% load formats %}`: money, numbers, dates, times and durations as people read them.

The filters call marketplace/formats.py, in the page's language: `{{ cents|money }}` →
"$4,800.00" / "4 800,00 $", `{{ when|moment }}` → "December 21, 2026, 2:00 p.m." /
"21 décembre 2026 à 14 h". Only for what people read: values a machine reads (`datetime=`
attributes, form inputs, CSV cells) keep Django's neutral formats (`|date:'c'`).

Like Django's own filters, each writes nothing ("") for a missing or unreadable value, so that
`|default:"—"` can follow it and a bad value never breaks a page.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from marketplace import formats

register = template.Library()

_NUMBERS = (int, float, Decimal)
_LARGEST = 30  # digits: no figure of the site comes near; a longer one is not written out


def _decimals(arg, default: int | None) -> int | None:
    try:
        return default if arg in (None, "") else max(0, min(int(arg), 6))
    except (TypeError, ValueError):
        return default


def _number(value) -> int | float | Decimal | None:
    """`value` as a finite number of sensible size, or None (text that is not a number, None,
    infinities, NaN)."""
    if isinstance(value, bool) or value is None:
        return None
    if not isinstance(value, _NUMBERS):
        text = str(value).strip()
        if not text.isascii():  # Decimal would read other scripts' digits
            return None
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
    if isinstance(value, Decimal):
        finite = value.is_finite() and value.adjusted() <= _LARGEST
    elif isinstance(value, float):
        finite = math.isfinite(value) and abs(value) < 10**_LARGEST
    else:
        finite = abs(value) < 10**_LARGEST
    return value if finite else None


def _written(write, value, **options) -> str:
    """`write(number, **options)` for a readable number, "" for anything else: a bad value
    never breaks a page."""
    amount = _number(value)
    if amount is None:
        return ""
    try:
        return write(amount, **options)
    except (OverflowError, ValueError, InvalidOperation):
        return ""


@register.filter
def money(cents) -> str:
    """Integer cents as dollars: 480000 → "$4,800.00" / "4 800,00 $"."""
    return _written(lambda amount: formats.money(int(amount)), cents)


@register.filter
def number(value, decimals=None) -> str:
    """A number with the reader's separators; `|number:1` fixes one decimal."""
    return _written(formats.number, value, decimals=_decimals(decimals, None))


@register.filter
def percent(ratio, decimals=0) -> str:
    """A ratio as a percentage: 0.133 → "13%" / "13 %"; `|percent:1` → "13.3%" / "13,3 %"."""
    return _written(formats.percent, ratio, decimals=_decimals(decimals, 0))


@register.filter
def days(value, decimals=1) -> str:
    """A number of days with its unit: "1.5 days" / "1,5 jour"."""
    return _written(formats.days, value, decimals=_decimals(decimals, 1))


@register.filter
def day(value) -> str:
    """A date written out: "December 21, 2026" / "21 décembre 2026". Also takes the ISO date
    that JSON keeps ("2026-12-21", as in a bid's receipt)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            return ""
    if not isinstance(value, dt.date):
        return ""
    try:
        return formats.date(value)
    except OverflowError:  # a moment too near year 1 to be moved to Eastern time
        return ""


@register.filter
def clock(value, precision="") -> str:
    """A time of day: "2:00 p.m." / "14 h"; `|clock:"seconds"`: "2:00:05 p.m." /
    "14 h 00 min 05 s"."""
    if not isinstance(value, dt.datetime | dt.time):
        return ""
    try:
        return formats.time(value, seconds=precision == "seconds")
    except OverflowError:
        return ""


@register.filter
def moment(value, precision="") -> str:
    """A date and time: "December 21, 2026, 2:00 p.m." / "21 décembre 2026 à 14 h";
    `|moment:"seconds"` adds the seconds (a receipt's timestamp)."""
    if not isinstance(value, dt.datetime):
        return day(value)
    try:
        return formats.datetime(value, seconds=precision == "seconds")
    except OverflowError:
        return ""


@register.filter
def duration(value) -> str:
    """A length of time in two units: "9 days 19 hours" / "9 jours 19 heures"."""
    if not isinstance(value, dt.timedelta):
        return ""
    return formats.duration(value)


@register.filter
def remaining(deadline) -> str:
    """The time left until a moment: "9 days 19 hours left" / "9 jours 19 heures restants",
    "Closed" / "Fermée" once passed. Put it in the element that carries `data-deadline`:
    site.js keeps it up to date, and without JavaScript it reads right when the page was made.
    """
    if not isinstance(deadline, dt.datetime):
        return ""
    if timezone.is_naive(deadline):  # read as the site's time, as `moment` writes it
        deadline = deadline.replace(tzinfo=timezone.get_current_timezone())
    try:
        return formats.remaining(deadline)
    except OverflowError:
        return ""


@register.filter
def figure(value) -> str:
    """A table cell that may hold anything: money (`formats.Cents`), a count, a figure with
    one decimal, a date; text (a dash, a name) as it is."""
    if isinstance(value, formats.Cents):
        return money(value)
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return number(value)
    if isinstance(value, float | Decimal):
        return number(value, 1)
    if isinstance(value, dt.date):
        return moment(value)
    return value


@register.simple_tag
def countdown_labels() -> str:
    """The words site.js writes countdowns with, in the page's language, as JSON for the
    `data-countdown` attribute of its script tag (escaped there like any value; no inline
    script, which the Content Security Policy forbids). Written once per language and process:
    every page carries it, and the catalogue does not change while the process runs."""
    return _countdown_json((get_language() or "en")[:2])


@functools.lru_cache(maxsize=8)
def _countdown_json(language: str) -> str:
    return json.dumps(formats.countdown_labels(language), ensure_ascii=False)
