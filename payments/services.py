"""Every write of delivery and acceptance: terms, delivery, changes, certification, default."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketplace import notifications as notices
from marketplace.models import User
from marketplace.services import audit_event_record, notification_send
from opportunities import services as opportunity_services
from opportunities.models import Opportunity

from . import permissions
from .models import Contract

Status = Contract.Status

CERTIFICATION = _(
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


def contract_create(*, opportunity: Opportunity, bid) -> Contract:
    """When a bid is offered the award (evaluation.services); inside that transaction."""
    contract = Contract.objects.create(
        opportunity=opportunity,
        bid=bid,
        supplier_id=bid.supplier_id,
        value_cents=opportunity.value_cents,
    )
    audit_event_record(actor=None, verb="contract.created", target=contract)
    return contract


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


@transaction.atomic
def contract_deliver(*, supplier: User, contract: Contract, url: str, notes: str) -> Contract:
    if not permissions.is_contract_supplier(supplier, contract):
        raise PermissionDenied
    if not url.strip():
        raise ValidationError(
            {"delivery_url": _("Give the link to the pull request or repository.")}
        )
    contract = _transition(contract, Status.DELIVERED, actor=supplier, verb="contract.delivered")
    contract.delivery_url = url.strip()
    contract.delivery_notes = notes.strip()
    contract.delivered_at = timezone.now()
    contract.deliveries += 1
    contract.full_clean()
    contract.save()
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
            contract, reasons=contract.change_request, due=contract.cure_deadline.isoformat()
        ),
    )
    return contract


@transaction.atomic
def contract_certify(*, buyer: User, contract: Contract, confirmed: bool) -> Contract:
    """The buyer accepts the work and certifies it was received (FAA section 34)."""
    if not permissions.is_contract_buyer(buyer, contract):
        raise PermissionDenied
    if not confirmed:
        raise ValidationError({"confirmed": _("Confirm the certification to accept the work.")})
    contract = _transition(contract, Status.ACCEPTED, actor=buyer, verb="contract.certified")
    contract.certified_at = timezone.now()
    contract.certified_by = buyer
    with translation.override(buyer.preferred_language or settings.LANGUAGE_CODE):
        contract.certification_statement = str(CERTIFICATION)
    contract.save()
    notification_send(
        kind="contract.certified",
        recipients=[contract.supplier],
        event_key=str(contract.pk),
        context=_context(contract),
    )
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
