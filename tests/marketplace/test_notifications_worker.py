"""The outbox against real parts: a Celery worker, Redis, PostgreSQL (DESIGN.md §6)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse

from marketplace import approvals, services
from marketplace.celery import app
from marketplace.models import Approval, Notification, Role, RoleGrant
from tests.factories import StaffFactory
from tests.support.raw_http import free_port
from tests.support.waiting import wait_for

Status = Notification.Status

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (run by `make test` with REDIS_URL set)"
)


def _sent(notification_filter) -> bool:
    return Notification.objects.filter(**notification_filter, status=Status.SENT).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_event_produces_exactly_one_email_through_a_real_worker():
    staff = StaffFactory(preferred_language="fr")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        services.role_grant(actor=None, user=staff, role=Role.BUYER)  # as the command line does
        assert wait_for(lambda: _sent({"recipient": staff})), "the worker should deliver it"
        time.sleep(0.5)  # anything extra would arrive now
    [message] = mail.outbox
    assert message.to == [staff.email]
    assert "Acheteur" in message.subject


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_event_sends_nothing_through_a_real_worker():
    staff, other = StaffFactory(), StaffFactory()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.role_grant(actor=None, user=staff, role=Role.BUYER)
            raise RuntimeError("something later in the request failed")
        services.role_grant(actor=None, user=other, role=Role.EVALUATOR)
        assert wait_for(lambda: _sent({"recipient": other}))
    assert [m.to for m in mail.outbox] == [[other.email]]
    assert not RoleGrant.objects.filter(user=staff).exists()
    assert not Notification.objects.filter(recipient=staff).exists()


# --- A worker killed in the middle of a delivery ---------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def _start_worker_process(mail_dir: Path, *, delay: float, visibility_timeout: int):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
        "DATABASE_URL": _database_url(),
        "TEST_MAIL_DIR": str(mail_dir),
        "TEST_MAIL_DELAY": str(delay),
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _emails_in(mail_dir: Path) -> int:
    return sum(path.read_text().count("Message-ID:") for path in mail_dir.glob("*.log"))


@needs_redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_leads_to_exactly_one_email_after_restart(tmp_path):
    app.control.purge()
    staff = StaffFactory()
    first = _start_worker_process(tmp_path, delay=60, visibility_timeout=3600)
    second = None
    try:
        services.role_grant(actor=None, user=staff, role=Role.BUYER)
        assert wait_for(lambda: any(tmp_path.glob("sending-*.marker")), timeout=60), (
            "the first worker should have started the delivery"
        )
        os.killpg(first.pid, signal.SIGKILL)  # mid-send, before anything reached the server
        first.wait(timeout=10)
        assert _emails_in(tmp_path) == 0
        notification = Notification.objects.get(recipient=staff)
        assert notification.status == Status.PENDING  # its transaction died with the worker

        # The unacknowledged message comes back (acks_late) to the restarted worker.
        second = _start_worker_process(tmp_path, delay=0, visibility_timeout=2)
        assert wait_for(lambda: _sent({"recipient": staff}), timeout=60)
        time.sleep(3)  # a duplicate delivery would show up now
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
    assert _emails_in(tmp_path) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1


# --- The broker down at event time ------------------------------------------------------------


def _start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )

    def accepting() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    assert wait_for(accepting, timeout=10)
    return process


@pytest.fixture
def private_broker():
    """A Redis of this test's own, as the broker, so that it can be stopped and started."""
    port = free_port()
    previous = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    app.amqp._producer_pool = None
    app._pool = None
    state = {"process": _start_redis(port), "port": port}
    yield state
    if state["process"].poll() is None:
        state["process"].terminate()
        state["process"].wait(timeout=10)
    app.conf.broker_url = previous
    app.amqp._producer_pool = None
    app._pool = None


@needs_redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_broker_down_at_event_time_loses_nothing(client, private_broker):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory()
    private_broker["process"].terminate()
    private_broker["process"].wait(timeout=10)

    # Asked by a second program admin; the grant is made when this one approves on the page.
    approval = approvals.approval_request(
        actor=StaffFactory(roles=[Role.PROGRAM_ADMIN]),
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": staff.pk, "role": Role.EVALUATOR},
    )
    client.force_login(admin)
    started = time.monotonic()
    response = client.post(reverse("marketplace:approval_approve", args=[approval.pk]))
    assert response.status_code == 302  # the request succeeds, quickly
    assert time.monotonic() - started < 10
    assert RoleGrant.objects.filter(user=staff, role=Role.EVALUATOR).exists()
    notification = Notification.objects.get(recipient=staff)
    assert notification.status == Status.PENDING
    assert mail.outbox == []

    private_broker["process"] = _start_redis(private_broker["port"])
    app.amqp._producer_pool = None
    app._pool = None
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        Notification.objects.filter(pk=notification.pk).update(
            next_attempt_at=notification.created_at
        )
        from marketplace.tasks import notifications_sweep

        notifications_sweep.delay()  # what beat does every minute
        assert wait_for(lambda: _sent({"pk": notification.pk}))
        time.sleep(0.5)
    assert [m.to for m in mail.outbox] == [[staff.email]]
