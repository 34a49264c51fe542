"""How long a purchase takes, measured from the audit trail, and how it compares with the
baseline the pilot has to beat (the 2020 Red Tape Reduction Report, see DESIGN.md §1).

An opportunity's *file* is everything the audit trail holds about it: the opportunity itself,
its evaluation and packets, the awarded bid, its contracts and their payments. The stages are
the first time each step happened. *Touch time* counts the days on which someone worked on the
file — the government's people and the supplier who did the work; other bidders preparing
their bids are not the file's work — and *people* counts those persons once each.

Days are local (Eastern) dates. A file's elapsed time is counted in working days: the business
days (Monday to Friday) between its first and last day, plus any other day someone acted.
Statutory holidays are not known to the system and count as business days.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from bids.models import Bid
from evaluation.models import Evaluation, Packet
from marketplace import audit_verbs
from marketplace.calendar import is_business_day
from marketplace.models import AuditEvent
from opportunities.models import Opportunity
from payments.fiscal import fiscal_year_start
from payments.models import Contract, Payment


@dataclass(frozen=True)
class Baseline:
    """A low-dollar-value contract in the GC today (Red Tape Reduction Report, 2020)."""

    elapsed_business_days: int = 75  # 15 weeks
    touch_business_days: int = 8
    waiting_business_days: int = 67
    flow_efficiency: float = 0.11
    people: int = 7


BASELINE = Baseline()

# The stages of a file, in order, and the measured steps between them.
STAGES = ("drafted", "published", "closed", "awarded", "accepted", "paid")
STAGE_LABELS = {
    "drafted": _("Drafted"),
    "published": _("Published"),
    "closed": _("Closed"),
    "awarded": _("Awarded"),
    "accepted": _("Work accepted"),
    # Its own context: the payment status "Paid" is masculine in French (paiement), a file's
    # stage feminine (occasion): "Rédigée → Payée".
    "paid": pgettext_lazy("stage of a file", "Paid"),
}
STEPS: tuple[tuple[str, str], ...] = (
    ("drafted", "published"),
    ("published", "closed"),
    ("closed", "awarded"),
    ("awarded", "accepted"),
    ("accepted", "paid"),
    ("drafted", "paid"),
)

# The first event of each verb marks its stage (the verbs from the registry); "paid" is a
# payment's move to paid, whatever verb moved it.
_STAGE_VERBS = {
    audit_verbs.verb("opportunity.created"): "drafted",
    audit_verbs.verb("opportunity.published"): "published",
    audit_verbs.verb("opportunity.closed"): "closed",
    audit_verbs.verb("opportunity.awarded"): "awarded",
    audit_verbs.verb("contract.certified"): "accepted",
}


@dataclass(frozen=True)
class Action:
    """One audit event of a file, reduced to what the measures need."""

    at: dt.datetime
    verb: str
    actor_id: int | None = None
    to: str = ""  # the status a transition moved to, when the event records one


@dataclass
class FileMeasures:
    stages: dict[str, dt.datetime | None] = field(default_factory=dict)
    elapsed_business_days: int = 0
    touch_business_days: int = 0
    people: int = 0

    @property
    def waiting_business_days(self) -> int:
        return max(self.elapsed_business_days - self.touch_business_days, 0)


def working_days(first: dt.date, last: dt.date, acted_on: set[dt.date]) -> int:
    """Business days from `first` to `last` inclusive, plus the other days in `acted_on`."""
    if last < first:
        return 0
    days = (last - first).days + 1
    weeks, rest = divmod(days, 7)
    business = weeks * 5 + sum(
        1
        for offset in range(rest)
        if is_business_day(first + dt.timedelta(days=weeks * 7 + offset))
    )
    return business + sum(
        1 for day in acted_on if first <= day <= last and not is_business_day(day)
    )


def measure_file(
    actions: Iterable[Action],
    *,
    workers: set[int] | None = None,
    recorded: dict[str, dt.datetime | None] | None = None,
) -> FileMeasures:
    """The measures of one file from its actions.

    `workers` are the persons whose actions count as work on the file; None means every actor.
    (The caller passes everyone but the suppliers who bid and were not awarded.) `recorded`
    gives the moments the opportunity itself keeps, for stages its trail does not hold (a file
    imported or made outside the site).
    """
    ordered = sorted(actions, key=lambda action: action.at)
    stages: dict[str, dt.datetime | None] = dict.fromkeys(STAGES)
    touched: set[dt.date] = set()
    people: set[int] = set()
    for action in ordered:
        stage = _STAGE_VERBS.get(action.verb)
        if stage is None and action.verb.startswith("payment.") and action.to == "paid":
            stage = "paid"
        if stage is not None and stages[stage] is None:
            stages[stage] = action.at
        if action.actor_id is not None and (workers is None or action.actor_id in workers):
            touched.add(timezone.localdate(action.at))
            people.add(action.actor_id)
    for stage, moment in (recorded or {}).items():
        if stages[stage] is None:
            stages[stage] = moment
    measures = FileMeasures(stages=stages, people=len(people))
    if ordered:
        first = timezone.localdate(stages["drafted"] or ordered[0].at)
        last = timezone.localdate(stages["paid"] or ordered[-1].at)
        measures.elapsed_business_days = working_days(first, last, touched)
        measures.touch_business_days = sum(1 for day in touched if first <= day <= last)
    return measures


@dataclass
class Files:
    """What the audit trail holds about some opportunities' files."""

    actions: dict[int, list[Action]]
    outsiders: dict[int, set[int]]  # bidders who were not awarded: their actions do not count
    recorded: dict[int, dict[str, dt.datetime | None]]  # the opportunity's own timestamps


