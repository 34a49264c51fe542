"""One way for a page to find a row its visitor may see: `get_visible_or_404`.

Every user-scoped model's queryset answers `visible_to(user)`, the rows that person may see;
a page asks for one of them through this helper and anything else (somebody else's
notification, a request they did not make, a draft they do not own) is a 404, the same answer
as a row that does not exist, so a page never tells anyone that a row they may not see is there.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=models.Model)


def get_visible_or_404(
    queryset_or_model: type[M] | models.Manager[M] | models.QuerySet[M], user: Any, **lookup: Any
) -> M:
    """The row matching `lookup` among those `user` may see; a 404 otherwise. `queryset_or_model`
    is a model, a manager or a queryset (to keep its select_related…) whose queryset class
    defines `visible_to(user)`."""
    if isinstance(queryset_or_model, type):
        queryset = queryset_or_model._default_manager.all()
    elif isinstance(queryset_or_model, models.Manager):
        queryset = queryset_or_model.all()
    else:
        queryset = queryset_or_model
    visible_to = getattr(queryset, "visible_to", None)
    if visible_to is None:
        raise TypeError(f"{queryset.model.__name__}'s queryset has no visible_to(user)")
    return get_object_or_404(visible_to(user), **lookup)
