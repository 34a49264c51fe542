"""Reads of the core app's data."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db.models import Q, QuerySet

from .models import User


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
