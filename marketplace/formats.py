"""One way to write money, numbers, percentages, dates, times and durations for people (issue 21).

Each function writes its value the way the reader's language does in Canada — `en-CA` or
`fr-CA`, from the active language unless one is given — with the CLDR data Babel maintains, plus
the Translation Bureau's conventions where CLDR differs: "14 h" on the hour rather than
"14 h 00", and durations in two units ("9 jours 19 heures"). Pages (the `formats` template
filters), emails, PDFs and CSV headers all call these, so a figure reads the same everywhere.

Values a machine reads (form inputs, CSV cells, open data, ISO dates in `<time datetime>`) are
never written here: they stay in their neutral form.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import nullcontext
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.utils import timezone, translation
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

CURRENCY = "CAD"
LOCALES = {"en": "en_CA", "fr": "fr_CA"}


def locale_for(language: str | None = None) -> str:
    """The Babel locale of `language` (a Django language code), or of the active language."""
    code = (language or get_language() or "en")[:2].lower()
    return LOCALES.get(code, LOCALES["en"])


def _is_french(locale: str) -> bool:
    return locale.startswith("fr")


def money(cents: int, *, language: str | None = None) -> str:
    """Integer cents as dollars: 480000 → "$4,800.00" / "4 800,00 $"."""
    amount = Decimal(int(cents)) / 100
    return babel_numbers.format_currency(amount, CURRENCY, locale=locale_for(language))


def number(value: int | float | Decimal, *, decimals: int | None = None, language=None) -> str:
    """A number with the reader's separators: 1234567.5 → "1,234,567.5" / "1 234 567,5".
    `decimals` fixes the digits after the point (rounded half to even, as Babel does)."""
    locale = locale_for(language)
    if decimals is None:
        return babel_numbers.format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return babel_numbers.format_decimal(
        value, format=pattern, locale=locale, decimal_quantization=True
    )


def percent(ratio: int | float | Decimal, *, decimals: int = 0, language=None) -> str:
    """A ratio as a percentage: 0.133 → "13%" / "13 %" (one decimal: "13.3%" / "13,3 %")."""
    locale = locale_for(language)
    digits = "." + "0" * decimals if decimals else ""
    pattern = f"#,##0{digits}\u00a0%" if _is_french(locale) else f"#,##0{digits}%"
    return babel_numbers.format_percent(ratio, format=pattern, locale=locale)


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def date(day: dt.date | dt.datetime, *, language: str | None = None) -> str:
    """A date written out: "December 21, 2026" / "21 décembre 2026"; the first of the month
    is "1er" in French ("1er juin 2025"), which CLDR leaves out."""
    if isinstance(day, dt.datetime):
        day = _local(day).date()
    locale = locale_for(language)
    if _is_french(locale) and day.day == 1:
        return babel_dates.format_date(day, format="'1er' MMMM y", locale=locale)
    return babel_dates.format_date(day, format="long", locale=locale)


def time(
    moment: dt.time | dt.datetime, *, seconds: bool = False, language: str | None = None
) -> str:
    """A time of day: "2:00 p.m." / "14 h", "2:30 p.m." / "14 h 30", midnight "12:00 a.m." /
    "0 h". French writes the 24-hour clock with "h" and leaves out minutes on the hour. With
    `seconds` (a receipt's timestamp): "2:00:05 p.m." / "14 h 00 min 05 s"."""
    if isinstance(moment, dt.datetime):
        moment = _local(moment).time()
    locale = locale_for(language)
    if _is_french(locale):
        hour = f"{moment.hour}\u00a0h"
        if seconds:
            return f"{hour}\u00a0{moment.minute:02d}\u00a0min\u00a0{moment.second:02d}\u00a0s"
        return hour if moment.minute == 0 else f"{hour}\u00a0{moment.minute:02d}"
    return babel_dates.format_time(moment, format="medium" if seconds else "short", locale=locale)


def datetime(moment: dt.datetime, *, seconds: bool = False, language: str | None = None) -> str:
    """A date and time: "December 21, 2026, 2:00 p.m." / "21 décembre 2026 à 14 h"."""
    moment = _local(moment)
    written_date = date(moment, language=language)
    written_time = time(moment, seconds=seconds, language=language)
    if _is_french(locale_for(language)):
        return f"{written_date} à {written_time}"
    return f"{written_date}, {written_time}"


def _in(language: str | None):
    """Catalogue look-ups in `language` when one is given, else in the active language."""
    return translation.override(language) if language else nullcontext()


def _plural_count(value: int | Decimal, locale: str) -> int:
    """The count that makes `ngettext` pick the form CLDR gives `value` as it is written: 1 for
    CLDR's "one", 2 otherwise (English and French have two forms). Unlike gettext's rule, it
    knows decimals: "1,5 jour" in French (singular below 2), "1.0 days" in English."""
    return 1 if Locale.parse(locale).plural_form(value) == "one" else 2


_UNITS = (
    ("day", 86400, lambda n: ngettext("%(count)d day", "%(count)d days", n)),
    ("hour", 3600, lambda n: ngettext("%(count)d hour", "%(count)d hours", n)),
    ("minute", 60, lambda n: ngettext("%(count)d minute", "%(count)d minutes", n)),
)


def _shown_units(seconds: int, parts: int) -> list[tuple[str, int]]:
    """The largest unit of `seconds` and the `parts - 1` below it, leaving out zeros; under a
    minute, [("minute", 0)]."""
    counts = []
    for name, size, _label in _UNITS:
        count, seconds = divmod(seconds, size)
        counts.append((name, count))
    first = next((index for index, (_name, count) in enumerate(counts) if count), None)
    if first is None:
        return [("minute", 0)]
    return [(name, count) for name, count in counts[first : first + parts] if count]


def _written_units(shown: list[tuple[str, int]]) -> str:
    labels = {name: label for name, _size, label in _UNITS}
    return " ".join(labels[name](count) % {"count": count} for name, count in shown)


def duration(span: dt.timedelta, *, parts: int = 2, language: str | None = None) -> str:
    """A length of time in its largest unit and the `parts - 1` units below it, rounded down,
    leaving out a unit that is zero: 9 days 19 hours 9 minutes → "9 days 19 hours" /
    "9 jours 19 heures"; 2 days 0 hours 5 minutes → "2 days"; under a minute, "0 minutes".
    The units come from the catalogue, in the active language (or `language`)."""
    with _in(language):
        return _written_units(_shown_units(max(0, int(span.total_seconds())), parts))


def _left_phrases() -> dict[str, dict[str, str]]:
    """The "%(duration)s left" of each largest unit and plural (French agrees with the unit:
    "1 jour restant", "9 jours 19 heures restants", "1 heure restante", "5 minutes restantes")."""
    return {
        "day": {
            "one": pgettext("countdown: exactly one day", "%(duration)s left"),
            "other": pgettext("countdown: days, or days and hours", "%(duration)s left"),
        },
        "hour": {
            "one": pgettext("countdown: one hour", "%(duration)s left"),
            "other": pgettext("countdown: hours, or hours and minutes", "%(duration)s left"),
        },
        "minute": {
            "one": pgettext("countdown: one minute", "%(duration)s left"),
            "other": pgettext("countdown: minutes", "%(duration)s left"),
        },
    }


def remaining(
    deadline: dt.datetime, *, now: dt.datetime | None = None, language: str | None = None
) -> str:
    """The time left until `deadline`, in two units like `duration` but rounded up to the
    minute (a countdown never says "0 minutes" while it is still open): "9 days 19 hours
    left" / "9 jours 19 heures restants", "1 minute left" / "1 minute restante"; "Closed" /
    "Fermée" once it has passed. site.js updates the same text from `countdown_labels`."""
    seconds = (deadline - (now or timezone.now())).total_seconds()
    with _in(language):
        if seconds <= 0:
            return _("Closed")
        shown = _shown_units(math.ceil(seconds / 60) * 60, 2)
        (unit, count), several = shown[0], len(shown) > 1
        locale = locale_for(language)
        form = "other" if several or _plural_count(count, locale) != 1 else "one"
        return _left_phrases()[unit][form] % {"duration": _written_units(shown)}


def countdown_labels(language: str | None = None) -> dict[str, object]:
    """What site.js needs to write `remaining` itself as the clock turns, from the catalogue:
    each unit's singular and plural, the "left" phrases and "Closed"."""
    with _in(language):
        return {
            "units": [[name, size, label(1), label(2)] for name, size, label in _UNITS],
            "left": _left_phrases(),
            "closed": _("Closed"),
        }


def days(value: int | float | Decimal, *, decimals: int = 1, language: str | None = None) -> str:
    """A number of days as written for people: 1 → "1.0 days" / "1,0 jour", 1.5 → "1.5 days"
    / "1,5 jour", 2.25 → "2.2 days" / "2,2 jours" (French is singular below 2; CLDR's rules
    decide the plural of the figure as it is written)."""
    written = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    count = _plural_count(written, locale_for(language))
    with _in(language):
        label = ngettext("%(count)s day", "%(count)s days", count)
    return label % {"count": number(written, decimals=decimals, language=language)}


class Cents(int):
    """An amount in cents in a table that is both shown and exported: people read it as money
    (the `figure` filter: "$1,500.00" / "1 500,00 $"), a CSV file as plain dollars ("1500.00",
    what a spreadsheet reads as a number)."""

    def __str__(self) -> str:
        sign = "-" if self < 0 else ""
        dollars, rest = divmod(abs(int(self)), 100)
        return f"{sign}{dollars}.{rest:02d}"

    def __repr__(self) -> str:
        return f"Cents({int(self)})"
