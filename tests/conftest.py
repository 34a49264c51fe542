import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests import builders
from tests.support.permission_matrix import build_world

# Property-based tests (tests/test_hostile_input.py): a few hundred examples on every run;
# HYPOTHESIS_PROFILE=thorough for thousands when hunting.
hypothesis_settings.register_profile("marketplace", max_examples=300, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=3000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "marketplace"))

# Playwright's sync API runs an event loop in the test thread; the ORM calls our browser tests
# make around it are still synchronous and safe (DESIGN.md §9).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite, the test database is a file (in memory-backed /dev/shm where there is one),
    as the embedded default's is, not Django's in-memory one: that one shares a cache between
    connections, where two threads at once get "database table is locked" at once instead of
    waiting for the write lock (tests/test_double_submit.py posts from two threads). A private
    folder per test run, so runs side by side do not meet."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3" or database.get("TEST", {}).get("NAME"):
        yield
        return
    memory = Path("/dev/shm")  # noqa: S108 - a private folder is made in it, below
    folder = Path(
        tempfile.mkdtemp(prefix="marketplace-test-", dir=memory if memory.is_dir() else None)
    )
    database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    yield
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Rate-limit counters and other cached state must not leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _caches_only_where_tested(request, settings):
    """Tests that build data with factories (no service call) and load a page twice would read
    the first rendering back, and query counts would measure the cache: the anonymous page
    cache, the metrics figures and the notification badge are kept only in the tests about them
    (`caching` mark) and the browser journeys (`e2e`), which make their changes through the
    services and commit them, as people do."""
    marks = {mark.name for mark in request.node.iter_markers()}
    if not marks & {"caching", "e2e"}:
        settings.PUBLIC_PAGE_CACHE_SECONDS = 0
        settings.METRICS_CACHE_SECONDS = 0
        settings.NOTIFICATION_BADGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _eager_tasks_unless_worker(request, settings):
    """Tests run tasks in-process unless they are about background work (`worker` mark),
    which run a real Celery worker against the configured broker (Redis under `make test`)."""
    from marketplace.celery import app

    eager = request.node.get_closest_marker("worker") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _english_by_default():
    """A request to a /fr/ page leaves French active in the thread; start each test in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _private_media_in_tmp(settings, tmp_path):
    """Bid attachments written by tests go to a temporary directory, not the checkout."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private-media"


@pytest.fixture(autouse=True)
def _force_login_records_sign_in(monkeypatch):
    """A client signed in with `force_login` has just signed in, as far as the re-authentication
    before reveal, award, certify and payments is concerned (tests/support/sessions.py)."""
    from django.test import Client

    from tests.support.sessions import recording_force_login

    monkeypatch.setattr(Client, "force_login", recording_force_login(Client.force_login))


# --- Shared fixtures: defined once here, built by tests/builders.py ------------------------------
# A conftest further down may override one of these names on purpose; those overrides are listed
# in tests/test_test_structure.py (INTENTIONAL_OVERRIDES) with the reason.


@pytest.fixture
def program_admin(db):
    return builders.program_admin()


@pytest.fixture
def buyer(db):
    return builders.buyer()


@pytest.fixture
def opportunity(program_admin):
    """Published, open for bids, with one mandatory and one rated criterion."""
    return builders.published_opportunity(admin=program_admin)


@pytest.fixture
def evaluators(db):
    return builders.evaluators(3)


@pytest.fixture
def closed(program_admin):
    """(opportunity, bids): closed with three sealed bids whose answers name their authors."""
    return builders.sealed_bids(admin=program_admin)


@pytest.fixture
def awarded(closed, evaluators):
    """(opportunity, contract) for an award to the first in rank; the second is qualified too."""
    opportunity, _bids = closed
    return builders.awarded_contract(opportunity=opportunity, panel=evaluators)


@pytest.fixture
def card_holder(db):
    """A card holder with limits a micro-acquisition fits in."""
    return builders.card_holder()


@pytest.fixture
def certified(awarded):
    """(opportunity, contract, payment): the work is delivered, accepted and certified."""
    return builders.payment_due(awarded=awarded)


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """The stage of the permission matrix and the hostile input: one file carried through its
    whole life, and the people around it (tests/support/permission_matrix.py)."""
    return build_world(django_capture_on_commit_callbacks)


@pytest.fixture
def clock(monkeypatch):
    """The rate limiter's clock, moved by the test."""
    from marketplace import ratelimit

    now = {"t": 1_800_000_000.0}  # a window of 600 s starts here
    monkeypatch.setattr(ratelimit.time, "time", lambda: now["t"])
    return now


@pytest.fixture(scope="module")
def seeded_demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo (`seed_demo`) seeded once for a module whose tests only read it: seeded in a
    transaction held open for the module, each test's own transaction nested inside it (a
    savepoint), and everything rolled back after the module's last test. Seeded as a test
    would seed it: tasks in-process, private files in a temporary folder, English active.
    A test that seeds twice, or needs what runs on commit, seeds on its own."""
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings
    from django.utils import translation

    from marketplace.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    media = tmp_path_factory.mktemp("seeded-demo-media")
    with (
        django_db_blocker.unblock(),
        override_settings(PRIVATE_MEDIA_ROOT=media),
        translation.override("en"),
        transaction.atomic(),
    ):
        call_command("seed_demo", verbosity=0)
        try:
            yield
        finally:
            transaction.set_rollback(True)
    app.conf.task_always_eager = eager
