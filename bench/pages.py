"""Page speed at government scale (issue 9): the site served by gunicorn under production
settings against five years of data, driven by wrk, read against the floor of the same run.

    python -m bench.pages [--scale S | --quick] [--scaling] [--duration S] [--reuse]

Each run: the data set (`bench/data.py`) in a bench database of its own (made, or reused with
`--reuse`), `collectstatic` into the benchmark's folder, sessions for the benchmark's supplier,
evaluator and program administrator; every page is requested once in-process through Django's
test client (SQL statements per request, and the slowest of them) and through gunicorn (status
200 and the page's own text: a redirect to sign-in never counts as a fast page); then gunicorn
(2 sync workers, `bench.settings`) is driven by wrk at concurrency 1 and 16 for a fixed time per
page, the floor first and last. Then the packet build (`bench/packets.py`) is timed.

`--scaling` runs the same at 10 % and at full size, each in a process of its own, and prints the
growth of each page's cost. A benchmark, not a test: the exit status is 0 whatever the figures,
1 only when the run itself broke (a page not 200, wrk or gunicorn failing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

if __package__ in (None, ""):  # run as `python bench/pages.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import base

TARGET_QUERIES = 12
TARGET_RPS_SHARE = 0.5  # of the floor's requests/s at concurrency 16
TARGET_P95_RATIO = 3.0  # of the floor's p95 at concurrency 16
TARGET_GROWTH = 1.3  # from 10 % to 100 % of the data
CONCURRENCY = (1, 16)
# The app's caches (marketplace/caching.py): set to 0 for the uncached measure of each page.
CACHE_SETTINGS = (
    "PUBLIC_PAGE_CACHE_SECONDS",
    "METRICS_CACHE_SECONDS",
    "NOTIFICATION_BADGE_CACHE_SECONDS",
)
FULL_DURATION = 10.0
QUICK_DURATION = 3.0
QUICK_SCALE = 0.01
WARM_UP_SECONDS = 1.0
GUNICORN_WORKERS = 2
PACKET_BIDS = 200
MAX_DATASET_AGE_DAYS = 2  # open postings must still be open when a data set is reused
LUA = base.ROOT / "bench" / "wrk_report.lua"
VAR = base.ROOT / "var" / "bench"


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    path: str  # formatted with the data set's fixtures
    user: str | None  # None (anonymous), "supplier", "evaluator" or "admin"
    expect: tuple[str, ...]  # texts the answer must contain, formatted like the path


PAGES = [
    Page("floor", "floor (base template)", "/en/bench/floor/", None, ("<h1>Bench floor</h1>",)),
    Page(
        "floor_signed_in",
        "floor, signed in (supplier)",
        "/en/bench/floor/",
        "supplier",
        ("<h1>Bench floor</h1>", "Sign out"),
    ),
    Page(
        "list",
        "public list",
        "/en/opportunities/",
        None,
        ('card-title"><a href="/en/opportunities/',),
    ),
    Page(
        "search_en",
        "search EN `accessibility`",
        "/en/opportunities/?q=accessibility",
        None,
        ('card-title"><a href="/en/opportunities/',),
    ),
    Page(
        "search_fr",
        "search FR `accessibilité`",
        "/fr/opportunities/?q=accessibilit%C3%A9",
        None,
        ('card-title"><a href="/fr/opportunities/',),
    ),
    Page(
        "filtered",
        "filtered list (skill, type, value)",
        "/en/opportunities/?skill=accessibility&type=accessibility&value_min=2000&value_max=8000",
        None,
        ('card-title"><a href="/en/opportunities/',),
    ),
    Page(
        "detail",
        "opportunity detail",
        "/en/opportunities/{detail_opportunity_id}/",
        None,
        ("{detail_title_html}",),
    ),
    Page("feed", "Atom feed", "/en/opportunities/feed/", None, ("<entry>",)),
    Page(
        "dashboard",
        "supplier dashboard",
        "/en/dashboard/",
        "supplier",
        ("<h1>Dashboard</h1>", "{detail_title_html}"),
    ),
    Page(
        "bid_form",
        "bid form (draft)",
        "/en/bids/{draft_bid_id}/edit/",
        "supplier",
        ("Your bid: {detail_title_html}",),
    ),
    Page(
        "packet",
        "evaluator's packet",
        "/en/evaluation/{evaluation_opportunity_id}/packets/{packet_id}/",
        "evaluator",
        ("<h1>{packet_label}</h1>",),
    ),
    Page(
        "metrics",
        "metrics dashboard",
        "/en/reports/metrics/",
        "admin",
        ("<h1>Program metrics</h1>", "Participation and reach"),
    ),
]
FLOOR = PAGES[0]
FLOOR_SIGNED_IN = PAGES[1]  # the reference of the signed-in pages


# --- Where things run --------------------------------------------------------------------------


def derived_database_url(suffix: str) -> str:
    """The benchmark's database URL (BENCH_DATABASE_URL or the default) with `_<suffix>` added
    to the database name: `marketplace_bench_pages_1` and so on."""
    parts = urlsplit(base.database_url())
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{suffix}"))


def scale_tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "p")


def database_url_for(scale: float) -> str:
    return derived_database_url(f"pages_{scale_tag(scale)}")


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def private_media(url: str) -> Path:
    return VAR / "private-media" / database_name(url)


def bench_env(*, database: str, redis: str) -> dict[str, str]:
    return base.service_env(
        database=database,
        redis=redis,
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_PRIVATE_MEDIA_ROOT=str(private_media(database)),
    )


def _database_exists(url: str) -> bool:
    name = base._database_name(url)
    connection = base._connect_maintenance(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        connection.close()


@contextmanager
def bench_database(url: str, *, reuse: bool, keep: bool) -> Iterator[bool]:
    """The data set's database: reused when asked and present (yields True), else made afresh.
    Dropped afterwards unless kept (a reused database is always kept)."""
    existed = reuse and _database_exists(url)
    if not existed:
        base._recreate(url, create=True)
        shutil.rmtree(private_media(url), ignore_errors=True)
    try:
        yield existed
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not (keep or reuse):
            base._recreate(url, create=False)
            shutil.rmtree(private_media(url), ignore_errors=True)


def celery_purge() -> None:
    """Drop the tasks the run enqueued (no worker consumes them here)."""
    import redis
    from django.conf import settings

    from marketplace.celery import app

    with contextlib.suppress(Exception):
        app.control.purge()
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("unacked", "unacked_index", "unacked_mutex")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn marketplace.wsgi` with the bench settings, in its own process group."""

    def __init__(self, *, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = _free_port()
        self.env = {
            **os.environ,
            **env,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(base.ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        self.workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        self._log = open(self.log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "marketplace.wsgi:application",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=base.ROOT,
            env=self.env,
            start_new_session=True,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:  # noqa: S310
                    return answer.status == 200
            except OSError:
                return False

        if not base.wait_until(healthy, timeout=60, interval=0.3):
            self.stop()
            raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def drain(self, *, timeout: float = 900) -> float:
        """Until the workers are idle: requests that wrk abandoned at the end of a run are still
        queued and worked on. A health check queues behind them; two quick ones in a row mean
        the queue is empty. Returns the seconds it took."""
        started = time.monotonic()
        quick = 0
        while quick < 2 and time.monotonic() - started < timeout:
            asked = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=timeout) as answer:  # noqa: S310
                    answer.read()
            except OSError:
                time.sleep(0.2)
                continue
            quick = quick + 1 if time.monotonic() - asked < 0.1 else 0
        return round(time.monotonic() - started, 2)

    def stop(self) -> None:
        base.stop_process_group(self.process, term_grace=15)
        if self._log is not None:
            self._log.close()
            self._log = None


# --- Sessions, checks, counts ------------------------------------------------------------------


def session_cookie(user) -> str:
    """A signed-in session for `user`, as the sign-in would leave it (MFA done for staff)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def _normalised(sql: str) -> str:
    return re.sub(r"\b\d+\b|'[^']*'", "?", sql)


# Where a request's time can go, as (label, file ending, function) in a cProfile of it.
PROFILE_SPOTS = [
    ("SQL (cursor execute)", "django/db/backends/utils.py", "_execute"),
    ("templates (all rendering)", "django/template/backends/django.py", "render"),
    ("crispy forms", "crispy_forms/templatetags/crispy_forms_tags.py", "render"),
    ("form widgets", "django/forms/boundfield.py", "as_widget"),
    ("model instances", "django/db/models/base.py", "from_db"),
    ("markdown", "opportunities/markdown.py", "render_markdown"),
    ("gettext", "django/utils/translation/trans_real.py", "gettext"),
    ("reverse", "django/urls/base.py", "reverse"),
    ("language toggle (translate_url)", "django/urls/base.py", "translate_url"),
    ("class-based view get (context)", "django/views/generic/base.py", "get"),
]


def profile_request(client, path: str) -> dict[str, Any]:
    """One more request under cProfile: where its time goes (cProfile about doubles the time
    of Python code, so read the shares, not the milliseconds)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    spots = []
    for label, suffix, function in PROFILE_SPOTS:
        cumulative = sum(
            value[3]
            for (filename, _line, name), value in stats.stats.items()
            if name == function and filename.endswith(suffix)
        )
        spots.append(
            {
                "where": label,
                "ms": round(1000 * cumulative, 1),
                "share": round(cumulative / total, 3) if total else 0,
            }
        )
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]
    return {
        "profiled_ms": round(1000 * total, 1),
        "spots": spots,
        "top_own_time": [
            {
                "function": f"{Path(f).parent.name}/{Path(f).name}:{line}:{name}",
                "calls": value[1],
                "own_ms": round(1000 * value[2], 2),
            }
            for (f, line, name), value in top
        ],
    }


def count_queries(path: str, cookie: str | None, *, profile: bool = False) -> dict[str, Any]:
    """The page through Django's test client, in this process, twice; the second request's SQL
    (the first one fills per-process caches such as content types)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client(HTTP_HOST="127.0.0.1")
    if cookie:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    with CaptureQueriesContext(connection) as first:
        client.get(path)
    with CaptureQueriesContext(connection) as second:
        started = time.monotonic()
        response = client.get(path)
        seconds = time.monotonic() - started
    # The same page with every cache of the app off: what the page costs when its cached copy
    # has just been invalidated (what wrk measures is mostly the cached copy).
    caches_off = override_settings(**dict.fromkeys(CACHE_SETTINGS, 0))
    with caches_off, CaptureQueriesContext(connection) as uncached:
        started = time.monotonic()
        client.get(path)
        uncached_seconds = time.monotonic() - started
    queries = second.captured_queries
    repeated = Counter(_normalised(q["sql"]) for q in queries)
    slowest = sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:3]
    result = {
        "status": response.status_code,
        "body": response.content.decode("utf-8", "replace"),
        "queries": len(queries),
        "queries_first_request": len(first.captured_queries),
        "in_process_ms": round(1000 * seconds, 1),
        "sql_ms": round(1000 * sum(float(q["time"]) for q in queries), 1),
        "slowest_sql": [
            {"ms": round(1000 * float(q["time"]), 2), "sql": q["sql"][:600]} for q in slowest
        ],
        "most_repeated_sql": max(repeated.values(), default=0),
        "uncached_queries": len(uncached.captured_queries),
        "uncached_ms": round(1000 * uncached_seconds, 1),
        "uncached_sql_ms": round(
            1000 * sum(float(q["time"]) for q in uncached.captured_queries), 1
        ),
    }
    if profile:
        result["profile"] = profile_request(client, path)
    return result


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, cookie: str | None) -> tuple[int, str]:
    """One GET through gunicorn, redirects not followed."""
    from django.conf import settings

    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else {}
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http on loopback)
        with opener.open(request, timeout=60) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def missing_texts(body: str, expected: list[str]) -> list[str]:
    return [text for text in expected if text not in body]


def wrk(url: str, *, connections: int, seconds: float, cookie: str | None) -> dict[str, Any]:
    from django.conf import settings

    command = [
        "wrk",
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
    ]
    if cookie:
        command += ["-H", f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}"]
    command.append(url)
    done = subprocess.run(  # noqa: S603 (fixed arguments)
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed on {url}: {done.stderr.strip() or done.stdout.strip()}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = (
        round(result["requests"] / result["duration_s"], 1) if result["duration_s"] else 0
    )
    result["connections"] = connections
    return result


# --- One run -------------------------------------------------------------------------------------


def _code_state() -> dict[str, Any]:
    """The commit measured, and how many files differed from it (others may be editing)."""

    def git(*args: str) -> str:
        command = ["git", *args]
        done = subprocess.run(  # noqa: S603 (git from PATH, fixed arguments)
            command, cwd=base.ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    changed = [line for line in git("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "files_changed": len(changed)}


def _fixtures(info: dict[str, Any]) -> dict[str, Any]:
    from django.utils.html import escape

    fixtures = dict(info["fixtures"])
    fixtures["detail_title_html"] = escape(fixtures["detail_title_en"])
    return fixtures


def _dataset_usable(info: dict[str, Any] | None, *, scale: float, seed: int) -> str:
    """Empty when the stored data set can be reused, else why not."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    from bench import data

    if info is None:
        return "no data set in it"
    if info.get("version") != data.VERSION:
        return f"made by generator version {info.get('version')}"
    if info.get("scale") != scale or info.get("seed") != seed:
        return f"scale {info.get('scale')}, seed {info.get('seed')}"
    made = parse_datetime(info.get("generated_at", ""))
    if made is None or (timezone.now() - made).days >= MAX_DATASET_AGE_DAYS:
        return f"generated {info.get('generated_at')}: its open postings are closing"
    return ""


def _page_payload(
    page: Page, checks: dict, c1: dict, c16: dict, floor: dict, reference: dict
) -> dict[str, Any]:
    """A page's figures and verdict. `floor` is the anonymous floor; `reference` the floor of
    the same kind of visitor (the anonymous floor, or the signed-in one for signed-in pages),
    against which the verdict reads req/s and p95."""

    def ratios(base_: dict) -> tuple[float | None, float | None]:
        rps = c16["rps"] / base_["rps_c16"] if base_["rps_c16"] else None
        p95 = c16["p95_ms"] / base_["p95_c16_ms"] if base_["p95_c16_ms"] else None
        return rps, p95

    rps_ratio, p95_ratio = ratios(floor)
    rps_reference, p95_reference = ratios(reference)
    verdict = {
        "queries": max(checks["queries"], checks["uncached_queries"]) <= TARGET_QUERIES,
        "rps": rps_reference is not None and rps_reference >= TARGET_RPS_SHARE,
        "p95": p95_reference is not None and p95_reference <= TARGET_P95_RATIO,
        "all_2xx": c1["non_2xx"] == 0 and c16["non_2xx"] == 0,
        # A page slower than the run's duration answers nothing: no latency to read.
        "answered": c1["requests"] > 0 and c16["requests"] > 0,
        "no_timeouts": not c1["errors"]["timeout"] and not c16["errors"]["timeout"],
    }
    return {
        "label": page.label,
        "path": checks["path"],
        "user": page.user,
        **{k: v for k, v in checks.items() if k not in ("body", "path")},
        "c1": c1,
        "c16": c16,
        "reference": reference["key"],
        "rps_ratio_to_floor": None if rps_ratio is None else round(rps_ratio, 3),
        "p95_ratio_to_floor": None if p95_ratio is None else round(p95_ratio, 3),
        "rps_ratio_to_reference": None if rps_reference is None else round(rps_reference, 3),
        "p95_ratio_to_reference": None if p95_reference is None else round(p95_reference, 3),
        "verdict": verdict,
        "passed": page in (FLOOR, FLOOR_SIGNED_IN) or all(verdict.values()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    url = args.database_url or database_url_for(args.scale)
    redis_url = base.redis_url(args.redis_url)
    env = bench_env(database=url, redis=redis_url)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    VAR.mkdir(parents=True, exist_ok=True)
    base.RESULTS.mkdir(parents=True, exist_ok=True)
    with bench_database(url, reuse=args.reuse, keep=args.keep_database) as existed:
        base.django_setup(env)  # migrate: a reused database gets any new migration (an index)
        from django.core.management import call_command
        from django.db import connections

        from bench import data, packets
        from marketplace.models import Role, User

        info, why = None, ""
        if existed:
            info = data.info_read()
            why = _dataset_usable(info, scale=args.scale, seed=args.seed)
            if why:
                log(f"Not reusing {database_name(url)}: {why}.")
                info = None
                connections.close_all()
                base._recreate(url, create=True)
                shutil.rmtree(private_media(url), ignore_errors=True)
                call_command("migrate", interactive=False, verbosity=0)
            else:
                log(f"Reusing the data set in {database_name(url)} ({info['generated_at']}).")
        reused = info is not None
        if info is None:
            info = data.generate(scale=args.scale, seed=args.seed, log=log)
        fixtures = _fixtures(info)

        started = time.monotonic()
        call_command("collectstatic", interactive=False, verbosity=0, clear=True)
        collectstatic_seconds = round(time.monotonic() - started, 1)
        log(f"collectstatic (hashed, compressed) in {collectstatic_seconds} s")

        users = {
            "supplier": User.objects.get(pk=fixtures["supplier_id"]),
            "evaluator": User.objects.get(pk=fixtures["evaluator_id"]),
            "admin": User.objects.get(pk=fixtures["admin_id"]),
        }
        cookies = {role: session_cookie(user) for role, user in users.items()}

        pages = [
            p
            for p in PAGES
            if not args.pages or p.key in args.pages or p in (FLOOR, FLOOR_SIGNED_IN)
        ]
        checks: dict[str, dict] = {}
        broken: list[str] = []
        for page in pages:
            path = page.path.format(**fixtures)
            expected = [t.format(**fixtures) for t in page.expect]
            result = count_queries(path, cookies.get(page.user), profile=args.profile)
            result["path"] = path
            lacking = missing_texts(result["body"], expected)
            if result["status"] != 200 or lacking:
                broken.append(
                    f"{page.key} in-process: status {result['status']}, missing {lacking}"
                )
            checks[page.key] = result
            log(
                f"  {page.key}: {result['queries']} SQL statements ({result['sql_ms']} ms of SQL);"
                f" uncached {result['uncached_queries']} ({result['uncached_ms']} ms)"
            )

        log_path = base.RESULTS / "pages-gunicorn.log"
        measured: dict[str, dict[str, dict]] = {}
        with Gunicorn(env=env, workers=args.workers, log_path=log_path) as server:
            for page in pages:
                status, body = fetch(server.url + checks[page.key]["path"], cookies.get(page.user))
                lacking = missing_texts(body, [t.format(**fixtures) for t in page.expect])
                if status != 200 or lacking:
                    broken.append(f"{page.key} via gunicorn: status {status}, missing {lacking}")
            if broken:
                raise RuntimeError("pages not served as expected: " + "; ".join(broken))
            order = [*pages, FLOOR]  # the floor first and last: drift shows
            for index, page in enumerate(order):
                target = server.url + checks[page.key]["path"]
                cookie = cookies.get(page.user)
                wrk(target, connections=4, seconds=WARM_UP_SECONDS, cookie=cookie)
                server.drain()
                runs = {}
                for connections_ in CONCURRENCY:
                    runs[f"c{connections_}"] = wrk(
                        target, connections=connections_, seconds=args.duration, cookie=cookie
                    )
                    # Requests wrk gave up on still occupy the workers: let them finish first.
                    runs[f"c{connections_}"]["drain_s"] = server.drain()
                key = page.key if index < len(pages) else "floor_end"
                measured[key] = runs
                log(
                    f"  {key}: c=1 p50 {runs['c1']['p50_ms']:.1f} ms, c=16 "
                    f"{runs['c16']['rps']:.1f}/s p95 {runs['c16']['p95_ms']:.1f} ms"
                    + (f", {runs['c16']['non_2xx']} not 2xx" if runs["c16"]["non_2xx"] else "")
                )

        start_floor, end_floor = measured["floor"], measured["floor_end"]
        floor = {
            "rps_c16": round((start_floor["c16"]["rps"] + end_floor["c16"]["rps"]) / 2, 1),
            "p95_c16_ms": round((start_floor["c16"]["p95_ms"] + end_floor["c16"]["p95_ms"]) / 2, 3),
            "p95_c1_ms": round((start_floor["c1"]["p95_ms"] + end_floor["c1"]["p95_ms"]) / 2, 3),
            "start": start_floor,
            "end": end_floor,
            "key": FLOOR.key,
        }
        signed_in = measured[FLOOR_SIGNED_IN.key]
        signed_in_floor = {
            "rps_c16": signed_in["c16"]["rps"],
            "p95_c16_ms": signed_in["c16"]["p95_ms"],
            "key": FLOOR_SIGNED_IN.key,
        }
        page_results = {
            page.key: _page_payload(
                page,
                checks[page.key],
                measured[page.key]["c1"],
                measured[page.key]["c16"],
                floor,
                signed_in_floor if page.user else floor,
            )
            for page in pages
        }

        packet_build = None
        if not args.skip_packets:
            log(f"Packet build: {PACKET_BIDS} sealed bids, {args.packet_rounds} round(s)")
            suppliers = list(
                User.objects.filter(role_grants__role=Role.SUPPLIER)
                .exclude(pk=fixtures["supplier_id"])
                .order_by("pk")[data.EVALUATION_BIDS : data.EVALUATION_BIDS + PACKET_BIDS]
            )
            packet_build = packets.measure(
                buyer=User.objects.get(pk=fixtures["buyer_id"]),
                suppliers=suppliers,
                rounds=args.packet_rounds,
                seed=args.seed,
                log=log,
            )
        celery_purge()
        facts = base.machine_facts()
        facts["load_average_at_start"] = load_at_start
        facts["code"] = _code_state()

    return {
        "benchmark": "pages",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scale": args.scale,
        "seed": args.seed,
        "database": database_name(url),
        "duration_s": args.duration,
        "concurrency": list(CONCURRENCY),
        "gunicorn_workers": args.workers,
        "dataset": {**{k: v for k, v in info.items() if k != "fixtures"}, "reused": reused},
        "fixtures": {k: v for k, v in fixtures.items() if not k.endswith("_html")},
        "collectstatic_seconds": collectstatic_seconds,
        "floor": floor,
        "pages": page_results,
        "packet_build": packet_build,
        "targets": {
            "queries_max": TARGET_QUERIES,
            "rps_share_of_floor_min": TARGET_RPS_SHARE,
            "p95_ratio_to_floor_max": TARGET_P95_RATIO,
            "growth_max": TARGET_GROWTH,
            "packet_build_seconds_max": packets.TARGET_SECONDS,
        },
        "machine": facts,
    }


# --- Reporting -----------------------------------------------------------------------------------


def _failures(result: dict[str, Any]) -> list[str]:
    verdict = result["verdict"]
    names = {
        "queries": "queries",
        "rps": "req/s",
        "p95": "p95",
        "all_2xx": "not 2xx",
        "answered": "no answer within the run",
        "no_timeouts": "timeouts",
    }
    return [name for key, name in names.items() if not verdict.get(key, True)]


def _in_order(pages: dict[str, Any]) -> list[tuple[str, Any]]:
    """The pages in the order of PAGES (a results file has them sorted by key)."""
    return [(page.key, pages[page.key]) for page in PAGES if page.key in pages]


def _number(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _latency(run: dict[str, Any], key: str) -> str:
    """A latency of a wrk run, or a dash when nothing was answered within it."""
    return _number(run[key] if run["requests"] else None)


def report(payload: dict[str, Any]) -> str:
    dataset = payload["dataset"]
    sizes = dataset["sizes"]
    floor = payload["floor"]
    lines = [
        f"## Pages at scale {payload['scale']:g}: {sizes['opportunities']:,} opportunities, "
        f"{sizes['suppliers']:,} suppliers, {sizes['bids']:,} bids, "
        f"{sizes['audit_events']:,} audit events, {sizes['notifications']:,} notifications",
        "",
        f"gunicorn {payload['gunicorn_workers']} sync workers, `bench.settings` (DEBUG off); wrk "
        f"{payload['duration_s']:g} s per page and concurrency; floor = mean of the first and last "
        f"runs ({floor['start']['c16']['rps']:.0f} and {floor['end']['c16']['rps']:.0f} req/s at "
        f"c=16).",
        "",
    ]
    rows = []
    for key, r in _in_order(payload["pages"]):
        c1, c16 = r["c1"], r["c16"]
        failed = _failures(r)
        if key == FLOOR.key:
            verdict = "floor"
        elif key == FLOOR_SIGNED_IN.key:
            verdict = "floor of the signed-in pages"
        else:
            verdict = "PASS" if r["passed"] else "FAIL: " + ", ".join(failed)
        reference = r.get("reference", FLOOR.key)
        own = key in (FLOOR.key, FLOOR_SIGNED_IN.key)
        rows.append(
            [
                r["label"],
                f"{r['queries']} / {r.get('uncached_queries', '—')}",
                _number(r.get("uncached_ms")),
                _latency(c1, "p50_ms"),
                _latency(c1, "p95_ms"),
                f"{c16['rps']:.1f}",
                _latency(c16, "p95_ms"),
                "—" if own else ("signed in" if reference == FLOOR_SIGNED_IN.key else "anonymous"),
                "—" if own else _number(r.get("rps_ratio_to_reference"), 2),
                "—"
                if own
                else _number(r.get("p95_ratio_to_reference") if c16["requests"] else None, 2),
                _number(r["rps_ratio_to_floor"], 2),
                verdict,
            ]
        )
    lines.append(
        base.markdown_table(
            [
                "page",
                "SQL/request cached / uncached",
                "uncached ms (in-process)",
                "c=1 p50 ms",
                "c=1 p95 ms",
                "c=16 req/s",
                "c=16 p95 ms",
                "its floor",
                "req/s ÷ its floor",
                "p95 ÷ its floor",
                "req/s ÷ anonymous floor",
                "result",
            ],
            rows,
        )
    )
    lines += [
        "",
        f"Targets: SQL ≤ {TARGET_QUERIES} per request, cached and uncached; at c=16 req/s ≥ "
        f"{TARGET_RPS_SHARE:.0%} of its floor's and p95 ≤ {TARGET_P95_RATIO:g} times its "
        "floor's. Anonymous pages are read against the floor; signed-in pages against the floor "
        "signed in (the same template through the same middleware, with a session): the last "
        "ratio column reads every page against the anonymous floor.",
        "",
    ]
    if payload.get("packet_build"):
        from bench import packets

        lines += [packets.report(payload["packet_build"]), ""]
    lines += [
        "Where the SQL time goes (in-process: the second request, then the same with the app's "
        "caches off; slowest statement of the second):",
        "",
    ]
    sql_rows = []
    for _key, r in _in_order(payload["pages"]):
        slowest = r["slowest_sql"][0] if r["slowest_sql"] else {"ms": 0, "sql": ""}
        sql = " ".join(slowest["sql"].split())
        sql_rows.append(
            [
                r["label"],
                r["queries"],
                r["most_repeated_sql"],
                r["sql_ms"],
                r["in_process_ms"],
                r.get("uncached_sql_ms", "—"),
                r.get("uncached_ms", "—"),
                slowest["ms"],
                "`" + (sql[:140] + "…" if len(sql) > 140 else sql).replace("|", "\\|") + "`",
            ]
        )
    lines += [
        base.markdown_table(
            [
                "page",
                "SQL",
                "same SQL repeated",
                "SQL ms",
                "request ms",
                "uncached SQL ms",
                "uncached request ms",
                "slowest ms",
                "slowest statement",
            ],
            sql_rows,
        ),
        "",
    ]
    profiled = [r for _key, r in _in_order(payload["pages"]) if r.get("profile")]
    if profiled:
        labels = [spot[0] for spot in PROFILE_SPOTS]
        lines += [
            "Where a request's time goes (cProfile of one in-process request, share of it):",
            "",
            base.markdown_table(
                ["page", "profiled ms", *labels],
                [
                    [
                        r["label"],
                        r["profile"]["profiled_ms"],
                        *(f"{s['share']:.0%}" for s in r["profile"]["spots"]),
                    ]
                    for r in profiled
                ],
            ),
            "",
        ]
    seconds = dataset["seconds"]
    check = dataset.get("measures_check", {})
    lines.append(
        ("Data set reused" if dataset["reused"] else f"Data set generated in {seconds['total']} s")
        + f" ({sum(dataset['rows'].values()):,} rows; measures_refresh agreed on "
        f"{check.get('checked', 0) - check.get('different', 0)} of {check.get('checked', 0)} "
        f"sampled files); collectstatic {payload['collectstatic_seconds']} s."
    )
    machine = payload["machine"]
    load = machine["load_average_at_start"]
    lines.append(
        f"Machine: {machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
        f"Django {machine['django']}, PostgreSQL {machine['postgresql']}; code "
        f"{machine.get('code', {}).get('commit', '?')} with "
        f"{machine.get('code', {}).get('files_changed', '?')} files changed; load average at start "
        f"{load[0]} / {load[1]} / {load[2]}"
        + (" — measured under load" if base.under_load(load, machine["cores"]) else "")
        + "."
    )
    return "\n".join(lines)


def growth(small: dict[str, Any], large: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """How much each page's cost grew from the small data set to the large one, raw and
    against each run's own floor (the two runs are minutes apart on a shared machine: the
    floor's own change is the machine's, not the data's). The verdict reads the latter."""
    out = {}
    small_floor, large_floor = small["floor"], large["floor"]
    machine_rps = small_floor["rps_c16"] / large_floor["rps_c16"]
    machine_p95 = large_floor["p95_c16_ms"] / small_floor["p95_c16_ms"]
    for key, big in _in_order(large["pages"]):
        little = small["pages"].get(key)
        if little is None:
            continue
        answered = little["c16"]["requests"] and big["c16"]["requests"]
        rps_growth = little["c16"]["rps"] / big["c16"]["rps"] if answered else None
        p95_growth = big["c16"]["p95_ms"] / little["c16"]["p95_ms"] if answered else None
        rps_relative = None if rps_growth is None else rps_growth / machine_rps
        p95_relative = None if p95_growth is None else p95_growth / machine_p95
        uncached = [little.get("uncached_ms"), big.get("uncached_ms")]
        uncached_growth = uncached[1] / uncached[0] if all(uncached) else None
        ok = (
            little["queries"] == big["queries"]
            and little.get("uncached_queries") == big.get("uncached_queries")
            and rps_relative is not None
            and rps_relative < TARGET_GROWTH
            and p95_relative is not None
            and p95_relative < TARGET_GROWTH
        )
        out[key] = {
            "label": big["label"],
            "queries": [little["queries"], big["queries"]],
            "rps_c16": [little["c16"]["rps"], big["c16"]["rps"]],
            "p95_c16_ms": [
                little["c16"]["p95_ms"] if little["c16"]["requests"] else None,
                big["c16"]["p95_ms"] if big["c16"]["requests"] else None,
            ],
            "rps_growth": None if rps_growth is None else round(rps_growth, 2),
            "p95_growth": None if p95_growth is None else round(p95_growth, 2),
            "rps_growth_vs_floor": None if rps_relative is None else round(rps_relative, 2),
            "p95_growth_vs_floor": None if p95_relative is None else round(p95_relative, 2),
            "uncached_queries": [little.get("uncached_queries"), big.get("uncached_queries")],
            "uncached_ms": uncached,
            "uncached_growth": None if uncached_growth is None else round(uncached_growth, 2),
            "passed": ok,
        }
    return out


def scaling_report(scales: list[float], table: dict[str, dict[str, Any]]) -> str:
    small, large = (f"{s:g}" for s in scales)
    rows = [
        [
            g["label"],
            f"{g['queries'][0]} → {g['queries'][1]}",
            f"{g['rps_c16'][0]:.1f} → {g['rps_c16'][1]:.1f}",
            _number(g["rps_growth"], 2),
            "—" if key == FLOOR.key else _number(g["rps_growth_vs_floor"], 2),
            f"{_number(g['p95_c16_ms'][0])} → {_number(g['p95_c16_ms'][1])}",
            _number(g["p95_growth"], 2),
            "—" if key == FLOOR.key else _number(g["p95_growth_vs_floor"], 2),
            " → ".join(_number(ms) for ms in g.get("uncached_ms", [None, None])),
            _number(g.get("uncached_growth"), 2),
            "reference" if key == FLOOR.key else ("PASS" if g["passed"] else "FAIL"),
        ]
        for key, g in table.items()
    ]
    return "\n".join(
        [
            f"## Scaling: scale {small} → {large}",
            "",
            f"Growth of the cost at c=16: req/s at {small} ÷ req/s at {large}, p95 at {large} ÷ "
            f'p95 at {small}; "vs floor" divides by the floor\'s own growth between the two runs '
            f"(the machine's change, not the data's). Target: under {TARGET_GROWTH:g} against "
            "the floor, and the same SQL count (cached and uncached). The uncached in-process "
            "time (every cache of the app off) is shown beside it, not judged: one request, "
            "on a machine shared with other work.",
            "",
            base.markdown_table(
                [
                    "page",
                    "SQL/request",
                    "c=16 req/s",
                    "req/s growth",
                    "vs floor",
                    "c=16 p95 ms",
                    "p95 growth",
                    "vs floor",
                    "uncached ms (in-process)",
                    "uncached growth",
                    "result",
                ],
                rows,
            ),
        ]
    )


# --- Command line --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, default=1.0, help="1.0 is issue 9's full data set")
    size.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: scale {QUICK_SCALE}, {QUICK_DURATION:g} s per page and concurrency",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="the same pages at 10 %% of the scale and at the scale, and the growth",
    )
    parser.add_argument(
        "--duration",
        type=float,
        help=f"seconds per page and concurrency "
        f"(default {FULL_DURATION:g}, {QUICK_DURATION:g} with --quick)",
    )
    parser.add_argument("--pages", nargs="*", choices=[p.key for p in PAGES], help="only these")
    parser.add_argument("--workers", type=int, default=GUNICORN_WORKERS, help="gunicorn workers")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the data set left by an earlier --reuse/--keep-database run "
        "(made when missing or stale; the database is kept)",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--skip-packets", action="store_true", help="no packet build")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile one in-process request per page (cProfile) and report where it goes",
    )
    parser.add_argument("--packet-rounds", type=int, help="packet builds (default 3, 1 quick)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL + _pages_<scale>")
    parser.add_argument("--redis-url", help=f"default $BENCH_REDIS_URL or {base.DEFAULT_REDIS_URL}")
    parser.add_argument("--output", help=argparse.SUPPRESS)  # a --scaling child's JSON
    args = parser.parse_args(argv)
    from bench import data

    if args.quick:
        args.scale = QUICK_SCALE
    args.duration = args.duration or (QUICK_DURATION if args.quick else FULL_DURATION)
    args.packet_rounds = args.packet_rounds or (1 if args.quick else 3)
    args.seed = data.SEED if args.seed is None else args.seed
    if args.scaling and args.database_url:
        parser.error("--scaling uses one database per scale: leave out --database-url")
    return args


def _child(args: argparse.Namespace, scale: float, output: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "bench.pages",
        "--scale",
        f"{scale:g}",
        "--duration",
        f"{args.duration:g}",
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
        "--packet-rounds",
        str(args.packet_rounds),
        "--output",
        str(output),
    ]
    if args.pages:
        command += ["--pages", *args.pages]
    if args.redis_url:
        command += ["--redis-url", args.redis_url]
    for flag in ("reuse", "keep_database", "skip_packets", "profile"):
        if getattr(args, flag):
            command.append("--" + flag.replace("_", "-"))
    child = subprocess.Popen(command, cwd=base.ROOT)  # noqa: S603 (fixed arguments)
    try:
        returncode = child.wait()
    except BaseException:
        child.terminate()  # it cleans up its gunicorn and database (SIGTERM handler)
        child.wait(timeout=120)
        raise
    if returncode != 0:
        raise RuntimeError(f"the run at scale {scale:g} broke (exit {returncode})")


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)  # so that gunicorn and the database are cleaned up


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    try:
        if args.scaling:
            scales = [round(args.scale / 10, 6), args.scale]
            runs = {}
            with tempfile.TemporaryDirectory() as folder:
                for scale in scales:
                    output = Path(folder) / f"{scale_tag(scale)}.json"
                    _child(args, scale, output)
                    runs[f"{scale:g}"] = json.loads(output.read_text())
            small, large = (runs[f"{s:g}"] for s in scales)
            table = growth(small, large)
            payload = {
                "benchmark": "pages",
                "scaling": True,
                "scales": scales,
                "growth": table,
                "runs": runs,
            }
            written = base.results_write("pages", payload)
            text = "\n\n".join([report(small), report(large), scaling_report(scales, table)])
        else:
            payload = run(args)
            if args.output:  # a child of --scaling: the parent writes the results
                Path(args.output).write_text(json.dumps(payload, default=str))
                base.results_write(f"pages-scale-{scale_tag(args.scale)}", payload, latest=False)
                print(report(payload))
                return 0
            written = base.results_write("pages", payload)
            text = report(payload)
    except RuntimeError as error:
        print(f"Benchmark broken: {error}", file=sys.stderr)
        return 1
    print(text)
    print("\nResults: " + " and ".join(str(p.relative_to(base.ROOT)) for p in written))
    print("(A benchmark: the exit status stays 0 whatever the figures.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
