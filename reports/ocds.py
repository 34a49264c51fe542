"""The open data as an Open Contracting Data Standard (OCDS 1.1) release package.

A pure builder: opportunities read by `reports.selectors.ocds_opportunities` in, a
JSON-ready dict out; it makes no query of its own.

Choices, and why:
- One release per opportunity (one contracting process, `ocid` = "<prefix>-<opportunity id>"),
  describing it as it stands, tagged with the stage it reached: "tender" (open, closed,
  being evaluated or unsuccessful), "tenderCancellation", "award", "contract" (the supplier
  accepted the terms) or "implementation" (delivered and paid). The release `date` is the
  last recorded event the release shows, and the release `id` carries the stage and that
  date, so a release that shows something new gets a new id (OCDS releases are immutable).
- Language: `language` is "en"; the French texts are OCDS 1.1's own language variants, the
  same field name with a language suffix (`title_fr`, `description_fr`, `name_fr`,
  `rationale_fr`), which the release schema's patternProperties allow. No extension needed.
- Amounts are dollars as JSON numbers, from integer cents (`cents / 100` is the nearest
  double to the exact amount, and prints as the two-decimal figure).
- Nothing private: the buyer is the department, never a person; the only supplier named is
  the one holding the work once awarded (as on the awarded-work page), by business name and
  legal name, without contact details; bids appear as a count once the bidding closed; no
  scores, evaluators, invoice numbers, payment references or self-identification data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, overload

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from marketplace.models import SupplierProfile
from opportunities.models import Opportunity, OpportunityType, SelectionMethod
from payments.models import Contract, Payment

from . import selectors

OCDS_VERSION = "1.1"
LICENCE_URL = "https://open.canada.ca/en/open-government-licence-canada"
LICENCE_URL_FR = "https://ouvert.canada.ca/fr/licence-du-gouvernement-ouvert-canada"
STANDARD_URL = "https://standard.open-contracting.org/1.1/en/"
STANDARD_URL_FR = "https://standard.open-contracting.org/1.1/fr/"
BUYER = {
    "id": "ESDC",
    "name": "Employment and Social Development Canada",
    "name_fr": "Emploi et Développement social Canada",
}
PROCUREMENT_METHOD_DETAILS = (
    "Micro-acquisition: an open call for fixed-price work, bids evaluated blind on rated "
    "criteria, ties settled by a verifiable draw"
)
PROCUREMENT_METHOD_DETAILS_FR = (
    "Micro-acquisition : appel ouvert pour un travail à prix fixe, soumissions évaluées à "
    "l'aveugle selon des critères cotés, égalités départagées par un tirage vérifiable"
)
# Canada counts small and medium enterprises as under 500 people; micro as under 10.
PARTY_SCALES = {
    SupplierProfile.Size.ONE: "micro",
    SupplierProfile.Size.UP_TO_9: "micro",
    SupplierProfile.Size.UP_TO_49: "sme",
    SupplierProfile.Size.UP_TO_99: "sme",
    SupplierProfile.Size.UP_TO_499: "sme",
    SupplierProfile.Size.LARGE: "large",
}
DELIVERABLE_DOCUMENT_TYPE = "x_openSourceDeliverable"
WORK_TYPE_SCHEME = "x_microAcquisitionWorkType"

TAGS: dict[str, str] = {
    Opportunity.Status.CANCELLED: "tenderCancellation",
    Opportunity.Status.AWARDED: "award",
    Opportunity.Status.IN_DELIVERY: "contract",
    Opportunity.Status.COMPLETED: "implementation",
}
TENDER_STATUSES: dict[str, str] = {
    Opportunity.Status.PUBLISHED: "active",
    Opportunity.Status.CLOSED: "active",
    Opportunity.Status.EVALUATING: "active",
    Opportunity.Status.AWARDED: "complete",
    Opportunity.Status.IN_DELIVERY: "complete",
    Opportunity.Status.COMPLETED: "complete",
    Opportunity.Status.CANCELLED: "cancelled",
    Opportunity.Status.UNSUCCESSFUL: "unsuccessful",
}


def ocid(opportunity: Opportunity, *, prefix: str | None = None) -> str:
    return f"{prefix or settings.OCDS_OCID_PREFIX}-{opportunity.pk}"


def amount(cents: int, currency: str) -> dict[str, Any]:
    return {"amount": cents / 100, "currency": currency}


@overload
def timestamp(moment: dt.datetime) -> str: ...
@overload
def timestamp(moment: None) -> None: ...
@overload
def timestamp(moment: dt.datetime | None) -> str | None: ...
def timestamp(moment: dt.datetime | None) -> str | None:
    """An RFC 3339 date-time in UTC, to the second."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _in(language: str, label: Any) -> str:
    with translation.override(language):
        return str(label)


