from __future__ import annotations

from django.conf import settings
from django.urls import translate_url
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language

from . import permissions
from .selectors import unread_notification_count


def other_language_url(path: str, language: str) -> str:
    url = translate_url(path, language)
    if url == path:
        # Not a resolvable page (a 404, say): swap the prefix so the toggle still works.
        current = f"/{get_language()}/"
        if path.startswith(current):
            url = f"/{language}/" + path[len(current) :]
    return url


def site(request) -> dict:
    current = get_language() or settings.LANGUAGE_CODE
    other = next(code for code, _name in settings.LANGUAGES if code != current[:2])
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "unread_notification_count": (
            SimpleLazyObject(lambda: unread_notification_count(user=user)) if authenticated else 0
        ),
        "other_language_code": other,
        "other_language_url": other_language_url(request.get_full_path(), other),
        "user_is_supplier": authenticated and permissions.is_supplier(user),
        "user_is_staff_member": authenticated and permissions.is_marketplace_staff(user),
        "user_is_program_admin": authenticated and permissions.is_program_admin(user),
    }
