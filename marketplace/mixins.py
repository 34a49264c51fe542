"""View helpers shared by every app."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied

from .models import User


class PredicateRequiredMixin:
    """Refuse (403) a signed-in user for whom `permission(user)` is false.

    Sign-in itself is enforced by LoginRequiredMiddleware; this only checks the role.
    """

    permission: Callable[[User], bool]  # set as staticmethod(predicate)

    def dispatch(self, request, *args, **kwargs):
        if not self.permission(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
