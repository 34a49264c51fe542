"""The Redis cache answers as an empty cache while Redis is unreachable: nothing raises, the
site signs people in and serves pages, and each failure is logged."""

import logging
import os

import pytest
from django.core.cache import cache
from django.test import override_settings

from marketplace.models import Role
from tests.factories import PASSWORD, StaffFactory

DOWN = {
    "default": {
        "BACKEND": "marketplace.cache_backends.FailSafeRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_every_call_answers_as_an_empty_cache_and_logs(caplog):
    with override_settings(CACHES=DOWN), caplog.at_level(logging.WARNING):
        assert cache.get("k") is None
        assert cache.get("k", "default") == "default"
        assert cache.set("k", 1) is None
        assert cache.add("k", 1) is True
        assert cache.incr("k", 3) == 3
        assert cache.get_many(["a", "b"]) == {}
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.has_key("k") is False
        assert cache.delete("k") is False
        assert cache.touch("k") is False
        cache.delete_many(["a"])
        assert cache.get_or_set("k", 5) == 5
    assert any("Cache unreachable during get" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_people_sign_in_and_pages_answer_while_the_cache_is_down(client):
    user = StaffFactory(roles=[Role.BUYER])
    with override_settings(CACHES=DOWN):
        # allauth's sign-in rate limit keeps its counters in the cache.
        response = client.post("/en/accounts/login/", {"login": user.email, "password": PASSWORD})
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)
        assert client.get("/en/dashboard/").status_code == 200
        assert client.get("/en/opportunities/").status_code == 200


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis (run by `make test` with REDIS_URL set)"
)
def test_with_redis_up_it_is_the_redis_cache():
    live = {
        "default": {
            "BACKEND": "marketplace.cache_backends.FailSafeRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
    with override_settings(CACHES=live):
        cache.set("fail-safe-check", {"a": 1}, 30)
        assert cache.get("fail-safe-check") == {"a": 1}
        assert cache.add("fail-safe-check", 2) is False  # present: not added
        cache.delete("fail-safe-check")
        assert cache.get("fail-safe-check") is None
