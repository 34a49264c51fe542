"""The worker's health check (docker-compose): a running worker answers, a missing one fails."""

import os
import socket
import subprocess
import sys
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.management import CommandError, call_command

from marketplace.celery import app

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (run by `make test` with REDIS_URL set)"
)


@needs_redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_answers_and_a_missing_one_fails(capsys):
    name = f"celery@{socket.gethostname()}-health-check"
    with pytest.raises(CommandError, match="did not answer"):
        call_command("worker_health", worker=name, timeout=1)
    with start_worker(app, pool="solo", hostname=name, perform_ping_check=False):
        _answers_within(name, seconds=60)
    assert f"{name} answers." in capsys.readouterr().out


def _answers_within(name: str, *, seconds: float) -> None:
    """Ask as docker-compose's health check does: again until it answers or the time is up.

    A worker that has just started may not yet listen on the broadcast channel (on Redis a
    ping sent before it subscribes is lost), so one ping on a loaded machine can miss it;
    docker-compose retries the check the same way.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            call_command("worker_health", worker=name, timeout=2)
            return
        except CommandError:
            if time.monotonic() > deadline:
                raise


def test_no_broker_is_a_failure_not_a_hang():
    """As docker-compose runs it, with the broker down: exit status 1, within seconds."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "worker_health", "--timeout", "1"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No broker" in result.stderr or "did not answer" in result.stderr
    assert time.monotonic() - started < 30
