"""The program dashboard's figures: each a `Table`, read in a fixed number of queries.

The period is that of publication: an opportunity belongs to the period in which it was
published, and its whole file (bids, award, delivery, payment) is counted with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from typing import cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from bids.models import Bid
from marketplace.caching import cached_in
from marketplace.formats import Cents
from marketplace.models import Province, SupplierProfile
from opportunities.models import Opportunity
from payments.models import Contract

from . import diversity
from .diversity import DiversitySummary
from .metrics import (
    BASELINE,
    STAGE_LABELS,
    STAGES,
    STEPS,
    Table,
    days_between,
    fiscal_quarter,
    in_national_capital_region,
    median,
    p90,
    rounded,
)
from .models import DiversitySnapshot, OpportunityMeasures

# The version of everything cached from the measures (see `dashboard_figures_cached`).
METRICS_DASHBOARD = "metrics-dashboard"


def _lowered(label) -> str:
    """A label inside a sentence, after a colon: "de 2 à 9 personnes", not "De 2 à 9"."""
    text = str(label)
    return text[:1].lower() + text[1:]


def counted_bids(prefix: str = "") -> Q:
    """Bids that were really made (`Bid.objects.counted()`), seen from a related model."""
    return ~Q(**{f"{prefix}status__in": Bid.UNCOUNTED})


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @classmethod
    def default(cls, today: dt.date | None = None) -> Period:
        """The twelve months up to today."""
        today = today or timezone.localdate()
        return cls(start=today.replace(year=today.year - 1) + dt.timedelta(days=1), end=today)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """From the start of the first day to the start of the day after the last (local)."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end


def _published_in(period: Period, prefix: str = "") -> Q:
    start, end = period.bounds()
    return Q(**{f"{prefix}published_at__gte": start, f"{prefix}published_at__lt": end})


# --- Cycle time --------------------------------------------------------------------------------


def measures_in(period: Period):
    """Each opportunity published in the period with its measures, newest first."""
    return (
        OpportunityMeasures.objects.filter(_published_in(period))
        .select_related("opportunity")
        .only(
            "drafted_at", "published_at", "closed_at", "awarded_at", "accepted_at", "paid_at",
            "elapsed_business_days", "touch_business_days", "people",
            "opportunity__id", "opportunity__title_en", "opportunity__title_fr",
            "opportunity__status",
        )
        .order_by("-published_at", "-opportunity_id")
    )  # fmt: skip


def measures_row(m: OpportunityMeasures) -> list[object]:
    """One opportunity's measures, as a row of the per-opportunity table and its CSV (dates:
    written out on the page, ISO in the CSV)."""
    return [
        m.opportunity_id,
        m.opportunity.title,
        m.opportunity.get_status_display(),
        *(
            timezone.localdate(moment) if moment else None
            for moment in (m.drafted_at, m.published_at, m.closed_at, m.awarded_at,
                           m.accepted_at, m.paid_at)
        ),
        m.elapsed_business_days,
        m.touch_business_days,
        m.waiting_business_days,
        m.people,
    ]  # fmt: skip


def measures_headers() -> list[str]:
    return [
        _("Number"),
        _("Opportunity"),
        _("Status"),
        *(str(STAGE_LABELS[stage]) for stage in STAGES),
        _("Working days"),
        _("Touch time (days)"),
        _("Waiting time (days)"),
        _("People"),
    ]


def _measures(period: Period) -> list[OpportunityMeasures]:
    return list(
        OpportunityMeasures.objects.filter(_published_in(period)).only(
            "drafted_at", "published_at", "closed_at", "awarded_at", "accepted_at", "paid_at",
            "elapsed_business_days", "touch_business_days", "people", "computed_at",
        )
    )  # fmt: skip


def _completed(measures: list[OpportunityMeasures]) -> list[OpportunityMeasures]:
    return [m for m in measures if m.paid_at is not None]


def flow_efficiency(measures: list[OpportunityMeasures]) -> float | None:
    """Touch time over elapsed time, summed over the files (each day weighs the same)."""
    elapsed = sum(m.elapsed_business_days for m in measures)
    return sum(m.touch_business_days for m in measures) / elapsed if elapsed else None


