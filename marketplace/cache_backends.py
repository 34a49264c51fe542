"""Django's Redis cache, answering as an empty cache when Redis cannot be reached.

Everything the site keeps in the cache can be recomputed or done without: page and figure
caches (marketplace/caching.py) compute afresh, and allauth's sign-in rate limits and TOTP
replay guard let the request through — logged, never a 500. Sessions live in the database and
background work in the outbox, so a Redis outage costs speed, not service (SECURITY.md says
what it weakens meanwhile). Errors other than an unreachable server (a bad command, a value of
the wrong type) are raised as usual.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _or(fallback):
    """The method, or `fallback(*args, **kwargs)` when Redis cannot be reached."""

    def decorate(method):
        @wraps(method)
        def wrapped(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE:
                logger.warning("Cache unreachable during %s", method.__name__, exc_info=True)
                return fallback(*args, **kwargs)

        return wrapped

    return decorate


class FailSafeRedisCache(RedisCache):
    # Reads find nothing; writes are dropped; `add` reports success, as if the key had been new
    # (a lock or a once-only mark cannot be held meanwhile: the request goes on).
    add = _or(lambda *a, **k: True)(RedisCache.add)
    get = _or(lambda key, default=None, *a, **k: default)(RedisCache.get)
    set = _or(lambda *a, **k: None)(RedisCache.set)
    touch = _or(lambda *a, **k: False)(RedisCache.touch)
    delete = _or(lambda *a, **k: False)(RedisCache.delete)
    get_many = _or(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _or(lambda *a, **k: False)(RedisCache.has_key)
    incr = _or(lambda key, delta=1, *a, **k: delta)(RedisCache.incr)
    set_many = _or(lambda data, *a, **k: list(data))(RedisCache.set_many)
    delete_many = _or(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _or(lambda *a, **k: False)(RedisCache.clear)
