"""Pure predicates about who may do what. Services enforce them; templates use them."""

from __future__ import annotations

from django.conf import settings

from .models import STAFF_ROLES, Role, User
from .staff_domains import is_staff_email


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


def is_supplier_account(user: User) -> bool:
    """Granted the supplier role, in force or not, or holding a supplier profile or a bid in
    any status: such an account never holds a staff role. The profile and the bids count
    because a role can be revoked while the bid stays in the evaluation."""
    return Role.SUPPLIER in user.granted_roles or user.has_supplier_stake


def is_staff_account(user: User, *, verified_emails: set[str]) -> bool:
    """Granted a staff role (even suspended), or on a staff address: never a supplier."""
    return bool(
        user.granted_roles & STAFF_ROLES
        or is_staff_email(user.email)
        or any(is_staff_email(email) for email in verified_emails)
    )


def can_hold_role(user: User, role: str, *, verified_emails: set[str]) -> bool:
    """Supplier and staff roles exclude each other in both directions (DESIGN.md §4).

    Staff roles need a verified staff-domain primary email and no supplier grant, profile or
    bid: a supplier who verifies a government address stays a supplier. The supplier role
    needs an account with no staff grant and no staff address, verified or primary."""
    if role in STAFF_ROLES:
        return not is_supplier_account(user) and has_verified_staff_email(
            user, verified_emails=verified_emails
        )
    return not is_staff_account(user, verified_emails=verified_emails)


def can_edit_supplier_profile(user: User) -> bool:
    return is_supplier(user)


def needs_mfa(user: User) -> bool:
    """Anyone with power over others: a staff role, or the technical admin site's is_staff or
    is_superuser (a `createsuperuser` account holds no role and needs it most)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_staff or user.is_superuser or is_marketplace_staff(user))
    )


def must_set_up_mfa(user: User, *, has_authenticator: bool) -> bool:
    return bool(settings.STAFF_MFA_REQUIRED and needs_mfa(user) and not has_authenticator)


def must_pass_mfa(user: User, *, has_authenticator: bool, passed_mfa: bool) -> bool:
    """An account with an authenticator whose session was opened without its code (a path
    around allauth's sign-in, or a session from before the authenticator) is asked for it."""
    return bool(
        settings.STAFF_MFA_REQUIRED and needs_mfa(user) and has_authenticator and not passed_mfa
    )


def can_operate(user: User) -> bool:
    """The operations page: failed notifications and scheduled jobs."""
    return is_program_admin(user)
