"""Authentication backends that load the signed-in user with their roles in one query.

Every signed-in request loads its user from the session, and nearly every one asks for the
user's roles (the staff MFA check, the navigation, permissions): reading both at once saves a
query on every request. Sessions name the backend that signed the user in, so sessions made by
Django's or allauth's own backends end once (the person signs in again).
"""

from __future__ import annotations

from allauth.account import auth_backends as allauth_backends
from django.contrib.auth import backends

from .models import User


class _UserWithRoles:
    def get_user(self, user_id):
        try:
            user = User.objects.with_roles().get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class ModelBackend(_UserWithRoles, backends.ModelBackend):
    pass


class AuthenticationBackend(_UserWithRoles, allauth_backends.AuthenticationBackend):
    pass
