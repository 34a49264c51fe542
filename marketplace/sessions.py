"""Sessions fit for staff: an idle timeout, an absolute lifetime, and a fresh proof of identity
before the steps that matter (DESIGN.md §4).

A staff member's unlocked screen or stolen cookie must not keep its power for days: past
`STAFF_SESSION_IDLE_SECONDS` without a request, or `STAFF_SESSION_MAX_SECONDS` after sign-in,
the person is signed out and sent to sign in again. Suppliers keep their usual sessions.

Revealing who bid, awarding, certifying and paying also ask for the password (the
authenticator code for an account with one) if the person has not given it within
`ACCOUNT_REAUTHENTICATION_TIMEOUT`: allauth's re-authentication pages ask, and then run the
request that was held, with what the person had typed.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import wraps
from urllib.parse import urlsplit

from allauth.account import app_settings as account_settings
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import resolve
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import STAFF_ROLES

# Seconds since the epoch, in the session: when this staff session began and when it was last
# seen active (written at most once a `STAFF_SESSION_ACTIVITY_WRITE_SECONDS`).
STARTED_KEY = "staff_session_started"
SEEN_KEY = "staff_session_seen"


def is_staff_account(user) -> bool:
    """Any power beyond a supplier's: a staff role granted (in force or suspended), or
    Django's technical flags. Read from the user as loaded with the request (no query)."""
    return bool(user.is_staff or user.is_superuser or user.granted_roles & STAFF_ROLES)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = max(1, round(seconds / 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _sign_in_again(request, reason: str) -> HttpResponseRedirect:
    """Sign out, then to the sign-in page with why and, for a page, the way back to it."""
    if request.method in ("GET", "HEAD"):
        back = request.get_full_path()
    else:
        # A form's address answers only its POST: come back to the page that showed the form.
        referer = request.META.get("HTTP_REFERER", "")
        back = ""
        if url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(referer)
            back = f"{parts.path}?{parts.query}" if parts.query else parts.path
    logout(request)
    messages.warning(request, reason)
    url = resolve_url(settings.LOGIN_URL)
    if back:
        url = f"{url}?{urlencode({REDIRECT_FIELD_NAME: back})}"
    return HttpResponseRedirect(url)


def staff_session_begin(session, *, now: float | None = None) -> None:
    """Start a staff session's clocks, and make the session itself end at the absolute limit."""
    now = time.time() if now is None else now
    session[STARTED_KEY] = session[SEEN_KEY] = now
    session.set_expiry(
        dt.datetime.fromtimestamp(now + settings.STAFF_SESSION_MAX_SECONDS, tz=dt.UTC)
    )


def staff_signed_in(request, user) -> None:
    """At sign-in, while the session is being written anyway: the first page then costs no
    session write of its own."""
    if is_staff_account(user):
        staff_session_begin(request.session)


class StaffSessionMiddleware:
    """Signs staff out after `STAFF_SESSION_IDLE_SECONDS` idle or `STAFF_SESSION_MAX_SECONDS`.

    The session is written when a staff session begins and then at most once a
    `STAFF_SESSION_ACTIVITY_WRITE_SECONDS`: a page view does not cost a session write. The
    session cookie (and the stored session) expire at the absolute limit too. After the
    messages middleware, so the reason reaches the sign-in page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._check(request)
        return response if response is not None else self.get_response(request)

    def _check(self, request):
        user = request.user
        if not user.is_authenticated or not is_staff_account(user):
            return None
        session = request.session
        now = time.time()
        started = session.get(STARTED_KEY)
        seen = session.get(SEEN_KEY)
        if not isinstance(started, int | float) or not isinstance(seen, int | float):
            # Stamped at sign-in (`staff_session_begin`); here only for a session opened before
            # the account held power (a role granted since) or before these limits existed.
            staff_session_begin(session, now=now)
            return None
        limit = started + settings.STAFF_SESSION_MAX_SECONDS
        if (
            session.get("_session_expiry") != 0
            and session.get_expiry_date().timestamp() > limit + 60
        ):
            # allauth's sign-in form sets the expiry after our stamp ("remember me"): the cookie
            # must still end at the absolute limit. Once, on the first page after signing in.
            session.set_expiry(dt.datetime.fromtimestamp(limit, tz=dt.UTC))
        if now - started >= settings.STAFF_SESSION_MAX_SECONDS:
            return _sign_in_again(
                request,
                _("You were signed out after %(duration)s, the longest a staff session lasts.")
                % {"duration": _duration(settings.STAFF_SESSION_MAX_SECONDS)}
                + " "
                + _("Sign in again to continue."),
            )
        if now - seen >= settings.STAFF_SESSION_IDLE_SECONDS:
            return _sign_in_again(
                request,
                _("You were signed out after %(duration)s without activity.")
                % {"duration": _duration(settings.STAFF_SESSION_IDLE_SECONDS)}
                + " "
                + _("Sign in again to continue."),
            )
        if now - seen >= settings.STAFF_SESSION_ACTIVITY_WRITE_SECONDS:
            session[SEEN_KEY] = now
        return None


# --- Re-authentication before the steps that matter ---------------------------------------------


def _has_mfa(user) -> bool:
    return is_mfa_enabled(user)


def proved_identity_recently(request) -> bool:
    """True when the person signed in or re-authenticated within
    `ACCOUNT_REAUTHENTICATION_TIMEOUT` (allauth's records of this session). With an
    authenticator, only a code given that recently counts: a password alone does not."""
    records = get_authentication_records(request, request.user)
    if _has_mfa(request.user):
        records = [record for record in records if record.get("method") == "mfa"]
    if not records:
        return False
    at = records[-1].get("at")
    return isinstance(at, int | float) and 0 <= time.time() - at < (
        account_settings.REAUTHENTICATION_TIMEOUT
    )


def reauthentication_required(*, back: str):
    """Refuse the view to staff who have not proved who they are within the window: allauth's
    middleware holds the request, asks (password, or the authenticator code), then runs it.

    Others are not asked: the view answers them as it would (403, or 404 for another's object).
    Only a form posts here: a visit (the way back from re-authenticating when no request was
    held, a second tab) goes to `back`, the page with the form, named with the view's own
    arguments."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if request.method in ("GET", "HEAD"):
                return redirect(back, *args, **kwargs)
            user = request.user
            if (
                user.is_authenticated
                and user.granted_roles & STAFF_ROLES
                and not proved_identity_recently(request)
            ):
                raise ReauthenticationRequired()
            # Run again after re-authenticating (allauth replays the held request from its
            # own page), the request still carries that page's match: views read their own.
            request.resolver_match = resolve(request.path_info)
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator
