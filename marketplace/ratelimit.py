"""Counting what one person does in a window of time, to refuse floods (questions, bid
submissions; allauth counts sign-ins and sign-ups itself).

Fixed windows in the cache, shared by every web process through Redis. While Redis is
unreachable nothing is counted and nothing refused (marketplace/cache_backends.py): a flood
control, not a guarantee.
"""

from __future__ import annotations

import time

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
