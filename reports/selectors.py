"""Public reads for the open data: what may be published about each opportunity, and nothing
more.

What is public: every opportunity once published (never a draft or one in review), how many
bids it drew once closed, and — once awarded, as on the awarded-work page — the supplier who
holds the work, the contract and, when paid, the payment's date and amount. What is never read
here for publication: the other bidders, bids and scores, the panel, the buyer's people, the
suppliers' contact details and self-identification, invoice numbers and payment references.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from bids.models import Bid
from opportunities.models import Opportunity
from payments.fiscal import fiscal_year_bounds, fiscal_year_start
from payments.models import Contract, Payment

# Opportunities whose work was bought: awarded, being delivered, or delivered and paid.
PURCHASED = (
    Opportunity.Status.AWARDED,
    Opportunity.Status.IN_DELIVERY,
    Opportunity.Status.COMPLETED,
)
# A declined or defaulted contract passed the award to someone else: it is not the purchase.
ENDED_CONTRACTS = (Contract.Status.DECLINED, Contract.Status.DEFAULTED)


def _live_contracts() -> QuerySet[Contract]:
    return (
        Contract.objects.exclude(status__in=ENDED_CONTRACTS)
        .select_related("supplier__supplier_profile", "payment")
        .order_by("-created_at", "-pk")
    )


def _published(queryset: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Opportunities with what the open data needs, in a fixed number of queries."""
    return queryset.annotate(
        tenderers=Count("bids", filter=~Q(bids__status__in=Bid.UNCOUNTED))
    ).prefetch_related(
        Prefetch("contracts", queryset=_live_contracts(), to_attr="live_contracts"),
        "addenda",
    )


def ocds_opportunities() -> QuerySet[Opportunity]:
    """Every published opportunity, oldest first (the OCDS release package and the CSV)."""
    return _published(Opportunity.objects.public()).order_by("published_at", "pk")


def public_contract(opportunity: Opportunity) -> Contract | None:
    """The contract of a purchased opportunity, from an opportunity read by this module."""
    if opportunity.status not in PURCHASED:
        return None
    contracts = getattr(opportunity, "live_contracts", None)
    if contracts is None:  # not read through this module: fetch the same thing
        contracts = list(_live_contracts().filter(opportunity=opportunity)[:1])
    return contracts[0] if contracts else None


def supplier_names(contract: Contract) -> tuple[str, str]:
    """(name shown, legal name) of the supplier holding a contract, as the contract recorded
    them at the award and at certification, not as the profile says today; never an email."""
    return contract.supplier_names()


@dataclass(frozen=True)
class PurchaseFilters:
    fiscal_year: int | None = None  # the year in which the fiscal year starts (April 1)
    type: str = ""


def fiscal_year_of(moment: dt.datetime) -> int:
    """The federal fiscal year (April to March) of a moment, by the year it starts in."""
    return fiscal_year_start(timezone.localdate(moment)).year


def purchase_fiscal_years() -> list[int]:
    """The fiscal years in which something was awarded, newest first."""
    months = (
        Opportunity.objects.filter(status__in=PURCHASED, awarded_at__isnull=False)
        .datetimes("awarded_at", "month")
        .order_by()
    )
    return sorted({fiscal_year_of(month) for month in months}, reverse=True)


def purchases(*, filters: PurchaseFilters | None = None) -> QuerySet[Opportunity]:
    """What was bought, most recently awarded first (the public "what we bought" page)."""
    filters = filters or PurchaseFilters()
    queryset = Opportunity.objects.public().filter(status__in=PURCHASED)
    if filters.fiscal_year is not None:
        start, end = fiscal_year_bounds(dt.date(filters.fiscal_year, 4, 1))
        queryset = queryset.filter(awarded_at__gte=start, awarded_at__lt=end)
    if filters.type:
        queryset = queryset.filter(type=filters.type)
    return _published(queryset).order_by("-awarded_at", "-pk")


@dataclass(frozen=True)
class Purchase:
    """One line of "what we bought", from an opportunity read by `purchases`."""

    opportunity: Opportunity
    supplier_name: str
    supplier_legal_name: str
    value_cents: int
    signed_at: dt.datetime | None
    paid_at: dt.datetime | None
    paid_cents: int | None
    # The accepted delivery: the open-source outcome (under the opportunity's licence).
    delivered_url: str


def purchase(opportunity: Opportunity) -> Purchase:
    contract = public_contract(opportunity)
    if contract is None:
        return Purchase(opportunity, "", "", opportunity.value_cents, None, None, None, "")
    payment = getattr(contract, "payment", None)
    paid: Payment | None = (
        payment if payment is not None and payment.status == Payment.Status.PAID else None
    )
    name, legal = supplier_names(contract)
    accepted = contract.status == Contract.Status.ACCEPTED
    return Purchase(
        opportunity=opportunity,
        supplier_name=name,
        supplier_legal_name=legal,
        value_cents=contract.value_cents,
        signed_at=contract.terms_accepted_at,
        paid_at=paid.paid_at if paid else None,
        paid_cents=paid.total_cents if paid else None,
        delivered_url=contract.delivery_url if accepted else "",
    )
