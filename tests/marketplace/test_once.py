"""Issue 19: a busy database is a clean 503, never a 500; a form's one-time key makes a repeat
land where the first did; nothing waits forever. (Every step posted twice at once, on both
databases: tests/test_double_submit.py.)"""

import threading
import time

import pytest
from django.contrib import messages
from django.contrib.messages.storage import default_storage
from django.core.cache import cache
from django.db import OperationalError, connection, connections
from django.http import HttpResponse
from django.shortcuts import redirect
from django.test import Client
from django.urls import reverse

from marketplace import middleware, once
from marketplace.models import AuditEvent, Role
from opportunities.models import Opportunity
from opportunities.publishing import opportunity_submit_for_review
from tests.factories import OpportunityFactory, StaffFactory, SupplierFactory

# --- A busy database --------------------------------------------------------------------------


class _PgError(Exception):
    def __init__(self, pgcode: str) -> None:
        super().__init__("canceling statement")
        self.pgcode = pgcode


def _wrapped(message: str, cause: Exception | None = None) -> OperationalError:
    error = OperationalError(message)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (_wrapped("database is locked"), "database is locked"),
        (_wrapped("database table is locked: bids_bid"), "database table is locked"),
        (_wrapped("canceling statement due to lock timeout", _PgError("55P03")), "lock timeout"),
        (_wrapped("canceling statement", _PgError("57014")), "statement timeout or cancel"),
        (_wrapped("deadlock detected", _PgError("40P01")), "deadlock"),
        (_wrapped("could not connect to server: Connection refused"), ""),
        (ValueError("database is locked"), ""),
    ],
)
def test_busy_errors_are_told_from_the_others(error, reason):
    assert middleware.database_busy(error) == reason


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_busy_database_is_a_503_saying_nothing_was_saved(failing_list, settings, caplog, debug):
    settings.DEBUG = debug  # the demo runs with DEBUG on: still this page, not a traceback
    failing_list(_wrapped("database is locked"))
    response = Client(raise_request_exception=False).get(reverse("opportunities:list"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(middleware.DATABASE_BUSY_RETRY_SECONDS)
    body = response.content.decode()
    assert "Nothing you sent in this request was saved" in body
    assert "Rien de ce que vous avez envoyé" in body
    assert "locked" not in body  # nothing of the error itself
    assert any(
        record.levelname == "WARNING" and "Database busy" in record.getMessage()
        for record in caplog.records
    )


@pytest.mark.django_db
def test_a_busy_error_outside_a_view_is_the_busy_page_too(rf):
    from marketplace.views import server_error

    try:
        raise _wrapped("canceling statement due to lock timeout", _PgError("55P03"))
    except OperationalError:
        response = server_error(rf.get("/"))
    assert response.status_code == 503
    assert "Nothing you sent in this request was saved" in response.content.decode()


def test_the_sqlite_default_waits_for_the_write_lock_and_takes_it_at_begin(settings):
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "sqlite":
        assert options["transaction_mode"] == "IMMEDIATE"
        assert options["timeout"] >= 5
        assert "journal_mode=WAL" in options["init_command"]
    else:
        assert "-c lock_timeout=5000" in options["options"]
        assert "-c statement_timeout=30000" in options["options"]


@pytest.mark.django_db
def test_postgresql_connections_give_up_waiting():
    if connection.vendor != "postgresql":
        pytest.skip("lock and statement timeouts are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "5s"
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"


@pytest.mark.django_db(transaction=True)
def test_a_row_held_past_the_lock_timeout_is_a_503_and_nothing_is_saved():
    """Another transaction holds the opportunity's row; the publication waits for it only as
    long as the lock timeout, then the admin gets the busy page, and nothing was published."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and lock_timeout are PostgreSQL's")
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory()
    opportunity = opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    "SELECT 1 FROM opportunities_opportunity WHERE id = %s FOR UPDATE",
                    [opportunity.pk],
                )
                held.set()
                release.wait(30)
                cursor.execute("ROLLBACK")
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout TO 200")  # this connection only: a short test
        client = Client(raise_request_exception=False)
        client.force_login(admin)
        started = time.monotonic()
        response = client.post(reverse("opportunities:publish", args=[opportunity.pk]))
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.IN_REVIEW
    assert not AuditEvent.objects.filter(verb="opportunity.published").exists()


@pytest.mark.django_db
def test_migrate_lifts_the_statement_limit_only_while_it_runs():
    from django.core.management import call_command

    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"


# --- One-time form keys -----------------------------------------------------------------------


def _posting(rf, user, key: str, path: str = "/en/thing/") -> object:
    request = rf.post(path, {once.FIELD: key} if key else {})
    request.user = user
    request.session = None
    request._messages = default_storage(request)
    return request


def _run(view_response, request):
    """The middleware around a view answering `view_response(request)`; returns the answer
    and how many times the view ran."""
    ran = []

    def view(request):
        ran.append(1)
        return view_response(request)

    layer = middleware.FormOnceMiddleware(lambda request: _call(layer, request, view))
    return layer(request), len(ran)


def _call(layer, request, view):
    answer = layer.process_view(request, view, (), {})
    return answer if answer is not None else view(request)


def _done(request):
    messages.success(request, "Done.")
    return redirect("/en/done/")


@pytest.mark.django_db
def test_a_repeat_with_the_same_key_gets_the_first_answer_and_its_messages(rf):
    user = SupplierFactory()
    key = once.new_key()
    first, ran_first = _run(_done, _posting(rf, user, key))
    repeat_request = _posting(rf, user, key)
    repeat, ran_again = _run(_done, repeat_request)
    assert (ran_first, ran_again) == (1, 0)
    assert repeat.status_code == 302 and repeat["Location"] == first["Location"] == "/en/done/"
    assert [str(m) for m in repeat_request._messages._queued_messages] == ["Done."]


@pytest.mark.django_db
def test_a_key_is_let_go_after_an_answer_that_is_not_a_redirect(rf):
    user = SupplierFactory()
    key = once.new_key()
    _answer, ran_first = _run(lambda request: HttpResponse(status=400), _posting(rf, user, key))
    _answer, ran_again = _run(_done, _posting(rf, user, key))
    assert (ran_first, ran_again) == (1, 1)


@pytest.mark.django_db
def test_a_key_protects_one_person_on_one_address(rf):
    key = once.new_key()
    someone, other = SupplierFactory(), SupplierFactory()
    _run(_done, _posting(rf, someone, key))
    assert _run(_done, _posting(rf, other, key))[1] == 1  # another person
    assert _run(_done, _posting(rf, someone, key, path="/en/other/"))[1] == 1  # another form


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "short", "not a key at all, spaces and all!!"])
def test_no_key_or_a_forged_one_means_no_protection_never_an_error(rf, key):
    user = SupplierFactory()
    for _ in range(2):
        answer, ran = _run(_done, _posting(rf, user, key))
        assert ran == 1 and answer.status_code == 302


def test_an_anonymous_visitor_without_a_session_is_not_keyed(rf):
    from django.contrib.auth.models import AnonymousUser

    request = _posting(rf, AnonymousUser(), once.new_key())
    assert once.cache_key(request) is None


@pytest.mark.django_db
def test_a_repeat_waits_for_the_first_then_gives_up_with_the_busy_page(rf, monkeypatch):
    """A first request that never ends (its process died): the repeat waits a bounded time,
    then answers 503 without running anything."""
    monkeypatch.setattr(once, "FORM_ONCE_WAIT_SECONDS", 0.3)
    user = SupplierFactory()
    key = once.new_key()
    request = _posting(rf, user, key)
    cache.add(once.cache_key(request), once.RUNNING, 60)
    started = time.monotonic()
    answer, ran = _run(_done, request)
    assert ran == 0 and answer.status_code == 503
    assert 0.3 <= time.monotonic() - started < 3


@pytest.mark.django_db
def test_a_triple_click_waits_but_a_flood_of_repeats_is_told_busy(rf, monkeypatch):
    """The same form sent again and again while the first runs cannot hold every web worker:
    a few repeats (a triple click) wait for the first; any more are answered 503 at once."""
    monkeypatch.setattr(once, "FORM_ONCE_WAIT_SECONDS", 1.5)
    user = SupplierFactory()
    key = once.new_key()
    cache_key = once.cache_key(_posting(rf, user, key))
    cache.add(cache_key, once.RUNNING, 60)  # the first, still running
    waiting = [
        threading.Thread(target=_run, args=(_done, _posting(rf, user, key)))
        for _ in range(once.FORM_ONCE_MAX_WAITING)
    ]
    for thread in waiting:
        thread.start()
    time.sleep(0.4)
    started = time.monotonic()
    answer, ran = _run(_done, _posting(rf, user, key))
    assert (answer.status_code, ran) == (503, 0)
    assert time.monotonic() - started < 0.5
    for thread in waiting:
        thread.join()
    assert cache.get(f"{cache_key}:waiting") == 0  # each let go once done


@pytest.mark.django_db
def test_an_outcome_is_kept_minutes_not_days():
    """Long enough for double clicks and a browser sending again; an old answer must not stand
    for a new step after the state changed (withdrawn, then submitted again)."""
    assert once.FORM_ONCE_KEEP_SECONDS <= 15 * 60


@pytest.mark.django_db
def test_pages_with_keyed_forms_are_not_kept_by_the_browser(client):
    """Back fetches the page again, with fresh keys, instead of a copy holding an old one."""
    client.force_login(SupplierFactory())
    page = client.get(reverse("opportunities:alert"))
    assert f'name="{once.FIELD}"' in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert "no-store" not in client.get(reverse("opportunities:list")).get("Cache-Control", "")


def test_another_file_of_the_same_name_and_size_is_another_request(rf):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def posting(content: bytes):
        request = rf.post(
            "/en/bids/1/attachments/",
            {once.FIELD: "k" * 24, "file": SimpleUploadedFile("a.pdf", content)},
        )
        request.user = type("U", (), {"is_authenticated": True, "pk": 1})()
        return request

    first, same, other = posting(b"%PDF-1"), posting(b"%PDF-1"), posting(b"%PDF-2")
    assert once.cache_key(first) == once.cache_key(same) != once.cache_key(other)
    assert first.FILES["file"].read() == b"%PDF-1"  # left readable for the view


def _keys(page: str) -> list[str]:
    return [part.split('"')[0] for part in page.split(f'name="{once.FIELD}" value="')[1:]]


@pytest.mark.django_db
def test_each_form_of_a_page_carries_a_key_of_its_own_fresh_at_each_showing(client):
    buyer = StaffFactory(roles=[Role.BUYER])
    draft = OpportunityFactory(buyer=buyer)
    client.force_login(buyer)
    url = reverse("opportunities:edit", args=[draft.pk])
    page, again = (client.get(url).content.decode() for _ in range(2))
    keys = _keys(page)
    # The draft's own form, which "Submit for review" sends too (`formaction`): one key
    # (the sign-out form needs none).
    assert len(keys) == len(set(keys)) == page.count('method="post"') - 1 == 1
    assert set(keys).isdisjoint(_keys(again))


def test_allauth_forms_carry_no_key(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert once.FIELD not in page


def test_the_tag_renders_a_hidden_key():
    from django.template import Context, Template

    html = Template("{% load form_once %}{% form_once %}").render(Context())
    assert html.startswith(f'<input type="hidden" name="{once.FIELD}" value="')
    assert once.KEY_PATTERN.match(_keys(html)[0])


@pytest.mark.django_db
def test_a_refusal_is_not_kept_so_sending_again_later_runs_again(rf):
    """A refusal ("wait a minute, then submit again"): sent again, the form is tried again."""

    def refused(request):
        messages.error(request, "Wait a minute, then submit again.")
        return redirect("/en/thing/")

    user = SupplierFactory()
    key = once.new_key()
    _answer, ran_first = _run(refused, _posting(rf, user, key))
    _answer, ran_again = _run(_done, _posting(rf, user, key))
    assert (ran_first, ran_again) == (1, 1)


@pytest.mark.django_db
def test_the_same_form_changed_and_sent_again_runs_again(rf):
    """Back to the page, a field changed, sent again: not a repeat, whatever its key."""
    user = SupplierFactory()
    key = once.new_key()
    first = rf.post("/en/thing/", {once.FIELD: key, "name": "Maple"})
    changed = rf.post("/en/thing/", {once.FIELD: key, "name": "Maple Code"})
    for request in (first, changed):
        request.user, request.session = user, None
        request._messages = default_storage(request)
    assert once.cache_key(first) != once.cache_key(changed)
    assert (_run(_done, first)[1], _run(_done, changed)[1]) == (1, 1)
