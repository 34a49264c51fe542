"""Signal receivers: each hands the event to one service and holds no logic of its own."""

from __future__ import annotations

from . import services, sessions


def emails_changed(sender, *, user=None, email_address=None, **kwargs) -> None:
    """allauth's email_added, email_confirmed, email_removed and email_changed."""
    user = user if user is not None else email_address.user
    if user is not None and user.is_authenticated:
        services.user_emails_changed(user=user)


def user_logged_in(sender, *, request=None, user=None, **kwargs) -> None:
    """Django's user_logged_in: a staff session's clocks start at sign-in."""
    if request is not None and hasattr(request, "session") and user is not None:
        sessions.staff_signed_in(request, user)
