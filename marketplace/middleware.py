from __future__ import annotations

import datetime as dt
import logging
import math
from contextlib import suppress

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import OperationalError
from django.http import HttpResponse, UnreadablePostError
from django.shortcuts import redirect
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode

from . import once, permissions, selectors

logger = logging.getLogger(__name__)

# Pages a staff member without MFA may still reach: setting up MFA, signing out.
MFA_SETUP_URL_NAMES = frozenset({"account_logout", "account_reauthenticate", "account_login"})


class StaffMFARequiredMiddleware:
    """Outside the demo, anyone with power (a staff role, is_staff or is_superuser: see
    `permissions.needs_mfa`) sets up an authenticator app before doing anything else, the
    technical admin site included, and uses it: a session whose sign-in did not pass the code
    (allauth records how a session authenticated) is asked for it before going on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not settings.STAFF_MFA_REQUIRED:  # the demo: no question to ask the database
            return None
        if not permissions.needs_mfa(user):
            return None
        match = request.resolver_match
        # allauth's own pages, which are not namespaced: the admin names a model's pages after
        # its app ("admin:mfa_authenticator_changelist" would otherwise pass for an MFA page).
        url_name = match.url_name if match and not match.namespaces else ""
        if url_name and (url_name.startswith("mfa_") or url_name in MFA_SETUP_URL_NAMES):
            return None
        has_authenticator = selectors.user_has_authenticator(user=user)
        if permissions.must_set_up_mfa(user, has_authenticator=has_authenticator):
            return redirect("mfa_activate_totp")
        passed_mfa = any(
            record.get("method") == "mfa" for record in get_authentication_records(request, user)
        )
        if permissions.must_pass_mfa(
            user, has_authenticator=has_authenticator, passed_mfa=passed_mfa
        ):
            query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
            return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
        return None


class ArrivalMiddleware:
    """Notes when the request reached the server, as `request.arrived_at`: the deadline is
    judged by arrival (DESIGN.md §3), not by when a busy server got round to the request.

    First in the chain, so nothing the site does first (sessions, sign-in) counts against the
    sender; a form's body is read before the time is taken, so all it says had arrived by then.
    With `REQUEST_ARRIVAL_HEADER` set, the time the proxy in front stamped on the request once
    it had the whole of it is used instead (nginx, which buffers the body: `proxy_set_header
    X-Request-Start "t=${msec}";`, deploy/nginx.conf): queueing for a web worker does not
    count either. The stamp is trusted at most `REQUEST_ARRIVAL_MAX_WAIT_SECONDS` back and
    never ahead of now: set the header only behind a proxy that always overwrites it, or a
    client could move its own request up to that much earlier."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            # A request arrives with its last byte: the form is read now, so that words sent
            # after the deadline (a body held back on a slow connection) never count as on time.
            with suppress(UnreadablePostError):  # the sender hung up: answered further on
                request.POST  # noqa: B018
        request.arrived_at = arrival_time(request.META)
        return self.get_response(request)


def arrived_at(request) -> dt.datetime:
    """When the request reached the server (`ArrivalMiddleware`); now for a request made
    without the middleware (a test's RequestFactory)."""
    return getattr(request, "arrived_at", None) or timezone.now()


def _proxy_time(value: str) -> float | None:
    """Seconds since the epoch from `t=1700000000.123`, or the same in ms or µs."""
    number = value.strip().removeprefix("t=")
    try:
        seconds = float(number)
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    while seconds > 1e11:  # milliseconds or microseconds since the epoch
        seconds /= 1000
    return seconds


def arrival_time(meta) -> dt.datetime:
    now = timezone.now()
    header = settings.REQUEST_ARRIVAL_HEADER
    if not header or header not in meta:
        return now
    seconds = _proxy_time(str(meta[header]))
    if seconds is None:
        return now
    earliest = now - dt.timedelta(seconds=settings.REQUEST_ARRIVAL_MAX_WAIT_SECONDS)
    try:
        given = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return min(max(given, earliest), now)


# --- A busy database: a clean 503, never a 500 ----------------------------------------------------

# SQLite's "busy" errors (another connection holds the write lock past the timeout, or, with a
# shared cache, a table) and PostgreSQL's (SQLSTATE): lock_timeout, statement_timeout or a
# cancel, a deadlock, a serialization failure. Each one rolled the transaction back.
SQLITE_BUSY_MESSAGES = (
    "database is locked",
    "database table is locked",
    "database schema is locked",
)
POSTGRESQL_BUSY_CODES = {
    "55P03": "lock timeout",
    "57014": "statement timeout or cancel",
    "40P01": "deadlock",
    "40001": "serialization failure",
}
DATABASE_BUSY_RETRY_SECONDS = 5


def database_busy(error: BaseException | None) -> str:
    """Why the database refused this request for now (empty when the error is not that)."""
    if not isinstance(error, OperationalError):
        return ""
    cause = error.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    if code in POSTGRESQL_BUSY_CODES:
        return POSTGRESQL_BUSY_CODES[code]
    text = str(error).lower()
    return next((message for message in SQLITE_BUSY_MESSAGES if message in text), "")


def busy_response() -> HttpResponse:
    """The static page (no database, no session: both may be what is busy) saying that
    nothing was saved and to try again, in both languages."""
    response = HttpResponse(loader.get_template("503_busy.html").render(), status=503)
    response["Retry-After"] = str(DATABASE_BUSY_RETRY_SECONDS)
    return response


class DatabaseBusyMiddleware:
    """A view that waited too long for the database (a lock or statement timeout, SQLite's
    write lock) answers 503 with `Retry-After`: its transaction was rolled back, so nothing
    was saved and trying again is safe. Logged as a warning; any other error goes on as usual."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        reason = database_busy(exception)
        if not reason:
            return None
        logger.warning(
            "Database busy (%s): %s %s answered 503", reason, request.method, request.path
        )
        return busy_response()


# --- Repeated form posts: the same answer, never a second run ------------------------------------


class FormOnceMiddleware:
    """A POST carrying a form's one-time key runs once; a repeat (double click, replay) waits
    for it and gets the same redirect and messages (marketplace/once.py). After the session,
    authentication, CSRF and messages middleware: only a checked request claims a key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except BaseException:
            claim = getattr(request, "_form_once_claim", None)
            if claim is not None:
                once.finish(claim, request, None)
            raise
        claim = getattr(request, "_form_once_claim", None)
        if claim is not None:
            once.finish(claim, request, response)
        if once.carries_keys(response):
            # Back must fetch the page again, with fresh keys: a page restored from the
            # browser's cache would send an old key, and get an old answer.
            patch_cache_control(response, no_store=True)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        key = once.cache_key(request)
        if key is None:
            return None
        outcome = once.claim_or_replay(request, key)
        if isinstance(outcome, once.Claim):
            request._form_once_claim = outcome
            return None
        return outcome if outcome is not None else busy_response()