def file_actions(opportunity_ids: Sequence[int]) -> Files:
    """Every audit event of these opportunities' files. A fixed number of queries."""
    ids = list(opportunity_ids)
    owner: dict[tuple[int, str], int] = {}  # (content type, target id) → opportunity
    kinds = ContentType.objects.get_for_models(
        Opportunity, Evaluation, Packet, Bid, Contract, Payment
    )

    def own(model, pairs: Iterable[tuple[int, int]]) -> None:
        type_id = kinds[model].pk
        for pk, opportunity_id in pairs:
            owner[(type_id, str(pk))] = opportunity_id

    recorded = {
        pk: {"drafted": created, "published": published, "closed": closed, "awarded": awarded}
        for pk, created, published, closed, awarded in Opportunity.objects.filter(
            pk__in=ids
        ).values_list("pk", "created_at", "published_at", "closed_at", "awarded_at")
    }
    own(Opportunity, ((pk, pk) for pk in recorded))
    own(
        Evaluation,
        Evaluation.objects.filter(opportunity_id__in=ids).values_list("pk", "opportunity_id"),
    )
    own(
        Packet,
        Packet.objects.filter(evaluation__opportunity_id__in=ids).values_list(
            "pk", "evaluation__opportunity_id"
        ),
    )
    contracts = list(
        Contract.objects.filter(opportunity_id__in=ids).values_list(
            "pk", "opportunity_id", "bid_id", "supplier_id", "status"
        )
    )
    own(Contract, ((pk, opportunity_id) for pk, opportunity_id, *_rest in contracts))
    own(Bid, ((bid_id, opportunity_id) for _pk, opportunity_id, bid_id, *_rest in contracts))
    own(
        Payment,
        Payment.objects.filter(contract__opportunity_id__in=ids).values_list(
            "pk", "contract__opportunity_id"
        ),
    )

    # Suppliers who bid; those who did the work are taken back out below.
    outsiders: dict[int, set[int]] = defaultdict(set)
    for opportunity_id, supplier_id in Bid.objects.filter(opportunity_id__in=ids).values_list(
        "opportunity_id", "supplier_id"
    ):
        outsiders[opportunity_id].add(supplier_id)
    for _pk, opportunity_id, _bid, supplier_id, status in contracts:
        if status != Contract.Status.DECLINED:
            outsiders[opportunity_id].discard(supplier_id)

    by_type: dict[int, list[str]] = defaultdict(list)
    for type_id, target_id in owner:
        by_type[type_id].append(target_id)
    actions: dict[int, list[Action]] = {pk: [] for pk in recorded}
    for type_id, target_ids in by_type.items():
        events = AuditEvent.objects.filter(
            target_type_id=type_id, target_id__in=target_ids
        ).values_list("target_id", "verb", "actor_id", "created_at", "data")
        for target_id, verb, actor_id, created_at, data in events.iterator(chunk_size=2000):
            to = data.get("to", "") if isinstance(data, dict) else ""
            actions[owner[(type_id, target_id)]].append(
                Action(at=created_at, verb=verb, actor_id=actor_id, to=to)
            )
    return Files(actions=actions, outsiders=outsiders, recorded=recorded)


