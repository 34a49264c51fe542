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


class ForgivingPaginationMixin:
    """A page number that is not a number, or out of range, shows the nearest page instead
    of an error: a list reached from an old link still shows something."""

    def paginate_queryset(self, queryset, page_size):
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()
