"""Counting what one person does in a window of time, to refuse floods (questions, bid
submissions; allauth counts sign-ins and sign-ups itself), and the wait between failed
sign-ins for one account.

Fixed windows in the cache, shared by every web process through Redis. While Redis is
unreachable nothing is counted and nothing refused (marketplace/cache_backends.py): a flood
control, not a guarantee.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def rate_limit_allows(*, scope: str, who: str, limit: int, seconds: int) -> bool:
    """Count one action of `who`; False once `limit` of them fall in the current window."""
    key = f"ratelimit:{scope}:{who}:{int(time.time() // seconds)}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the window's key expired between the two calls
        cache.add(key, 1, timeout=seconds + 1)
        count = 1
    return count <= limit


# --- Sign-in: a growing wait per account, never a lock ------------------------------------------
#
# Failed passwords for one email are counted whoever sent them: past a few, each one makes the
# next password for that email wait a little longer (2, 4, 8… seconds, capped), and a password
# sent during the wait is not checked at all. A stranger who knows someone's email can make
# them wait half a minute at most, never lock them out, and the owner can always sign in with
# a code sent to that email instead. The key is a hash: the cache holds no addresses.


def _now() -> float:
    return time.time()


def _signin_key(kind: str, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"signin-delay:{kind}:{digest}"


def signin_wait_seconds(*, email: str) -> int:
    """Seconds before a password for `email` may be checked again; 0 when it may be now."""
    not_before = cache.get(_signin_key("not-before", email))
    if not not_before:
        return 0
    return max(0, math.ceil(not_before - _now()))


def signin_failure_record(*, email: str) -> int:
    """Count one failed password for `email` and start the wait it earns; its length."""
    forget = settings.SIGNIN_DELAY_FORGET_SECONDS
    key = _signin_key("failures", email)
    cache.add(key, 0, timeout=forget)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=forget)
        failures = 1
    cache.touch(key, forget)  # forgotten this long after the last failure, not the first
    beyond = failures - settings.SIGNIN_DELAY_FREE_FAILURES
    if beyond <= 0:
        return 0
    wait = min(settings.SIGNIN_DELAY_MAX_SECONDS, 2**beyond)
    cache.set(_signin_key("not-before", email), _now() + wait, timeout=wait + 1)
    return wait


# One password at a time per account: the wait is read before a password is checked and begun
# once it failed, so guesses sent together (from many addresses at once) would all be checked
# before the first failure counted. Each check holds this claim until its outcome is counted;
# a guess arriving meanwhile is refused as one during the wait is. A worker that dies mid-check
# leaves the claim this long at most.
SIGNIN_CHECK_SECONDS = 10


def signin_check_claim(*, email: str) -> bool:
    """True when no other password for `email` is being checked: this one may be."""
    return bool(cache.add(_signin_key("checking", email), 1, timeout=SIGNIN_CHECK_SECONDS))


def signin_check_release(*, email: str) -> None:
    cache.delete(_signin_key("checking", email))


def signin_failures_clear(*, email: str) -> None:
    """The owner got in: the count and any wait go."""
    cache.delete_many([_signin_key("failures", email), _signin_key("not-before", email)])
