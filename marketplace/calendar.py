"""Business-day arithmetic: pure functions, no database, no settings.

The rules that count days (an opportunity's minimum open period, a payment's due date, a
contract's cure period, the demo's history) all count business days the same way: Monday to
Friday, no public holidays. They live here, below every app, so any layer can use them.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

Day = TypeVar("Day", dt.date, dt.datetime)


def is_business_day(day: dt.date) -> bool:
    """Monday to Friday (public holidays are not modelled)."""
    return day.weekday() < 5


def add_business_days(start: Day, days: int) -> Day:
    """`start` moved forward by `days` weekdays (Saturday and Sunday do not count). Works on a
    date or a datetime, and keeps the time of day."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += dt.timedelta(days=1)
        if is_business_day(moment):
            remaining -= 1
    return moment
