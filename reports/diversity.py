"""Suppliers' self-identification, published only as frozen, rounded figures per quarter.

The rules, and why (issue 20: reading live counts before and after one supplier saved, beside an
audit list naming who saved, gave that supplier's exact groups):

- **One quarter at a time, once it is over, on a schedule.** The figures are computed by a
  nightly task (`reports.tasks.diversity_snapshots`) for each complete quarter not yet computed,
  stored as a `DiversitySnapshot`, and only ever read back: no page, export or "measure again
  now" computes them. Saving an answer therefore changes nothing anyone can see until the
  quarter has ended and the task has run, by which time everyone else's saves of that quarter
  are mixed in with it.
- **Frozen.** A quarter's snapshot is computed once, after the quarter ends, and never again: an
  answer changed or deleted later does not move an old quarter's figure, so two readings of the
  same quarter can never be subtracted. It counts the answers that stood at the quarter's end
  (last saved before it ended) and still stood when it was computed; an answer saved after the
  quarter ended is counted from the next quarter on.
- **Moved by five changes or more.** Between two quarters, the suppliers per group only change
  once at least 5 answers have been saved or deleted since they were last counted; until then
  the previous quarter's figures are carried forward (`quarter_figures`). A quarter in which a
  single supplier saved therefore publishes nothing about that one answer, even when the audit
  trail shows that someone (unnamed) saved at a moment the attacker can place.
- **Small cells suppressed, the rest rounded.** Any count from 1 to 4 is shown as "<5"
  (`suppress`); 0 is shown as 0 (nobody self-identified in a group reveals nobody, as answering
  is optional); every other figure, the total of respondents included, is rounded to the nearest
  5 (`publish`). A net change of one person between two quarters moves a figure only when it
  crosses a rounding boundary (7 to 8), and then by 5: a published change never tells how many
  people it was about, and the audit trail never tells who saved (the events have no actor).
- **No subtraction within a table (complementary rounding).** Groups are multi-select, so the
  respondents are at most the sum of the groups; with exact figures, respondents minus the other
  groups would bound a suppressed cell from below. Every figure is a range once rounded ("10" is
  8 to 12, "<5" is 1 to 4), and the total is published only when its lowest value, less the
  highest value of all the other groups, cannot narrow any group's range
  (`respondents_reveal_a_cell`); otherwise it is withheld. Bids and awards are subsets of their
  group's suppliers: two adjacent ranges can never pin one another, so they need no such check.
- **No zero beside a known crowd.** Who won a contract is public, and a buyer knows who bid
  on their opportunity: in a group with members, its bidders and winners are "<5" from 0 to 4
  (`publish_among`), or "0" beside "<5" would tell which groups a quarter's only winner chose.
- **Never for a single opportunity.** There is no per-opportunity breakdown: bids and awards are
  counted by the quarter in which they happened, among the suppliers counted for that quarter.
- **Suppressed at the source.** Only published figures are stored; the raw counts never leave
  `quarter_figures`, so no template or export can print them by mistake.

What remains: five changes can be made up by one person with five supplier accounts who knows
their own answers; rounding still hides a single change inside a range of five then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from bids.models import Bid
from marketplace import audit_verbs
from marketplace.models import AuditEvent
from payments.models import Contract

from .models import SelfIdentification

THRESHOLD = 5
SUPPRESSED = "<5"
ROUNDING = 5

Cell = int | str


def suppress(count: int) -> Cell:
    """A count as it may be shown: "<5" from 1 to 4, the number otherwise (0 included)."""
    if count < 0:
        raise ValueError("A count cannot be negative.")
    return SUPPRESSED if 0 < count < THRESHOLD else count


def publish(count: int) -> Cell:
    """A count as it is published: suppressed from 1 to 4, otherwise rounded to the nearest 5
    (halves up: 7 is 5, 8 is 10)."""
    shown = suppress(count)
    if isinstance(shown, str) or shown == 0:
        return shown
    return (shown + ROUNDING // 2) // ROUNDING * ROUNDING


def publish_among(count: int, members: int) -> Cell:
    """A count of a group's bidders or winners as it is published: "<5" from 0 to 4 when the
    group has members. Who won is public, and a buyer knows who bid on their opportunity: in a
    quarter with one award, "0" beside "<5" would tell which groups the winner chose."""
    if members == 0:
        return 0  # nobody in the group: nobody in it bid or won, and that tells nothing
    shown = publish(count)
    return SUPPRESSED if shown == 0 else shown


def cell_range(cell: Cell) -> tuple[int, int]:
    """The true counts a published figure may stand for, lowest and highest."""
    if cell == SUPPRESSED:
        return 1, THRESHOLD - 1
    if not isinstance(cell, int) or cell < 0:
        raise ValueError(f"Not a published figure: {cell!r}")
    if cell == 0:
        return 0, 0
    if cell == THRESHOLD:  # 5 to 7: 3 and 4 are suppressed rather than rounded up
        return THRESHOLD, THRESHOLD + ROUNDING // 2
    return cell - ROUNDING // 2, cell + ROUNDING // 2


def respondents_reveal_a_cell(respondents: Cell, groups: list[Cell]) -> bool:
    """Whether publishing `respondents` beside these group figures would narrow one of them.

    Each respondent is in at least one group, so a group holds at least the respondents less
    everyone in the other groups: a bound that must stay at or below the group's own lowest."""
    lowest_respondents = cell_range(respondents)[0]
    ranges = [cell_range(cell) for cell in groups]
    highest_total = sum(high for _low, high in ranges)
    return any(lowest_respondents - (highest_total - high) > low for low, high in ranges)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def next_quarter_start(day: dt.date) -> dt.date:
    start = quarter_start(day)
    if start.month == 10:
        return dt.date(start.year + 1, 1, 1)
    return dt.date(start.year, start.month + 3, 1)


