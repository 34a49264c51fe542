"""Cancelling an opportunity: directly until the buyer has seen who bid, then only with a
second program administrator's approval (the checks registered in `apps.py` for
marketplace/approvals.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.caching import public_pages_changed_on_commit
from marketplace.models import Approval, User
from marketplace.services import notification_send
from marketplace.transitions import transition

from . import permissions
from .models import Opportunity
from .notices import followers, notice_context

Status = Opportunity.Status


def opportunity_revealed(opportunity: Opportunity) -> bool:
    """Whether the buyer has seen who bid (evaluation.services.evaluation_reveal)."""
    return Opportunity.objects.filter(
        pk=opportunity.pk, evaluation__revealed_at__isnull=False
    ).exists()


def opportunity_cancel_check(*, actor: User, opportunity: Opportunity, reason: str) -> None:
    """What a request to cancel after the reveal must pass before a second program
    administrator is asked (marketplace/approvals.py)."""
    if not permissions.can_cancel(actor, opportunity):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the cancellation.")})
    if not opportunity_revealed(opportunity):
        raise ValidationError(_("No approval is needed before the reveal: cancel it directly."))


def opportunity_cancel_approval_check(actor: User, payload: dict[str, Any]) -> User:
    """A request to cancel after the reveal (marketplace/approvals.py): refused as the
    cancellation would be; the opportunity's buyer is the person it concerns, who never
    decides it."""
    opportunity = Opportunity.objects.filter(pk=payload.get("opportunity") or 0).first()
    if opportunity is None:
        raise ValidationError(_("This opportunity no longer exists."))
    opportunity_cancel_check(actor=actor, opportunity=opportunity, reason=payload.get("reason", ""))
    payload["reason"] = payload["reason"].strip()
    payload["title"] = opportunity.title_en
    payload["title_fr"] = opportunity.title_fr
    return opportunity.buyer


def opportunity_cancel_approval_may_ask(actor: User, payload: dict[str, Any]) -> bool:
    opportunity = Opportunity.objects.filter(pk=payload.get("opportunity") or 0).first()
    return opportunity is not None and permissions.is_canceller(actor, opportunity)


def opportunity_cancel_approval_carry_out(approval: Approval, actor: User) -> None:
    opportunity_cancel(
        actor=actor,
        opportunity=Opportunity.objects.get(pk=approval.payload["opportunity"]),
        reason=approval.payload["reason"],
        approval=approval,
    )


@transaction.atomic
def opportunity_cancel(
    *, actor: User, opportunity: Opportunity, reason: str, approval: Approval | None = None
) -> Opportunity:
    """Cancel. Once the buyer has seen who bid, a cancellation could steer the work away from
    the selected supplier: it then needs a second program administrator's approval."""
    if approval is not None and not opportunity.can_transition_to(Status.CANCELLED):
        # Approved after it moved on (awarded meanwhile): the decider is told, not refused.
        raise ValidationError(
            _("This opportunity can no longer be cancelled: it is “%(status)s” now.")
            % {"status": Status(opportunity.status).label},
            code="moved_on",
        )
    if not permissions.can_cancel(actor, opportunity):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the cancellation.")})
    Opportunity.objects.select_for_update().filter(pk=opportunity.pk).first()
    data: dict[str, Any] = {"reason": reason.strip()}
    if opportunity_revealed(opportunity):
        approval = Approval.objects.authorizing(
            approval,
            actor=actor,
            kind=Approval.Kind.OPPORTUNITY_CANCEL,
            opportunity=opportunity.pk,
            reason=reason.strip(),
        )
        data.update(approval=approval.pk, requested_by=approval.requested_by_id)
    opportunity, event = transition(
        opportunity,
        Status.CANCELLED,
        actor=actor,
        verb="opportunity.cancelled",
        data=data,
        fields={"cancel_reason": reason.strip(), "cancelled_at": timezone.now()},
    )
    public_pages_changed_on_commit()
    recipients = followers(opportunity)
    if opportunity.buyer_id != actor.pk:
        recipients = recipients | User.objects.filter(pk=opportunity.buyer_id)
    notification_send(
        kind="opportunity.cancelled",
        recipients=recipients,
        event_key=str(event.pk),
        context=notice_context(opportunity, reason=opportunity.cancel_reason),
    )
    return opportunity
