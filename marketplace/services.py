"""Every write of the core app: users, roles, supplier profiles and the audit trail."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, models, transaction
from django.db import connection as database
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import caching, names, permissions
from .jobs import enqueue_on_commit
from .models import (
    STAFF_ROLES,
    Approval,
    AuditEvent,
    JobRun,
    Notification,
    NotificationOptOut,
    Role,
    RoleGrant,
    SupplierProfile,
    User,
)
from .notifications import CATALOGUE, email_message, kinds_for, link, translated
from .selectors import user_verified_emails, users_with_role
from .staff_domains import is_staff_email


def audit_event_record(
    *,
    actor: User | None,
    verb: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit trail. Call it inside the transaction of the change."""
    event = AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        data=data or {},
    )
    if target is not None:
        event.target_type = ContentType.objects.get_for_model(target)
        event.target_id = str(target.pk)
        event.target_repr = str(target)[:255]
    # The actor and the target's type are objects in hand: checking that they exist would
    # cost two queries on every audited action.
    event.full_clean(exclude=["actor", "target_type"])
    event.save()
    return event


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str = "",
    preferred_language: str = "en",
    email_verified: bool = False,
) -> User:
    user = User(
        email=User.objects.normalize_email(email).lower(),
        full_name=full_name,
        preferred_language=preferred_language,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    audit_event_record(actor=None, verb="user.created", target=user)
    return user


@transaction.atomic
def user_set_preferred_language(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"preferred_language": _("Choose English or French.")})
    # Conditional, so that saving the same choice twice (a double click) records one change.
    changed = (
        User.objects.filter(pk=user.pk)
        .exclude(preferred_language=language)
        .update(preferred_language=language)
    )
    user.preferred_language = language
    if changed:
        audit_event_record(
            actor=user, verb="user.language_changed", target=user, data={"language": language}
        )
    return user


def user_may_rename(*, user: User) -> bool:
    """Whether the person may change their own name: a supplier may, a staff member who has
    one may not (see user_set_full_name)."""
    if not user.full_name:
        return True
    return not permissions.is_staff_account(user, verified_emails=user_verified_emails(user=user))


@transaction.atomic
def user_set_full_name(*, user: User, full_name: str) -> User:
    """The name the person is greeted by in emails (issue 21), checked as at sign-up."""
    try:
        name = names.person_name_clean(full_name)
    except ValidationError as error:
        raise ValidationError({"full_name": error.messages}) from error
    stored = User.objects.filter(pk=user.pk).values_list("full_name", flat=True).first()
    # A supplier may rename freely: each bid keeps the identity it was submitted under, and the
    # packets are redacted with it too (Bid.identity_at_submission). A staff member's name is on
    # the records of their work, read as they are now (certifications, invoices, the check
    # that a card holder does not pay their own firm): it stays, once given, as it was.
    if stored and name != stored and not user_may_rename(user=user):
        raise ValidationError(
            {
                "full_name": _(
                    "Your name is on the records of your work for the program (certifications, "
                    "invoices, conflict of interest checks): it cannot be changed here. To "
                    "correct it, contact the program administrators."
                )
            },
            code="staff_name_fixed",
        )
    # Conditional, so that saving the same name twice (a double click) records one change.
    changed = User.objects.filter(pk=user.pk).exclude(full_name=name).update(full_name=name)
    user.full_name = name
    if changed:
        audit_event_record(actor=user, verb="user.name_changed", target=user)
    return user


@transaction.atomic
def user_signup_complete(*, user: User) -> None:
    """Called once a self-service sign-up is saved: outside staff domains, you are a supplier."""
    audit_event_record(actor=user, verb="user.signed_up", target=user)
    if not is_staff_email(user.email):
        RoleGrant.objects.get_or_create(user=user, role=Role.SUPPLIER)
        audit_event_record(actor=user, verb="role.granted", target=user, data={"role": "supplier"})