def _bilingual(field: str, english: str, french: str) -> dict[str, str]:
    """An OCDS text field and its French variant (left out when there is no French text)."""
    texts = {field: english}
    if french:
        texts[f"{field}_fr"] = french
    return texts


def _period(start: dt.datetime | None, end: dt.datetime | None) -> dict[str, str] | None:
    period = {
        key: timestamp(moment)
        for key, moment in (("startDate", start), ("endDate", end))
        if moment is not None
    }
    return period or None


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what is unknown: OCDS asks publishers to omit fields rather than send nulls."""
    return {key: value for key, value in data.items() if value is not None}


def absolute_url(name: str, *args: Any, site_url: str | None = None) -> str:
    """The English page's address: the canonical one for the open data."""
    with translation.override("en"):
        return f"{(site_url or settings.SITE_URL).rstrip('/')}{reverse(name, args=args)}"


class _Process:
    """One opportunity's contracting process, as far as it may be published."""

    def __init__(self, opportunity: Opportunity, *, prefix: str, site_url: str):
        self.opportunity = opportunity
        self.ocid = ocid(opportunity, prefix=prefix)
        self.site_url = site_url
        self.contract: Contract | None = selectors.public_contract(opportunity)
        payment = getattr(self.contract, "payment", None) if self.contract else None
        self.payment: Payment | None = (
            payment if payment is not None and payment.status == Payment.Status.PAID else None
        )
        self.addenda = list(opportunity.addenda.all())

    # --- dates -------------------------------------------------------------------------------

    def events(self) -> list[dt.datetime]:
        """When each thing this release shows was recorded."""
        opportunity, contract = self.opportunity, self.contract
        moments = [
            opportunity.published_at,
            opportunity.closed_at,
            opportunity.cancelled_at,
            *(addendum.created_at for addendum in self.addenda),
        ]
        if opportunity.status == Opportunity.Status.UNSUCCESSFUL:
            # No timestamp of its own: the last save of the opportunity is that transition.
            moments.append(opportunity.updated_at)
        if contract is not None:
            moments += [contract.created_at, contract.terms_accepted_at, contract.certified_at]
        if self.payment is not None:
            moments.append(self.payment.paid_at)
        return [moment for moment in moments if moment is not None]

    def date(self) -> dt.datetime:
        events = self.events()
        return max(events) if events else self.opportunity.created_at

    # --- parties -----------------------------------------------------------------------------

    def supplier_reference(self) -> dict[str, str] | None:
        if self.contract is None:
            return None
        name, _legal = selectors.supplier_names(self.contract)
        return {"id": f"supplier-{self.contract.supplier_id}", "name": name}

    def parties(self) -> list[dict[str, Any]]:
        buyer_roles = ["buyer", "procuringEntity"] + (["payer"] if self.payment else [])
        parties: list[dict[str, Any]] = [{**BUYER, "roles": buyer_roles}]
        supplier = self.supplier_reference()
        if supplier is not None:
            assert self.contract is not None  # a supplier is named only with their contract
            _name, legal = selectors.supplier_names(self.contract)
            parties.append(
                {
                    **supplier,
                    "identifier": {"legalName": legal},
                    "roles": ["supplier"] + (["payee"] if self.payment else []),
                    **({"details": {"scale": scale}} if (scale := self.supplier_scale()) else {}),
                }
            )
        return parties

    def supplier_scale(self) -> str:
        """OCDS's party scale (codelist partyScale): selfEmployed, micro, sme or large."""
        assert self.contract is not None  # asked only for a named supplier (`parties`)
        profile = getattr(self.contract.supplier, "supplier_profile", None)
        if profile is None:
            return ""
        if profile.kind == SupplierProfile.Kind.INDIVIDUAL:
            return "selfEmployed"
        return PARTY_SCALES.get(profile.size, "")

    # --- sections ----------------------------------------------------------------------------

    def tender(self) -> dict[str, Any]:
        opportunity = self.opportunity
        work_type = OpportunityType(opportunity.type)
        method = SelectionMethod(opportunity.selection_method)
        closed = opportunity.closed_at is not None
        return _compact(
            {
                "id": f"{self.ocid}-tender",
                **_bilingual("title", opportunity.title_en, opportunity.title_fr),
                **_bilingual(
                    "description",
                    opportunity.summary_en or opportunity.description_en,
                    opportunity.summary_fr or opportunity.description_fr,
                ),
                "status": TENDER_STATUSES[opportunity.status],
                "statusDetails": _in("en", Opportunity.Status(opportunity.status).label),
                "items": [
                    {
                        "id": "1",
                        **_bilingual("description", opportunity.title_en, opportunity.title_fr),
                        "classification": {
                            "scheme": WORK_TYPE_SCHEME,
                            "id": work_type.value,
                            "description": _in("en", work_type.label),
                            "description_fr": _in("fr", work_type.label),
                        },
                        "quantity": 1,
                    }
                ],
                "value": amount(opportunity.value_cents, opportunity.currency),
                "procurementMethod": "open",
                "procurementMethodDetails": PROCUREMENT_METHOD_DETAILS,
                "procurementMethodDetails_fr": PROCUREMENT_METHOD_DETAILS_FR,
                "mainProcurementCategory": "services",
                "awardCriteria": "qualityOnly",  # the price is fixed: bids compete on merit
                "awardCriteriaDetails": _in("en", method.label),
                "awardCriteriaDetails_fr": _in("fr", method.label),
                "submissionMethod": ["electronicSubmission"],
                "datePublished": timestamp(opportunity.published_at),
                "tenderPeriod": _period(opportunity.published_at, opportunity.closes_at),
                "enquiryPeriod": _period(opportunity.published_at, opportunity.question_deadline),
                # Counted only once bidding closed: a running count is not published.
                "numberOfTenderers": getattr(opportunity, "tenderers", None) if closed else None,
                "documents": [
                    {
                        "id": f"{self.ocid}-notice",
                        "documentType": "tenderNotice",
                        "title": "Opportunity notice",
                        "title_fr": "Avis d'occasion",
                        "url": absolute_url(
                            "opportunities:detail", opportunity.pk, site_url=self.site_url
                        ),
                        "format": "text/html",
                        "language": "en",
                    }
                ],
                "amendments": [
                    {
                        "id": str(addendum.number),
                        "date": timestamp(addendum.created_at),
                        **_bilingual("rationale", addendum.note_en, addendum.note_fr),
                    }
                    for addendum in self.addenda
                ]
                or None,
            }
        )

    def award_id(self) -> str:
        assert self.contract is not None  # the award and contract sections need one
        return f"{self.ocid}-award-{self.contract.pk}"

    def awards(self) -> list[dict[str, Any]] | None:
        if self.contract is None:
            return None
        return [
            {
                "id": self.award_id(),
                "status": "active",
                "date": timestamp(self.contract.created_at),
                "value": amount(self.contract.value_cents, self.opportunity.currency),
                "suppliers": [self.supplier_reference()],
            }
        ]

    def contract_status(self) -> str:
        if self.opportunity.status == Opportunity.Status.COMPLETED:
            return "terminated"  # OCDS 1.1: was in force and has come to a close
        assert self.contract is not None  # asked only by `contracts`, which needs one
        if self.contract.status == Contract.Status.AWAITING_ACCEPTANCE:
            return "pending"
        return "active"

    def implementation(self) -> dict[str, Any] | None:
        contract, payment = self.contract, self.payment
        assert contract is not None  # asked only by `contracts`, which needs one
        implementation: dict[str, Any] = {}
        if payment is not None:
            implementation["transactions"] = [
                {
                    "id": f"{self.ocid}-payment-{payment.pk}",
                    "date": timestamp(payment.paid_at),
                    "value": amount(payment.total_cents, payment.currency),
                    "payer": {"id": BUYER["id"], "name": BUYER["name"]},
                    "payee": self.supplier_reference(),
                }
            ]
        if contract.status == Contract.Status.ACCEPTED and contract.delivery_url:
            licence = self.opportunity.licence
            implementation["documents"] = [
                {
                    "id": f"{self.ocid}-deliverable",
                    "documentType": DELIVERABLE_DOCUMENT_TYPE,
                    "title": "Delivered work, accepted",
                    "title_fr": "Travail livré et accepté",
                    "description": f"Open-source licence: {licence}",
                    "description_fr": f"Licence libre : {licence}",
                    "url": contract.delivery_url,
                    "datePublished": timestamp(contract.certified_at),
                }
            ]
        return implementation or None

    def contracts(self) -> list[dict[str, Any]] | None:
        contract = self.contract
        if contract is None:
            return None
        end = contract.certified_at if contract.status == Contract.Status.ACCEPTED else None
        return [
            _compact(
                {
                    "id": f"{self.ocid}-contract-{contract.pk}",
                    "awardID": self.award_id(),
                    **_bilingual("title", self.opportunity.title_en, self.opportunity.title_fr),
                    "status": self.contract_status(),
                    "statusDetails": _in("en", Contract.Status(contract.status).label),
                    "value": amount(contract.value_cents, self.opportunity.currency),
                    "dateSigned": timestamp(contract.terms_accepted_at),
                    "period": _period(contract.terms_accepted_at, end),
                    "implementation": self.implementation(),
                }
            )
        ]

    def release(self) -> dict[str, Any]:
        date = self.date()
        tag = TAGS.get(self.opportunity.status, "tender")
        stamp = date.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return _compact(
            {
                "ocid": self.ocid,
                "id": f"{self.ocid}-{tag}-{stamp}",
                "date": timestamp(date),
                "tag": [tag],
                "initiationType": "tender",
                "language": "en",
                "parties": self.parties(),
                "buyer": {"id": BUYER["id"], "name": BUYER["name"]},
                "tender": self.tender(),
                "awards": self.awards(),
                "contracts": self.contracts(),
            }
        )


