"""Pure predicates about who may do what. Services enforce them; templates use them."""

from __future__ import annotations

from django.conf import settings

from .models import STAFF_ROLES, Role, User


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower() if "@" in email else ""


def is_staff_email(email: str) -> bool:
    """True for an address on a staff domain or one of its subdomains (`x@esdc-edsc.gc.ca`)."""
    domain = email_domain(email)
    if not domain:
        return False
    for allowed in settings.STAFF_EMAIL_DOMAINS:
        allowed = allowed.lower().lstrip(".")
        if domain == allowed or domain.endswith("." + allowed):
            return True
    return False


def has_role(user: User, role: str) -> bool:
    return bool(user.is_authenticated and user.is_active and role in user.roles)


def is_supplier(user: User) -> bool:
    return has_role(user, Role.SUPPLIER)


def is_program_admin(user: User) -> bool:
    return has_role(user, Role.PROGRAM_ADMIN)


def is_marketplace_staff(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.staff_roles)


def has_verified_staff_email(user: User, *, verified_emails: set[str]) -> bool:
    """`verified_emails` is the set of the user's verified addresses (allauth's records)."""
    return user.email.lower() in verified_emails and is_staff_email(user.email)


def can_manage_roles(user: User) -> bool:
    return is_program_admin(user)


def can_hold_role(user: User, role: str, *, verified_emails: set[str]) -> bool:
    """Staff roles need a verified staff-domain email; the supplier role needs the opposite."""
    if role in STAFF_ROLES:
        return has_verified_staff_email(user, verified_emails=verified_emails)
    return not is_staff_email(user.email) and not user.staff_roles


def can_edit_supplier_profile(user: User) -> bool:
    return is_supplier(user)


def must_set_up_mfa(user: User, *, has_authenticator: bool) -> bool:
    return bool(
        settings.STAFF_MFA_REQUIRED and is_marketplace_staff(user) and not has_authenticator
    )


def can_operate(user: User) -> bool:
    """The operations page: failed notifications and scheduled jobs."""
    return is_program_admin(user)