def role_grant_check(*, user: User, role: str) -> None:
    """Refuse a role the account may not hold (DESIGN.md §4), or holds already."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if RoleGrant.objects.filter(user=user, role=role).exists():
        raise ValidationError({"role": _("This person already has that role.")})
    if permissions.can_hold_role(user, role, verified_emails=user_verified_emails(user=user)):
        return
    stake_only = Role.SUPPLIER not in user.granted_roles and user.has_supplier_stake
    if role in STAFF_ROLES and stake_only:
        raise ValidationError(
            {
                "role": _(
                    "This account has a supplier profile or has bid: it cannot hold a staff "
                    "role, even without the supplier role. Nobody who has bid may evaluate, "
                    "buy or pay."
                )
            }
        )
    if role in STAFF_ROLES and permissions.is_supplier_account(user):
        raise ValidationError(
            {
                "role": _(
                    "This account is a supplier: it cannot hold a staff role, whatever its "
                    "email addresses. Nobody who can bid may evaluate, buy or pay."
                )
            }
        )
    if role in STAFF_ROLES:
        raise ValidationError(
            {
                "role": _(
                    "Staff roles can only be granted to a verified email address on a "
                    "Government of Canada domain."
                )
            }
        )
    raise ValidationError({"role": _("Staff accounts cannot also be suppliers.")})


@transaction.atomic
def role_grant(
    *, actor: User | None, user: User, role: str, approval: Approval | None = None
) -> RoleGrant:
    """Grant `role` to `user`. `actor=None` is the system (a management command, the demo).

    A program administrator grants a staff role only through an approval a second one gave
    (marketplace/approvals.py), and nobody grants a role to themselves."""
    if actor is not None and not permissions.can_manage_roles(actor):
        raise PermissionDenied
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(
            {"role": _("Nobody grants themselves a role: another program administrator asks.")}
        )
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    user = User.objects.select_for_update().get(pk=user.pk)
    role_grant_check(user=user, role=role)  # the plainest reasons first
    if actor is not None and role in STAFF_ROLES:
        approval = Approval.objects.authorizing(
            approval, actor=actor, kind=Approval.Kind.ROLE_GRANT, user=user.pk, role=role
        )
    grant, created = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": actor}
    )
    if not created:
        raise ValidationError({"role": _("This person already has that role.")})
    data: dict[str, Any] = {"role": role}
    if approval is not None:
        data.update(approval=approval.pk, requested_by=approval.requested_by_id)
    event = audit_event_record(actor=actor, verb="role.granted", target=user, data=data)
    if role in STAFF_ROLES:
        notification_send(
            kind="role.granted",
            recipients=[user],
            event_key=str(event.pk),
            context={
                "role": translated(Role(role).label),
                "link": link("marketplace:dashboard"),
            },
        )
    return grant


@transaction.atomic
def role_revoke(*, actor: User | None, user: User, role: str) -> None:
    if actor is not None and not permissions.can_manage_roles(actor):
        raise PermissionDenied
    grant = RoleGrant.objects.select_for_update().filter(user=user, role=role).first()
    if grant is None:
        raise ValidationError({"role": _("This person does not have that role.")})
    if role == Role.PROGRAM_ADMIN:
        admins = RoleGrant.objects.select_for_update().filter(role=Role.PROGRAM_ADMIN)
        if admins.count() <= 1:
            raise ValidationError({"role": _("The last program administrator cannot be removed.")})
    grant.delete()
    audit_event_record(actor=actor, verb="role.revoked", target=user, data={"role": role})


STAFF_SUSPENDED = "role.staff_suspended"
STAFF_RESTORED = "role.staff_restored"


@transaction.atomic
def user_emails_changed(*, user: User) -> None:
    """After any change to an account's email addresses (added, confirmed, removed, primary).

    Staff powers already follow the addresses at every request (`User.roles`); this records
    when they stop or resume, and tells the program administrators, once per change of state
    (the last such event is the state: a second signal for the same change records nothing)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    granted = user.granted_roles & STAFF_ROLES
    if not granted:
        return
    suspended = bool(user.suspended_staff_roles)
    last = (
        AuditEvent.objects.for_target(user)
        .filter(verb__in=(STAFF_SUSPENDED, STAFF_RESTORED))
        .values_list("verb", flat=True)
        .first()
    )
    if suspended == (last == STAFF_SUSPENDED):
        return
    if suspended:
        reason = "supplier" if permissions.is_supplier_account(user) else "no_verified_staff_email"
        data = {"roles": sorted(granted), "reason": reason}
    else:
        data = {"roles": sorted(granted)}
    verb = STAFF_SUSPENDED if suspended else STAFF_RESTORED
    event = audit_event_record(actor=user, verb=verb, target=user, data=data)
    notification_send(
        kind=verb,
        recipients=users_with_role(Role.PROGRAM_ADMIN).exclude(pk=user.pk),
        event_key=str(event.pk),
        context={
            "email": user.email,
            "roles": {
                code: ", ".join(translated(Role(role).label)[code] for role in sorted(granted))
                for code, _name in settings.LANGUAGES
            },
            "link": link("marketplace:role_user_detail", pk=user.pk),
        },
    )


