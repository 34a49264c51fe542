"""The project's Celery app as the benchmarks run it (`celery -A bench.worker worker`).

Same app, same tasks, same settings; the only addition is bookkeeping around each task, in
the pool process that runs it: how many runs, seconds, SQL statements and emails per task name,
added up in the Redis hash `bench:tasks` (a few microseconds and one Redis round trip per task).
With BENCH_PROFILE_DIR set, each task also runs under cProfile, dumped per pool process.
"""

from __future__ import annotations

import cProfile
import os
import time
from pathlib import Path
from typing import Any

from celery import signals

from marketplace.celery import app

__all__ = ["STATS_KEY", "app", "stats_read", "stats_reset"]

STATS_KEY = "bench:tasks"
FIELDS = ("runs", "seconds", "queries", "emails")

_queries = 0
_started: dict[str, tuple[float, int]] = {}
_redis = None
_profile: cProfile.Profile | None = None


def _count_query(execute, sql, params, many, context):
    global _queries
    _queries += 1
    return execute(sql, params, many, context)


def _client():
    global _redis
    if _redis is None:  # one per pool process, made after the fork
        import redis

        _redis = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _redis


@signals.task_prerun.connect
def _before(task_id: str, task, **_: Any) -> None:
    global _profile
    from django.db import connection

    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_query)
    _started[task_id] = (time.perf_counter(), _queries)
    if os.environ.get("BENCH_PROFILE_DIR"):
        _profile = _profile or cProfile.Profile()
        _profile.enable()


@signals.task_postrun.connect
def _after(task_id: str, task, **_: Any) -> None:
    from django.core import mail

    ended = time.perf_counter()
    if _profile is not None:
        _profile.disable()
        _profile.dump_stats(Path(os.environ["BENCH_PROFILE_DIR"]) / f"worker-{os.getpid()}.pstats")
    started, queries_before = _started.pop(task_id, (ended, _queries))
    outbox = getattr(mail, "outbox", None)
    emails = len(outbox) if outbox is not None else 0
    if outbox:
        outbox.clear()  # counted; 50,000 messages kept in memory would only measure the heap
    pipe = _client().pipeline()
    pipe.hincrby(STATS_KEY, f"{task.name}:runs", 1)
    pipe.hincrbyfloat(STATS_KEY, f"{task.name}:seconds", ended - started)
    pipe.hincrby(STATS_KEY, f"{task.name}:queries", _queries - queries_before)
    pipe.hincrby(STATS_KEY, f"{task.name}:emails", emails)
    pipe.execute()


def stats_read(client) -> dict[str, dict[str, float]]:
    """{task name: {runs, seconds, queries, emails}} as added up so far."""
    stats: dict[str, dict[str, float]] = {}
    for key, value in client.hgetall(STATS_KEY).items():
        name, field = key.decode().rsplit(":", 1)
        stats.setdefault(name, dict.fromkeys(FIELDS, 0))[field] = float(value)
    return stats


def stats_reset(client) -> None:
    client.delete(STATS_KEY)
