"""The fault script (bench/faults.py) at its small size: PostgreSQL restarted, Redis killed, the
worker killed mid-delivery and Stripe failing, each under load against gunicorn and a real
worker, with nothing lost. `make bench-faults` runs it at full size.

The script brings its own PostgreSQL cluster and Redis (it stops them), so it runs in the phase
of `make test` that has the services installed; it does not touch the suite's database.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="runs with the PostgreSQL + Redis phase of `make test` (its own cluster, initdb)",
    ),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    output = tmp_path_factory.mktemp("faults") / "faults.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.faults", "--quick", "--output", str(output)],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert output.exists(), done.stdout[-3000:] + done.stderr[-5000:]
    return done, json.loads(output.read_text())


def test_the_run_passes_and_prints_the_table_with_zero_data_lost(run):
    done, result = run
    assert done.returncode == 0, done.stdout[-4000:]
    assert result["problems"] == []
    assert "| **data lost** (submissions, notifications, payments) | **0** |" in done.stdout
    assert set(result["faults"]) == {"postgres", "redis", "worker", "stripe"}
    assert result["failed_before_any_fault"] == 0


def test_every_acknowledged_submission_is_stored_as_acknowledged(run):
    _done, result = run
    submissions = result["submissions"]
    assert submissions["acknowledged"] > 50  # the load was real
    assert submissions["lost"] == submissions["altered"] == []
    assert submissions["receipts_stored"] >= submissions["acknowledged"]


def test_postgresql_restarted_fails_requests_cleanly_and_the_site_recovers_by_itself(run):
    _done, result = run
    postgres = result["faults"]["postgres"]
    assert postgres["failed"] > 0  # the fault really hit requests...
    assert set(postgres["statuses"]) <= {"200", "302", "503"}  # ...with the 503 page only
    assert postgres["unclean"] == 0
    assert postgres["recovered_after_seconds"] <= 30


def test_redis_down_loses_no_request_and_the_outbox_sends_what_waited(run):
    _done, result = run
    redis = result["faults"]["redis"]
    assert redis["requests"] > 0 and redis["failed"] == 0
    assert redis["notifications_meanwhile"] > 0
    assert redis["emailed_once_afterwards"] == redis["notifications_meanwhile"]


def test_a_worker_killed_mid_delivery_sends_that_email_once_after_its_restart(run):
    _done, result = run
    worker = result["faults"]["worker"]
    assert worker["held"]  # it was caught inside a send
    assert set(worker["held_emailed"].values()) == {1}
    assert worker["worker_restarts"] >= 1
    notifications = result["notifications"]
    assert notifications["emailed_twice"] == [] and notifications["undelivered"] == []
    assert notifications["emails"] == notifications["by_status"]["sent"]


def test_stripe_failing_and_timing_out_ends_in_exactly_one_charge_per_payment(run):
    _done, result = run
    payments = result["payments"]["payments"]
    assert len(payments) == 2
    for payment in payments:
        assert (payment["status"], payment["checkout_sessions"], payment["charges"]) == (
            "paid",
            1,
            1,
        )
        assert payment["paid_transitions"] == 1
    assert result["faults"]["stripe"]["failed"] == 0
