"""The program's guardrails (value cap, minimum open period, allowed types, split window):
their hard limits from the settings, which no approval passes, and their change, which a
program administrator makes only through a second one's approval (marketplace/approvals.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from marketplace import formats
from marketplace.models import Approval, User
from marketplace.services import audit_event_record

from . import permissions
from .models import Guardrails

GUARDRAIL_FIELDS = (
    "value_cap_cents",
    "min_open_business_days",
    "allowed_types",
    "split_window_days",
)


def guardrails_check(**fields: Any) -> dict[str, Any]:
    """Refuse guardrails past the hard limits of the settings, which no approval can pass;
    returns the values in force now for the fields given."""
    if set(fields) - set(GUARDRAIL_FIELDS):
        raise TypeError(f"Unknown guardrails: {sorted(set(fields) - set(GUARDRAIL_FIELDS))}")
    ceiling = settings.OPPORTUNITY_VALUE_CEILING_CENTS
    if "value_cap_cents" in fields and not 0 < fields["value_cap_cents"] <= ceiling:
        raise ValidationError(
            {
                "value_cap_cents": _(
                    "The value cap must be between $1 and %(ceiling)s, tax included: the legal "
                    "limit of a micro-acquisition, which no approval can raise."
                )
                % {"ceiling": formats.money(ceiling)}
            }
        )
    floor = settings.OPPORTUNITY_MIN_OPEN_BUSINESS_DAYS_FLOOR
    if "min_open_business_days" in fields and fields["min_open_business_days"] < floor:
        raise ValidationError(
            {
                "min_open_business_days": _(
                    "An opportunity stays open at least %(floor)s business days: suppliers need "
                    "the time to answer."
                )
                % {"floor": floor}
            }
        )
    if "split_window_days" in fields and fields["split_window_days"] < 1:
        raise ValidationError({"split_window_days": _("The window is at least one day.")})
    current = Guardrails.current()
    return {name: getattr(current, name) for name in fields}


def guardrails_approval_check(actor: User, payload: dict[str, Any]) -> None:
    """A request to change the guardrails (marketplace/approvals.py): every guardrail given,
    within the hard limits, and different from those in force (kept for the decider)."""
    payload.pop("before", None)
    if set(payload) != set(GUARDRAIL_FIELDS):
        raise ValidationError(_("Give every guardrail."))
    payload["allowed_types"] = sorted(set(payload["allowed_types"]))
    before = guardrails_check(**payload)
    if before == payload:
        raise ValidationError(_("These are already the guardrails."))
    payload["before"] = before


def guardrails_approval_carry_out(approval: Approval, actor: User) -> None:
    guardrails_update(
        actor=actor,
        approval=approval,
        **{key: approval.payload[key] for key in GUARDRAIL_FIELDS if key in approval.payload},
    )


@transaction.atomic
def guardrails_update(
    *, actor: User | None, approval: Approval | None = None, **fields: Any
) -> Guardrails:
    """Change the program guardrails. `actor=None` is the system (a command, the demo); a
    program administrator changes them only through an approval a second one gave."""
    if actor is not None and not permissions.can_review(actor):
        raise PermissionDenied
    if set(fields) - set(GUARDRAIL_FIELDS):
        raise TypeError(f"Unknown guardrails: {sorted(set(fields) - set(GUARDRAIL_FIELDS))}")
    if actor is not None:
        approval = Approval.objects.authorizing(
            approval, actor=actor, kind=Approval.Kind.GUARDRAILS, **fields
        )
    guardrails = Guardrails.objects.select_for_update().get(pk=Guardrails.current().pk)
    before = {name: getattr(guardrails, name) for name in fields}
    if before == fields:
        return guardrails  # the same values saved again: nothing to record
    guardrails_check(**fields)
    if approval is not None and approval.payload.get("before") != before:
        # The decider compared the change with guardrails that are no longer those in force.
        raise ValidationError(
            _("The guardrails changed since this was asked: reject this request and ask again."),
            code="stale",
        )
    for name, value in fields.items():
        setattr(guardrails, name, value)
    guardrails.updated_by = actor
    guardrails.full_clean()
    guardrails.save()
    data: dict[str, Any] = {"before": before, "after": fields}
    if approval is not None:
        data.update(approval=approval.pk, requested_by=approval.requested_by_id)
    audit_event_record(actor=actor, verb="guardrails.updated", target=guardrails, data=data)
    return guardrails
