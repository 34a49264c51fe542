"""Every write of delivery and acceptance: terms, delivery, changes, certification, default."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bids.pdf import CleanPdf
from bids.services import checked_pdf
from marketplace import formats
from marketplace import notifications as notices
from marketplace.models import Approval, Role, User
from marketplace.permissions import is_program_admin
from marketplace.selectors import users_with_role
from marketplace.services import audit_event_record, notification_send
from opportunities import services as opportunity_services
from opportunities.models import Guardrails, Opportunity

from . import gateway, permissions, tax
from .models import (
    CardLimit,
    Contract,
    DeliveryFile,
    Payment,
    PaymentEvent,
    StripeAccount,
    StripeEvent,
)

logger = logging.getLogger(__name__)

Status = Contract.Status

# Lazy: the form shows it in the language of each request, not the one active at import.
CERTIFICATION = gettext_lazy(
    "Under section 34 of the Financial Administration Act, I certify that the work described in "
    "this contract was received as specified and that the price is in accordance with it."
)


def _transition(contract: Contract, to: str, *, actor: User, verb: str, **data) -> Contract:
    locked = Contract.objects.select_for_update().select_related("opportunity").get(pk=contract.pk)
    if not locked.can_transition_to(to):
        raise ValidationError(
            _("This contract is “%(status)s”: this step is not possible now.")
            % {"status": Status(locked.status).label}
        )
    previous, locked.status = locked.status, to
    audit_event_record(
        actor=actor, verb=verb, target=locked, data={"from": previous, "to": to, **data}
    )
    return locked


def _context(contract: Contract, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("payments:contract", pk=contract.pk))
    return opportunity_services.notice_context(contract.opportunity, **extra)


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
    """When a bid is offered the award (evaluation.services); inside that transaction. The
    supplier's details are recorded as they are at the award (see contract_certify)."""
    contract = Contract(
        opportunity=opportunity,
        bid=bid,
        supplier_id=bid.supplier_id,
        value_cents=opportunity.value_cents,
    )
    _supplier_details_record(contract)
    contract.save()
    audit_event_record(actor=None, verb="contract.created", target=contract)
    _fiscal_year_check(contract)
    return contract


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


def awarded_in_fiscal_year(day: dt.date):
    """Contracts awarded in the fiscal year of `day` (declined awards do not count)."""
    start, end = fiscal_year_bounds(day)
    return Contract.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        status=Contract.Status.DECLINED
    )


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
        context=_context(
            contract,
            supplier=profile.display_name if profile else contract.supplier.email,
            total=notices.money(total),
            threshold=notices.money(settings.SUPPLIER_FISCAL_YEAR_FLAG_CENTS),
            fiscal_year=f"{start.year}-{start.year + 1}",
            link=notices.link("payments:oversight"),
        ),
    )


def contract_decline(*, bid, supplier: User) -> None:
    """The awardee declines before accepting (evaluation.services.offer_end, in its
    transaction). Once the terms are accepted, only a default ends the contract."""
    contract = Contract.objects.select_for_update().filter(bid=bid).first()
    if contract is None:
        return
    if contract.status != Status.AWAITING_ACCEPTANCE:
        raise ValidationError(
            _("You accepted this contract: to stop, contact the buyer, who can end it.")
        )
    contract = _transition(contract, Status.DECLINED, actor=supplier, verb="contract.declined")
    contract.ended_at = timezone.now()
    contract.save()


@transaction.atomic
def contract_accept_terms(*, supplier: User, contract: Contract) -> Contract:
    if not permissions.is_contract_supplier(supplier, contract):
        raise PermissionDenied
    contract = _transition(
        contract, Status.IN_PROGRESS, actor=supplier, verb="contract.accepted",
        terms=settings.BID_TERMS_VERSION,
    )  # fmt: skip
    contract.terms_version = settings.BID_TERMS_VERSION
    contract.terms_accepted_at = timezone.now()
    contract.save()
    opportunity = Opportunity.objects.select_for_update().get(pk=contract.opportunity_id)
    if opportunity.status == Opportunity.Status.AWARDED:
        opportunity_services.opportunity_start_delivery(opportunity=opportunity, actor=supplier)
    notification_send(
        kind="contract.accepted",
        recipients=[contract.opportunity.buyer],
        event_key=str(contract.pk),
        context=_context(contract),
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
    contract = _transition(contract, Status.DELIVERED, actor=supplier, verb="contract.delivered")
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
        context=_context(contract),
    )
    return contract