def baseline_table(measures: list[OpportunityMeasures]) -> Table:
    done = _completed(measures)
    efficiency = flow_efficiency(done)
    rows: list[list[object]] = [
        [
            _("Working days from draft to payment (median)"),
            rounded(median([m.elapsed_business_days for m in done])),
            BASELINE.elapsed_business_days,
        ],
        [
            _("Touch time: days someone worked on the file (median)"),
            rounded(median([m.touch_business_days for m in done])),
            BASELINE.touch_business_days,
        ],
        [
            _("Waiting time: days no one worked on the file (median)"),
            rounded(median([m.waiting_business_days for m in done])),
            BASELINE.waiting_business_days,
        ],
        [
            _("Flow efficiency (touch time ÷ elapsed time, %)"),
            rounded(None if efficiency is None else 100 * efficiency),
            round(100 * BASELINE.flow_efficiency),
        ],
        [
            _("People involved (median)"),
            rounded(median([m.people for m in done])),
            BASELINE.people,
        ],
    ]
    return Table(
        slug="baseline",
        caption=_("The marketplace against today's low-dollar-value contracts"),
        headers=[_("Measure"), _("Marketplace"), _("Baseline (2020)")],
        rows=rows,
        note=_(
            "Over the %(count)s opportunities published in the period and paid. Baseline: the "
            "Red Tape Reduction Report (2020), an average low-dollar-value contract in the "
            "Government of Canada: 15 weeks, 8 days of touch time, 11%% flow efficiency, 7 people."
        )
        % {"count": len(done)},
    )


def steps_table(measures: list[OpportunityMeasures]) -> Table:
    rows = []
    for start, end in STEPS:
        durations = [
            d
            for m in measures
            if (d := days_between(getattr(m, f"{start}_at"), getattr(m, f"{end}_at"))) is not None
        ]
        rows.append(
            [
                _("%(from)s → %(to)s") % {"from": STAGE_LABELS[start], "to": STAGE_LABELS[end]},
                len(durations),
                rounded(median(durations)),
                rounded(p90(durations)),
            ]
        )
    return Table(
        slug="cycle-time",
        caption=_("Cycle time by step, in calendar days"),
        headers=[_("Step"), _("Opportunities"), _("Median (days)"), _("90th percentile (days)")],
        rows=rows,
        chart_column=2,
        chart_unit="day",
    )


def quarters_table(measures: list[OpportunityMeasures]) -> Table:
    by_quarter: dict[str, list[OpportunityMeasures]] = defaultdict(list)
    for m in measures:
        # Read by `_published_in`, which leaves out the unpublished.
        by_quarter[fiscal_quarter(cast(dt.datetime, m.published_at))].append(m)
    rows = []
    for quarter in sorted(by_quarter):
        group = by_quarter[quarter]
        done = _completed(group)
        # Undrafted files (no start) drop out, as `days_between` gives None for them.
        cycle = [d for m in done if (d := days_between(m.drafted_at, m.paid_at)) is not None]
        efficiency = flow_efficiency(done)
        rows.append(
            [
                quarter,
                len(group),
                len(done),
                rounded(median(cycle)),
                rounded(p90(cycle)),
                rounded(None if efficiency is None else 100 * efficiency),
            ]
        )
    return Table(
        slug="quarters",
        caption=_("By fiscal quarter of publication"),
        headers=[
            _("Quarter"),
            pgettext("how many opportunities", "Published"),
            pgettext("how many opportunities", "Paid"),
            _("Draft to payment, median (days)"),
            _("Draft to payment, 90th percentile (days)"),
            _("Flow efficiency (%)"),
        ],
        rows=rows,
        chart_column=3,
        chart_unit="day",
    )


# --- Participation and reach -------------------------------------------------------------------


