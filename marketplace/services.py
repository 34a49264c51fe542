"""Every write of the core app: users, roles, supplier profiles and the audit trail."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from . import permissions
from .models import STAFF_ROLES, AuditEvent, Role, RoleGrant, SupplierProfile, User
from .selectors import user_verified_emails


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
    event.full_clean()
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
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language
    audit_event_record(
        actor=user, verb="user.language_changed", target=user, data={"language": language}
    )
    return user


@transaction.atomic
def user_signup_complete(*, user: User) -> None:
    """Called once a self-service sign-up is saved: outside staff domains, you are a supplier."""
    audit_event_record(actor=user, verb="user.signed_up", target=user)
    if not permissions.is_staff_email(user.email):
        RoleGrant.objects.get_or_create(user=user, role=Role.SUPPLIER)
        audit_event_record(actor=user, verb="role.granted", target=user, data={"role": "supplier"})


@transaction.atomic
def role_grant(*, actor: User | None, user: User, role: str) -> RoleGrant:
    """Grant `role` to `user`. `actor=None` is the system (a management command)."""
    if actor is not None and not permissions.can_manage_roles(actor):
        raise PermissionDenied
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    user = User.objects.select_for_update().get(pk=user.pk)
    if not permissions.can_hold_role(user, role, verified_emails=user_verified_emails(user=user)):
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
    grant, created = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": actor}
    )
    if not created:
        raise ValidationError({"role": _("This person already has that role.")})
    audit_event_record(actor=actor, verb="role.granted", target=user, data={"role": role})
    if role in STAFF_ROLES:
        from .tasks import role_granted_notify

        role_granted_notify.delay_on_commit(grant.pk)
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
)


@transaction.atomic
def supplier_profile_save(*, actor: User, user: User, **fields: Any) -> SupplierProfile:
    """Create or update the supplier's profile; only the supplier themself may do it."""
    if actor.pk != user.pk or not permissions.can_edit_supplier_profile(user):
        raise PermissionDenied
    unknown = set(fields) - set(SUPPLIER_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown supplier profile fields: {sorted(unknown)}")
    profile = SupplierProfile.objects.select_for_update().filter(user=user).first()
    created = profile is None
    if created:
        profile = SupplierProfile(user=user)
    before = {name: getattr(profile, name) for name in fields}
    for name, value in fields.items():
        setattr(profile, name, value.strip() if isinstance(value, str) else value)
    if profile.gst_hst_number:
        digits = profile.gst_hst_number.replace(" ", "").upper()
        profile.gst_hst_number = f"{digits[:9]} {digits[9:]}"
    profile.postal_code = profile.postal_code.upper().replace(" ", "")
    if len(profile.postal_code) == 6:
        profile.postal_code = f"{profile.postal_code[:3]} {profile.postal_code[3:]}"
    profile.full_clean()
    profile.save()
    changed = sorted(name for name in fields if getattr(profile, name) != before[name])
    audit_event_record(
        actor=actor,
        verb="supplier_profile.created" if created else "supplier_profile.updated",
        target=profile,
        # Field names only: the audit trail must not become a second copy of identities.
        data={"fields": changed},
    )
    return profile
