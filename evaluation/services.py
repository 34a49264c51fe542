"""The lock of the consensus (the selection, which reveals the seed) and the reveal of who bid.

Evaluation's other writes live by flow beside this module: `packets` (the commitment and the
packets, at the close), `panel` (appointments and declarations), `marking` (marks and
consensus), `offers` (evaluation's side of the award, a decline, a default); the draw's pure
arithmetic is in `draw` and its public check in `verification`. What spans apps — the award
and its contract, a decline or a default passing the award on — is sequenced by
`lifecycle.award`.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bids.models import Bid
from marketplace.caching import public_pages_changed_on_commit
from marketplace.models import User
from marketplace.services import notification_send
from marketplace.transitions import transition, transition_many
from opportunities.models import Opportunity
from opportunities.progress import opportunity_mark_unsuccessful

from . import permissions
from .draw import lock_packet_record, packet_score, selection_ranking, unscorable
from .marking import marks_digest
from .models import ConsensusMark, Evaluation
from .notices import notice_context, tell_bidders_unsuccessful

Status = Evaluation.Status


def _refuse_if_cancelled(opportunity_id: int) -> None:
    """Locked, so a cancellation cannot slip in between this check and the step."""
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity_id)
    if opportunity.status == Opportunity.Status.CANCELLED:
        raise ValidationError(
            _("The opportunity is cancelled: its evaluation cannot go on to a selection.")
        )


@transaction.atomic
def evaluation_lock(*, chair: User, evaluation: Evaluation, reviewed: str = "") -> Evaluation:
    """The chair locks the consensus; the selection follows at once and reveals the seed.
    `reviewed`: the digest (`marking.marks_digest`) of the consensus the confirmation page
    ranked; when given, the consensus must still be that one (the row lock above is the one
    `consensus_save` takes, so none can change it between this check and the lock)."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not permissions.is_chair(chair, evaluation):
        raise PermissionDenied
    if evaluation.status != Status.CONSENSUS:
        raise ValidationError(_("Consensus is not open."))
    if reviewed and reviewed != marks_digest(
        ConsensusMark.objects.filter(packet__evaluation=evaluation)
    ):
        raise ValidationError(
            _(
                "The consensus changed after you reviewed the ranking (in another tab?). "
                "Review it again, as it is now."
            ),
            code="reviewed_changed",
        )
    opportunity = evaluation.opportunity
    _refuse_if_cancelled(opportunity.pk)
    criteria = list(opportunity.criteria.all())
    problems = unscorable(criteria)
    if problems:
        raise ValidationError(problems)
    packets = list(evaluation.packets.prefetch_related("consensus"))
    recorded = {(m.packet_id, m.criterion_id) for p in packets for m in p.consensus.all()}
    if len(recorded) < len(packets) * len(criteria):
        raise ValidationError(
            _("Record the consensus on every criterion of every bid before locking: %(n)s left.")
            % {"n": len(packets) * len(criteria) - len(recorded)}
        )
    scores: dict[str, Decimal] = {}
    for packet in packets:
        packet.qualified, packet.score = packet_score(packet, criteria)
        if packet.qualified:
            scores[packet.label] = packet.score
    eligible, order, ranking = selection_ranking(
        method=opportunity.selection_method,
        seed=evaluation.seed,
        scores=scores,
        margin=opportunity.draw_margin_points,
    )
    rank = {label: i for i, label in enumerate(ranking, start=1)}
    for packet in packets:
        packet.rank = rank.get(packet.label)
        packet.save(update_fields=["qualified", "score", "rank"])
    bids = Bid.objects.filter(packet__evaluation=evaluation)
    transition_many(
        bids.filter(packet__qualified=True), Bid.Status.QUALIFIED, actor=chair, verb="bid.qualified"
    )
    transition_many(
        bids.filter(packet__qualified=False),
        Bid.Status.DISQUALIFIED,
        actor=chair,
        verb="bid.disqualified",
    )
    now = timezone.now()
    selected = ranking[0] if ranking else ""
    # The whole lock, failed bids included, in the append-only trail: draw_check compares the
    # record with it, so no consensus mark, flag or score can be rewritten later unseen.
    record = {
        "seed": evaluation.seed,
        "eligible": eligible,
        "order": order,
        "selected": selected,
        "scores": {label: str(score) for label, score in sorted(scores.items())},
        "packets": {
            p.label: lock_packet_record(
                marks={m.criterion_id: m for m in p.consensus.all()},
                criteria=criteria,
                qualified=p.qualified,
                score=p.score,
            )
            for p in sorted(packets, key=lambda p: p.label)
        },
    }
    selection = {
        "eligible_labels": eligible,
        "draw_order": order,
        "selected_label": selected,
        "seed_revealed_at": now,
        "locked_at": now,
        "locked_by": chair,
    }
    if not ranking:
        evaluation, _event = transition(
            evaluation,
            Status.UNSUCCESSFUL,
            actor=chair,
            verb="evaluation.unsuccessful",
            data=record,
            fields=selection,
        )
        opportunity_mark_unsuccessful(
            opportunity=opportunity, actor=chair, reason="no qualified bid"
        )
        public_pages_changed_on_commit()  # the opportunity ended without an award
        tell_bidders_unsuccessful(evaluation)
        return Evaluation.objects.get(pk=evaluation.pk)
    evaluation, _event = transition(
        evaluation,
        Status.SELECTED,
        actor=chair,
        verb="evaluation.selected",
        data=record,
        fields=selection,
    )
    notification_send(
        kind="evaluation.selected",
        recipients=[opportunity.buyer],
        event_key=str(evaluation.pk),
        context=notice_context(evaluation),
    )
    return evaluation


@transaction.atomic
def evaluation_reveal(*, actor: User, evaluation: Evaluation) -> Evaluation:
    """The buyer learns who is behind each label (public pages show nothing of it)."""
    if not permissions.can_manage_panel(actor, evaluation):
        raise PermissionDenied
    _refuse_if_cancelled(evaluation.opportunity_id)
    evaluation, _event = transition(
        evaluation,
        Status.REVEALED,
        actor=actor,
        verb="evaluation.revealed",
        fields={"revealed_at": timezone.now(), "revealed_by": actor},
    )
    return evaluation