SUPPLIER_PROFILE_FIELDS = (
    "kind",
    "legal_name",
    "trading_name",
    "contact_name",
    "email",
    "phone",
    "website",
    "github_handle",
    "province",
    "postal_code",
    "gst_hst_number",
    "size",
)


@transaction.atomic
def supplier_profile_save(*, actor: User, user: User, **fields: Any) -> SupplierProfile:
    """Create or update the supplier's profile; only the supplier themself may do it."""
    if actor.pk != user.pk or not permissions.can_edit_supplier_profile(user):
        raise PermissionDenied
    unknown = set(fields) - set(SUPPLIER_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown supplier profile fields: {sorted(unknown)}")
    # The person's row first: two first saves at once (a double click) then make one profile,
    # the second finding the first's instead of breaking the one-profile rule.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    profile = SupplierProfile.objects.select_for_update().filter(user=user).first()
    created = profile is None
    if profile is None:
        profile = SupplierProfile(user=user)
    before = {name: getattr(profile, name) for name in fields}
    for name, value in fields.items():
        setattr(profile, name, value.strip() if isinstance(value, str) else value)
    if profile.gst_hst_number:
        digits = profile.gst_hst_number.replace(" ", "").upper()
        profile.gst_hst_number = f"{digits[:9]} {digits[9:]}"
    if profile.kind == SupplierProfile.Kind.INDIVIDUAL:
        profile.size = SupplierProfile.Size.ONE  # an individual is a business of one
    profile.postal_code = profile.postal_code.upper().replace(" ", "")
    if len(profile.postal_code) == 6:
        profile.postal_code = f"{profile.postal_code[:3]} {profile.postal_code[3:]}"
    profile.full_clean()
    changed = sorted(name for name in fields if getattr(profile, name) != before[name])
    if not created and not changed:
        return profile  # the same answers again: nothing to save or record
    profile.save()
    audit_event_record(
        actor=actor,
        verb="supplier_profile.created" if created else "supplier_profile.updated",
        target=profile,
        # Field names only: the audit trail must not become a second copy of identities.
        data={"fields": changed},
    )
    return profile


# --- Notifications: the outbox ------------------------------------------------------------------

logger = logging.getLogger(__name__)

Delivery = Notification.Status


def _retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: 1, 2, 4 … minutes after each failed attempt, at most six hours."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def notification_send(
    *,
    kind: str,
    recipients: Iterable[User] | QuerySet[User],
    event_key: str,
    context: dict[str, Any],
) -> list[int]:
    """Write one notification per recipient in the caller's transaction; email after commit.

    `event_key` identifies the event (an audit event id, say): the same event twice gives one
    notification per person. Returns the ids of the notifications that wait for an email.
    """
    people: Iterable[tuple[int, str]]
    if isinstance(recipients, QuerySet):
        people = recipients.filter(is_active=True).values_list("pk", "preferred_language")
    else:
        people = [(user.pk, user.preferred_language) for user in recipients if user.is_active]
    return notification_send_each(
        kind=kind,
        event_key=event_key,
        messages=[(pk, language, context) for pk, language in dict(people).items()],
    )


def notifications_enqueue(notification_ids: Sequence[int]) -> None:
    """After commit, deliver these notifications in batches (one task per batch). The task is
    named, not imported: tasks call services, never the other way (docs/DESIGN.md, "Layers")."""
    size = settings.NOTIFICATIONS_BATCH_SIZE
    ids = list(notification_ids)
    for start in range(0, len(ids), size):
        enqueue_on_commit("marketplace.tasks.notifications_deliver", ids[start : start + size])


