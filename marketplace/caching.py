"""What is kept in the cache, and how it is never served stale.

Each kind of cached data belongs to a *scope* ("public-pages", "metrics-dashboard",
"notifications:<user id>") with a version: a random token kept in the cache. Entries are stored
under the version current when they were computed; a change to the data replaces the version on
commit (`content_changed`), so nothing computed before the change is read after it. A version
that the cache has forgotten is replaced by a new one, never reused. When the cache cannot be
reached, everything is computed as if there were no cache.

The anonymous public pages (`cache_public_page`): in the last hour before a popular deadline most
of the traffic is people who are not signed in reading the same few public pages. Rendering one
costs ten times what serving it from the cache does, so an anonymous GET is answered from the
cache when the same page (scheme, host, address and query, language) was rendered since the
last change to what public pages show. That change is announced explicitly: every write that
changes what a public page shows (publishing, amending or cancelling a posting, an addendum, a
question answered or withdrawn, criteria, closing, evaluating, an award, a contract or its end)
calls `public_pages_changed_on_commit()` inside its transaction. Writing an audit event does not:
many audited events only read (an evaluator opening a packet, a download), and emptying the
cache on them would throw away every cached page during the busiest hour for nothing. Time alone
changes a page too (a deadline passes before the closing task runs): entries live for
`PUBLIC_PAGE_CACHE_SECONDS` at most. A page whose rendering used the CSRF token, set a cookie or
showed a message is never stored; signed-in visitors always get a fresh page.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

T = TypeVar("T")

PUBLIC_PAGES = "public-pages"
# What a cached answer keeps besides its body; the middleware adds the rest (the language,
# the security headers, the request id) on the way out.
KEPT_HEADERS = ("Content-Type",)


def _version_key(scope: str) -> str:
    return f"{scope}:version"


def content_changed(*scopes: str, version_seconds: int | None = None) -> None:
    """Everything cached under these scopes is stale from now on. Call it on commit.

    `version_seconds` bounds how long the new versions are kept (None: until evicted); a
    forgotten version only means the next read computes afresh."""
    if not scopes:
        return
    try:
        cache.set_many(
            {_version_key(scope): uuid.uuid4().hex for scope in scopes}, timeout=version_seconds
        )
    except Exception:  # a cache that cannot be written cannot serve stale entries either
        logger.warning("Could not mark %s as changed", scopes[0], exc_info=True)


class NoVersion(Exception):
    """The cache gave no version (unreachable, or lost it in between): cache nothing now."""


def content_version(scope: str, *, version_seconds: int | None = None) -> str:
    """The current version of `scope`: part of the key of everything cached from its data."""
    key = _version_key(scope)
    version = cache.get(key)
    if version is None:
        cache.add(key, uuid.uuid4().hex, timeout=version_seconds)
        version = cache.get(key)
    if version is None:
        # A cache that answers "nothing" (marketplace/cache_backends.py) while Redis flickers
        # must not make a shared "None" version that a later flicker would read back.
        raise NoVersion(scope)
    return version


def cached_in(
    scope: str,
    name: str,
    compute: Callable[[], T],
    *,
    seconds: int,
    version_seconds: int | None = None,
) -> T:
    """`compute()`, kept `seconds` under `scope`'s current version; computed each time when
    `seconds` is 0 or the cache is unreachable. `compute` must not return None."""
    if seconds <= 0:
        return compute()
    try:
        key = f"{scope}:{content_version(scope, version_seconds=version_seconds)}:{name}"
        value = cache.get(key)
    except Exception:
        logger.warning("Cache unreachable; computing %s", scope, exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout=seconds)
        except Exception:
            logger.warning("Could not cache %s", scope, exc_info=True)
    return value


def public_pages_changed() -> None:
    """What public pages show has changed: every cached public page is stale from now on."""
    content_changed(PUBLIC_PAGES)


def public_pages_changed_on_commit() -> None:
    """The explicit call of every write that changes what the public pages show (a posting, its
    addenda, questions, criteria, closing, evaluation outcome, award, contract): call it inside
    the write's transaction and the cached public pages are dropped when it commits (nothing if
    it rolls back). Read-only events (an evaluator viewing a packet, a download) never call it,
    and neither does `audit_event_record`: auditing an action does not make it a change."""
    transaction.on_commit(public_pages_changed)


# --- Each person's unread notifications (the badge on every signed-in page) ------------------

USER_VERSION_SECONDS = 86_400  # a version per person: forgotten a day after the last change


def _notifications_scope(user_id: int) -> str:
    return f"notifications:{user_id}"


def unread_count_cached(user_id: int, compute: Callable[[], int]) -> int:
    return cached_in(
        _notifications_scope(user_id),
        "unread",
        compute,
        seconds=settings.NOTIFICATION_BADGE_CACHE_SECONDS,
        version_seconds=USER_VERSION_SECONDS,
    )


def notifications_changed(user_ids: Iterable[int]) -> None:
    """These people's notifications were written or read: their badges are counted again."""
    scopes = [_notifications_scope(pk) for pk in set(user_ids)]
    for start in range(0, len(scopes), 1000):
        content_changed(*scopes[start : start + 1000], version_seconds=USER_VERSION_SECONDS)


# --- Anonymous public pages ---------------------------------------------------------------------


def _page_key(request: HttpRequest) -> str:
    # Pages carry absolute links built from the request (feeds, alternates), so the same path
    # under another allowed host or scheme is another page: never serve one host's rendering
    # (or a spoofed host's) under the other.
    page = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    digest = hashlib.sha256(page.encode()).hexdigest()
    return f"public-page:{content_version(PUBLIC_PAGES)}:{get_language()}:{digest}"


def _cacheable_request(request: HttpRequest) -> bool:
    return (
        settings.PUBLIC_PAGE_CACHE_SECONDS > 0
        and request.method == "GET"
        and not request.user.is_authenticated
        and not len(messages.get_messages(request))
    )


def _store(request: HttpRequest, key: str, response: HttpResponse) -> None:
    if (
        response.status_code != 200
        or response.streaming
        or response.cookies
        or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")  # the page carries a CSRF token
    ):
        return
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    try:
        cache.set(key, (response.content, headers), timeout=settings.PUBLIC_PAGE_CACHE_SECONDS)
    except Exception:
        logger.warning("Could not cache a public page", exc_info=True)


def cache_public_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Serve anonymous GETs of a public page from the cache (see the module's docstring)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not _cacheable_request(request):
            return view(request, *args, **kwargs)
        try:
            key = _page_key(request)
            cached = cache.get(key)
        except Exception:
            logger.warning("Public page cache unreachable; rendering", exc_info=True)
            return view(request, *args, **kwargs)
        if cached is not None:
            content, headers = cached
            return HttpResponse(content, headers=headers)
        response = view(request, *args, **kwargs)
        if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
            response.add_post_render_callback(lambda rendered: _store(request, key, rendered))
        elif isinstance(response, HttpResponse):  # a streamed response is never kept
            _store(request, key, response)
        return response

    return wrapped