def quarter_end(day: dt.date) -> dt.date:
    return next_quarter_start(day) - dt.timedelta(days=1)


def last_complete_quarter_end(today: dt.date) -> dt.date:
    return quarter_start(today) - dt.timedelta(days=1)


def quarter_name(start: dt.date) -> str:
    """Calendar quarter, e.g. 2026-Q2 (April to June)."""
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class DiversityRow:
    group: str
    label: str | Promise
    suppliers: Cell
    bid: Cell
    awarded: Cell


@dataclass(frozen=True)
class DiversitySummary:
    """One quarter's published figures, as stored in its snapshot."""

    rows: list[DiversityRow]
    respondents: Cell | None  # None: withheld, it would narrow a suppressed group
    start: dt.date
    end: dt.date
    computed_at: dt.datetime


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def answers_changed(since: dt.date, until: dt.date) -> int:
    """How many answers were saved (and still stand) or deleted from `since` to before `until`.
    Counted without names: a standing answer by its consent date, a deletion by its (actorless)
    audit event."""
    saved = SelfIdentification.objects.filter(
        consented_at__gte=_moment(since), consented_at__lt=_moment(until)
    ).count()
    deleted = AuditEvent.objects.filter(
        verb=audit_verbs.verb("self_identification.deleted"),
        created_at__gte=_moment(since),
        created_at__lt=_moment(until),
    ).count()
    return saved + deleted


def quarter_figures(
    start: dt.date, *, today: dt.date | None = None, previous=None
) -> tuple[dict[str, object], dt.date]:
    """The published figures of the quarter that begins on `start`, computed now, and the day
    before which the answers they count were saved. `previous` is the last snapshot kept.

    The suppliers per group (and the respondents) are those whose answers stood at the quarter's
    end (saved before it ended, not deleted since) — but only once at least 5 answers have
    changed since those of `previous` were counted; until then they are carried forward from
    `previous` unchanged, so that a figure never moves for one person's change. Bids and awards
    are counted in the quarter among the suppliers whose answers were saved before that same
    day (a subset of those counted, so a group never shows more bidders than members): bids
    when submitted (not withdrawn), awards when offered (not declined). Only the scheduled
    snapshot calls this, and only for a quarter that is over."""
    end = quarter_end(start)
    if end >= (today or timezone.localdate()):
        raise ValueError("Only a complete quarter is counted.")
    since, day_after = _moment(start), end + dt.timedelta(days=1)
    until = _moment(day_after)
    fresh = previous is None or answers_changed(previous.answers_before, day_after) >= THRESHOLD
    answers_before = day_after if fresh else previous.answers_before
    answers = {
        user_id: set(groups)
        for user_id, groups in SelfIdentification.objects.filter(
            consented_at__lt=_moment(answers_before)
        ).values_list("user_id", "groups")
        if groups
    }
    bidders = set(
        Bid.objects.counted()
        .filter(supplier_id__in=answers, submitted_at__gte=since, submitted_at__lt=until)
        .values_list("supplier_id", flat=True)
    )
    awardees = set(
        Contract.objects.filter(
            supplier_id__in=answers, created_at__gte=since, created_at__lt=until
        )
        .exclude(status=Contract.Status.DECLINED)
        .values_list("supplier_id", flat=True)
    )
    rows = {}
    for value in SelfIdentification.Group.values:
        members = {user_id for user_id, groups in answers.items() if value in groups}
        suppliers = publish(len(members)) if fresh else previous.figures["rows"][value][0]
        rows[value] = [
            suppliers,
            publish_among(len(members & bidders), len(members)),
            publish_among(len(members & awardees), len(members)),
        ]
    if not fresh:
        return {"rows": rows, "respondents": previous.figures["respondents"]}, answers_before
    counted = publish(len(answers))
    respondents: Cell | None = counted
    if respondents_reveal_a_cell(counted, [cells[0] for cells in rows.values()]):
        respondents = None
    return {"rows": rows, "respondents": respondents}, answers_before


def summary_from(snapshot) -> DiversitySummary:
    """A stored snapshot as the dashboard and its CSV show it (labels in today's language)."""
    figures = snapshot.figures
    rows = [
        DiversityRow(value, label, *figures["rows"].get(value, [0, 0, 0]))
        for value, label in SelfIdentification.Group.choices
    ]
    return DiversitySummary(
        rows=rows,
        respondents=figures["respondents"],
        start=snapshot.quarter_start,
        end=snapshot.quarter_end,
        computed_at=snapshot.computed_at,
    )


def diversity_csv_rows(summary: DiversitySummary | None) -> list[list[object]]:
    """The summary for a CSV export: a header, one row per group, then the respondents.
    Every figure is the published one; without a published quarter, the header alone."""
    rows: list[list[object]] = [
        [
            _("Group"),
            _("Suppliers who self-identified"),
            _("Of them, suppliers who bid in the period"),
            _("Of them, suppliers awarded a contract in the period"),
        ]
    ]
    if summary is None:
        return rows
    rows += [[str(row.label), row.suppliers, row.bid, row.awarded] for row in summary.rows]
    respondents = _("withheld") if summary.respondents is None else summary.respondents
    rows.append([_("Respondents (people may choose several groups)"), respondents, "", ""])
    return rows