def measure_files(opportunity_ids: Sequence[int]) -> dict[int, FileMeasures]:
    files = file_actions(opportunity_ids)
    result = {}
    for pk, actions in files.actions.items():
        excluded = files.outsiders.get(pk, set())
        workers = {a.actor_id for a in actions if a.actor_id is not None} - excluded
        result[pk] = measure_file(actions, workers=workers, recorded=files.recorded[pk])
    return result


# --- Aggregates --------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the smallest value at or above 90 % of the values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def days_between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 86400


def fiscal_quarter(moment: dt.datetime) -> str:
    """The Government of Canada fiscal quarter (April to March) of a moment: '2026-27 Q3'
    ('2026-27 T3' in French). Labels of one language sort in time order."""
    day = timezone.localdate(moment)
    start_year = fiscal_year_start(day).year
    quarter = (day.month - 4) % 12 // 3 + 1
    return gettext("%(start)s-%(end)02d Q%(quarter)s") % {
        "start": start_year,
        "end": (start_year + 1) % 100,
        "quarter": quarter,
    }


# --- The dashboard's tables ----------------------------------------------------------------------

# Forward sortation areas of the National Capital Region (Ottawa and Gatineau), approximately:
# a postal code starting with one of these is counted inside the region.
NCR_POSTAL_PREFIXES = ("K1", "K2", "K4A", "K4B", "K4C", "K4M", "K4P", "J8", "J9A", "J9H", "J9J")


def in_national_capital_region(postal_code: str) -> bool:
    return postal_code.replace(" ", "").upper().startswith(NCR_POSTAL_PREFIXES)


@dataclass
class Table:
    """One table of the dashboard: shown as a table, charted, and exported as CSV.

    `rows` hold display values (already suppressed or formatted); `chart` names the column
    whose numbers the chart draws, or is empty for a table without a chart.
    """

    slug: str
    caption: str
    headers: list[str]
    rows: list[list[object]]
    chart_column: int | None = None
    chart_unit: str = ""  # "day": the chart writes its figures as days ("1.5 days", "1,5 jour")
    note: str = ""

    def chart(self) -> dict[str, object] | None:
        """The geometry of a horizontal bar chart of the chart column (SVG user units)."""
        if self.chart_column is None or not self.rows:
            return None
        values = [row[self.chart_column] for row in self.rows]
        top = max((v for v in values if isinstance(v, int | float)), default=0) or 1
        bars = []
        for index, (row, value) in enumerate(zip(self.rows, values, strict=True)):
            number = value if isinstance(value, int | float) else 0
            width = round(CHART_BAR_SPACE * number / top, 1)
            y = CHART_ROW * index
            bars.append(
                {
                    "label": row[0],
                    "value": value,
                    "y": y + CHART_BAR_OFFSET,
                    "text_y": y + CHART_TEXT_OFFSET,
                    "width": width,
                    "value_x": CHART_LABEL_WIDTH + width + 8,
                }
            )
        return {"height": CHART_ROW * len(bars), "bars": bars, "bar_x": CHART_LABEL_WIDTH}


CHART_LABEL_WIDTH = 300  # of a 760-unit wide chart: labels, then bars, then values
CHART_BAR_SPACE = 300
CHART_ROW = 34
CHART_BAR_OFFSET = 6
CHART_TEXT_OFFSET = 22


def rounded(value: float | None, places: int = 1) -> float | str:
    """A figure for a table cell: rounded, or a dash when there is nothing to measure."""
    return "—" if value is None else round(value, places)
