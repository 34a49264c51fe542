"""Whole-page cache for what anonymous visitors read: the public list, searches, details, feeds.

In the last hour before a popular deadline most of the traffic is people who are not signed in
reading the same few public pages. Rendering one costs ten times what serving it from the cache
does, so an anonymous GET is answered from the cache when the same page was rendered since the
last change to what public pages show.

Correctness rests on one version: every audited change to a posting, its questions, addenda,
criteria or evaluation (`marketplace.services.audit_event_record`, which every write calls)
replaces it on commit, so no page rendered before a change is served after it. Time alone
changes a page too (a deadline passes before the closing task runs): entries live for
`PUBLIC_PAGE_CACHE_SECONDS` at most. A page whose rendering used the CSRF token, set a
cookie or showed a message is never stored; signed-in visitors always get a fresh page. When
the cache is unreachable the page is rendered as if there were no cache.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

PUBLIC_PAGES = "public-pages"
# Apps whose audited objects appear on public pages (bids, payments and people do not).
PUBLIC_APPS = frozenset({"opportunities", "evaluation"})
# What a cached answer keeps besides its body; the middleware adds the rest on the way out.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Last-Modified", "ETag")


def content_changed(scope: str) -> None:
    """Everything cached under `scope`'s version is stale from now on. Call it on commit."""
    try:
        cache.set(f"{scope}:version", uuid.uuid4().hex, timeout=None)
    except Exception:  # a cache that cannot be written cannot serve stale entries either
        logger.warning("Could not mark %s as changed", scope, exc_info=True)


def content_version(scope: str) -> str:
    """The current version of `scope`: part of the key of everything cached from its data."""
    key = f"{scope}:version"
    version = cache.get(key)
    if version is None:
        # Never set, or evicted: a new version, so an entry stored under an older one is
        # unreachable.
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return version


def public_pages_changed() -> None:
    content_changed(PUBLIC_PAGES)


def _page_key(request: HttpRequest) -> str:
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"public-page:{content_version(PUBLIC_PAGES)}:{get_language()}:{path}"


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
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
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
        if hasattr(response, "add_post_render_callback") and not response.is_rendered:
            response.add_post_render_callback(lambda rendered: _store(request, key, rendered))
        else:
            _store(request, key, response)
        return response

    return wrapped
