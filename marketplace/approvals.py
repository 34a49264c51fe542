"""Two people for what matters (DESIGN.md §4): one program administrator asks, a second decides.

Granting a staff role, changing a card holder's limits, changing the program guardrails and
cancelling an opportunity after its bidders were revealed are never done by one person. The
request is an `Approval` row; approving it carries the change out in the same transaction, by
calling the service that makes it (`role_grant`, `card_limit_set`, `guardrails_update`,
`opportunity_cancel`) with the approval, which each of them checks in the database.

Each app registers the kinds whose change it owns (`register_kind`, from its AppConfig.ready()):
the core app never imports the apps above it (DESIGN.md §2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from . import formats, permissions, services
from .models import STAFF_ROLES, Approval, Role, User
from .notifications import link, translated
from .selectors import users_with_role

Kind = Approval.Kind
Status = Approval.Status


# --- Who may ask and who may decide -------------------------------------------------------------


def approvers_for(*, requested_by: User | None, subject: User | None = None) -> QuerySet[User]:
    """The program administrators in force who could decide a request of `requested_by`
    about `subject`: never the one who asked, never the person it concerns."""
    excluded = [user.pk for user in (requested_by, subject) if user is not None]
    return users_with_role(Role.PROGRAM_ADMIN).exclude(pk__in=excluded)


NO_SECOND_ADMIN = gettext_lazy(
    "No other program administrator can approve this yet: it cannot happen until a second "
    "program administrator is appointed (the technical team runs `manage.py grant_role`)."
)


def second_admin_missing(*, user: User, subject: User | None = None) -> bool:
    """True when nobody could approve what `user` asks: the pages say so instead of offering a
    request that would wait for ever."""
    return not approvers_for(requested_by=user, subject=subject).exists()


def waiting_for(user: User) -> QuerySet[Approval]:
    """The pending requests `user` could decide (the dashboard's count)."""
    if not permissions.is_program_admin(user):
        return Approval.objects.none()
    return (
        Approval.objects.filter(status=Status.PENDING)
        .exclude(requested_by=user)
        .exclude(subject_user=user)
    )


def can_decide(user: User, approval: Approval) -> bool:
    """A program administrator other than the one who asked and the person it concerns."""
    return (
        approval.is_pending
        and permissions.is_program_admin(user)
        and user.pk != approval.requested_by_id
        and user.pk != approval.subject_user_id
    )


def can_withdraw(user: User, approval: Approval) -> bool:
    return approval.is_pending and user.is_authenticated and user.pk == approval.requested_by_id


def can_see(user: User, approval: Approval) -> bool:
    """Program administrators see every request; whoever asked sees their own."""
    return permissions.is_program_admin(user) or (
        user.is_authenticated and user.pk == approval.requested_by_id
    )


def visible_to(user: User) -> QuerySet[Approval]:
    """The requests `user` may see (`ApprovalQuerySet.visible_to`), with their people."""
    return Approval.objects.select_related("requested_by", "decided_by", "subject_user").visible_to(
        user
    )


# --- What each kind asks for --------------------------------------------------------------------


def _money(cents: int) -> str:
    return formats.money(int(cents))


def _guardrail_values(values: dict[str, Any]) -> dict[str, str]:
    """The guardrails as a sentence names them: "$10,000.00", "5 business days", "1 day"."""
    days = int(values["min_open_business_days"])
    window = int(values["split_window_days"])
    return {
        "cap": _money(values["value_cap_cents"]),
        "days": ngettext("%(count)s business day", "%(count)s business days", days)
        % {"count": days},
        "window": ngettext("%(count)s day", "%(count)s days", window) % {"count": window},
    }


def describe(approval: Approval) -> str:
    """What is asked, in the current language, in one sentence."""
    payload = approval.payload
    if approval.kind == Kind.ROLE_GRANT:
        return _("Grant the role “%(role)s” to %(email)s") % {
            "role": Role(payload["role"]).label,
            "email": payload.get("email", ""),
        }
    if approval.kind == Kind.CARD_LIMIT:
        return _(
            "Set the limits of card holder %(email)s to %(per_transaction)s per purchase and "
            "%(monthly)s a month"
        ) % {
            "email": payload.get("email", ""),
            "per_transaction": _money(payload["per_transaction_cents"]),
            "monthly": _money(payload["monthly_cents"]),
        }
    if approval.kind == Kind.GUARDRAILS:
        return _(
            "Change the program guardrails: value cap %(cap)s, open for at least %(days)s, "
            "split window %(window)s"
        ) % _guardrail_values(payload)
    title = payload.get(f"title_{(get_language() or 'en')[:2]}") or payload.get("title", "")
    return _("Cancel “%(title)s” after its bidders were revealed") % {"title": title}


def describe_before(approval: Approval) -> str:
    """What was in force when the change was asked for, for the decider to compare."""
    before = approval.payload.get("before") or {}
    if approval.kind == Kind.CARD_LIMIT and before:
        return _("%(per_transaction)s per purchase and %(monthly)s a month") % {
            "per_transaction": _money(before["per_transaction_cents"]),
            "monthly": _money(before["monthly_cents"]),
        }
    if approval.kind == Kind.CARD_LIMIT:
        return _("No limits set.")
    if approval.kind == Kind.GUARDRAILS and before:
        return _(
            "Value cap %(cap)s, open for at least %(days)s, split window %(window)s"
        ) % _guardrail_values(before)
    return ""


def _subject_key(kind: str, payload: dict[str, Any]) -> str:
    if kind == Kind.ROLE_GRANT:
        return f"role_grant:{payload['user']}:{payload['role']}"
    if kind == Kind.CARD_LIMIT:
        return f"card_limit:{payload['card_holder']}"
    if kind == Kind.GUARDRAILS:
        return "guardrails"
    return f"opportunity_cancel:{payload['opportunity']}"


# --- The kinds of request: each app registers the changes it owns ------------------------------


@dataclass(frozen=True)
class KindHandlers:
    """What the app that owns one kind of change gives the approval flow.

    `check(actor, payload)` refuses a request that could not be carried out (with the reasons
    the change's own service gives) and completes the payload with what the decider reads
    (the values in force before, a name); it returns the person the change concerns, if any.
    `carry_out(approval, actor)` makes the change as the second administrator, by calling the
    change's service with the approval. `may_ask(actor, payload)` says who may ask."""

    check: Callable[[User, dict[str, Any]], User | None]
    carry_out: Callable[[Approval, User], None]
    may_ask: Callable[[User, dict[str, Any]], bool]


_KINDS: dict[str, KindHandlers] = {}


def program_admin_asks(actor: User, payload: dict[str, Any]) -> bool:
    return permissions.is_program_admin(actor)


def register_kind(
    kind: str,
    *,
    check: Callable[[User, dict[str, Any]], User | None],
    carry_out: Callable[[Approval, User], None],
    may_ask: Callable[[User, dict[str, Any]], bool] = program_admin_asks,
) -> None:
    """Called by each app's AppConfig.ready() for the kinds whose change it owns: the core
    never imports the apps above it (DESIGN.md §2)."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown kind of approval: {kind!r}")
    _KINDS[kind] = KindHandlers(check=check, carry_out=carry_out, may_ask=may_ask)


def _handlers(kind: str) -> KindHandlers:
    if kind not in _KINDS:
        raise ValidationError(_("Unknown kind of request."))
    return _KINDS[kind]


def _role_grant_check(actor: User, payload: dict[str, Any]) -> User:
    user_pk: Any = payload.get("user")  # a JSON value: no such person when it is not a pk
    user = User.objects.filter(pk=user_pk).first()
    if user is None:
        raise ValidationError(_("This person no longer exists."))
    if user.pk == actor.pk:
        raise ValidationError(
            {"role": _("Nobody grants themselves a role: another program administrator asks.")}
        )
    role = payload.get("role")
    if role not in STAFF_ROLES:
        raise ValidationError({"role": _("Only staff roles need a second approval.")})
    services.role_grant_check(user=user, role=role)
    payload["email"] = user.email
    return user


def _role_grant_carry_out(approval: Approval, actor: User) -> None:
    # Asked about the person `_role_grant_check` found; the request is deleted with them.
    assert approval.subject_user is not None
    services.role_grant(
        actor=actor, user=approval.subject_user, role=approval.payload["role"], approval=approval
    )


register_kind(Kind.ROLE_GRANT, check=_role_grant_check, carry_out=_role_grant_carry_out)


# --- The services -------------------------------------------------------------------------------


def _summary(approval: Approval) -> dict[str, str]:
    values = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            values[code] = describe(approval)
    return values


def _notify(approval: Approval, *, kind: str, recipients, event_key: str) -> None:
    services.notification_send(
        kind=kind,
        recipients=recipients,
        event_key=event_key,
        context={
            "what": _summary(approval),
            "requester": approval.requested_by.email,
            "decider": approval.decided_by.email if approval.decided_by else "",
            "note": approval.decision_note,
            "kind_label": translated(Kind(approval.kind).label),
            "link": link("marketplace:approval_detail", pk=approval.pk),
        },
    )


PENDING_ALREADY = gettext_lazy(
    "A request for this is already waiting for approval. It must be decided or withdrawn "
    "before another is made."
)


def _pending_same(key: str, *, actor: User, payload: dict[str, Any]) -> Approval | None:
    """The pending request for the same thing: this one again (a double click, another tab)
    when the same person asked for the same change; a refusal when it is another request."""
    existing = (
        Approval.objects.select_for_update().filter(subject_key=key, status=Status.PENDING).first()
    )
    if existing is None:
        return None
    same = existing.requested_by_id == actor.pk and all(
        existing.payload.get(name) == value
        for name, value in payload.items()
        if name not in {"before", "email", "title"}
    )
    if same:
        return existing
    raise ValidationError(PENDING_ALREADY, code="pending")


@transaction.atomic
def approval_request(
    *, actor: User, kind: str, payload: dict[str, Any], reason: str = ""
) -> Approval:
    """Ask a second program administrator for a change. The same request again (a double
    click, another tab) is the pending one; another request for the same thing waits until
    that one is decided or withdrawn."""
    if kind not in Kind.values:
        raise ValidationError(_("Unknown kind of request."))
    payload = dict(payload)
    handlers = _handlers(kind)
    if not actor.is_authenticated or not handlers.may_ask(actor, payload):
        raise PermissionDenied
    subject = handlers.check(actor, payload)
    if not approvers_for(requested_by=actor, subject=subject).exists():
        raise ValidationError(NO_SECOND_ADMIN, code="no_second_admin")
    key = _subject_key(kind, payload)
    # The person first: two requests at once (a double click) take turns, and the second finds
    # the first's row.
    User.objects.select_for_update(no_key=True).filter(pk=actor.pk).first()
    existing = _pending_same(key, actor=actor, payload=payload)
    if existing is not None:
        return existing
    approval = Approval(
        kind=kind,
        payload=payload,
        subject_key=key,
        subject_user=subject,
        reason=reason.strip() or payload.get("reason", ""),
        requested_by=actor,
    )
    approval.full_clean(exclude=["requested_by", "subject_user"], validate_constraints=False)
    try:
        with transaction.atomic():
            approval.save()
    except IntegrityError:  # the same request, sent twice at once, committed first
        existing = _pending_same(key, actor=actor, payload=payload)
        if existing is not None:
            return existing
        raise ValidationError(PENDING_ALREADY, code="pending") from None
    event = services.audit_event_record(
        actor=actor,
        verb="approval.requested",
        target=approval,
        data={"kind": kind, "subject": key},
    )
    _notify(
        approval,
        kind="approval.requested",
        recipients=approvers_for(requested_by=actor, subject=subject),
        event_key=str(event.pk),
    )
    return approval


def _lock_pending(approval: Approval) -> Approval:
    locked = (
        Approval.objects.select_for_update(of=("self",))
        .select_related("requested_by", "subject_user")
        .get(pk=approval.pk)
    )
    if not locked.is_pending:
        raise ValidationError(
            _("This request is no longer waiting: it was %(status)s.")
            % {"status": str(locked.get_status_display()).lower()},
            code="decided",
        )
    return locked


def _check_decider(actor: User, approval: Approval) -> None:
    if actor.pk == approval.requested_by_id:
        raise ValidationError(
            _(
                "You asked for this change: a second program administrator must decide it. "
                "You can withdraw it."
            ),
            code="own_request",
        )
    if actor.pk == approval.subject_user_id:
        raise ValidationError(
            _("This request concerns you: another program administrator must decide it."),
            code="own_subject",
        )
    if not permissions.is_program_admin(actor):
        raise PermissionDenied


def _decision_save(approval: Approval, *, actor: User, status: str, note: str) -> None:
    approval.status = status
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_note = note.strip()
    approval.full_clean(exclude=["requested_by", "decided_by", "subject_user"])
    approval.save()


def _decision_record(approval: Approval, *, actor: User, verb: str) -> None:
    """The decision in the audit trail, and the requester told (the notice kind is the verb)."""
    event = services.audit_event_record(
        actor=actor,
        verb=verb,
        target=approval,
        data={"kind": approval.kind, "requested_by": approval.requested_by_id},
    )
    _notify(approval, kind=verb, recipients=[approval.requested_by], event_key=str(event.pk))


@transaction.atomic
def approval_approve(*, actor: User, approval: Approval, note: str = "") -> Approval:
    """Approve and carry out the change, in one transaction: if the change is refused (the
    person became a supplier, the opportunity moved on), nothing is approved."""
    approval = _lock_pending(approval)
    _check_decider(actor, approval)
    if not _handlers(approval.kind).may_ask(approval.requested_by, approval.payload):
        # Two people means two people in office: a request whose author lost the power to ask
        # (role revoked or suspended) is nobody's request any more.
        raise ValidationError(
            _(
                "%(email)s, who asked for this, can no longer ask for it: it cannot be "
                "approved. Reject it and say why."
            )
            % {"email": approval.requested_by.email},
            code="requester_gone",
        )
    _decision_save(approval, actor=actor, status=Status.APPROVED, note=note)
    _handlers(approval.kind).carry_out(approval, actor)
    _decision_record(approval, actor=actor, verb="approval.approved")
    return approval


@transaction.atomic
def approval_reject(*, actor: User, approval: Approval, note: str) -> Approval:
    if not note.strip():
        raise ValidationError({"note": _("Say why you reject it: the requester reads it.")})
    approval = _lock_pending(approval)
    _check_decider(actor, approval)
    _decision_save(approval, actor=actor, status=Status.REJECTED, note=note)
    _decision_record(approval, actor=actor, verb="approval.rejected")
    return approval


@transaction.atomic
def approval_withdraw(*, actor: User, approval: Approval) -> Approval:
    approval = _lock_pending(approval)
    if actor.pk != approval.requested_by_id:
        raise PermissionDenied
    approval.status = Status.WITHDRAWN
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "decided_at"])
    services.audit_event_record(
        actor=actor, verb="approval.withdrawn", target=approval, data={"kind": approval.kind}
    )
    return approval
