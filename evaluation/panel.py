"""The panel: the buyer appoints evaluators and a chair, each declares any conflict of interest
before seeing a packet; scoring starts once the panel is complete."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import notifications as notices
from marketplace.models import Role, User
from marketplace.services import audit_event_record, notification_send
from marketplace.transitions import transition

from . import permissions
from .marking import maybe_start_consensus
from .models import Evaluation, PanelMember
from .notices import notice_context

Status = Evaluation.Status
Declaration = PanelMember.Declaration


@transaction.atomic
def panel_appoint(
    *, actor: User, evaluation: Evaluation, evaluator: User, is_chair: bool = False
) -> PanelMember:
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    if evaluation.status not in (Status.PANEL, Status.SCORING):
        raise ValidationError(_("The panel can no longer change."))
    if Role.EVALUATOR not in evaluator.roles or evaluator.pk == evaluation.opportunity.buyer_id:
        raise ValidationError(_("Only staff with the evaluator role, other than the buyer."))
    if permissions.has_stake_in(evaluator, opportunity_id=evaluation.opportunity_id):
        # Only a staff account that broke the supplier/staff rule can get here; the buyer
        # learns that this one person cannot sit, never anything about the bid itself.
        raise ValidationError(
            _(
                "This person has a bid on this opportunity (a draft or a withdrawn bid counts): "
                "nobody who bid on an opportunity sits on its panel."
            )
        )
    if evaluation.panel.filter(evaluator=evaluator).exists():
        raise ValidationError(_("This person is already on the panel."))
    if is_chair:
        evaluation.panel.filter(is_chair=True).update(is_chair=False)
    member = PanelMember.objects.create(
        evaluation=evaluation, evaluator=evaluator, is_chair=is_chair, appointed_by=actor
    )
    audit_event_record(
        actor=actor,
        verb="panel.appointed",
        target=evaluation,
        data={"evaluator": evaluator.pk, "chair": is_chair},
    )
    notification_send(
        kind="evaluation.assigned",
        recipients=[evaluator],
        event_key=f"{evaluation.pk}:{member.pk}",
        context=notice_context(
            evaluation, link=notices.link("evaluation:declare", pk=evaluation.opportunity_id)
        ),
    )
    return member


@transaction.atomic
def panel_make_chair(*, actor: User, member: PanelMember) -> PanelMember:
    evaluation = Evaluation.objects.select_for_update().get(pk=member.evaluation_id)
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    if evaluation.status not in (Status.PANEL, Status.SCORING) or not member.active:
        raise ValidationError(_("This member cannot chair the panel now."))
    if PanelMember.objects.filter(pk=member.pk, is_chair=True).exists():
        return PanelMember.objects.get(pk=member.pk)  # the chair already (a repeated click)
    evaluation.panel.update(is_chair=False)
    PanelMember.objects.filter(pk=member.pk).update(is_chair=True)
    audit_event_record(
        actor=actor, verb="panel.chair_named", target=evaluation, data={"member": member.pk}
    )
    _maybe_start_scoring(evaluation)
    return PanelMember.objects.get(pk=member.pk)


@transaction.atomic
def panel_declare(
    *, evaluator: User, member: PanelMember, conflict: bool, note: str = ""
) -> PanelMember:
    """Before seeing any packet: no conflict of interest, or recuse."""
    member = PanelMember.objects.select_for_update().select_related("evaluation").get(pk=member.pk)
    if member.evaluator_id != evaluator.pk:
        raise PermissionDenied
    if member.declaration != Declaration.PENDING:
        raise ValidationError(_("You have already declared."))
    if conflict and not note.strip():
        raise ValidationError({"note": _("Say briefly what the conflict is.")})
    # Checked again here, not only at the appointment: a seat from before a rule change, or a
    # bid or role change since, must not lead to the packets. Recusing is always possible.
    if not conflict and (not evaluator.is_active or Role.EVALUATOR not in evaluator.roles):
        raise PermissionDenied
    if not conflict and permissions.has_stake_in(
        evaluator, opportunity_id=member.evaluation.opportunity_id
    ):
        raise ValidationError(
            _(
                "You have a bid on this opportunity (a draft or a withdrawn bid counts), so you "
                "cannot evaluate it: declare the conflict to recuse yourself."
            )
        )
    member.declaration = Declaration.RECUSED if conflict else Declaration.NO_CONFLICT
    member.declaration_note = note.strip()
    member.declared_at = timezone.now()
    if conflict:
        member.is_chair = False
    member.save()
    evaluation = member.evaluation
    audit_event_record(
        actor=evaluator,
        verb="panel.recused" if conflict else "panel.declared_no_conflict",
        target=evaluation,
        data={"member": member.pk},
    )
    if conflict:
        notification_send(
            kind="evaluation.recused",
            recipients=[evaluation.opportunity.buyer],
            event_key=f"{evaluation.pk}:{member.pk}",
            context=notice_context(evaluation),
        )
    _maybe_start_scoring(evaluation)
    return member


def panel_is_complete(evaluation: Evaluation) -> bool:
    active = [m for m in evaluation.panel.all() if m.active]
    return (
        len(active) >= evaluation.opportunity.evaluator_count
        and all(m.declaration == Declaration.NO_CONFLICT for m in active)
        and sum(m.is_chair for m in active) == 1
    )


def _maybe_start_scoring(evaluation: Evaluation) -> None:
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    if evaluation.status == Status.PANEL and panel_is_complete(evaluation):
        transition(evaluation, Status.SCORING, actor=None, verb="evaluation.panel_complete")
    maybe_start_consensus(evaluation)
