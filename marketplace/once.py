"""One-time form keys: a double click or a replayed POST lands where the first one did.

Every form that changes something carries a fresh random key (`{% form_once %}` in a template,
`FormOnce()` in a crispy layout). `FormOnceMiddleware` keys each POST on (the person, the
address, that key, what the form says): the same rendering of a form sent again as it was. (The
same page changed and sent again, after going back to it, is another request and runs.)

- the first POST claims the key (`cache.add`) and runs. If it ends in a redirect, the address
  and the messages it queued are kept (`FORM_ONCE_KEEP_SECONDS`); otherwise (the form shown
  again with its errors, an error page, a redirect with an error message: "wait a minute,
  then send it again") the key is let go, so sending it again runs again;
- a second POST with the same key never runs the view: it waits for the first to end
  (`FORM_ONCE_WAIT_SECONDS` at most), then answers with the same redirect and the same
  messages. The browser usually drops the first answer of a double click, so the second must
  say what the first did.

A missing or malformed key, an anonymous visitor without a session, or an unreachable cache
(whose `add` then says yes) only means no such protection: the services themselves refuse a
second effect (they lock the row and check its state), which is what holds across tabs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.safestring import SafeString

logger = logging.getLogger(__name__)

FIELD = "form_once"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
RUNNING = "running"
# How long a POST with a key already claimed waits for the first to end.
FORM_ONCE_WAIT_SECONDS = 30
FORM_ONCE_POLL_SECONDS = 0.1
# A claim whose request never finished (its process died) lapses after this long: longer than
# any request runs (the statement and lock timeouts, the web server's own).
FORM_ONCE_RUNNING_SECONDS = 120
# How long the outcome of a form is kept for a repeat of it: double clicks, a browser or proxy
# sending again, a person pressing again on a slow answer. Not longer: the state may change
# since (withdrawn, then submitted again), and an old answer must not stand for a new step.
# Pages with keyed forms are sent `no-store`, so Back fetches a fresh page with a fresh key.
FORM_ONCE_KEEP_SECONDS = 10 * 60
# How many repeats of one form may wait for the first at once (a triple click is two); any
# more are told the site is busy, so one person's repeats cannot hold every web worker.
FORM_ONCE_MAX_WAITING = 3
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def new_key() -> str:
    return secrets.token_urlsafe(18)


def hidden_input() -> SafeString:
    """The hidden field carrying a fresh key (one per rendering of the form)."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_key())


class FormOnce:
    """Crispy layout object: the form's one-time key, rendered fresh each time."""

    def render(self, form, context=None, template_pack=None, **kwargs) -> SafeString:
        return hidden_input()


@dataclass(frozen=True)
class Claim:
    cache_key: str


def cache_key(request: HttpRequest) -> str | None:
    """The key this POST's outcome is kept under, or None when it carries no usable key."""
    if request.method != "POST" or not (request.content_type or "").startswith(FORM_CONTENT_TYPES):
        return None
    key = request.POST.get(FIELD, "")
    if not KEY_PATTERN.match(key):
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        who = f"user:{user.pk}"
    else:
        session = getattr(request, "session", None)
        session_key = session.session_key if session is not None else None
        if not session_key:
            return None
        who = f"session:{session_key}"
    said = sorted(
        (name, value)
        for name, values in request.POST.lists()
        if name != "csrfmiddlewaretoken"
        for value in values
    )
    sent = sorted(
        (name, f.name, f.size, _digest(f)) for name, files in request.FILES.lists() for f in files
    )
    what = json.dumps([who, request.path, key, said, sent])
    # Hashed: who, where and what must not be readable from the cache's keys.
    return f"form-once:{hashlib.sha256(what.encode()).hexdigest()}"


def carries_keys(response: HttpResponse) -> bool:
    """Whether the page holds a keyed form (HTML, read whole: not a file or a stream)."""
    return (
        not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
        and f'name="{FIELD}"'.encode() in response.content
    )


def _digest(upload) -> str:
    """The file's SHA-256 (another file of the same name and size is another request)."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def claim_or_replay(request: HttpRequest, key: str) -> Claim | HttpResponse | None:
    """Claim the key (this request runs: a Claim), or the answer to give instead: the first
    request's redirect, replayed. None when waiting for the first request took too long."""
    deadline = time.monotonic() + FORM_ONCE_WAIT_SECONDS
    waiters = f"{key}:waiting"
    waiting = False
    try:
        while True:
            if cache.add(key, RUNNING, FORM_ONCE_RUNNING_SECONDS):
                return Claim(key)
            outcome = cache.get(key)
            if isinstance(outcome, dict):
                return _replay(request, outcome)
            if not waiting:
                cache.add(waiters, 0, FORM_ONCE_WAIT_SECONDS + 1)
                try:
                    count = cache.incr(waiters)
                except ValueError:  # the count expired between the two calls
                    count = 1
                waiting = True
                if count > FORM_ONCE_MAX_WAITING:
                    logger.warning(
                        "A form POST to %s repeated past the waiting limit", request.path
                    )
                    return None
            if time.monotonic() >= deadline:
                logger.warning(
                    "A repeated form POST to %s gave up waiting for the first", request.path
                )
                return None
            if outcome is None:
                continue  # the first let the key go (an error) just now: claim it
            time.sleep(FORM_ONCE_POLL_SECONDS)
    finally:
        if waiting:
            with suppress(ValueError):  # the count expired meanwhile
                cache.decr(waiters)


def _replay(request: HttpRequest, outcome: dict[str, Any]) -> HttpResponse:
    for level, text, extra_tags in outcome.get("messages", []):
        messages.add_message(request, level, text, extra_tags=extra_tags, fail_silently=True)
    logger.info("A repeated form POST to %s answered as the first", request.path)
    return HttpResponseRedirect(outcome["location"])


def finish(claim: Claim, request: HttpRequest, response: HttpResponse | None) -> None:
    """Keep a redirect's outcome for repeats; let the key go after anything else."""
    storage = getattr(request, "_messages", None)
    queued = [
        (message.level, str(message.message), message.extra_tags or "")
        # Read without iterating the storage, which would mark them as shown.
        for message in getattr(storage, "_queued_messages", [])
    ]
    refused = any(level >= messages.ERROR for level, _text, _tags in queued)
    if (
        response is None
        or response.status_code not in REDIRECTS
        or "Location" not in response
        or refused
    ):
        cache.delete(claim.cache_key)
        return
    cache.set(
        claim.cache_key,
        {"location": response["Location"], "messages": queued},
        FORM_ONCE_KEEP_SECONDS,
    )
