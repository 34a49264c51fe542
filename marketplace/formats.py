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
from decimal import Decimal

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.utils import timezone
from django.utils.translation import get_language, ngettext

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
    """A date written out: "December 21, 2026" / "21 décembre 2026"."""
    if isinstance(day, dt.datetime):
        day = _local(day).date()
    return babel_dates.format_date(day, format="long", locale=locale_for(language))


def time(moment: dt.time | dt.datetime, *, language: str | None = None) -> str:
    """A time of day: "2:00 p.m." / "14 h", "2:30 p.m." / "14 h 30", midnight "12:00 a.m." /
    "0 h". French writes the 24-hour clock with "h" and leaves out minutes on the hour."""
    if isinstance(moment, dt.datetime):
        moment = _local(moment).time()
    locale = locale_for(language)
    if _is_french(locale):
        hour = f"{moment.hour}\u00a0h"
        return hour if moment.minute == 0 else f"{hour}\u00a0{moment.minute:02d}"
    return babel_dates.format_time(moment, format="short", locale=locale)


def datetime(moment: dt.datetime, *, language: str | None = None) -> str:
    """A date and time: "December 21, 2026, 2:00 p.m." / "21 décembre 2026 à 14 h"."""
    moment = _local(moment)
    written_date = date(moment, language=language)
    written_time = time(moment, language=language)
    if _is_french(locale_for(language)):
        return f"{written_date} à {written_time}"
    return f"{written_date}, {written_time}"


_UNITS = (
    ("day", 86400, lambda n: ngettext("%(count)d day", "%(count)d days", n)),
    ("hour", 3600, lambda n: ngettext("%(count)d hour", "%(count)d hours", n)),
    ("minute", 60, lambda n: ngettext("%(count)d minute", "%(count)d minutes", n)),
)


def duration(span: dt.timedelta, *, parts: int = 2) -> str:
    """A length of time in its largest unit and the `parts - 1` units below it, rounded down,
    leaving out a unit that is zero: 9 days 19 hours 9 minutes → "9 days 19 hours" /
    "9 jours 19 heures"; 2 days 0 hours 5 minutes → "2 days"; under a minute, "0 minutes".
    The units come from the catalogue, in the active language."""
    seconds = max(0, int(span.total_seconds()))
    counts = []
    for _name, size, label in _UNITS:
        count, seconds = divmod(seconds, size)
        counts.append((count, label))
    first = next((index for index, (count, _label) in enumerate(counts) if count), None)
    if first is None:
        return _UNITS[-1][2](0) % {"count": 0}
    shown = counts[first : first + parts]
    return " ".join(label(count) % {"count": count} for count, label in shown if count)
