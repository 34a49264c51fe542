"""Sign-ins as allauth records them, for test clients signed in with `force_login`.

Revealing, awarding, certifying and paying ask staff to prove who they are if they have not
within `ACCOUNT_REAUTHENTICATION_TIMEOUT` (marketplace/sessions.py), read from allauth's record
of the session's authentications. A browser's sign-in writes that record; `force_login` does
not, so the test clients write it here, as a sign-in just made.
"""

from __future__ import annotations

import time

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from allauth.account.internal.userkit import user_id_to_str


def record_sign_in(client, user, *, seconds_ago: float = 0, methods=("password",)) -> None:
    """Note in `client`'s session that `user` signed in (with `methods`) `seconds_ago`."""
    session = client.session
    at = time.time() - seconds_ago
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": method, "at": at} for method in methods
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()


def recording_force_login(original):
    """`Client.force_login` that also records the sign-in (with a code, for an account that
    has an authenticator), as signing in through the pages does."""

    def force_login(self, user, backend=None):
        from allauth.mfa.utils import is_mfa_enabled

        original(self, user, backend)
        methods = ("password", "mfa") if is_mfa_enabled(user) else ("password",)
        record_sign_in(self, user, methods=methods)

    return force_login
