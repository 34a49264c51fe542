"""The federal fiscal year (April 1 to March 31), and the contracts awarded in one.

Pure date arithmetic plus one query: the supplier threshold check (`payments.contracts`), the
oversight page and the reports all count awards by fiscal year the same way."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from .models import Contract


def fiscal_year_start(day: dt.date) -> dt.date:
    """The federal fiscal year runs from April 1 to March 31."""
    return dt.date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def fiscal_year_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = fiscal_year_start(day)
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time(), zone),
        dt.datetime.combine(start.replace(year=start.year + 1), dt.time(), zone),
    )


def awarded_in_fiscal_year(day: dt.date) -> QuerySet[Contract]:
    """Contracts awarded in the fiscal year of `day` (declined awards do not count)."""
    start, end = fiscal_year_bounds(day)
    return Contract.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        status=Contract.Status.DECLINED
    )
