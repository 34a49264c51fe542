"""Reads of the core app's data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import formats
from .caching import unread_count_cached
from .models import (
    STAFF_ROLES,
    AuditEvent,
    JobRun,
    Notification,
    Role,
    User,
    supplier_stake,
    verified_primary_email,
)


def staff_email_q() -> Q:
    """An address on a staff domain or a subdomain of one (as `staff_domains.is_staff_email`)."""
    condition = Q(pk__in=[])
    for allowed in settings.STAFF_EMAIL_DOMAINS:
        allowed = allowed.lower().lstrip(".")
        condition |= Q(email__iendswith=f"@{allowed}") | Q(email__iendswith=f".{allowed}")
    return condition


def users_with_role(role: str) -> QuerySet[User]:
    """The active users who hold `role` in force (`User.roles`): a staff role counts only with
    a verified staff-domain primary email, and never on an account that is or was a supplier
    (the supplier role, a supplier profile or a bid)."""
    users = User.objects.filter(role_grants__role=role, is_active=True)
    if role in STAFF_ROLES:
        users = (
            users.filter(staff_email_q(), verified_primary_email())
            .exclude(role_grants__role=Role.SUPPLIER)
            .exclude(supplier_stake())
        )
    return users


def user_verified_emails(*, user: User) -> set[str]:
    return {
        email.lower()
        for email in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }


def user_has_authenticator(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def user_list_for_role_management(*, query: str = "") -> QuerySet[User]:
    users = User.objects.prefetch_related("role_grants").order_by("email")
    if query:
        users = users.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
    return users


def notifications_needing_attention() -> QuerySet[Notification]:
    """Failed, given up, or pending for longer than the sweeper should have needed."""
    Status = Notification.Status
    late = timezone.now() - dt.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS * 2)
    return (
        Notification.objects.filter(
            Q(status__in=(Status.FAILED, Status.GAVE_UP))
            | Q(status=Status.PENDING, created_at__lt=late)
        )
        .select_related("recipient")
        .order_by("-status", "created_at")
    )


def notification_status_counts() -> dict[str, int]:
    counts = dict(Notification.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in Notification.Status.values}


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    task: str
    schedule: str
    run: JobRun | None


def _describe(schedule) -> str:
    if isinstance(schedule, int | float):
        if schedule < 60:
            count = int(schedule)
            text = ngettext("every second", "every %(n)s seconds", count)
        elif schedule < 3600:
            count = int(schedule // 60)
            text = ngettext("every minute", "every %(n)s minutes", count)
        else:
            count = int(schedule // 3600)
            text = ngettext("every hour", "every %(n)s hours", count)
        return text % {"n": count}
    hours = sorted(getattr(schedule, "hour", ()))
    minutes = sorted(getattr(schedule, "minute", ()))
    if len(hours) == 1 and len(minutes) == 1:
        written = formats.time(dt.time(hours[0], minutes[0]))
        return _("daily at %(time)s (Eastern time)") % {"time": written}
    return str(schedule)


def scheduled_jobs() -> list[ScheduledJob]:
    """Every beat job of the settings, with its last recorded run."""
    runs = {run.name: run for run in JobRun.objects.all()}
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    return [
        ScheduledJob(
            name=name,
            task=entry["task"],
            schedule=_describe(entry["schedule"]),
            run=runs.get(entry["task"]),
        )
        for name, entry in schedule.items()
    ]


def unread_notification_count(*, user: User) -> int:
    """The badge on every signed-in page: kept in the cache until a notification of theirs is
    written or read (marketplace.caching)."""
    return unread_count_cached(
        user.pk,
        lambda: Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
    )


def discarded_by(user: User, model: type, pk: int, verb: str) -> bool:
    """Whether `user` deleted row `pk` of `model` (audited with `verb`): a repeat of their
    discard, from another tab or a replay, lands where the first did rather than on a 404."""
    return AuditEvent.objects.filter(
        actor=user,
        verb=verb,
        target_type=ContentType.objects.get_for_model(model),
        target_id=str(pk),
    ).exists()
