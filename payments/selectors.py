"""Read-side queries of payments: the invoice, and what the program team must look at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone, translation

from marketplace.models import Province, User

from . import contracts, fiscal
from .invoice_pdf import InvoiceData
from .models import Contract, Payment
from .tax import TaxSplit

DEPARTMENT = "Employment and Social Development Canada / Emploi et Développement social Canada"


def certification_language(statement: str, recorded: str = "") -> str:
    """The language a recorded section 34 statement was certified in, "" when unknown: the
    contract page quotes it as it was certified, marked with its language (WCAG 3.1.2). The
    language recorded with it (`recorded`) when there is one; for a certification recorded
    before the language was, the language whose wording of today it matches."""
    if recorded in dict(settings.LANGUAGES):
        return recorded
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            if statement == str(contracts.CERTIFICATION):
                return code
    return ""


def certification_translation(statement: str, recorded: str = "") -> str:
    """The section 34 statement in the reader's language when the one recorded was certified
    in the other: shown beside it, as a translation, never in its place. "" when the reader's
    language is the one certified in, or when that language is not known (an older wording):
    then nothing would say what the translation is of."""
    certified_in = certification_language(statement, recorded)
    if not certified_in or certified_in == (translation.get_language() or "")[:2]:
        return ""
    return str(contracts.CERTIFICATION)


def invoice_data(payment: Payment) -> InvoiceData:
    """The invoice as fixed when the work was certified: figures stored on the payment, the
    supplier's name and address as the contract recorded them then (not their profile now)."""
    contract = payment.contract
    opportunity = contract.opportunity
    supplier = contract.supplier_details()
    buyer = opportunity.buyer
    return InvoiceData(
        number=payment.invoice_number,
        issued_on=payment.issued_on,
        supplier_name=supplier.legal_name
        + (f" ({supplier.trading_name})" if supplier.trading_name else ""),
        supplier_address=f"{Province(payment.province).label}\n{supplier.postal_code}",
        supplier_gst_hst_number=payment.gst_hst_number,
        buyer_name=buyer.get_full_name() or buyer.email,
        buyer_email=buyer.email,
        department=DEPARTMENT,
        title_en=opportunity.title_en,
        title_fr=opportunity.title_fr or opportunity.title_en,
        reference=f"MA-OPP-{opportunity.pk}",
        tax=TaxSplit(
            subtotal_cents=payment.subtotal_cents,
            tax_cents=payment.tax_cents,
            total_cents=payment.total_cents,
            rate_bp=payment.tax_rate_bp,
            label=payment.tax_label,
        ),
        certified_by=(
            contract.certified_by.get_full_name() or contract.certified_by.email
            if contract.certified_by
            else ""
        ),
        certified_on=timezone.localdate(contract.certified_at) if contract.certified_at else None,
        paid_on=(
            payment.paid_on or (timezone.localdate(payment.paid_at) if payment.paid_at else None)
            if payment.status == Payment.Status.PAID
            else None
        ),
    )


def payments_needing_attention(*, now: dt.datetime | None = None):
    """Disputed and failed payments, and Stripe payments pending for more than a day."""
    now = now or timezone.now()
    return (
        Payment.objects.filter(
            Q(status__in=(Payment.Status.DISPUTED, Payment.Status.FAILED))
            | Q(status=Payment.Status.PENDING, started_at__lt=now - dt.timedelta(days=1))
        )
        .select_related("contract__opportunity", "contract__supplier__supplier_profile", "payer")
        .order_by("due_since")
    )


@dataclass(frozen=True)
class FiscalYearFlag:
    supplier: User
    total_cents: int


def fiscal_year_flags(*, day: dt.date | None = None) -> list[FiscalYearFlag]:
    """Suppliers whose awards this fiscal year are over the threshold, largest first."""
    rows = (
        fiscal.awarded_in_fiscal_year(day or timezone.localdate())
        .values("supplier")
        .annotate(total=Sum("value_cents"))
        .filter(total__gt=settings.SUPPLIER_FISCAL_YEAR_FLAG_CENTS)
        .order_by("-total")
    )
    suppliers = User.objects.select_related("supplier_profile").in_bulk(
        [row["supplier"] for row in rows]
    )
    return [
        FiscalYearFlag(supplier=suppliers[row["supplier"]], total_cents=row["total"])
        for row in rows
    ]


def payments_due():
    """Due (or failed) payments, oldest first: what the card holders must do."""
    return (
        Payment.objects.filter(status__in=Payment.OPEN)
        .select_related("contract__opportunity")
        .order_by("due_since")
    )


def supplier_contracts(*, user: User):
    """A supplier's contracts that are not ended, newest first, with their payment if any."""
    return (
        Contract.objects.filter(supplier=user)
        .exclude(status__in=(Contract.Status.DECLINED, Contract.Status.DEFAULTED))
        .select_related("opportunity", "payment")
        .order_by("-created_at")
    )