def notification_send_each(
    *, kind: str, event_key: str, messages: list[tuple[int, str, dict[str, Any]]]
) -> list[int]:
    """As `notification_send`, with a context of its own for each (user id, language).

    Returns the ids of the notifications this call created that wait for an email; a repeated
    event creates nothing and returns none."""
    keys = {pk: f"{kind}:{event_key}:{pk}" for pk, _language, _context in messages}
    existing: set[str] = set()
    key_list = list(keys.values())
    for start in range(0, len(key_list), 1000):
        existing.update(
            Notification.objects.filter(dedupe_key__in=key_list[start : start + 1000]).values_list(
                "dedupe_key", flat=True
            )
        )
    messages = [m for m in messages if keys[m[0]] not in existing]
    if not messages:
        return []
    spec = CATALOGUE[kind]
    opted_out: set[int] = set()
    if not spec.mandatory:
        opted_out = set(
            NotificationOptOut.objects.filter(
                kind=kind, user_id__in=[pk for pk, _language, _context in messages]
            ).values_list("user_id", flat=True)
        )
    now = timezone.now()
    grace = dt.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    rows = [
        Notification(
            recipient_id=pk,
            kind=kind,
            language=language or settings.LANGUAGE_CODE,
            context=context,
            dedupe_key=keys[pk],
            status=Delivery.SUPPRESSED if pk in opted_out else Delivery.PENDING,
            created_at=now,
            # The task enqueued after commit delivers it; the sweeper only steps in after this.
            next_attempt_at=now + grace,
        )
        for pk, language, context in messages
    ]
    Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    recipients = [row.recipient_id for row in rows]
    transaction.on_commit(lambda: caching.notifications_changed(recipients))
    waiting = [row.dedupe_key for row in rows if row.status == Delivery.PENDING]
    pending: list[int] = []
    for start in range(0, len(waiting), 1000):
        pending += Notification.objects.filter(
            dedupe_key__in=waiting[start : start + 1000], status=Delivery.PENDING
        ).values_list("pk", flat=True)
    notifications_enqueue(pending)
    return pending


def notifications_deliver(*, notification_ids: Sequence[int], connection=None) -> int:
    """Email a batch of notifications over one mail connection; returns how many went out.

    One read for the whole batch; then each message is rendered, and claimed and marked sent
    by one conditional UPDATE in its own transaction, which holds the row while the message is
    handed to the mail server. A worker that dies in between leaves it pending, never lost; a
    second run, or another worker, finds it sent (or waits for the row, then finds it sent).
    """
    batch = Notification.objects.filter(
        pk__in=list(notification_ids), status__in=(Delivery.PENDING, Delivery.FAILED)
    ).select_related("recipient")
    shared: dict = {}  # one rendering per event and language for the whole batch
    with _commits_without_waiting_for_disk():
        return sum(
            _notification_deliver(n, connection=connection, shared=shared)
            for n in batch.order_by("pk")
        )


@contextmanager
def _commits_without_waiting_for_disk() -> Iterator[None]:
    """Let PostgreSQL acknowledge the batch's commits before their log reaches the disk.

    The one risk is the database server itself crashing in the next fraction of a second:
    a row would then still read as pending and its email go out a second time. A duplicate
    email is the right side to err on; the cost saved is most of a delivery's database time.
    Set once for the batch on this connection (not once per message: a round trip each), and
    put back afterwards for whatever the connection does next.
    """
    if database.vendor != "postgresql":
        yield
        return
    with database.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with database.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:  # the connection broke: it is discarded with its settings
            logger.warning("Could not reset synchronous_commit", exc_info=True)


def _notification_deliver(notification: Notification, *, connection, shared: dict) -> bool:
    now = timezone.now()
    # Only the row as it was read: a concurrent attempt moved it on, and it is not ours.
    claim = Notification.objects.filter(
        pk=notification.pk,
        status__in=(Delivery.PENDING, Delivery.FAILED),
        attempts=notification.attempts,
    )
    if not notification.recipient.is_active:
        claim.update(status=Delivery.SUPPRESSED, attempts=F("attempts") + 1)
        return False
    try:
        message = email_message(notification, shared=shared)  # before the row is held
        with transaction.atomic():
            if not claim.update(
                status=Delivery.SENT, sent_at=now, last_error="", attempts=F("attempts") + 1
            ):
                return False  # sent already, or given up, by another run
            message.connection = connection
            message.send()
    except Exception as exc:  # a bad address, a template error, a mail server down
        logger.warning("Notification %s not delivered: %r", notification.pk, exc)
        attempts = notification.attempts + 1
        if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            claim.update(attempts=attempts, last_error=repr(exc)[:2000], status=Delivery.GAVE_UP)
        else:
            claim.update(
                attempts=attempts,
                last_error=repr(exc)[:2000],
                status=Delivery.FAILED,
                next_attempt_at=now + _retry_delay(attempts),
            )
        return False
    return True