@transaction.atomic
def contract_request_changes(*, buyer: User, contract: Contract, reasons: str) -> Contract:
    if not permissions.is_contract_buyer(buyer, contract):
        raise PermissionDenied
    if not reasons.strip():
        raise ValidationError({"reasons": _("Say what must change, and why.")})
    contract = _transition(
        contract, Status.CHANGES_REQUESTED, actor=buyer, verb="contract.changes_requested"
    )
    contract.change_request = reasons.strip()
    contract.cure_deadline = opportunity_services.add_business_days(
        timezone.now(), settings.CURE_PERIOD_BUSINESS_DAYS
    ).date()
    contract.save()
    notification_send(
        kind="contract.changes_requested",
        recipients=[contract.supplier],
        event_key=f"{contract.pk}:{contract.deliveries}",
        context=_context(
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
    contract = _transition(contract, Status.ACCEPTED, actor=buyer, verb="contract.certified")
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
    notification_send(
        kind="contract.certified",
        recipients=[contract.supplier],
        event_key=str(contract.pk),
        context=_context(contract),
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
    """After the cure period (or the expected delivery date): the award passes to the next."""
    from evaluation.models import Offer
    from evaluation.services import offer_end

    if not permissions.is_contract_buyer(buyer, contract):
        raise PermissionDenied
    if not can_declare_default(contract):
        raise ValidationError(
            _("A default can be declared only after the cure period or the delivery date.")
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the default.")})
    contract = _transition(contract, Status.DEFAULTED, actor=buyer, verb="contract.defaulted")
    contract.ended_at = timezone.now()
    contract.save()
    offer = Offer.objects.get(packet__bid=contract.bid, outcome=Offer.Outcome.OPEN)
    offer_end(actor=buyer, offer=offer, outcome=Offer.Outcome.DEFAULTED, reason=reason)
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
        with transaction.atomic():
            created = notification_send(
                kind="contract.overdue",
                recipients=[contract.supplier, contract.opportunity.buyer],
                event_key=f"{contract.pk}:{due.isoformat()}",
                context=_context(contract, due=notices.day(due)),
            )
        count += bool(created)
    return count


# --- Payments --------------------------------------------------------------------------------

PStatus = Payment.Status


def _payment_move(payment: Payment, to: str, *, actor: User | None, kind: str, **data) -> Payment:
    """Lock the payment, check the graph, append the event. Callers run in a transaction."""
    locked = (
        Payment.objects.select_for_update()
        .select_related("contract__opportunity", "contract__supplier")
        .get(pk=payment.pk)
    )
    if not locked.can_transition_to(to):
        raise ValidationError(
            _("This payment is “%(status)s”: this step is not possible now.")
            % {"status": PStatus(locked.status).label}
        )
    PaymentEvent.objects.create(
        payment=locked,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        from_status=locked.status,
        to_status=to,
        data=data,
    )
    audit_event_record(
        actor=actor, verb=f"payment.{kind}", target=locked,
        data={"from": locked.status, "to": to, **data},
    )  # fmt: skip
    locked.status = to
    return locked


def _payment_note(payment: Payment, kind: str, *, actor: User | None = None, **data) -> None:
    """An event that does not move the payment (a duplicate, a transfer, a payout)."""
    PaymentEvent.objects.create(
        payment=payment,
        kind=kind,
        actor=actor,
        from_status=payment.status,
        to_status=payment.status,
        data=data,
    )


def _payment_context(payment: Payment, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("payments:detail", pk=payment.pk))
    return _context(payment.contract, amount=notices.money(payment.total_cents), **extra)


def card_holders_for(payment: Payment, *, holders: list[User] | None = None) -> list[User]:
    """Who may pay: active card holders (`holders` when the caller has them already), less
    the certifying buyer when duties are separated."""
    if holders is None:
        holders = list(users_with_role(Role.CARD_HOLDER))
    certifier = payment.contract.certified_by_id
    if settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER and certifier:
        return [holder for holder in holders if holder.pk != certifier]
    return holders


def payment_create(*, contract: Contract) -> Payment:
    """When the buyer certifies the work (in contract_certify's transaction): the invoice
    figures are fixed now, from the supplier's details recorded on the contract at
    certification, and the payment is due."""
    split = tax.split_tax_included(
        contract.value_cents,
        province=contract.supplier_province,
        registered=bool(contract.supplier_gst_hst_number),
    )
    today = timezone.localdate()
    payment = Payment.objects.create(
        contract=contract,
        invoice_number=f"MA-{today.year}-{contract.pk:05d}",
        issued_on=today,
        province=contract.supplier_province,
        gst_hst_number=contract.supplier_gst_hst_number,
        subtotal_cents=split.subtotal_cents,
        tax_label=split.label,
        tax_rate_bp=split.rate_bp,
        tax_cents=split.tax_cents,
        total_cents=split.total_cents,
        due_since=contract.certified_at or timezone.now(),
    )
    PaymentEvent.objects.create(payment=payment, kind="due", to_status=PStatus.DUE)
    audit_event_record(actor=None, verb="payment.due", target=payment)
    notification_send(
        kind="payment.due",
        recipients=card_holders_for(payment),
        event_key=str(payment.pk),
        context=_payment_context(payment),
    )
    return payment


def _same_organization(payer: User, supplier: User, contract: Contract | None = None) -> bool:
    """A card holder cannot pay themselves, nor a supplier that shares their email domain or
    whose legal or contact name is theirs: as the profile says now, or as the contract (and
    so the invoice) recorded the supplier, which a later rename of the profile does not
    change."""
    if payer.pk == supplier.pk:
        return True
    domain = lambda email: email.rsplit("@", 1)[-1].lower() if email else ""  # noqa: E731
    profile = getattr(supplier, "supplier_profile", None)
    supplier_domains = {domain(supplier.email)}
    names: set[str] = set()
    if profile is not None:
        supplier_domains.add(domain(profile.email))
        names = {profile.legal_name.casefold().strip(), profile.contact_name.casefold().strip()}
    if contract is not None:
        names |= {name.casefold().strip() for name in contract.supplier_names()}
    payer_name = payer.get_full_name().casefold().strip()
    return domain(payer.email) in supplier_domains or bool(payer_name and payer_name in names)


def month_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month of `moment`, in the marketplace's time zone."""
    local = timezone.localtime(moment)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, (start + dt.timedelta(days=32)).replace(day=1)


def month_committed(payer: User, *, moment: dt.datetime, exclude: Payment | None = None) -> int:
    """Cents the card holder has committed in the calendar month of `moment`: every payment
    in flight or paid (Payment.COMMITTED) whose `committed_at` falls in that month. A payment
    is counted once, in the month of its commitment, whenever it is later paid: a Stripe
    attempt started on 31 March and paid on 1 April is March's.

    A declined card attempt counts too while its Checkout page is open: the card holder can
    still pay on it (Stripe keeps it open for another card), and freeing the limit then would
    let them spend it twice over. It stops counting when the page expires
    (`_checkout_closed`)."""
    start, end = month_bounds(moment)
    payable = Q(status=PStatus.FAILED, provider=Payment.Provider.STRIPE) & ~Q(
        checkout_session_id=""
    )
    payments = Payment.objects.filter(
        Q(status__in=Payment.COMMITTED) | payable,
        payer=payer,
        committed_at__gte=start,
        committed_at__lt=end,
    )
    if exclude is not None:
        payments = payments.exclude(pk=exclude.pk)
    return payments.aggregate(total=Sum("total_cents"))["total"] or 0


def payment_problems(payment: Payment, payer: User, *, lock: bool = False) -> list[str]:
    """Every finance guardrail this card holder would break by paying this payment now."""
    problems = []
    contract = payment.contract
    if not permissions.is_card_holder(payer):
        problems.append(_("Only a card holder can pay."))
        return problems
    if settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER and contract.certified_by_id == payer.pk:
        problems.append(_("You certified this work, so another card holder must pay for it."))
    if _same_organization(payer, contract.supplier, contract):
        problems.append(_("You cannot pay this supplier: you belong to its organization."))
    cap = Guardrails.current().value_cap_cents
    if payment.total_cents > cap:
        problems.append(
            _("The total, %(total)s, is over the program cap of %(cap)s.")
            % {"total": formats.money(payment.total_cents),
               "cap": formats.money(cap)}
        )  # fmt: skip
    limits = CardLimit.objects.filter(card_holder=payer)
    if lock:
        limits = limits.select_for_update()
    limit = limits.first()
    if limit is None:
        problems.append(_("Your card limits are not set. Ask a program administrator to set them."))
        return problems
    if payment.total_cents > limit.per_transaction_cents:
        problems.append(
            _("The total, %(total)s, is over your single-purchase limit of %(limit)s.")
            % {"total": formats.money(payment.total_cents),
               "limit": formats.money(limit.per_transaction_cents)}
        )  # fmt: skip
    used = month_committed(payer, moment=timezone.now(), exclude=payment)
    if used + payment.total_cents > limit.monthly_cents:
        problems.append(
            _(
                "Paying %(total)s would take you over your monthly limit of %(limit)s "
                "(%(used)s already committed this month)."
            )
            % {"total": formats.money(payment.total_cents),
               "limit": formats.money(limit.monthly_cents),
               "used": formats.money(used)}
        )  # fmt: skip
    return problems


@transaction.atomic
def payment_start(*, payer: User, payment: Payment, provider: str, **data: Any) -> Payment:
    """The card holder pays through a provider (payments.providers), within the guardrails.

    The payment row is locked, then the card holder's limits, so a double click, a replayed
    request or two card holders at once give one payment, and limits hold under concurrency."""
    from .providers import PROVIDERS

    if provider not in PROVIDERS:
        raise ValidationError(_("Choose how to pay."))
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status not in (*Payment.OPEN, PStatus.DISPUTED) or (
        locked.status == PStatus.DISPUTED and provider != Payment.Provider.RECORDED_CARD
    ):
        raise ValidationError(
            _("This payment is already “%(status)s”: nothing more to pay.")
            % {"status": PStatus(locked.status).label}
        )
    locked = Payment.objects.select_related(
        "contract__supplier__supplier_profile", "contract__opportunity"
    ).get(pk=locked.pk)
    problems = payment_problems(locked, payer, lock=True)
    if problems:
        raise ValidationError(problems)
    chosen = PROVIDERS[provider]
    reason = chosen.unavailable_reason(locked)
    if reason:
        raise ValidationError(reason)
    return chosen.start(payment=locked, payer=payer, **data)


def payment_record(
    *, payer: User, payment: Payment, amount_cents: int, paid_on: dt.date, reference: str,
    method: str,
) -> Payment:  # fmt: skip
    """Recorded acquisition card: called by the provider inside payment_start."""
    errors = {}
    if amount_cents != payment.total_cents:
        errors["amount"] = _("Record the invoice total, %(total)s.") % {
            "total": formats.money(payment.total_cents)
        }
    if paid_on > timezone.localdate():
        errors["paid_on"] = _("The date cannot be in the future.")
    elif paid_on < timezone.localdate(payment.due_since):
        errors["paid_on"] = _("The date cannot be before the work was certified.")
    if not reference.strip():
        errors["reference"] = _("Give the reference of the card payment or transfer.")
    if errors:
        raise ValidationError(errors)
    # A correction of a disputed record keeps the month the money was first committed in.
    committed_before = payment.status in Payment.COMMITTED and payment.committed_at
    payment = _payment_move(
        payment, PStatus.RECORDED, actor=payer, kind="recorded",
        amount_cents=amount_cents, paid_on=paid_on.isoformat(), reference=reference.strip(),
        method=method,
    )  # fmt: skip
    now = timezone.now()
    payment.provider = Payment.Provider.RECORDED_CARD
    payment.payer = payer
    payment.started_at = payment.started_at or now
    # Not `started_at`, which may be an earlier month's failed card attempt.
    payment.committed_at = committed_before or now
    payment.recorded_at = now
    payment.paid_on = paid_on
    payment.reference = reference.strip()
    payment.method = method
    # A declined card attempt's page is still payable: paid there too, the supplier would be
    # paid twice. Its id goes to the task that expires it; a late payment on it no longer
    # matches the payment (session_mismatch), so it is reported, not taken.
    _checkout_leave(payment, reason="recorded")
    payment.checkout_session_id = payment.checkout_url = ""
    payment.save()
    notification_send(
        kind="payment.recorded",
        recipients=[payment.contract.supplier],
        event_key=f"{payment.pk}:{now.timestamp()}",
        context=_payment_context(
            payment, reference=payment.reference, paid_on=notices.day(paid_on)
        ),
    )
    return payment


def payment_checkout_begin(*, payer: User, payment: Payment, account: StripeAccount) -> Payment:
    """Stripe: called by the provider inside payment_start. The session is made by a task."""
    from marketplace.tasks import enqueue_on_commit

    from .tasks import payment_checkout_create

    payment = _payment_move(payment, PStatus.PENDING, actor=payer, kind="checkout_started")
    payment.provider = Payment.Provider.STRIPE
    payment.payer = payer
    payment.started_at = payment.committed_at = timezone.now()
    payment.attempt += 1
    payment.stripe_account = account.account_id
    _checkout_leave(payment, reason="new_attempt")  # the earlier attempt's page, if any
    payment.checkout_session_id = payment.checkout_url = payment.payment_intent_id = ""
    payment.failure_message = ""
    payment.save()
    enqueue_on_commit(payment_checkout_create, payment.pk, payment.attempt)
    return payment


def payment_checkout_create(*, payment_id: int, attempt: int) -> Payment | None:
    """Task body: create the Checkout session for this attempt (idempotent: the key is the
    attempt's, so a retried task gets the same session back). Transient errors propagate
    for the task to retry; a refusal fails the payment."""
    payment = Payment.objects.select_related("contract__opportunity").get(pk=payment_id)
    if payment.status != PStatus.PENDING or payment.attempt != attempt:
        return None
    if payment.checkout_session_id:
        return payment
    from django.urls import reverse

    site = settings.SITE_URL.rstrip("/")
    detail = site + reverse("payments:detail", args=[payment.pk])
    opportunity = payment.contract.opportunity
    try:
        session = gateway.checkout_create(
            payment=payment,
            name=f"{payment.invoice_number} — {opportunity.title_en}",
            success_url=site + reverse("payments:checkout_return", args=[payment.pk]),
            cancel_url=detail,
        )
    except gateway.TRANSIENT_ERRORS:
        raise  # the task retries with backoff
    except gateway.StripeError as error:  # refused: retrying would not help
        with transaction.atomic():
            failed = _payment_move(
                payment, PStatus.FAILED, actor=None, kind="checkout_refused",
                error=str(getattr(error, "user_message", "") or error),
            )  # fmt: skip
            failed.failure_message = str(getattr(error, "user_message", "") or error)[:500]
            failed.save()
            _notify_failed(failed)
        return failed
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PStatus.PENDING or locked.attempt != attempt:
            # Another attempt began (or the payment was recorded) while Stripe made this page:
            # nobody waits for it, and it must not stay payable.
            _checkout_withdraw(locked, session["id"], reason="abandoned_attempt")
            return locked
        locked.checkout_session_id = session["id"]
        locked.checkout_url = session.get("url") or ""
        locked.payment_intent_id = session.get("payment_intent") or ""
        locked.save()
        _payment_note(locked, "checkout_created", session=session["id"])
    return locked


# A session left behind, and what became of it (one of the latter per session, at most).
WITHDRAW_KIND = "checkout_withdraw"
WITHDRAWN_KINDS = ("checkout_withdrawn", "checkout_withdrawn_paid")


def _checkout_leave(payment: Payment, *, reason: str) -> None:
    """The payment leaves its current Checkout session behind (a new attempt, a payment
    recorded outside Stripe): have it expired. Callers hold the payment's lock."""
    if payment.checkout_session_id:
        _checkout_withdraw(payment, payment.checkout_session_id, reason=reason)


def _checkout_withdraw(payment: Payment, session_id: str, *, reason: str) -> None:
    """Stripe keeps a Checkout page payable for up to 24 hours: one the marketplace no longer
    waits for is expired at Stripe by a task, once this transaction commits. The note keeps
    the session's id (the payment's own field is cleared) for the task, and for the sweeper
    in payments_reconcile should the task be lost."""
    from marketplace.tasks import enqueue_on_commit

    from .tasks import payment_checkout_expire

    if payment.events.filter(kind=WITHDRAW_KIND, data__session=session_id).exists():
        return
    _payment_note(payment, WITHDRAW_KIND, session=session_id, reason=reason)
    enqueue_on_commit(payment_checkout_expire, payment.pk, session_id)


def _checkout_withdrawn(payment: Payment, session_id: str) -> bool:
    return payment.events.filter(kind__in=WITHDRAWN_KINDS, data__session=session_id).exists()


def payment_checkout_expire(*, payment_id: int, session_id: str) -> str:
    """Task body: expire a Checkout session the payment left behind. Idempotent: once the
    outcome is noted nothing is asked again, and the request's key is the session's, so a
    retry after an answer that never arrived replays it. Transient errors propagate for the
    task to retry. Stripe refuses to expire a session that is not open: it is then looked
    at, and a completed one means the card was charged on a page nobody waited for, which
    is reported as a webhook that does not match would be."""
    payment = Payment.objects.get(pk=payment_id)
    if _checkout_withdrawn(payment, session_id):
        return "done"
    if session_id == payment.checkout_session_id:
        return "current"  # never the page of the attempt under way
    try:
        session = gateway.checkout_expire(session_id)
        outcome = "expired"
    except gateway.InvalidRequestError as refused:  # not open (or unknown): what is it now?
        try:
            session = gateway.checkout_retrieve(session_id)
        except gateway.InvalidRequestError:
            session = {"id": session_id, "status": "missing"}
        status = str(session.get("status") or "unknown")
        if status == "open":  # refused for another reason: not done, the sweeper asks again
            raise refused
        outcome = "already_expired" if status == "expired" else status
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment_id)
        if _checkout_withdrawn(locked, session_id):
            return "done"
        if outcome == "complete":
            _payment_mismatch(
                locked,
                {"session": _differs(locked.checkout_session_id, session_id)},
                kind="checkout_withdrawn_paid",
                session=session_id,
                payment_status=str(session.get("payment_status") or ""),
            )
        else:
            _payment_note(locked, "checkout_withdrawn", session=session_id, outcome=outcome)
    return outcome


def _notify_failed(payment: Payment) -> None:
    if payment.payer_id is None:
        return
    notification_send(
        kind="payment.failed",
        recipients=[payment.payer],
        event_key=f"{payment.pk}:{payment.attempt}",
        context=_payment_context(payment, reason=payment.failure_message),
    )


def _payment_paid(payment: Payment, *, actor: User | None, kind: str, **data) -> Payment:
    """Money reached the supplier (Stripe said so, or the supplier confirmed): the opportunity
    is completed and everyone concerned is told. Idempotent: a paid payment stays as it is."""
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status == PStatus.PAID:
        _payment_note(locked, f"{kind}_again", **data)
        return locked
    previous = locked.status
    locked = _payment_move(locked, PStatus.PAID, actor=actor, kind=kind, **data)
    if previous not in Payment.COMMITTED:  # a failed attempt paid after all: dated by its start
        locked.committed_at = locked.started_at or timezone.now()
    locked.paid_at = timezone.now()
    locked.save()
    opportunity = Opportunity.objects.select_for_update().get(pk=locked.contract.opportunity_id)
    if opportunity.status == Opportunity.Status.IN_DELIVERY:
        opportunity_services.opportunity_complete(opportunity=opportunity, actor=actor)
    recipients = [locked.contract.opportunity.buyer]
    if locked.payer is not None:
        recipients.append(locked.payer)
    notification_send(
        kind="payment.received",
        recipients=recipients,
        event_key=str(locked.pk),
        context=_payment_context(locked),
    )
    if locked.provider == Payment.Provider.STRIPE:
        notification_send(
            kind="payment.sent",
            recipients=[locked.contract.supplier],
            event_key=str(locked.pk),
            context=_payment_context(locked),
        )
    return locked


@transaction.atomic
def payment_confirm_receipt(*, supplier: User, payment: Payment) -> Payment:
    if not permissions.is_contract_supplier(supplier, payment.contract):
        raise PermissionDenied
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status == PStatus.PAID and locked.confirmed_at is not None:
        return locked  # confirmed already (a double click): nothing more to record
    if locked.status not in (PStatus.RECORDED, PStatus.DISPUTED):
        raise ValidationError(_("There is no recorded payment to confirm."))
    paid = _payment_paid(locked, actor=supplier, kind="receipt_confirmed")
    paid.confirmed_at = timezone.now()
    paid.save()
    return paid


@transaction.atomic
def payment_report_missing(*, supplier: User, payment: Payment, reason: str) -> Payment:
    """The supplier says the recorded payment did not arrive."""
    if not permissions.is_contract_supplier(supplier, payment.contract):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Say what is wrong with the recorded payment.")})
    return _payment_dispute(payment, actor=supplier, reason=reason.strip())


def _payment_dispute(payment: Payment, *, actor: User | None, reason: str) -> Payment:
    payment = _payment_move(payment, PStatus.DISPUTED, actor=actor, kind="disputed", reason=reason)
    payment.disputed_at = timezone.now()
    payment.dispute_reason = reason
    payment.save()
    admins = users_with_role(Role.PROGRAM_ADMIN)
    recipients = [*admins, *([payment.payer] if payment.payer_id else [])]
    notification_send(
        kind="payment.disputed",
        recipients=recipients,
        event_key=f"{payment.pk}:{payment.disputed_at.timestamp()}",
        context=_payment_context(payment, reason=reason),
    )
    return payment


def payments_flag_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Recorded payments the supplier has not confirmed in time become disputed."""
    now = now or timezone.now()
    flagged = 0
    candidates = Payment.objects.filter(status=PStatus.RECORDED).values_list("pk", "recorded_at")
    for pk, recorded_at in candidates:
        deadline = opportunity_services.add_business_days(
            recorded_at, settings.PAYMENT_CONFIRMATION_BUSINESS_DAYS
        )
        if deadline > now:
            continue
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=pk)
            if payment.status != PStatus.RECORDED:
                continue
            with translation.override(settings.LANGUAGE_CODE):
                reason = _(
                    "The supplier did not confirm receipt within %(days)s business days."
                ) % {"days": settings.PAYMENT_CONFIRMATION_BUSINESS_DAYS}
            _payment_dispute(payment, actor=None, reason=reason)
            flagged += 1
    return flagged


def payments_remind(*, now: dt.datetime | None = None) -> int:
    """Daily: card holders hear of every payment due for more than N business days."""
    now = now or timezone.now()
    reminded = 0
    holders = list(users_with_role(Role.CARD_HOLDER))
    for payment in Payment.objects.filter(status__in=Payment.OPEN).select_related(
        "contract__opportunity"
    ):
        if (
            opportunity_services.add_business_days(
                payment.due_since, settings.PAYMENT_REMINDER_BUSINESS_DAYS
            )
            > now
        ):
            continue
        with transaction.atomic():
            notification_send(
                kind="payment.reminder",
                recipients=card_holders_for(payment, holders=holders),
                event_key=f"{payment.pk}:{timezone.localdate(now).isoformat()}",
                context=_payment_context(payment, since=notices.moment(payment.due_since)),
            )
        reminded += 1
    return reminded


# --- Stripe accounts and webhooks ------------------------------------------------------------


def stripe_account_ensure(*, supplier: User) -> StripeAccount:
    """The supplier's Connect Express account, created on first use (idempotent per user)."""
    existing = StripeAccount.objects.filter(user=supplier).first()
    if existing is not None:
        return existing
    profile = supplier.supplier_profile
    account = gateway.account_create(
        user_id=supplier.pk,
        email=profile.email or supplier.email,
        individual=profile.kind == profile.Kind.INDIVIDUAL,
    )
    try:
        with transaction.atomic():
            created = StripeAccount.objects.create(user=supplier, account_id=account["id"])
            audit_event_record(actor=supplier, verb="stripe.account_created", target=created)
    except IntegrityError:  # a double click: the idempotency key gave the same account
        return StripeAccount.objects.get(user=supplier)
    return created


def stripe_account_apply(account: StripeAccount, data: Any, *, at: dt.datetime) -> bool:
    """Apply Stripe's view of the account unless a newer one was applied already."""
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if locked.synced_at is not None and at < locked.synced_at:
            return False
        locked.details_submitted = bool(data.get("details_submitted"))
        locked.charges_enabled = bool(data.get("charges_enabled"))
        locked.payouts_enabled = bool(data.get("payouts_enabled"))
        locked.synced_at = at
        locked.save()
    return True


def stripe_account_refresh(account: StripeAccount) -> StripeAccount:
    # Stripe's event times are whole seconds: an event of this very second still applies.
    now = timezone.now().replace(microsecond=0)
    stripe_account_apply(account, gateway.account_retrieve(account.account_id), at=now)
    account.refresh_from_db()
    return account


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify and store a webhook event once. Returns None for a duplicate; raises ValueError
    (or the library's signature error) when the event is not Stripe's, or is dated in the
    future (gateway.EventRefused: recorded in the audit trail, and not stored, so that Stripe's
    retry is taken once the clocks agree)."""
    try:
        event = gateway.event_construct(payload, signature)
    except gateway.EventRefused as refused:
        with transaction.atomic():
            audit_event_record(
                actor=None,
                verb="stripe.event_refused",
                data={
                    "event": str(refused.event.get("id", ""))[:255],
                    "type": str(refused.event.get("type", ""))[:100],
                    "account": str(refused.event.get("account") or "")[:64],
                    "created": refused.event.get("created"),
                    "reason": refused.reason,
                },
            )
        logger.warning("Refused Stripe event %s: %s", refused.event.get("id"), refused.reason)
        raise
    created = dt.datetime.fromtimestamp(int(event["created"]), tz=dt.UTC)
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=event["id"],
                type=event["type"],
                account=event.get("account") or "",
                created=created,
                payload=event,
            )
    except IntegrityError:
        return None
    from marketplace.tasks import enqueue_on_commit

    from .tasks import stripe_event_process

    enqueue_on_commit(stripe_event_process, stored.pk)
    return stored


def _payment_for(data: dict) -> Payment | None:
    metadata = data.get("metadata") or {}
    pk = metadata.get("payment_id") or data.get("client_reference_id")
    if not pk and str(data.get("transfer_group", "")).startswith("marketplace-payment-"):
        pk = data["transfer_group"].rsplit("-", 1)[-1]
    if not pk or not str(pk).isdigit():
        return None
    return Payment.objects.filter(pk=int(pk)).first()


@transaction.atomic
def stripe_event_process(*, event_pk: int) -> bool:
    """Apply one stored event. Safe to run twice, and in any order with the others."""
    event = StripeEvent.objects.select_for_update().get(pk=event_pk)
    if event.processed_at is not None:
        return False
    data = event.payload["data"]["object"]
    kind = event.type
    if kind == "account.updated":
        account = StripeAccount.objects.filter(account_id=data.get("id")).first()
        if account is not None:
            stripe_account_apply(account, data, at=event.created)
    elif kind == "payout.paid":
        _payout_paid(event)
    else:
        payment = _payment_for(data)
        if payment is not None:
            _payment_event(payment, event, data)
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at", "mismatch"])
    return True


PAID_SESSION_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


def _differs(expected: Any, received: Any) -> dict[str, Any]:
    return {"expected": expected, "received": received}


def session_mismatch(payment: Payment, session: dict) -> dict[str, Any]:
    """What in a paid Checkout session does not match the payment: the amount, the currency
    and the session itself, which must be the current attempt's (an earlier attempt's, paid
    late, is not this payment's money as the card holder last asked for it)."""
    problems = {}
    if session.get("id") != payment.checkout_session_id:
        problems["session"] = _differs(payment.checkout_session_id, session.get("id"))
    if session.get("amount_total") != payment.total_cents:
        problems["amount"] = _differs(payment.total_cents, session.get("amount_total"))
    if str(session.get("currency") or "").lower() != payment.currency.lower():
        problems["currency"] = _differs(payment.currency.lower(), session.get("currency"))
    return problems


def intent_mismatch(payment: Payment, intent: dict) -> dict[str, Any]:
    """What in a succeeded payment intent does not match the payment: the amount received,
    the currency, the connected account the funds go to, and the attempt."""
    problems = {}
    if payment.payment_intent_id and intent.get("id") != payment.payment_intent_id:
        problems["payment_intent"] = _differs(payment.payment_intent_id, intent.get("id"))
    attempt = (intent.get("metadata") or {}).get("attempt")
    if attempt != str(payment.attempt):
        problems["attempt"] = _differs(str(payment.attempt), attempt)
    received = intent.get("amount_received", intent.get("amount"))
    if received != payment.total_cents:
        problems["amount"] = _differs(payment.total_cents, received)
    if str(intent.get("currency") or "").lower() != payment.currency.lower():
        problems["currency"] = _differs(payment.currency.lower(), intent.get("currency"))
    destination = (intent.get("transfer_data") or {}).get("destination")
    if destination != payment.stripe_account:
        problems["destination"] = _differs(payment.stripe_account, destination)
    return problems


# The events `_payment_event` acts on (the others are only kept in the payment's history).
ACTING_EVENTS = (
    *PAID_SESSION_EVENTS,
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)


def _acts(event: StripeEvent) -> bool:
    return event.type in ACTING_EVENTS or event.type.startswith("transfer.")


def _event_mismatch(payment: Payment, event: StripeEvent, data: dict) -> dict[str, Any]:
    """What in an event does not match the payment it names. Any event sent for another
    connected account than the payment's is refused. Our sessions, payment intents and
    transfers are the platform's (destination charges), so the events that act on a payment
    carry no `account`: one sent for a connected account, even the payee's own, is about that
    account's own Checkout page naming our payment (it would mark it paid, or fail the attempt
    under way), and is refused too. An event that would pay is compared in full."""
    problems = {}
    if event.account and (event.account != payment.stripe_account or _acts(event)):
        problems["account"] = _differs("", event.account)
    if event.type in PAID_SESSION_EVENTS and data.get("payment_status") == "paid":
        problems.update(session_mismatch(payment, data))
    elif event.type == "payment_intent.succeeded":
        problems.update(intent_mismatch(payment, data))
    elif event.type.startswith("transfer.") and data.get("object") == "transfer":
        # Recorded on the payment only when it is the transfer to the payment's supplier.
        if data.get("destination") != payment.stripe_account:
            problems["destination"] = _differs(payment.stripe_account, data.get("destination"))
        if str(data.get("currency") or "").lower() != payment.currency.lower():
            problems["currency"] = _differs(payment.currency.lower(), data.get("currency"))
    return problems


def _payment_mismatch(
    payment: Payment, problems: dict[str, Any], *, kind: str, **data: Any
) -> None:
    """Stripe told of money that is not this payment's as it stands: the payment is left as it
    is, and the program admins and the card holder are told, to look at it in Stripe."""
    _payment_note(payment, kind, problems=problems, **data)
    audit_event_record(
        actor=None, verb=f"payment.{kind}", target=payment, data={"problems": problems, **data}
    )
    logger.warning("Stripe %s for payment %s: %s", kind, payment.pk, sorted(problems))
    recipients = [*users_with_role(Role.PROGRAM_ADMIN), *([payment.payer] if payment.payer else [])]
    notification_send(
        kind="payment.webhook_mismatch",
        recipients=recipients,
        # Once a day per payment: every event is recorded, but a connected account sending
        # many cannot flood the program team's inboxes.
        event_key=f"{payment.pk}:{timezone.localdate().isoformat()}",
        context=_payment_context(payment, differences=_mismatch_words(problems)),
    )


def _mismatch_words(problems: dict[str, Any]) -> dict[str, str]:
    """What differed, in each language (a notification's context is language-neutral)."""
    words = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels = dict.fromkeys(str(MISMATCH_LABELS.get(key, key)) for key in problems)
            words[code] = ", ".join(labels)
    return words


# What differed, as the people told read it (a list in their language).
MISMATCH_LABELS = {
    "account": gettext_lazy("the connected account"),
    "destination": gettext_lazy("the connected account"),
    "session": gettext_lazy("the Checkout session"),
    "payment_intent": gettext_lazy("the payment intent"),
    "attempt": gettext_lazy("the payment attempt"),
    "amount": gettext_lazy("the amount"),
    "currency": gettext_lazy("the currency"),
}


def _payment_event(payment: Payment, event: StripeEvent, data: dict) -> None:
    kind = event.type
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    problems = _event_mismatch(payment, event, data)
    if problems:
        event.mismatch = problems
        _payment_mismatch(payment, problems, kind="webhook_mismatch", event=event.event_id,
                          type=kind)  # fmt: skip
        return
    if kind in PAID_SESSION_EVENTS:
        if data.get("payment_status") == "paid":
            _stripe_paid(payment, event, payment_intent=data.get("payment_intent") or "")
        else:
            _payment_note(payment, kind, event=event.event_id)
    elif kind == "payment_intent.succeeded":
        _stripe_paid(payment, event, payment_intent=data.get("id") or "")
    elif kind == "payment_intent.payment_failed":
        error = data.get("last_payment_error") or {}
        # Only a failure of the attempt under way fails it (not a late one of an earlier try).
        current = (data.get("metadata") or {}).get("attempt") == str(payment.attempt)
        if payment.status == PStatus.PENDING and current:
            failed = _payment_move(
                payment, PStatus.FAILED, actor=None, kind="stripe_failed",
                event=event.event_id, code=error.get("code", ""),
            )  # fmt: skip
            failed.failure_message = (error.get("message") or error.get("code") or "")[:500]
            failed.save()
            _notify_failed(failed)
        else:  # late, or for an attempt already settled: history only
            _payment_note(payment, "stripe_failed_ignored", event=event.event_id)
    elif kind == "checkout.session.expired":
        if payment.status == PStatus.PENDING and data.get("id") == payment.checkout_session_id:
            expired = _payment_move(
                payment, PStatus.DUE, actor=None, kind="checkout_expired", event=event.event_id
            )
            expired.save()
        elif payment.status == PStatus.FAILED and data.get("id") == payment.checkout_session_id:
            _checkout_closed(payment, kind="checkout_expired", event=event.event_id)
        else:
            _payment_note(payment, "checkout_expired_ignored", event=event.event_id)
    elif kind.startswith("transfer."):
        if kind == "transfer.created" and not payment.transfer_id:
            Payment.objects.filter(pk=payment.pk).update(transfer_id=data.get("id", ""))
        _payment_note(payment, kind, event=event.event_id, transfer=data.get("id", ""))
    else:
        _payment_note(payment, kind, event=event.event_id)


def _checkout_closed(payment: Payment, *, kind: str, **data: Any) -> None:
    """A declined attempt's Checkout page has expired: nothing can be paid on it any more, so
    it no longer holds the card holder's monthly limit (month_committed)."""
    Payment.objects.filter(pk=payment.pk).update(checkout_session_id="", checkout_url="")
    _payment_note(payment, kind, **data)


def _stripe_paid(payment: Payment, event: StripeEvent, *, payment_intent: str) -> None:
    if payment.status in (PStatus.DUE, PStatus.RECORDED, PStatus.DISPUTED):
        # Paid through a session the marketplace no longer waits for: keep it in the history
        # for the admins; a card holder must not pay twice.
        _payment_note(payment, "stripe_paid_unexpected", event=event.event_id)
        logger.warning("Stripe says payment %s is paid while it is %s", payment.pk, payment.status)
        return
    paid = _payment_paid(payment, actor=None, kind="stripe_paid", event=event.event_id)
    if payment_intent and not paid.payment_intent_id:
        Payment.objects.filter(pk=paid.pk).update(payment_intent_id=payment_intent)


def _payout_paid(event: StripeEvent) -> None:
    """A payout from the supplier's Stripe balance to their bank: the money has arrived."""
    if not event.account:
        return
    arrived = timezone.now()
    for payment in Payment.objects.select_for_update().filter(
        stripe_account=event.account, status=PStatus.PAID, paid_out_at__isnull=True
    ):
        payment.paid_out_at = arrived
        payment.save(update_fields=["paid_out_at", "updated_at"])
        _payment_note(payment, "payout.paid", event=event.event_id)


def payments_reconcile(*, now: dt.datetime | None = None) -> int:
    """Ask Stripe about payments pending for too long, and about declined attempts whose
    Checkout page may still be open: a webhook may have been lost."""
    from marketplace.tasks import enqueue_on_commit

    from .tasks import payment_checkout_create as create_task

    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    checked = 0
    # A page lives 24 hours at most: a declined attempt is asked about once it must be over.
    declined = Q(status=PStatus.FAILED, provider=Payment.Provider.STRIPE) & ~Q(
        checkout_session_id=""
    )
    declined &= Q(started_at__lt=cutoff - dt.timedelta(hours=24))
    for payment in Payment.objects.filter(
        Q(status=PStatus.PENDING, started_at__lt=cutoff) | declined
    ):
        checked += 1
        if not payment.checkout_session_id:  # the task was lost: make the session again
            enqueue_on_commit(create_task, payment.pk, payment.attempt)
            continue
        session = gateway.checkout_retrieve(payment.checkout_session_id)
        paid = session.get("payment_status") == "paid"
        # The same comparison as the webhooks': a paid session is this payment's only if its
        # amount, currency and connected account (on its payment intent) are the payment's.
        intent_id = session.get("payment_intent") if paid else None
        intent = gateway.payment_intent_retrieve(intent_id) if intent_id else {}
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.status not in (PStatus.PENDING, PStatus.FAILED) or (
                locked.checkout_session_id != payment.checkout_session_id
            ):
                continue
            problems = (
                {**session_mismatch(locked, session), **intent_mismatch(locked, intent)}
                if paid
                else {}
            )
            if problems:
                seen = locked.events.filter(kind="reconcile_mismatch", data__session=session["id"])
                if not seen.exists():  # told once, not at every run
                    _payment_mismatch(
                        locked, problems, kind="reconcile_mismatch", session=session["id"]
                    )
            elif paid:
                _payment_paid(locked, actor=None, kind="reconciled_paid", session=session["id"])
            elif session.get("status") == "expired" and locked.status == PStatus.FAILED:
                _checkout_closed(locked, kind="reconciled_expired", session=session["id"])
            elif session.get("status") == "expired":
                _payment_move(
                    locked, PStatus.DUE, actor=None, kind="reconciled_expired",
                    session=session["id"],
                ).save()  # fmt: skip
    _checkouts_withdraw_lost(now=now, cutoff=cutoff)
    return checked


def _checkouts_withdraw_lost(*, now: dt.datetime, cutoff: dt.datetime) -> None:
    """Sessions left behind whose expiry task was lost (a broker down): asked again. After
    a day and a half Stripe has closed them itself, and the late payment, if any, has come
    through the webhooks."""
    from marketplace.tasks import enqueue_on_commit

    from .tasks import payment_checkout_expire

    asked = PaymentEvent.objects.filter(
        kind=WITHDRAW_KIND, created_at__lt=cutoff, created_at__gte=now - dt.timedelta(hours=36)
    ).select_related("payment")
    for note in asked:
        session_id = str(note.data.get("session") or "")
        if session_id and not _checkout_withdrawn(note.payment, session_id):
            enqueue_on_commit(payment_checkout_expire, note.payment_id, session_id)


# Far above any card program's limit, and within what the limit columns hold: a tampered form
# (or a typo of three zeros) is refused at the request, not by the database at the approval.
CARD_LIMIT_MAX_CENTS = 1_000_000_000


def _card_limit_bounded(*limits: int) -> None:
    if any(cents > CARD_LIMIT_MAX_CENTS for cents in limits):
        raise ValidationError(
            _("A limit cannot be above %(max)s.") % {"max": formats.money(CARD_LIMIT_MAX_CENTS)}
        )


def card_limit_check(
    *, card_holder: User, per_transaction_cents: int, monthly_cents: int
) -> dict[str, int]:
    """Refuse limits that cannot be set; returns the limits in force now (empty when none)."""
    if not permissions.is_card_holder(card_holder):
        raise ValidationError(_("Limits are set only for card holders."))
    if per_transaction_cents < 0 or monthly_cents < 0:
        raise ValidationError(_("A limit cannot be negative."))
    _card_limit_bounded(per_transaction_cents, monthly_cents)
    if per_transaction_cents > monthly_cents:
        raise ValidationError(
            {"per_transaction": _("The single-purchase limit cannot exceed the monthly limit.")}
        )
    current = CardLimit.objects.filter(card_holder=card_holder).first()
    if current is None:
        return {}
    before = {
        "per_transaction_cents": current.per_transaction_cents,
        "monthly_cents": current.monthly_cents,
    }
    if (per_transaction_cents, monthly_cents) == tuple(before.values()):
        raise ValidationError(_("These are already the limits of this card holder."))
    return before


def card_limit_approval_check(actor: User, payload: dict[str, Any]) -> User:
    """A request to change a card holder's limits (marketplace/approvals.py): refused as the
    change would be; completed with the limits in force, for the decider to compare."""
    holder = User.objects.filter(pk=payload.get("card_holder")).first()
    if holder is None:
        raise ValidationError(_("This person no longer exists."))
    if holder.pk == actor.pk:
        raise ValidationError(
            _("Nobody sets their own card limits: another program administrator must ask.")
        )
    payload["before"] = card_limit_check(
        card_holder=holder,
        per_transaction_cents=payload["per_transaction_cents"],
        monthly_cents=payload["monthly_cents"],
    )
    payload["email"] = holder.email
    return holder


def card_limit_approval_carry_out(approval: Approval, actor: User) -> None:
    card_limit_set(
        actor=actor,
        card_holder=approval.subject_user,
        per_transaction_cents=approval.payload["per_transaction_cents"],
        monthly_cents=approval.payload["monthly_cents"],
        approval=approval,
    )


@transaction.atomic
def card_limit_set(
    *,
    actor: User | None,
    card_holder: User,
    per_transaction_cents: int,
    monthly_cents: int,
    approval: Approval | None = None,
) -> CardLimit:
    """Set a card holder's limits. `actor=None` is the system (the demo). A program
    administrator sets them only through an approval a second one gave, and never their own."""
    if actor is not None and not is_program_admin(actor):
        raise PermissionDenied
    if actor is not None and actor.pk == card_holder.pk:
        raise ValidationError(_("Nobody sets their own card limits."))
    if actor is not None:
        approval = Approval.objects.authorizing(
            approval,
            actor=actor,
            kind=Approval.Kind.CARD_LIMIT,
            card_holder=card_holder.pk,
            per_transaction_cents=per_transaction_cents,
            monthly_cents=monthly_cents,
        )
    if not permissions.is_card_holder(card_holder):
        raise ValidationError(_("Limits are set only for card holders."))
    if per_transaction_cents > monthly_cents:
        raise ValidationError(
            {"per_transaction": _("The single-purchase limit cannot exceed the monthly limit.")}
        )
    _card_limit_bounded(per_transaction_cents, monthly_cents)
    # The card holder's row first: two saves at once (a double click) take turns.
    User.objects.select_for_update(no_key=True).filter(pk=card_holder.pk).first()
    current = CardLimit.objects.filter(card_holder=card_holder).first()
    in_force = (
        {}
        if current is None
        else {
            "per_transaction_cents": current.per_transaction_cents,
            "monthly_cents": current.monthly_cents,
        }
    )
    if approval is not None and approval.payload.get("before", {}) != in_force:
        # The decider compared the change with limits that are no longer those in force.
        raise ValidationError(
            _(
                "The limits of this card holder changed since this was asked: reject this "
                "request and ask again."
            ),
            code="stale",
        )
    if current is not None and (current.per_transaction_cents, current.monthly_cents) == (
        per_transaction_cents,
        monthly_cents,
    ):
        return current  # the same limits saved again: nothing to record
    limit, _created = CardLimit.objects.update_or_create(
        card_holder=card_holder,
        defaults={
            "per_transaction_cents": per_transaction_cents,
            "monthly_cents": monthly_cents,
            "updated_by": actor,
        },
    )
    data: dict[str, Any] = {
        "card_holder": card_holder.pk,
        "per_transaction_cents": per_transaction_cents,
        "monthly_cents": monthly_cents,
    }
    if approval is not None:
        data.update(approval=approval.pk, requested_by=approval.requested_by_id)
    audit_event_record(actor=actor, verb="card_limit.set", target=limit, data=data)
    return limit