def participation_tables(period: Period) -> list[Table]:
    start, _end = period.bounds()
    closed = Opportunity.objects.filter(_published_in(period), closed_at__isnull=False)
    per_opportunity = list(
        closed.annotate(
            bid_count=Count("bids", filter=counted_bids("bids__"), distinct=True)
        ).values_list("bid_count", flat=True)
    )
    bids = Bid.objects.counted().filter(_published_in(period, "opportunity__"))
    # The suppliers who bid on the period's opportunities, with the first bid each ever made.
    profiles = list(
        SupplierProfile.objects.filter(user__in=bids.values("supplier_id"))
        .annotate(first_bid=Min("user__bids__submitted_at", filter=counted_bids("user__bids__")))
        .values_list("kind", "province", "postal_code", "first_bid")
    )
    first_timers = sum(1 for *_rest, first in profiles if first is not None and first >= start)
    at_least_three = sum(1 for n in per_opportunity if n >= 3)
    outside_ncr = sum(
        1 for _k, _p, postal, _f in profiles if not in_national_capital_region(postal)
    )
    kinds = Counter(kind for kind, *_rest in profiles)
    reach = Table(
        slug="participation",
        caption=_("Participation and reach"),
        headers=[_("Measure"), _("Value")],
        rows=[
            [_("Opportunities closed"), len(per_opportunity)],
            [_("Bids per opportunity (median)"), rounded(median(per_opportunity))],
            [
                _("Opportunities with 3 bids or more (%)"),
                rounded(100 * at_least_three / len(per_opportunity) if per_opportunity else None),
            ],
            [_("Suppliers who bid"), len(profiles)],
            [_("First-time suppliers (first bid in the period)"), first_timers],
            [_("Suppliers outside the National Capital Region"), outside_ncr],
            [_("Individuals"), kinds.get(SupplierProfile.Kind.INDIVIDUAL, 0)],
            [_("Organizations"), kinds.get(SupplierProfile.Kind.ORGANIZATION, 0)],
        ],
    )
    provinces = Counter(province for _k, province, *_rest in profiles)
    region = Table(
        slug="regions",
        caption=_("Suppliers who bid, by province or territory"),
        headers=[_("Province or territory"), _("Suppliers")],
        rows=[
            [str(Province(code).label) if code in Province.values else code, n]
            for code, n in sorted(provinces.items(), key=lambda item: (-item[1], item[0]))
        ],
        chart_column=1,
    )
    return [reach, region, awards_by_size_table(period)]


def awards_by_size_table(period: Period) -> Table:
    """Awards by size of supplier: individuals, then organizations by the people in them."""
    contracts = (
        Contract.objects.filter(_published_in(period, "opportunity__"))
        .exclude(status=Contract.Status.DECLINED)
        .values("supplier__supplier_profile__kind", "supplier__supplier_profile__size")
        .annotate(count=Count("pk"), value=Sum("value_cents"))
    )
    Size = SupplierProfile.Size
    buckets: dict[str, list[int]] = {}
    for row in contracts:
        individual = row["supplier__supplier_profile__kind"] == SupplierProfile.Kind.INDIVIDUAL
        key = "individual" if individual else row["supplier__supplier_profile__size"] or ""
        count, value = buckets.setdefault(key, [0, 0])
        buckets[key] = [count + row["count"], value + (row["value"] or 0)]
    labels = {
        "individual": _("Individuals"),
        **{
            size.value: _("Organizations: %(size)s") % {"size": _lowered(size.label)}
            for size in Size
        },
        "": _("Organizations that did not give their size"),
    }
    return Table(
        slug="awards-by-size",
        caption=_("Awards by size of supplier"),
        headers=[_("Supplier"), _("Awards"), _("Value including tax")],
        rows=[
            [labels[key], buckets[key][0], Cents(buckets[key][1])]
            for key in labels
            if key in buckets
        ],
        chart_column=1,
    )


# --- Open-source outcomes ----------------------------------------------------------------------


def repository(url: str) -> str:
    """The repository a delivery link points into: host/owner/name, lower case."""
    parts = urlsplit(url.strip())
    segments = [s for s in parts.path.split("/") if s][:2]
    return "/".join([parts.netloc.lower(), *segments]).lower().removesuffix(".git")


def open_source_table(period: Period) -> Table:
    accepted = (
        Contract.objects.filter(
            _published_in(period, "opportunity__"),
            status=Contract.Status.ACCEPTED,
            certified_at__isnull=False,
        )
        .exclude(delivery_url="")
        .values_list("certified_at", "delivery_url", "opportunity__licence")
    )
    repositories: dict[str, set[str]] = defaultdict(set)
    licences: dict[str, Counter] = defaultdict(Counter)
    work: Counter = Counter()
    for certified_at, url, licence in accepted:
        quarter = fiscal_quarter(cast(dt.datetime, certified_at))  # certified_at__isnull=False
        work[quarter] += 1
        repositories[quarter].add(repository(url))
        licences[quarter][licence] += 1
    rows = [
        [
            quarter,
            work[quarter],
            len(repositories[quarter]),
            ", ".join(f"{name} ({n})" for name, n in sorted(licences[quarter].items())),
        ]
        for quarter in sorted(work)
    ]
    return Table(
        slug="open-source",
        caption=_("Open-source work delivered, by fiscal quarter of acceptance"),
        headers=[_("Quarter"), _("Work accepted"), _("Repositories"), _("Licences")],
        rows=rows,
        chart_column=2,
    )