def notifications_due(*, now: dt.datetime | None = None, limit: int = 5000) -> list[int]:
    """Claim what the sweeper must (re)send: pending or failed rows whose time has come."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Notification.objects.filter(
                status__in=(Delivery.PENDING, Delivery.FAILED), next_attempt_at__lte=now
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        # Pushed back so that the next sweep does not enqueue them again while they wait.
        grace = dt.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
        Notification.objects.filter(pk__in=due).update(next_attempt_at=now + grace)
    return due


@transaction.atomic
def notification_mark_read(*, user: User, notification: Notification) -> None:
    if notification.recipient_id != user.pk:
        raise PermissionDenied
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    transaction.on_commit(lambda: caching.notifications_changed([user.pk]))


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    transaction.on_commit(lambda: caching.notifications_changed([user.pk]))
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notification_preferences_save(*, user: User, emailed_kinds: Iterable[str]) -> list[str]:
    """Keep emailing the optional kinds in `emailed_kinds`; stop the others. Returns opt-outs."""
    optional = {kind.code for kind in kinds_for(user.roles) if not kind.mandatory}
    wanted = set(emailed_kinds)
    if wanted - set(CATALOGUE):
        raise ValidationError(_("Unknown kind of notification."))
    opt_outs = sorted(optional - wanted)
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()  # one save at a time
    before = set(
        NotificationOptOut.objects.filter(user=user, kind__in=optional).values_list(
            "kind", flat=True
        )
    )
    if before == set(opt_outs):
        return opt_outs  # the same choices again: nothing to change or record
    NotificationOptOut.objects.filter(user=user, kind__in=optional & wanted).delete()
    NotificationOptOut.objects.bulk_create(
        [NotificationOptOut(user=user, kind=kind) for kind in opt_outs], ignore_conflicts=True
    )
    audit_event_record(
        actor=user, verb="notifications.preferences_saved", target=user, data={"off": opt_outs}
    )
    return opt_outs


@transaction.atomic
def notification_unsubscribe(*, user: User, kind: str) -> bool:
    """Stop emails of one optional kind (from an email link, without signing in)."""
    spec = CATALOGUE.get(kind)
    if spec is None or spec.mandatory:
        raise ValidationError(_("This kind of message is always sent."))
    _optout, created = NotificationOptOut.objects.get_or_create(user=user, kind=kind)
    if created:
        audit_event_record(
            actor=None, verb="notifications.unsubscribed", target=user, data={"kind": kind}
        )
    return created


@transaction.atomic
def notification_retry(*, actor: User, notification: Notification) -> None:
    """Send a failed or given-up notification again, now (program admins, operations page)."""
    if not permissions.can_operate(actor):
        raise PermissionDenied
    now = timezone.now()
    grace = dt.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    # A pending one is retried only when it is stuck, not when a retry (or its first sending)
    # has just queued it: a second "send again" (a double click) sends nothing more.
    queued_just_now = models.Q(status=Delivery.PENDING, attempts=0, next_attempt_at__gt=now - grace)
    updated = (
        Notification.objects.filter(
            pk=notification.pk, status__in=(Delivery.FAILED, Delivery.GAVE_UP, Delivery.PENDING)
        )
        .exclude(queued_just_now)
        .update(status=Delivery.PENDING, attempts=0, next_attempt_at=now)
    )
    if not updated:
        if Notification.objects.filter(pk=notification.pk, status=Delivery.PENDING).exists():
            raise ValidationError(_("This notification is already waiting to be sent."))
        raise ValidationError(_("This notification was already sent."))
    audit_event_record(actor=actor, verb="notification.retried", target=notification)
    notifications_enqueue([notification.pk])


@transaction.atomic
def notifications_retry_given_up(*, actor: User) -> int:
    if not permissions.can_operate(actor):
        raise PermissionDenied
    ids = list(
        Notification.objects.select_for_update()
        .filter(status=Delivery.GAVE_UP)
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0  # none left (another click took them): nothing to record
    Notification.objects.filter(pk__in=ids).update(
        status=Delivery.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    audit_event_record(actor=actor, verb="notification.retried_all", data={"count": len(ids)})
    notifications_enqueue(ids)
    return len(ids)


# --- Scheduled jobs ---------------------------------------------------------------------------


def job_run_started(*, name: str) -> None:
    JobRun.objects.update_or_create(name=name, defaults={"last_started_at": timezone.now()})


def job_run_finished(*, name: str, result: Any = None, error: str = "") -> None:
    JobRun.objects.update_or_create(
        name=name,
        defaults={
            "last_finished_at": timezone.now(),
            "last_result": "" if result is None else str(result)[:200],
            "last_error": error[:2000],
        },
    )
