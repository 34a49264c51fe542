"""The finance guardrails: who may pay what (the program cap, a card holder's single-purchase
and monthly limits, separation of duties), and how a card holder's limits are set (only
through a second program administrator's approval, `marketplace.approvals`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import formats
from marketplace.models import Approval, User
from marketplace.permissions import is_program_admin
from marketplace.services import audit_event_record
from opportunities.models import Guardrails

from . import permissions
from .models import CardLimit, Contract, Payment

PStatus = Payment.Status


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
    (`checkout_closed`)."""
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
    holder_pk = payload.get("card_holder")
    holder = User.objects.filter(pk=holder_pk).first() if holder_pk is not None else None
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
    holder = approval.subject_user
    # Every card-limit request names its card holder (card_limit_approval_check returns them as
    # the subject), and deleting that person deletes the request with them.
    assert holder is not None
    card_limit_set(
        actor=actor,
        card_holder=holder,
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
