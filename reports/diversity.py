"""Suppliers' self-identification, reported only in aggregate and with small cells suppressed.

The rules, and why:

- **Small cells.** Any count from 1 to 4 is shown as "<5", wherever it is shown (the
  dashboard's table, its CSV export, any open data): a small group can point at a person.
  Zero is shown as 0: it says that nobody self-identified in a group, which reveals nobody
  (self-identification is optional, so it does not even say that nobody belongs to it).
- **Suppressed at the source.** `diversity_summary` only ever returns suppressed values; the raw
  counts never leave this module, so no template or export can print them by mistake.
- **No subtraction.** Nothing is published that a suppressed cell could be recovered from: no
  "did not self-identify" or "not in group X" counts, no total of the rows (groups are
  multi-select, so rows do not add up to the number of respondents anyway), and the number of
  respondents is itself suppressed.
- **Never for a single opportunity, and never live.** There is no per-opportunity breakdown.
  Bids and awards are counted by the calendar quarter in which they happened (federal fiscal
  quarters start on the same days), and only quarters that are over: a period is widened to
  whole quarters and stops at the end of the last complete one. A narrow date range therefore
  cannot isolate one award, and the figures do not move the day after an award is announced
  (the public list of awards would otherwise tell whom the change was about).

What remains possible, and is left to how the figures are offered: subtracting two periods that
overlap (January to September from January to December) gives the last quarter's exact figure even
when that quarter's cell shows "<5". Offer this table for fixed, non-overlapping periods (one
quarter or one fiscal year at a time) where it is published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from bids.models import Bid
from payments.models import Contract

from .models import SelfIdentification

THRESHOLD = 5
SUPPRESSED = "<5"

Cell = int | str


def suppress(count: int) -> Cell:
    """A count as it may be shown: "<5" from 1 to 4, the number otherwise (0 included)."""
    if count < 0:
        raise ValueError("A count cannot be negative.")
    return SUPPRESSED if 0 < count < THRESHOLD else count


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def next_quarter_start(day: dt.date) -> dt.date:
    start = quarter_start(day)
    if start.month == 10:
        return dt.date(start.year + 1, 1, 1)
    return dt.date(start.year, start.month + 3, 1)


def last_complete_quarter_end(today: dt.date) -> dt.date:
    return quarter_start(today) - dt.timedelta(days=1)


@dataclass(frozen=True)
class DiversityRow:
    group: str
    label: str | Promise
    suppliers: Cell
    # None when the period holds no complete quarter yet: nothing is counted.
    bid: Cell | None
    awarded: Cell | None


@dataclass(frozen=True)
class DiversitySummary:
    rows: list[DiversityRow]
    respondents: Cell
    # The period actually counted: whole quarters, up to the last complete one. `start` is None
    # for "since the beginning"; `end` is None when no quarter of the period is complete yet.
    start: dt.date | None
    end: dt.date | None

    @property
    def counts_activity(self) -> bool:
        return self.end is not None


def counted_period(
    *, start: dt.date | None, end: dt.date | None, today: dt.date
) -> tuple[dt.date | None, dt.date | None]:
    """The whole quarters that cover `start`..`end`, cut at the end of the last complete one.
    Returns (start, end) with `end` None when nothing of the period is complete yet."""
    last = last_complete_quarter_end(today)
    counted_end = last if end is None else min(next_quarter_start(end) - dt.timedelta(days=1), last)
    counted_start = None if start is None else quarter_start(start)
    if counted_start is not None and counted_start > counted_end:
        return counted_start, None
    return counted_start, counted_end


def _bounds(start: dt.date | None, end: dt.date) -> dict[str, dt.datetime]:
    zone = timezone.get_current_timezone()
    bounds = {"lt": dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)}
    if start is not None:
        bounds["gte"] = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    return bounds


def diversity_summary(
    *, start: dt.date | None = None, end: dt.date | None = None, today: dt.date | None = None
) -> DiversitySummary:
    """Per group: the suppliers who self-identified in it (as things stand today), and among
    them those who bid and those awarded a contract in the period, every figure suppressed.

    Bids count when submitted (not withdrawn); awards when offered (not declined by the
    supplier). There is deliberately no way to ask this for one opportunity.
    """
    today = today or timezone.localdate()
    counted_start, counted_end = counted_period(start=start, end=end, today=today)
    answers = {
        user_id: set(groups)
        for user_id, groups in SelfIdentification.objects.values_list("user_id", "groups")
        if groups
    }
    bidders: set[int] = set()
    awardees: set[int] = set()
    if counted_end is not None and answers:
        lookups = _bounds(counted_start, counted_end)
        bidders = set(
            Bid.objects.counted()
            .filter(
                supplier_id__in=answers,
                submitted_at__isnull=False,
                **{f"submitted_at__{op}": moment for op, moment in lookups.items()},
            )
            .values_list("supplier_id", flat=True)
        )
        awardees = set(
            Contract.objects.filter(
                supplier_id__in=answers,
                **{f"created_at__{op}": moment for op, moment in lookups.items()},
            )
            .exclude(status=Contract.Status.DECLINED)
            .values_list("supplier_id", flat=True)
        )
    rows = []
    for value, label in SelfIdentification.Group.choices:
        members = {user_id for user_id, groups in answers.items() if value in groups}
        rows.append(
            DiversityRow(
                group=value,
                label=label,
                suppliers=suppress(len(members)),
                bid=suppress(len(members & bidders)) if counted_end else None,
                awarded=suppress(len(members & awardees)) if counted_end else None,
            )
        )
    return DiversitySummary(
        rows=rows, respondents=suppress(len(answers)), start=counted_start, end=counted_end
    )


def diversity_csv_rows(summary: DiversitySummary) -> list[list[object]]:
    """The summary for a CSV export: a header, one row per group, then the respondents.
    Every figure is the suppressed one; a period with no complete quarter leaves bids and
    awards empty."""

    def shown(cell: Cell | None) -> object:
        return "" if cell is None else cell

    rows: list[list[object]] = [
        [
            _("Group"),
            _("Suppliers who self-identified"),
            _("Of them, suppliers who bid in the period"),
            _("Of them, suppliers awarded a contract in the period"),
        ]
    ]
    rows += [
        [str(row.label), row.suppliers, shown(row.bid), shown(row.awarded)] for row in summary.rows
    ]
    rows.append([_("Respondents (people may choose several groups)"), summary.respondents, "", ""])
    return rows
