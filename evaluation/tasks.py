"""Background work of evaluation."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace import notifications as notices
from marketplace.models import User
from marketplace.services import notification_send
from marketplace.tasks import RETRY_WHEN_BUSY, scheduled_job
from opportunities.models import Opportunity

from . import packets, panel
from .models import Evaluation, PanelMember


@shared_task(
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    **RETRY_WHEN_BUSY,
)
def evaluation_build_packets(opportunity_id: int) -> int:
    """Build the packets of a closed opportunity. A second run is a no-op."""
    opportunity = Opportunity.objects.filter(pk=opportunity_id).first()
    if opportunity is None or not hasattr(opportunity, "evaluation"):
        return 0
    return packets.evaluation_build_packets(opportunity=opportunity)


REMINDERS = {
    # What the evaluation waits for, by who: evaluators (declare, then score and submit), the
    # chair (consensus), the buyer (appoint the panel; reveal and award).
    "declare": _("declare any conflict of interest, then score the bids."),
    "score": _("score every bid and submit your marks."),
    "consensus": _("as chair, record the consensus and lock it."),
    "panel": _("appoint the evaluators the panel still needs, and its chair."),
    "award": _("reveal who bid and award the work."),
}


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def evaluations_remind(now: str | None = None) -> int:
    """Daily: remind whoever an evaluation has waited for EVALUATION_REMINDER_DAYS or more.
    One reminder per person, step and day: a second run the same day sends nothing."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    cutoff = moment - dt.timedelta(days=settings.EVALUATION_REMINDER_DAYS)
    day = timezone.localdate(moment).isoformat()
    Status = Evaluation.Status
    waiting: list[tuple[Evaluation, User, str]] = []
    members = (
        PanelMember.objects.filter(
            evaluation__status__in=(Status.PANEL, Status.SCORING),
            appointed_at__lte=cutoff,
            marks_submitted_at__isnull=True,
        )
        .exclude(declaration=PanelMember.Declaration.RECUSED)
        .select_related("evaluator", "evaluation__opportunity")
    )
    for member in members:
        step = "declare" if member.declaration == PanelMember.Declaration.PENDING else "score"
        waiting.append((member.evaluation, member.evaluator, step))
    stalled = Evaluation.objects.filter(
        status__in=(Status.PANEL, Status.CONSENSUS, Status.SELECTED, Status.REVEALED),
        status_changed_at__lte=cutoff,
    ).select_related("opportunity__buyer")
    for evaluation in stalled:
        if evaluation.status == Status.CONSENSUS:
            chair = evaluation.panel.filter(is_chair=True).select_related("evaluator").first()
            if chair is not None:
                waiting.append((evaluation, chair.evaluator, "consensus"))
        elif evaluation.status == Status.PANEL:
            if not panel.panel_is_complete(evaluation):
                waiting.append((evaluation, evaluation.opportunity.buyer, "panel"))
        else:
            waiting.append((evaluation, evaluation.opportunity.buyer, "award"))
    sent = 0
    for evaluation, person, step in waiting:
        with transaction.atomic():
            sent += len(
                notification_send(
                    kind="evaluation.reminder",
                    recipients=[person],
                    event_key=f"{evaluation.pk}:{step}:{day}",
                    context={
                        "title": notices.bilingual(
                            evaluation.opportunity.title_en, evaluation.opportunity.title_fr
                        ),
                        "task": notices.translated(REMINDERS[step]),
                        "link": notices.link("evaluation:overview", pk=evaluation.opportunity_id),
                    },
                )
            )
    return sent
