"""Scheduled and background work of opportunities: closing at the deadline, alerts, reminders.

Every task takes ids and re-checks state, so a second run (a redelivered message, the beat
sweeper catching up) acts once.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from lifecycle.closing import opportunity_close
from marketplace import notifications as notices
from marketplace.models import User
from marketplace.services import notification_send, notification_send_each
from marketplace.tasks import RETRY_WHEN_BUSY, scheduled_job

from .models import Alert, Opportunity
from .notices import notice_context

logger = logging.getLogger(__name__)

Status = Opportunity.Status


@shared_task(
    acks_late=True,
    time_limit=60,
    soft_time_limit=45,
    **RETRY_WHEN_BUSY,  # the close waits for bids being written
)
def opportunity_close_at_deadline(opportunity_id: int) -> bool:
    """Close one opportunity once its deadline and grace have passed (`seals_at`). A second run
    is a no-op; an early one too (the sweeper closes it on time)."""
    opportunity = Opportunity.objects.filter(pk=opportunity_id, status=Status.PUBLISHED).first()
    if opportunity is None or opportunity.seals_at is None or timezone.now() < opportunity.seals_at:
        return False
    try:
        opportunity_close(opportunity=opportunity)
    except ValidationError:
        # Deadline extended after this task was scheduled, or a race with the sweeper.
        return False
    return True


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def opportunities_close_due() -> int:
    """Beat sweeper: close every published opportunity whose deadline and grace have passed.
    One that cannot be closed now (its row busy past the lock timeout) waits for the next run."""
    due = Opportunity.objects.filter(
        status=Status.PUBLISHED,
        closes_at__lte=timezone.now() - dt.timedelta(seconds=settings.BID_CLOSE_GRACE_SECONDS),
    ).values_list("pk", flat=True)
    closed = 0
    for pk in due:
        try:
            closed += opportunity_close_at_deadline(pk)
        except OperationalError:
            logger.warning("Opportunity %s could not be closed yet: its row is busy", pk)
    return closed


# --- Alerts: fan-out in chunks ------------------------------------------------------------------


def _alert_chunks(frequency: str) -> list[tuple[int, int]]:
    """(first, last) alert ids of consecutive chunks of ALERTS_CHUNK_SIZE subscriptions."""
    ids = list(
        Alert.objects.filter(frequency=frequency, user__is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = settings.ALERTS_CHUNK_SIZE
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def _alerts_in(frequency: str, first: int, last: int):
    return (
        Alert.objects.filter(frequency=frequency, pk__gte=first, pk__lte=last, user__is_active=True)
        .select_related("user")
        .prefetch_related("skills")
        .order_by("pk")
    )


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def opportunity_alerts_fanout(opportunity_id: int) -> int:
    """Split the immediate alerts for a newly published opportunity into chunk tasks.

    Marked done only once every chunk is enqueued; chunks are idempotent, so a fan-out that
    failed half-way is simply run again by `opportunities_alerts_due`.
    """
    with transaction.atomic():
        opportunity = (
            Opportunity.objects.select_for_update()
            .filter(pk=opportunity_id, alerts_sent_at__isnull=True)
            .exclude(published_at__isnull=True)
            .first()
        )
        if opportunity is None:
            return 0
        chunks = _alert_chunks(Alert.Frequency.IMMEDIATE)
        for first, last in chunks:
            opportunity_alerts_chunk.apply_async(args=(opportunity.pk, first, last))
        opportunity.alerts_sent_at = timezone.now()
        opportunity.save(update_fields=["alerts_sent_at"])
    return len(chunks)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def opportunity_alerts_chunk(opportunity_id: int, first_alert_id: int, last_alert_id: int) -> int:
    """Notify the suppliers of one chunk of immediate alerts that match. A few queries per
    chunk, never one per supplier; returns how many were notified."""
    opportunity = (
        Opportunity.objects.filter(pk=opportunity_id, status=Status.PUBLISHED)
        .prefetch_related("skills")
        .first()
    )
    if opportunity is None:
        return 0  # cancelled or closed meanwhile: no alert for it any more
    skill_ids = {skill.pk for skill in opportunity.skills.all()}
    recipients = [
        alert.user
        for alert in _alerts_in(Alert.Frequency.IMMEDIATE, first_alert_id, last_alert_id)
        if alert.matches(opportunity, skill_ids)
    ]
    with transaction.atomic():
        notification_send(
            kind="opportunity.alert",
            recipients=recipients,
            event_key=str(opportunity.pk),
            context=notice_context(
                opportunity,
                summary=notices.bilingual(opportunity.summary_en, opportunity.summary_fr),
            ),
        )
    return len(recipients)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
@scheduled_job
def opportunities_alerts_due() -> int:
    """Beat: fan out the alerts of any published opportunity whose fan-out never ran (the
    broker was down at publication, say)."""
    due = Opportunity.objects.filter(
        status=Status.PUBLISHED,
        alerts_sent_at__isnull=True,
        published_at__lte=timezone.now() - dt.timedelta(minutes=1),
    ).values_list("pk", flat=True)
    for pk in due:
        opportunity_alerts_fanout.apply_async(args=(pk,))
    return len(due)


def digest_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The day a digest sent at `now` covers: the 24 hours up to the last digest hour."""
    local = timezone.localtime(now)
    end = local.replace(hour=settings.ALERT_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if end > local:
        end -= dt.timedelta(days=1)
    return end - dt.timedelta(days=1), end


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def alerts_daily_digest(now: str | None = None) -> int:
    """Beat, daily: one email per supplier listing the day's new opportunities that match."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    start, end = digest_window(moment)
    if not Opportunity.objects.filter(
        status=Status.PUBLISHED, published_at__gte=start, published_at__lt=end
    ).exists():
        return 0
    chunks = _alert_chunks(Alert.Frequency.DAILY)
    for first, last in chunks:
        alerts_digest_chunk.apply_async(args=(start.isoformat(), end.isoformat(), first, last))
    return len(chunks)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def alerts_digest_chunk(start: str, end: str, first_alert_id: int, last_alert_id: int) -> int:
    opportunities = list(
        Opportunity.objects.filter(
            status=Status.PUBLISHED,
            published_at__gte=dt.datetime.fromisoformat(start),
            published_at__lt=dt.datetime.fromisoformat(end),
        )
        .prefetch_related("skills")
        .order_by("closes_at")
    )
    skills = {o.pk: {s.pk for s in o.skills.all()} for o in opportunities}
    day = dt.datetime.fromisoformat(end).date().isoformat()
    messages = []
    for alert in _alerts_in(Alert.Frequency.DAILY, first_alert_id, last_alert_id):
        matching = [o for o in opportunities if alert.matches(o, skills[o.pk])]
        if matching:
            context = {
                "count": len(matching),
                "items": [
                    {
                        "title": notices.bilingual(o.title_en, o.title_fr),
                        "link": notices.link("opportunities:detail", pk=o.pk),
                    }
                    for o in matching
                ],
                "link": notices.link("opportunities:list"),
            }
            messages.append((alert.user_id, alert.user.preferred_language, context))
    with transaction.atomic():
        notification_send_each(kind="opportunity.alert_digest", event_key=day, messages=messages)
    return len(messages)


# --- Closing reminders -------------------------------------------------------------------------

REMINDER_HOURS = (24, 48)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
@scheduled_job
def opportunities_closing_reminders(now: str | None = None) -> int:
    """Beat: remind watchers and suppliers holding an unsubmitted draft 48 h and 24 h before
    the deadline (once each, and again if the deadline is moved)."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    horizon = moment + dt.timedelta(hours=max(REMINDER_HOURS))
    count = 0
    for opportunity in Opportunity.objects.filter(
        status=Status.PUBLISHED, closes_at__gt=moment, closes_at__lte=horizon
    ):
        closes_at = opportunity.closes_at
        if closes_at is None:  # not after the filter; says so to the type checker
            continue
        left = closes_at - moment
        hours = next(h for h in REMINDER_HOURS if left <= dt.timedelta(hours=h))
        with transaction.atomic():
            count += len(
                notification_send(
                    kind="opportunity.closing_soon",
                    recipients=User.objects.filter(
                        Q(watches__opportunity=opportunity)
                        | Q(bids__opportunity=opportunity, bids__status="draft")
                    ).distinct(),
                    event_key=f"{opportunity.pk}:{closes_at.isoformat()}:{hours}",
                    context=notice_context(opportunity, hours=hours),
                )
            )
    return count