# --- Diversity --------------------------------------------------------------------------------


def diversity_quarter(period: Period) -> DiversitySummary | None:
    """The published self-identification figures of the last quarter that ended in the period,
    read from its snapshot (None when none is kept yet). Never computed here: a page view or
    "measure again now" must not move them (reports/diversity.py). Always a single quarter,
    never a running total, so two periods cannot be subtracted."""
    snapshot = (
        DiversitySnapshot.objects.filter(quarter_end__gte=period.start, quarter_end__lte=period.end)
        .order_by("-quarter_start")
        .first()
    )
    return None if snapshot is None else diversity.summary_from(snapshot)


def diversity_table(summary: DiversitySummary | None) -> Table:
    header, *rows = diversity.diversity_csv_rows(summary)
    return Table(
        slug="diversity",
        caption=_("Suppliers who self-identified, by group"),
        headers=[str(h) for h in header],
        rows=rows,
    )


@dataclass
class Figures:
    tables: list[Table]
    as_of: dt.datetime | None  # when the period's cycle times were last measured
    diversity: DiversitySummary | None  # the quarter's snapshot, None before the first
    computed_at: dt.datetime  # when these tables were computed from the data


def dashboard_figures(period: Period) -> Figures:
    measures = _measures(period)
    diversity_summary = diversity_quarter(period)
    tables = [
        baseline_table(measures),
        steps_table(measures),
        quarters_table(measures),
        *participation_tables(period),
        open_source_table(period),
        diversity_table(diversity_summary),
    ]
    return Figures(
        tables=tables,
        as_of=max((m.computed_at for m in measures), default=None),
        diversity=diversity_summary,
        computed_at=timezone.now(),
    )


# Part of the cache key: figures kept by an older version of these classes are never read back.
FIGURES_FORMAT = hashlib.sha256(
    repr(
        [
            [f.name for f in fields(cls)]
            for cls in (Figures, Table, DiversitySummary, diversity.DiversityRow)
        ]
        + ["cells are values the page formats (money as Cents), not text"]
    ).encode()
).hexdigest()[:12]


def dashboard_figures_cached(period: Period) -> Figures:
    """`dashboard_figures`, kept `METRICS_CACHE_SECONDS` per period, language and day.

    At five years of history the figures take seconds to compute and change slowly: the page
    and its CSV files serve the kept copy (it says when it was computed) until it expires or
    the measures are refreshed (`services.measures_refresh` replaces the version)."""
    name = ":".join(
        (
            FIGURES_FORMAT,
            get_language(),
            period.start.isoformat(),
            period.end.isoformat(),
            timezone.localdate().isoformat(),  # "the twelve months up to today" moves daily
        )
    )
    return cached_in(
        METRICS_DASHBOARD,
        name,
        lambda: dashboard_figures(period),
        seconds=settings.METRICS_CACHE_SECONDS,
    )


def headline_figures() -> dict[str, object]:
    """The program's figures since it began, as kept in the nightly snapshot."""
    measures = list(OpportunityMeasures.objects.all())
    done = _completed(measures)
    efficiency = flow_efficiency(done)
    closed = list(
        Opportunity.objects.filter(closed_at__isnull=False)
        .annotate(bid_count=Count("bids", filter=counted_bids("bids__"), distinct=True))
        .values_list("bid_count", flat=True)
    )
    return {
        "published": len(measures),
        "paid": len(done),
        "median_working_days_to_payment": median([m.elapsed_business_days for m in done]),
        "median_touch_days": median([m.touch_business_days for m in done]),
        "flow_efficiency": efficiency,
        "median_people": median([m.people for m in done]),
        "median_bids": median(closed),
        "suppliers_who_bid": Bid.objects.counted().values("supplier_id").distinct().count(),
    }