def release(
    opportunity: Opportunity, *, site_url: str | None = None, prefix: str | None = None
) -> dict[str, Any]:
    """The OCDS release of one published opportunity."""
    if opportunity.status in (Opportunity.Status.DRAFT, Opportunity.Status.IN_REVIEW):
        raise ValueError("An unpublished opportunity has no public release.")
    return _Process(
        opportunity,
        prefix=prefix or settings.OCDS_OCID_PREFIX,
        site_url=(site_url or settings.SITE_URL).rstrip("/"),
    ).release()


def release_package(
    opportunities: Iterable[Opportunity],
    *,
    site_url: str | None = None,
    prefix: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The release package of `opportunities` (read through `selectors.ocds_opportunities`).

    `publishedDate` is the date of the newest release: the package is generated on demand,
    and OCDS asks for the date of the last change to its contents then.
    """
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    releases = [release(o, site_url=site_url, prefix=prefix) for o in opportunities]
    published = max((r["date"] for r in releases), default=None) or timestamp(now or timezone.now())
    return {
        "uri": absolute_url("reports:ocds_package", site_url=site_url),
        "version": OCDS_VERSION,
        "publishedDate": published,
        "publisher": {"name": BUYER["name"]},
        "license": LICENCE_URL,
        "publicationPolicy": absolute_url("reports:open_data", site_url=site_url),
        "releases": releases,
    }
