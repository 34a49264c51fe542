"""What every benchmark needs: a throw-away database, Django against it, a real Celery worker,
a query counter, machine facts and a results file.

Nothing here imports Django models at import time: `django_setup` must run first, after the
benchmark's own database exists.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# Never the dev database (`marketplace`, SQLite) nor a test one: the benchmark drops its own.
DEFAULT_DATABASE_URL = "postgres://marketplace:marketplace@127.0.0.1:5432/marketplace_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def database_url(explicit: str | None = None) -> str:
    """The benchmark's database: --database-url, else BENCH_DATABASE_URL, else the default.
    DATABASE_URL is deliberately ignored: it points at a database somebody works in."""
    return explicit or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


# --- The throw-away database -------------------------------------------------------------------


def _connect_maintenance(url: str):
    import psycopg2

    parts = urlsplit(url)
    return psycopg2.connect(
        dbname="postgres",
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )


def _database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"The benchmark needs PostgreSQL, not {parts.scheme!r}.")
    name = parts.path.lstrip("/")
    if "bench" not in name:
        # The database is dropped and created again: refuse anything that is not obviously ours.
        raise SystemExit(f"Refusing to drop database {name!r}: its name must contain 'bench'.")
    return name


def _recreate(url: str, *, create: bool) -> None:
    from psycopg2 import sql

    name = _database_name(url)
    connection = _connect_maintenance(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if create:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


@contextmanager
def throwaway_database(url: str, *, keep: bool = False) -> Iterator[str]:
    """Create the benchmark's database afresh; drop it afterwards unless `keep`."""
    _recreate(url, create=True)
    try:
        yield url
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep:
            _recreate(url, create=False)


# --- Django --------------------------------------------------------------------------------------


def service_env(*, database: str, redis: str, **extra: str) -> dict[str, str]:
    """The environment the benchmark process and its worker share."""
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        # Real Django EmailMessages, built and "sent" into memory: no mail server in the figure.
        "EMAIL_URL": "locmem://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **extra,
    }


def django_setup(env: dict[str, str], *, migrate: bool = True) -> None:
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)


class QueryCounter:
    """Counts the SQL statements this process sends on the default connection."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)


# --- A real Celery worker ------------------------------------------------------------------------


def stop_process_group(process: subprocess.Popen | None, *, term_grace: float) -> None:
    """SIGTERM the process's group and wait up to `term_grace` seconds, then SIGKILL it; and
    kill whatever of the group outlived its leader (pool children, gunicorn workers)."""
    if process is None:
        return
    if process.poll() is None:
        for sig, grace in ((signal.SIGTERM, term_grace), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class Worker:
    """One `celery worker` subprocess in its own process group, killed with its pool on exit.

    It runs the project's app through `bench.worker`, which only adds counters (tasks, seconds,
    SQL queries and emails per task name, in Redis) and, when asked, a cProfile of each task.
    """

    def __init__(
        self,
        *,
        env: dict[str, str],
        queues: Sequence[str],
        concurrency: int = 1,
        pool: str = "prefork",
        log_path: Path | None = None,
        name: str = "bench",
        log_mode: str = "w",
    ) -> None:
        self.env = {
            **os.environ,
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.queues = list(queues)
        self.concurrency = concurrency
        self.pool = pool
        self.log_path = log_path
        self.log_mode = log_mode  # "a" for a worker started again after a fault
        self.hostname = f"{name}-{os.getpid()}@{platform.node() or 'localhost'}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.worker",
            "worker",
            f"--pool={self.pool}",
            f"--concurrency={self.concurrency}",
            f"--queues={','.join(self.queues)}",
            f"--hostname={self.hostname}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ]

    def __enter__(self) -> Worker:
        self._log = open(self.log_path, self.log_mode) if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            self.command(),
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, app, *, timeout: float = 60.0) -> None:
        """Until the worker answers a ping (its pool is up and it consumes the queues)."""
        from kombu.exceptions import OperationalError as KombuOperationalError

        def answers() -> bool:
            if not self.alive():
                raise RuntimeError(f"The worker exited early; see {self.log_path}")
            try:
                return bool(app.control.ping(destination=[self.hostname], timeout=0.5))
            except (OSError, KombuOperationalError):  # the broker is not there (yet)
                return False

        if not wait_until(answers, timeout=timeout, interval=0.2):
            raise RuntimeError(f"The worker did not answer within {timeout:.0f} s")

    def pids(self) -> list[int]:
        """The worker's main process and its pool children."""
        if not self.alive():
            return []
        assert self.process is not None
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:  # its parent
                    found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float | None:
        """User + system CPU time used so far by the worker and its pool (Linux only)."""
        if not Path("/proc/self/stat").exists():
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        """A warm shutdown first (the pool children write their last profile), then kill."""
        stop_process_group(self.process, term_grace=20)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None


# --- Waiting, facts and results ------------------------------------------------------------------


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.5) -> bool:
    """True as soon as `predicate()` is truthy; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts() -> dict[str, Any]:
    """What a reader needs to compare two runs: the machine, the versions, the load."""
    import celery
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "postgresql": postgres,
        "postgresql_synchronous_commit": synchronous_commit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def under_load(load_average: Sequence[float], cores: int | None) -> bool:
    """Whether other work competed for the CPUs (1-minute load above half the cores)."""
    return bool(load_average) and load_average[0] > (cores or 1) / 2


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def results_write(name: str, payload: dict[str, Any], *, latest: bool = True) -> list[Path]:
    """Write bench/results/<name>-<YYYYmmdd-HHMMSS>.json (UTC) and, unless told not to,
    <name>-latest.json. Returns the paths written."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    paths = [RESULTS / f"{name}-{stamp}.json"]
    if latest:
        paths.append(RESULTS / f"{name}-latest.json")
    for path in paths:
        path.write_text(text)
    return paths


def machine_busy_seconds() -> float | None:
    """CPU seconds spent on anything (all cores, all processes) since boot (Linux only).

    The difference over a run, against the worker's own CPU time, shows how much of the machine
    other work (PostgreSQL, Redis, other people's tests) took meanwhile."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
