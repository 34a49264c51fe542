"""The contract's flow: award → acceptance of the terms → delivery → changes or certification,
and its ends (the awardee declines, the buyer declares a default).

What happens to the offer and to the next ranked bid when a contract ends is evaluation's, and
`lifecycle.award` sequences the two (docs/DESIGN.md, "Layers"): this module never imports
evaluation. Certification issues the payment (`payments.paying.payment_create`).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bids.pdf import CleanPdf
from bids.services import checked_pdf
from marketplace import formats
from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.calendar import add_business_days
from marketplace.models import Role, User
from marketplace.selectors import users_with_role
from marketplace.services import audit_event_record, notification_send
from opportunities.models import Opportunity
from opportunities.progress import opportunity_start_delivery

from . import permissions
from .fiscal import awarded_in_fiscal_year, fiscal_year_start
from .history import contract_context, contract_transition
from .models import Contract, DeliveryFile
from .paying import payment_create

Status = Contract.Status

# Lazy: the form shows it in the language of each request, not the one active at import.
CERTIFICATION = gettext_lazy(
    "Under section 34 of the Financial Administration Act, I certify that the work described in "
    "this contract was received as specified and that the price is in accordance with it."
)


def _supplier_details_record(contract: Contract) -> None:
    """Copy the supplier's name and address from their profile onto the contract (not saved):
    what the award, the invoice and the open data show from then on, whatever the supplier
    later changes in their profile."""
    profile = getattr(contract.supplier, "supplier_profile", None)
    if profile is None:
        return
    contract.supplier_legal_name = profile.legal_name
    contract.supplier_trading_name = profile.trading_name
    contract.supplier_province = profile.province
    contract.supplier_postal_code = profile.postal_code
    contract.supplier_gst_hst_number = profile.gst_hst_number
    contract.supplier_details_at = timezone.now()


def contract_create(*, opportunity: Opportunity, bid) -> Contract:
    """When a bid is offered the award (lifecycle.award); inside that transaction. The
    supplier's details are recorded as they are at the award (see contract_certify): the
    public award notice names the supplier from them."""
    now = timezone.now()
    contract = Contract(
        opportunity=opportunity,
        bid=bid,
        supplier_id=bid.supplier_id,
        value_cents=opportunity.value_cents,
        created_at=now,
        accept_by=add_business_days(now, settings.OFFER_ACCEPT_BUSINESS_DAYS),
    )
    _supplier_details_record(contract)
    contract.save()
    audit_event_record(actor=None, verb="contract.created", target=contract)
    _fiscal_year_check(contract)
    public_pages_changed_on_commit()
    return contract


def _fiscal_year_check(contract: Contract) -> None:
    """Flag to the program admins, once per supplier and fiscal year, cumulative awards over
    the threshold."""
    day = timezone.localdate(contract.created_at)
    total = (
        awarded_in_fiscal_year(day)
        .filter(supplier_id=contract.supplier_id)
        .aggregate(total=Sum("value_cents"))["total"]
    )
    if (total or 0) <= settings.SUPPLIER_FISCAL_YEAR_FLAG_CENTS:
        return
    start = fiscal_year_start(day)
    audit_event_record(
        actor=None,
        verb="supplier.fiscal_year_threshold",
        target=contract,
        data={"supplier": contract.supplier_id, "fiscal_year": start.year, "cents": total},
    )
    profile = getattr(contract.supplier, "supplier_profile", None)
    notification_send(
        kind="supplier.fiscal_year_threshold",
        recipients=users_with_role(Role.PROGRAM_ADMIN),
        event_key=f"{contract.supplier_id}:{start.year}",
        context=contract_context(
            contract,
            supplier=profile.display_name if profile else contract.supplier.email,
            total=notices.money(total),
            threshold=notices.money(settings.SUPPLIER_FISCAL_YEAR_FLAG_CENTS),
            fiscal_year=f"{start.year}-{start.year + 1}",
            link=notices.link("payments:oversight"),
        ),
    )


def answer_deadline_passed(contract: Contract, *, now: dt.datetime | None = None) -> bool:
    """The time to accept or decline the award is over (a contract without a deadline, drawn
    up before there was one, never lapses)."""
    return contract.accept_by is not None and (now or timezone.now()) >= contract.accept_by


def can_decline(user: User, contract: Contract, *, now: dt.datetime | None = None) -> bool:
    """The awardee, while the offer is open: before accepting the terms and the deadline."""
    return (
        permissions.is_contract_supplier(user, contract)
        and contract.status == Status.AWAITING_ACCEPTANCE
        and not answer_deadline_passed(contract, now=now)
    )


def _deadline_refused(contract: Contract) -> ValidationError:
    assert contract.accept_by is not None
    return ValidationError(
        _("The time to answer this award ended on %(deadline)s: it passes to the next bid in rank.")
        % {"deadline": formats.datetime(contract.accept_by)}
    )


@transaction.atomic
def contract_decline(*, supplier: User, contract: Contract, reason: str = "") -> Contract:
    """The awardee declines before accepting and before the deadline
    (lifecycle.award.contract_decline, which then passes the award on); the buyer is told, in
    their language, with the reason if one is given. Once the terms are accepted, only a
    default ends the contract."""
    if not permissions.is_contract_supplier(supplier, contract):
        raise PermissionDenied
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    if locked.status == Status.DECLINED:
        raise ValidationError(_("This award has already ended."))
    if locked.status != Status.AWAITING_ACCEPTANCE:
        raise ValidationError(
            _("You accepted this contract: to stop, contact the buyer, who can end it.")
        )
    if answer_deadline_passed(locked):
        raise _deadline_refused(locked)
    reason = reason.strip()
    contract = contract_transition(
        contract, Status.DECLINED, actor=supplier, verb="contract.declined"
    )
    contract.ended_at = timezone.now()
    contract.save()
    public_pages_changed_on_commit()  # the award notice is withdrawn
    notification_send(
        kind="contract.declined",
        recipients=[contract.opportunity.buyer],
        event_key=str(contract.pk),
        context=contract_context(
            contract, reason=reason or notices.translated(gettext_lazy("No reason given."))
        ),
    )
    return contract


@transaction.atomic
def contract_lapse(*, contract: Contract, now: dt.datetime | None = None) -> Contract | None:
    """The system ends an award its awardee did not answer by the deadline, as a decline
    (lifecycle.award.contract_lapse then passes the award on). The buyer and the supplier are
    told. None when there is nothing to end: accepted or declined meanwhile, or not due yet."""
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    if locked.status != Status.AWAITING_ACCEPTANCE or not answer_deadline_passed(locked, now=now):
        return None
    assert locked.accept_by is not None
    contract = contract_transition(
        contract, Status.DECLINED, actor=None, verb="contract.lapsed",
        accept_by=locked.accept_by.isoformat(),
    )  # fmt: skip
    contract.ended_at = timezone.now()
    contract.save()
    public_pages_changed_on_commit()  # the award notice is withdrawn
    notification_send(
        kind="contract.lapsed",
        recipients=[contract.opportunity.buyer, contract.supplier],
        event_key=str(contract.pk),
        context=contract_context(contract, due=notices.moment(locked.accept_by)),
    )
    return contract


@transaction.atomic
def contract_accept_terms(*, supplier: User, contract: Contract) -> Contract:
    if not permissions.is_contract_supplier(supplier, contract):
        raise PermissionDenied
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    if locked.status == Status.AWAITING_ACCEPTANCE and answer_deadline_passed(locked):
        raise _deadline_refused(locked)
    contract = contract_transition(
        contract, Status.IN_PROGRESS, actor=supplier, verb="contract.accepted",
        terms=settings.BID_TERMS_VERSION,
    )  # fmt: skip
    contract.terms_version = settings.BID_TERMS_VERSION
    contract.terms_accepted_at = timezone.now()
    contract.save()
    opportunity = Opportunity.objects.select_for_update().get(pk=contract.opportunity_id)
    if opportunity.status == Opportunity.Status.AWARDED:
        opportunity_start_delivery(opportunity=opportunity, actor=supplier)
        public_pages_changed_on_commit()  # the posting now reads "in delivery"
    notification_send(
        kind="contract.accepted",
        recipients=[contract.opportunity.buyer],
        event_key=str(contract.pk),
        context=contract_context(contract),
    )
    return contract


def contract_deliver(
    *, supplier: User, contract: Contract, url: str, notes: str, upload: File | None = None
) -> Contract:
    """The work, as a link, notes and optionally a PDF (checked and stripped like bid
    attachments, kept out of public reach). The file is checked before the transaction starts:
    however slow it is to read, no row waits on it."""
    if not permissions.is_contract_supplier(supplier, contract):
        raise PermissionDenied
    if not url.strip():
        raise ValidationError(
            {"delivery_url": _("Give the link to the pull request or repository.")}
        )
    checked = None
    if upload is not None:
        try:
            checked = checked_pdf(upload)
        except ValidationError as refused:
            raise ValidationError({"file": refused.messages}) from refused
    return _contract_deliver_record(
        supplier=supplier, contract=contract, url=url, notes=notes, checked=checked
    )


@transaction.atomic
def _contract_deliver_record(
    *,
    supplier: User,
    contract: Contract,
    url: str,
    notes: str,
    checked: tuple[CleanPdf, str] | None,
) -> Contract:
    contract = contract_transition(
        contract, Status.DELIVERED, actor=supplier, verb="contract.delivered"
    )
    contract.delivery_url = url.strip()
    contract.delivery_notes = notes.strip()
    contract.delivered_at = timezone.now()
    contract.deliveries += 1
    contract.full_clean()
    contract.save()
    if checked is not None:
        pdf, name = checked
        delivered = DeliveryFile(
            contract=contract, delivery=contract.deliveries, name=name,
            size=len(pdf.content), sha256=pdf.sha256,
        )  # fmt: skip
        delivered.file.save("upload.pdf", ContentFile(pdf.content), save=False)
        delivered.save()
        audit_event_record(
            actor=supplier, verb="contract.file_delivered", target=contract,
            data={"file": delivered.pk, "sha256": pdf.sha256},
        )  # fmt: skip
    notification_send(
        kind="contract.delivered",
        recipients=[contract.opportunity.buyer],
        event_key=f"{contract.pk}:{contract.deliveries}",
        context=contract_context(contract),
    )
    return contract


@transaction.atomic
def contract_request_changes(*, buyer: User, contract: Contract, reasons: str) -> Contract:
    if not permissions.is_contract_buyer(buyer, contract):
        raise PermissionDenied
    if not reasons.strip():
        raise ValidationError({"reasons": _("Say what must change, and why.")})
    contract = contract_transition(
        contract, Status.CHANGES_REQUESTED, actor=buyer, verb="contract.changes_requested"
    )
    contract.change_request = reasons.strip()
    contract.cure_deadline = add_business_days(
        timezone.now(), settings.CURE_PERIOD_BUSINESS_DAYS
    ).date()
    contract.save()
    notification_send(
        kind="contract.changes_requested",
        recipients=[contract.supplier],
        event_key=f"{contract.pk}:{contract.deliveries}",
        context=contract_context(
            contract, reasons=contract.change_request, due=notices.day(contract.cure_deadline)
        ),
    )
    return contract


@transaction.atomic
def contract_certify(
    *, buyer: User, contract: Contract, confirmed: bool, language: str | None = None
) -> Contract:
    """The buyer accepts the work and certifies it was received (FAA section 34).

    The statement is recorded as the buyer read it: in `language`, the page's, or their
    preferred language when none is given (or not one of the site's)."""
    if not permissions.is_contract_buyer(buyer, contract):
        raise PermissionDenied
    if not confirmed:
        raise ValidationError({"confirmed": _("Confirm the certification to accept the work.")})
    contract = contract_transition(
        contract, Status.ACCEPTED, actor=buyer, verb="contract.certified"
    )
    contract.certified_at = timezone.now()
    contract.certified_by = buyer
    # The invoice names the supplier as they are now, once and for all: the details taken
    # at the award are brought up to date this one last time.
    _supplier_details_record(contract)
    if language not in dict(settings.LANGUAGES):
        language = buyer.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        contract.certification_statement = str(CERTIFICATION)
    contract.certification_language = language
    contract.save()
    public_pages_changed_on_commit()  # the award notice names the supplier as recorded now
    notification_send(
        kind="contract.certified",
        recipients=[contract.supplier],
        event_key=str(contract.pk),
        context=contract_context(contract),
    )
    payment_create(contract=contract)
    return contract


def can_declare_default(contract: Contract, *, today=None) -> bool:
    today = today or timezone.localdate()
    if contract.status == Status.CHANGES_REQUESTED:
        return contract.cure_deadline is not None and today > contract.cure_deadline
    return contract.status in (Status.AWAITING_ACCEPTANCE, Status.IN_PROGRESS) and (
        contract.opportunity.expected_delivery_date is not None
        and today > contract.opportunity.expected_delivery_date
    )


@transaction.atomic
def contract_default(*, buyer: User, contract: Contract, reason: str) -> Contract:
    """After the cure period (or the expected delivery date) the buyer ends the contract;
    lifecycle.award.contract_default then passes the award to the next in rank."""
    if not permissions.is_contract_buyer(buyer, contract):
        raise PermissionDenied
    if not can_declare_default(contract):
        raise ValidationError(
            _("A default can be declared only after the cure period or the delivery date.")
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the default.")})
    contract = contract_transition(
        contract, Status.DEFAULTED, actor=buyer, verb="contract.defaulted"
    )
    contract.ended_at = timezone.now()
    contract.save()
    public_pages_changed_on_commit()  # the award notice is withdrawn
    return contract


def contracts_remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Daily: the supplier and the buyer hear, once per deadline, of a delivery past its date
    (the expected delivery date, or the end of the cure period after a change request)."""
    today = timezone.localdate(now or timezone.now())
    overdue = Contract.objects.filter(
        Q(
            status__in=(Status.AWAITING_ACCEPTANCE, Status.IN_PROGRESS),
            opportunity__expected_delivery_date__lt=today,
        )
        | Q(status=Status.CHANGES_REQUESTED, cure_deadline__lt=today)
    ).select_related("opportunity__buyer", "supplier")
    count = 0
    for contract in overdue:
        due = (
            contract.cure_deadline
            if contract.status == Status.CHANGES_REQUESTED
            else contract.opportunity.expected_delivery_date
        )
        # The query kept only contracts whose deadline of this kind is set (and past).
        assert due is not None
        with transaction.atomic():
            created = notification_send(
                kind="contract.overdue",
                recipients=[contract.supplier, contract.opportunity.buyer],
                event_key=f"{contract.pk}:{due.isoformat()}",
                context=contract_context(contract, due=notices.day(due)),
            )
        count += bool(created)
    return count
