"""Background work of the core app. Tasks take ids and re-check state: a second run is a no-op."""

from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from django.core import management
from django.utils import timezone

from .emails import send_templated_email
from .models import STAFF_ROLES, RoleGrant

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
    time_limit=60,
    soft_time_limit=45,
)
def role_granted_notify(grant_id: int) -> bool:
    """Tell a staff member which role they were given. Returns whether an email went out."""
    grant = (
        RoleGrant.objects.select_related("user")
        .filter(pk=grant_id, notified_at__isnull=True)
        .first()
    )
    if grant is None or grant.role not in STAFF_ROLES:
        return False  # revoked in the meantime, or already announced
    send_templated_email(
        template="marketplace/email/role_granted",
        to=grant.user,
        context={"grant": grant},
    )
    RoleGrant.objects.filter(pk=grant.pk).update(notified_at=timezone.now())
    return True


@shared_task(acks_late=True, time_limit=600)
def sessions_clear_expired() -> None:
    management.call_command("clearsessions")
