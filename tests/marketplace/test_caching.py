"""Versioned caching (marketplace/caching.py) and the notification badge kept with it: counted
once, counted again as soon as one of the person's notifications is written or read, and counted
from the database whenever the cache is gone."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplace import caching, services
from marketplace.models import Notification
from marketplace.notifications import link
from marketplace.selectors import unread_notification_count
from tests.factories import SupplierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.caching]

CACHE_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    }
}


def _send(recipients, capture, key="event-1"):
    context = {
        "title": {"en": "Fix the date picker", "fr": "Corriger le sélecteur de date"},
        "question_deadline": {"datetime": "2026-12-01T17:00:00+00:00"},
        "closes_at": {"datetime": "2026-12-08T19:00:00+00:00"},
        "link": link("marketplace:dashboard"),
    }
    with capture(execute=True):
        services.notification_send(
            kind="opportunity.published", recipients=recipients, event_key=key, context=context
        )


def _badge(client) -> str:
    html = client.get(reverse("marketplace:dashboard")).content.decode()
    marker = '<span class="gc-badge">'
    start = html.find(marker)
    return "" if start < 0 else html[start + len(marker) : html.index("<", start + len(marker))]


def test_cached_in_computes_once_per_version():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert caching.cached_in("scope", "x", compute, seconds=60) == 1
    assert caching.cached_in("scope", "x", compute, seconds=60) == 1
    caching.content_changed("scope")
    assert caching.cached_in("scope", "x", compute, seconds=60) == 2
    cache.delete("scope:version")  # forgotten: a new version, never the old one again
    assert caching.cached_in("scope", "x", compute, seconds=60) == 3
    assert caching.cached_in("scope", "x", compute, seconds=0) == 4  # off


def test_cached_in_computes_when_the_cache_is_down():
    with override_settings(CACHES=CACHE_DOWN):
        assert caching.cached_in("scope", "x", lambda: 7, seconds=60) == 7
        caching.content_changed("scope")  # logged, not raised
    # The site's own backend answers "nothing" instead of failing: still no version, so nothing
    # is keyed under a made-up one that a later flicker of Redis could read back.
    fail_safe = {
        "default": {
            **CACHE_DOWN["default"],
            "BACKEND": "marketplace.cache_backends.FailSafeRedisCache",
        }
    }
    with override_settings(CACHES=fail_safe):
        with pytest.raises(caching.NoVersion):
            caching.content_version("scope")
        assert caching.cached_in("scope", "x", lambda: 8, seconds=60) == 8


def test_the_badge_is_counted_once_then_kept(client, django_capture_on_commit_callbacks):
    supplier = SupplierFactory()
    _send([supplier], django_capture_on_commit_callbacks)
    client.force_login(supplier)
    assert _badge(client) == "1"
    # Read behind the services' back: no version changes, so the kept count is what shows.
    Notification.objects.update(read_at=timezone.now())
    count_sql = 'FROM "marketplace_notification"'
    with CaptureQueriesContext(connection) as queries:
        assert _badge(client) == "1"
    assert not [q for q in queries.captured_queries if count_sql in q["sql"]]


def test_a_new_notification_and_reading_it_update_the_badge_at_once(
    client, django_capture_on_commit_callbacks
):
    supplier, other = SupplierFactory(), SupplierFactory()
    client.force_login(supplier)
    assert _badge(client) == ""
    _send([supplier, other], django_capture_on_commit_callbacks)
    assert _badge(client) == "1"
    _send([supplier], django_capture_on_commit_callbacks, key="event-2")
    assert _badge(client) == "2"
    first = Notification.objects.filter(recipient=supplier).order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketplace:notification_read", args=[first.pk]))
    assert _badge(client) == "1"
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_mark_all_read(user=supplier)
    assert _badge(client) == ""
    assert unread_notification_count(user=other) == 1


def test_a_fan_out_to_many_people_updates_each_badge(django_capture_on_commit_callbacks):
    people = SupplierFactory.create_batch(5)
    assert [unread_notification_count(user=p) for p in people] == [0] * 5
    _send(people, django_capture_on_commit_callbacks)
    assert [unread_notification_count(user=p) for p in people] == [1] * 5


def test_the_badge_is_counted_from_the_database_when_the_cache_is_down(
    django_capture_on_commit_callbacks,
):
    supplier = SupplierFactory()
    _send([supplier], django_capture_on_commit_callbacks)
    with override_settings(CACHES=CACHE_DOWN):
        assert unread_notification_count(user=supplier) == 1


@override_settings(ALLOWED_HOSTS=["marketplace.example", "other.example"])
def test_a_page_cached_under_one_host_is_not_served_under_another(client):
    """The feed's links are built from the request's host and scheme: a rendering kept for one
    allowed host (or for https) must not answer a request for another."""
    from opportunities.models import Opportunity
    from tests.factories import OpportunityFactory

    OpportunityFactory(status=Opportunity.Status.PUBLISHED, published_at=timezone.now())
    url = "/en/opportunities/feed/"
    first = client.get(url, HTTP_HOST="marketplace.example").content.decode()
    assert "http://marketplace.example/" in first
    assert client.get(url, HTTP_HOST="marketplace.example").content.decode() == first  # kept

    other = client.get(url, HTTP_HOST="other.example").content.decode()
    assert "http://other.example/" in other
    assert "marketplace.example" not in other

    secure = client.get(url, HTTP_HOST="marketplace.example", secure=True).content.decode()
    assert "https://marketplace.example/" in secure
    assert "http://marketplace.example/" not in secure
