"""Faults under load (issue 10): PostgreSQL restarted, Redis stopped, the Celery worker killed in
the middle of a task, Stripe answering 500s and timing out — each while suppliers keep
submitting bids and visitors keep reading, against gunicorn and a real worker on loopback.

    python -m bench.faults [--quick] [--faults postgres,redis,worker,stripe]

Everything runs on services of the script's own, so that it can break them without disturbing
anyone: a PostgreSQL cluster made with initdb in a temporary folder, a redis-server without
persistence (stopped, it comes back empty, as a crashed one would), both on free ports, and the
Stripe fake (tests/support/fake_stripe.py) in this process. Like docker-compose's `restart:
unless-stopped`, the script starts the worker again whenever it exits. Beat's part is played
by the script: it sends the outbox sweeper every few seconds (`BENCH_SWEEP_GRACE_SECONDS`).

Each fault, in turn, with load before, during and after it:

- postgres: `pg_ctl stop -m fast`, down for a while, started again. Requests meanwhile must fail
  cleanly (a 503 page that says to try again, never a 500 or a dropped connection) and the site
  must recover by itself (no restart of gunicorn or the worker);
- redis: the broker and cache stopped, started again empty. Pages and submissions must keep
  working; the notifications written meanwhile must all be emailed once it is back (outbox);
- worker: the worker is made to stop inside a delivery (bench/mail.py holds the send) and is
  killed there with SIGKILL (its whole process group). The task comes back (acks_late, after the
  visibility timeout) and the notification is emailed once: not lost, not doubled;
- stripe: card holders pay through Checkout while the fake answers 500s, drops connections and
  answers too late (the request is carried out, the answer never arrives). Every payment must
  end paid with exactly one Checkout session and one charge.

Afterwards: every submission acknowledged to a supplier (a receipt page with its digest) is
stored exactly as acknowledged, every notification is emailed exactly once (Message-IDs counted
in the mail files), every payment is paid once. The script prints the table and writes
bench/results/faults-*.json; it exits 1 when anything was lost or a check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: `python bench/faults.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import base, pages, rush

FAULTS = ("postgres", "redis", "worker", "stripe")
WEBHOOK_SECRET = "whsec_bench_faults"  # noqa: S105 (the fake's, on loopback)
# The Message-ID every email of a notification carries (marketplace.notifications).
MESSAGE_ID = re.compile(r"<notification\.(\d+)@")
UNAVAILABLE = "Service briefly unavailable"


def _accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


# --- Services of the script's own ----------------------------------------------------------------


def _postgres_bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise SystemExit("The fault script needs PostgreSQL's initdb and pg_ctl (not found).")
    return candidates[-1].parent


class PrivatePostgres:
    """A PostgreSQL cluster of the script's own, on a free port: restarting it disturbs nobody.

    Run as root, the server runs as the `postgres` system user (PostgreSQL refuses root)."""

    def __init__(self, root: Path) -> None:
        self.bindir = _postgres_bindir()
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = pages._free_port()
        self.as_postgres = os.geteuid() == 0

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if self.as_postgres:
            shutil.chown(self.root, user="postgres")
        # trust on loopback: a throw-away cluster nobody else can reach; fsync off: the script
        # stops the server, it never crashes the machine.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(
            dbname="postgres", user="postgres", host="127.0.0.1", port=self.port
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the script's own without persistence: stopped, it comes back empty."""

    def __init__(self) -> None:
        self.port = pages._free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("The fault script needs redis-server (not found).")
        self.process = subprocess.Popen(  # noqa: S603
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        if not base.wait_until(lambda: _accepting(self.port), timeout=10, interval=0.05):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash: nothing saved (nothing would be anyway)
            self.process.wait(timeout=10)


class Supervisor(threading.Thread):
    """Starts the worker again whenever it exits, as `restart: unless-stopped` does."""

    def __init__(self, make_worker) -> None:
        super().__init__(daemon=True)
        self.make_worker = make_worker
        self.worker = make_worker().__enter__()
        self.restarts = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                if not self.worker.alive():
                    self.worker.stop()
                    self.worker = self.make_worker().__enter__()
                    self.restarts += 1

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (main process and pool)."""
        with self.lock:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.worker.process.pid, signal.SIGKILL)
            self.worker.process.wait(timeout=10)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        with self.lock:
            self.worker.stop()


def _reset_broker_pools(app) -> None:
    """Forget this process's pooled broker connections (Redis went away and came back empty):
    the next publication connects afresh. Only the main thread publishes through the pools."""
    app._pool = None
    app.amqp._producer_pool = None


class Beat(threading.Thread):
    """What beat does, more often: send the outbox sweeper, over a connection of its own each
    time. A broker that is down is skipped until the next beat."""

    def __init__(self, app, every: float) -> None:
        super().__init__(daemon=True)
        self.app, self.every = app, every
        self.sent = self.failed = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                with self.app.connection_for_write() as connection:
                    self.app.send_task(
                        "marketplace.tasks.notifications_sweep", connection=connection, retry=False
                    )
                self.sent += 1
            except Exception:  # the broker is down: the next beat tries again
                self.failed += 1


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Request:
    started: float
    ended: float
    what: str
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)
    clean: bool  # an answer a person can act on: 2xx/3xx, or the 503 page


@dataclass
class Acknowledgement:
    bid_id: int
    number: int
    digest: str | None  # None: the receipt page itself failed after the submission was stored
    marker: str


@dataclass
class Load:
    requests: list[Request] = field(default_factory=list)
    acknowledged: list[Acknowledgement] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def record(self, what: str, started: float, answer=None, error: Exception | None = None):
        status = None if answer is None else answer.status_code
        clean = status is not None and (
            status < 400 or (status == 503 and UNAVAILABLE in answer.text)
        )
        with self.lock:
            self.requests.append(Request(started, time.time(), what, status, clean))
        return answer

    def between(self, start: float, end: float) -> list[Request]:
        """The requests answered (or given up on) from `start` until `end`: a request in flight
        when a fault is injected counts with the fault."""
        with self.lock:
            return [r for r in self.requests if start <= r.ended < end]


class Supplier(threading.Thread):
    """Edits and submits a bid again and again; keeps each acknowledgement it is shown."""

    def __init__(self, load: Load, *, server: str, cookie: str, bid_id: int, criteria, pause):
        super().__init__(daemon=True)
        import requests

        self.load, self.server, self.bid_id = load, server, bid_id
        self.criteria, self.pause = criteria, pause
        self.session = requests.Session()
        self.session.cookies.set("sessionid", cookie)

    def _get(self, what: str, url: str, **options):
        started = time.time()
        try:
            return self.load.record(what, started, self.session.get(url, timeout=30, **options))
        except Exception as error:
            self.load.record(what, started, error=error)
            return None

    def run(self) -> None:
        edit = f"{self.server}/en/bids/{self.bid_id}/edit/"
        attempt = 0
        while not self.load.stopping.is_set():
            time.sleep(self.pause)
            attempt += 1
            marker = f"fault-{self.bid_id}-{attempt}"
            page = self._get("bid form", edit, allow_redirects=False)
            token = rush.CSRF.search(page.text) if page is not None and page.ok else None
            if token is None:
                continue
            data = rush.submission(token=token.group(1), criteria=self.criteria, marker=marker)
            started = time.time()
            try:
                answer = self.session.post(
                    edit, data=data, timeout=30, allow_redirects=False, headers={"Referer": edit}
                )
            except Exception as error:
                self.load.record("bid submission", started, error=error)
                continue
            self.load.record("bid submission", started, answer)
            found = rush.RECEIPT.search(answer.headers.get("Location", ""))
            if answer.status_code != 302 or not found:
                continue
            receipt = self._get("receipt", self.server + answer.headers["Location"])
            digest = rush.DIGEST.search(receipt.text) if receipt is not None else None
            with self.load.lock:
                self.load.acknowledged.append(
                    Acknowledgement(
                        self.bid_id, int(found.group(2)), digest and digest.group(1), marker
                    )
                )


class Reader(threading.Thread):
    """An anonymous visitor reading the list and the opportunity, now and then searching."""

    def __init__(self, load: Load, *, server: str, opportunity_id: int, pause: float) -> None:
        super().__init__(daemon=True)
        import requests

        self.load, self.pause = load, pause
        self.session = requests.Session()
        self.urls = [
            f"{server}/en/opportunities/",
            f"{server}/en/opportunities/{opportunity_id}/",
            f"{server}/fr/opportunities/?q={quote('sélecteur')}",
        ]

    def run(self) -> None:
        n = 0
        while not self.load.stopping.is_set():
            time.sleep(self.pause)
            url = self.urls[n % len(self.urls)]
            n += 1
            started = time.time()
            try:
                self.load.record("public page", started, self.session.get(url, timeout=30))
            except Exception as error:
                self.load.record("public page", started, error=error)


# --- The world -----------------------------------------------------------------------------------


def _world(suppliers: int):
    """An opportunity open for two hours with a draft from each of `suppliers`."""
    opportunity, people, bids = rush._world(suppliers, 7200)
    opportunity.title_fr = "Réparer le sélecteur de date"
    opportunity.save(update_fields=["title_fr"])
    return opportunity, people, bids


def _stripe_world(count: int, fake) -> tuple[Any, list[int]]:
    """`count` certified payments to suppliers with onboarded Stripe accounts, a card holder."""
    from marketplace.models import Role
    from payments import connect, contracts
    from payments.models import CardLimit
    from tests.builders import awarded_without_test_transaction
    from tests.factories import StaffFactory

    holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Casey Cardholder")
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=10_000_000, monthly_cents=100_000_000
    )
    payments = []
    for _ in range(count):
        opportunity, contract = awarded_without_test_transaction(bids=1)
        supplier = contract.supplier
        contract = contracts.contract_accept_terms(supplier=supplier, contract=contract)
        contract = contracts.contract_deliver(
            supplier=supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
        )
        contract = contracts.contract_certify(
            buyer=opportunity.buyer, contract=contract, confirmed=True
        )
        account = connect.stripe_account_ensure(supplier=supplier)
        fake.complete_onboarding(account.account_id)
        connect.stripe_account_refresh(account)
        payments.append(contract.payment.pk)
    return holder, payments


# --- The faults ----------------------------------------------------------------------------------


@dataclass
class Window:
    fault: str
    injected: float
    restored: float
    notes: dict[str, Any] = field(default_factory=dict)


def _fault_postgres(ctx, args) -> Window:
    from django.db import connections

    injected = time.time()
    ctx.postgres.stop("fast")
    time.sleep(args.outage)
    ctx.postgres.start()
    restored = time.time()
    connections.close_all()  # this process's own, broken by the restart
    return Window("postgres", injected, restored, {"down_seconds": round(restored - injected, 1)})


def _fault_redis(ctx, args) -> Window:
    from marketplace.models import Notification

    injected = time.time()
    ctx.redis.stop()
    time.sleep(args.outage)
    ctx.redis.start()
    restored = time.time()
    _reset_broker_pools(ctx.app)
    written = Notification.objects.filter(
        created_at__gte=dt.datetime.fromtimestamp(injected, tz=dt.UTC),
        created_at__lt=dt.datetime.fromtimestamp(restored, tz=dt.UTC),
    ).values_list("pk", flat=True)
    return Window(
        "redis",
        injected,
        restored,
        {"down_seconds": round(restored - injected, 1), "notifications_meanwhile": list(written)},
    )


def _fault_worker(ctx, args) -> Window:
    hold = ctx.mail_dir / "hold"
    hold.touch()
    caught = base.wait_until(
        lambda: any(ctx.mail_dir.glob("sending-*")), timeout=120, interval=0.05
    )
    injected = time.time()
    if not caught:
        hold.unlink()
        raise RuntimeError("No delivery started within 120 s: nothing to kill the worker in")
    ctx.supervisor.kill()  # in the middle of the send, its transaction open
    [marker] = list(ctx.mail_dir.glob("sending-*"))
    held = [int(pk) for pk in MESSAGE_ID.findall(marker.read_text())]
    marker.unlink()
    hold.unlink()
    restarted = base.wait_until(lambda: ctx.supervisor.restarts > ctx.restarts_before, timeout=30)
    return Window("worker", injected, time.time(), {"held": held, "restarted": restarted})


def _fault_stripe(ctx, args) -> Window:
    import requests

    from payments import paying
    from payments.models import Payment
    from tests.support.fake_stripe import sign

    fake = ctx.fake
    count = len(ctx.payments)
    # Per payment, roughly: a 500, a dropped connection, an answer that comes too late.
    for _ in range(count):
        fake.fail_next(1, status=500)
        fake.fail_next(1, status="drop")
        fake.fail_next(1, status="timeout", stall=args.stripe_timeout + 3)
    injected = time.time()
    for pk in ctx.payments:
        paying.payment_start(
            payer=ctx.card_holder,
            payment=Payment.objects.get(pk=pk),
            provider=Payment.Provider.STRIPE,
        )
    sessions = base.wait_until(
        lambda: Payment.objects.filter(pk__in=ctx.payments, checkout_session_id="").count() == 0,
        timeout=240,
    )
    webhook_answers: Counter[str] = Counter()
    for payment in Payment.objects.filter(pk__in=ctx.payments).exclude(checkout_session_id=""):
        for event in fake.pay(payment.checkout_session_id):
            body = json.dumps(event).encode()
            for _delivery in range(2):  # Stripe delivers at least once: twice here
                answer = requests.post(
                    f"{ctx.server.url}/stripe/webhook/",
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "Stripe-Signature": sign(body, WEBHOOK_SECRET),
                    },
                    timeout=30,
                )
                webhook_answers[str(answer.status_code)] += 1
    paid = base.wait_until(
        lambda: (
            Payment.objects.filter(pk__in=ctx.payments, status=Payment.Status.PAID).count() == count
        ),
        timeout=120,
    )
    return Window(
        "stripe",
        injected,
        time.time(),
        {
            "injected": f"{count} times (a 500, a dropped connection, an answer after the timeout)",
            "sessions_created_in_time": sessions,
            "webhook_answers": dict(webhook_answers),
            "all_paid_in_time": paid,
        },
    )


RUNNERS = {
    "postgres": _fault_postgres,
    "redis": _fault_redis,
    "worker": _fault_worker,
    "stripe": _fault_stripe,
}


# --- Checks --------------------------------------------------------------------------------------


def _emails(mail_dir: Path) -> Counter[int]:
    """How many emails went out per notification (Message-IDs in the mail files)."""
    sent: Counter[int] = Counter()
    for path in mail_dir.glob("*.log"):
        sent.update(int(pk) for pk in MESSAGE_ID.findall(path.read_text(errors="replace")))
    return sent


def _check_submissions(load: Load, opportunity) -> dict[str, Any]:
    from bids.models import Receipt
    from bids.services import content_digest

    lost, altered = [], []
    for ack in load.acknowledged:
        receipt = Receipt.objects.filter(bid_id=ack.bid_id, number=ack.number).first()
        if receipt is None:
            lost.append((ack.bid_id, ack.number))
        elif (
            (ack.digest is not None and receipt.digest != ack.digest)
            or content_digest(receipt.content) != receipt.digest
            or ack.marker not in str(receipt.content)
        ):
            altered.append((ack.bid_id, ack.number))
    return {
        "acknowledged": len(load.acknowledged),
        "receipts_stored": Receipt.objects.filter(bid__opportunity=opportunity).count(),
        "lost": lost,
        "altered": altered,
    }


def _check_notifications(ctx) -> dict[str, Any]:
    from marketplace.models import Notification

    Status = Notification.Status
    # What is still waiting gets its sweeps (the outbox at work), until all is out or time's up.
    base.wait_until(
        lambda: (
            not Notification.objects.filter(status__in=(Status.PENDING, Status.FAILED))
            .exclude(recipient__is_active=False)
            .exists()
        ),
        timeout=ctx.args.drain,
        interval=1,
    )
    emails = _emails(ctx.mail_dir)
    statuses = Counter(Notification.objects.values_list("status", flat=True))
    sent = set(Notification.objects.filter(status=Status.SENT).values_list("pk", flat=True))
    return {
        "notifications": sum(statuses.values()),
        "by_status": dict(statuses),
        "undelivered": sorted(
            Notification.objects.filter(
                status__in=(Status.PENDING, Status.FAILED, Status.GAVE_UP)
            ).values_list("pk", flat=True)
        )[:20],
        "emails": sum(emails.values()),
        "sent_without_email": sorted(sent - set(emails))[:20],
        "emailed_twice": sorted(pk for pk, n in emails.items() if n > 1),
        "emailed_per_notification": emails,
    }


def _check_payments(ctx) -> dict[str, Any]:
    from payments.models import Payment

    fake = ctx.fake
    rows = []
    for payment in Payment.objects.filter(pk__in=ctx.payments).order_by("pk"):
        sessions = [
            s
            for s in fake.objects("checkout.session")
            if s["metadata"].get("payment_id") == str(payment.pk)
        ]
        intents = {s.get("payment_intent") for s in sessions}
        charges = [c for c in fake.objects("charge") if c.get("payment_intent") in intents]
        paid_moves = payment.events.filter(to_status=Payment.Status.PAID).exclude(
            from_status=Payment.Status.PAID
        )
        rows.append(
            {
                "payment": payment.pk,
                "status": payment.status,
                "checkout_sessions": len(sessions),
                "charges": len(charges),
                "paid_transitions": paid_moves.count(),
            }
        )
    return {
        "payments": rows,
        "requests_to_stripe": len(fake.requests),
        "not_exactly_one_charge": [
            r["payment"]
            for r in rows
            if (r["status"], r["checkout_sessions"], r["charges"], r["paid_transitions"])
            != (Payment.Status.PAID, 1, 1, 1)
        ],
    }


def _window_figures(load: Load, window: Window, *, until: float) -> dict[str, Any]:
    during = load.between(window.injected, until)
    failed = [r for r in during if r.status is None or r.status >= 400]
    unclean = [r for r in during if not r.clean]
    last_failure = max((r.ended for r in failed), default=None)
    return {
        "requests": len(during),
        "failed": len(failed),
        "unclean": len(unclean),
        "unclean_samples": [f"{r.what}: {r.status}" for r in unclean[:5]],
        "statuses": dict(Counter(str(r.status) for r in during)),
        "recovered_after_seconds": None
        if last_failure is None
        else round(max(0.0, last_failure - window.restored), 1),
    }


# --- The run -------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    postgres: PrivatePostgres
    redis: PrivateRedis
    mail_dir: Path
    app: Any = None
    fake: Any = None
    server: Any = None
    supervisor: Supervisor | None = None
    restarts_before: int = 0
    card_holder: Any = None
    payments: list[int] = field(default_factory=list)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.fake_stripe import FakeStripe

    root = Path(tempfile.mkdtemp(prefix="marketplace-faults-"))
    root.chmod(0o755)  # the cluster's folder inside must be reachable by its server's user
    postgres, redis_server = PrivatePostgres(root / "postgres"), PrivateRedis()
    mail_dir = root / "mail"
    mail_dir.mkdir()
    ctx = Context(args=args, postgres=postgres, redis=redis_server, mail_dir=mail_dir)
    log_dir = base.RESULTS
    log_dir.mkdir(parents=True, exist_ok=True)
    load = Load()
    threads: list[threading.Thread] = []
    beat = None
    try:
        postgres.init()
        postgres.create_database("marketplace_faults")
        redis_server.start()
        ctx.fake = FakeStripe().start()
        env = pages.bench_env(database=postgres.url("marketplace_faults"), redis=redis_server.url)
        env.update(
            BENCH_BID_SUBMISSION_LIMIT="100000",
            BENCH_MAIL_DIR=str(mail_dir),
            BENCH_SWEEP_GRACE_SECONDS=str(args.grace),
            BENCH_PRIVATE_MEDIA_ROOT=str(root / "private-media"),
            CELERY_VISIBILITY_TIMEOUT=str(args.visibility_timeout),
            STRIPE_SECRET_KEY="sk_test_bench_faults",  # noqa: S106 (the fake's)
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=ctx.fake.url,
            STRIPE_TIMEOUT_SECONDS=str(args.stripe_timeout),
            SITE_URL="http://127.0.0.1",
        )
        base.django_setup(env)
        from django.core.management import call_command

        from marketplace.celery import app

        ctx.app = app
        call_command("collectstatic", interactive=False, verbosity=0, clear=True)
        opportunity, people, bids = _world(args.suppliers)
        criteria = list(opportunity.criteria.values_list("pk", flat=True))
        cookies = {p.pk: pages.session_cookie(p) for p in people}
        if "stripe" in args.faults:
            ctx.card_holder, ctx.payments = _stripe_world(args.payments, ctx.fake)

        def make_worker() -> base.Worker:
            return base.Worker(
                env=env,
                queues=[app.conf.task_default_queue],
                log_path=log_dir / "faults-worker.log",
                log_mode="a",
            )

        (log_dir / "faults-worker.log").write_text("")
        ctx.supervisor = Supervisor(make_worker)
        ctx.supervisor.start()
        ctx.supervisor.worker.wait_ready(app)
        ctx.server = pages.Gunicorn(env=env, workers=2, log_path=log_dir / "faults-gunicorn.log")
        ctx.server.__enter__()
        beat = Beat(app, every=args.sweep_every)
        beat.start()

        threads = [
            Supplier(
                load,
                server=ctx.server.url,
                cookie=cookies[p.pk],
                bid_id=bids[p.pk],
                criteria=criteria,
                pause=args.pause,
            )
            for p in people
        ] + [
            Reader(load, server=ctx.server.url, opportunity_id=opportunity.pk, pause=args.pause)
            for _ in range(args.readers)
        ]
        started = time.time()
        for thread in threads:
            thread.start()
        time.sleep(args.settle)
        windows: list[Window] = []
        for fault in args.faults:
            ctx.restarts_before = ctx.supervisor.restarts
            window = RUNNERS[fault](ctx, args)
            time.sleep(args.settle)  # load after the fault: the site must be itself again
            window.notes["worker_restarts"] = ctx.supervisor.restarts - ctx.restarts_before
            windows.append(window)
        load.stopping.set()
        for thread in threads:
            thread.join(timeout=60)
        ended = time.time()

        submissions = _check_submissions(load, opportunity)
        notifications = _check_notifications(ctx)
        payments = _check_payments(ctx) if "stripe" in args.faults else None
        facts = base.machine_facts()
    finally:
        load.stopping.set()
        if beat is not None:
            beat.stopping.set()
        if ctx.server is not None:
            ctx.server.stop()
        if ctx.supervisor is not None:
            ctx.supervisor.stop()
        if ctx.fake is not None:
            ctx.fake.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        redis_server.stop()
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)

    emails = notifications.pop("emailed_per_notification")
    per_fault = {}
    for i, window in enumerate(windows):
        until = windows[i + 1].injected if i + 1 < len(windows) else ended
        figures = _window_figures(load, window, until=until)
        if window.fault == "redis":
            meanwhile = window.notes.pop("notifications_meanwhile")
            window.notes["notifications_meanwhile"] = len(meanwhile)
            window.notes["emailed_once_afterwards"] = sum(1 for pk in meanwhile if emails[pk] == 1)
        if window.fault == "worker":
            window.notes["held_emailed"] = {pk: emails[pk] for pk in window.notes["held"]}
        per_fault[window.fault] = {
            "injected_at_second": round(window.injected - started, 1),
            "restored_after_seconds": round(window.restored - window.injected, 1),
            **figures,
            **window.notes,
        }
    before = load.between(started, windows[0].injected if windows else ended)
    return {
        "benchmark": "faults",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "suppliers": args.suppliers,
        "readers": args.readers,
        "seconds": round(ended - started, 1),
        "requests": len(load.requests),
        "failed_requests": sum(1 for r in load.requests if r.status is None or r.status >= 400),
        "unclean_requests": sum(1 for r in load.requests if not r.clean),
        "failed_before_any_fault": sum(1 for r in before if not r.clean or r.status >= 400),
        "statuses_before_any_fault": dict(Counter(f"{r.what}: {r.status}" for r in before)),
        "faults": per_fault,
        "worker_restarts": ctx.supervisor.restarts if ctx.supervisor else 0,
        "beat_sweeps_sent": beat.sent if beat else 0,
        "submissions": submissions,
        "notifications": notifications,
        "payments": payments,
        "machine": facts,
    }


def problems(r: dict[str, Any]) -> list[str]:
    """What makes the run a failure (the exit status), in words."""
    found = []
    s, n, p = r["submissions"], r["notifications"], r["payments"]
    if s["lost"] or s["altered"]:
        found.append(f"submissions lost {len(s['lost'])}, altered {len(s['altered'])}")
    if n["undelivered"] or n["sent_without_email"]:
        found.append(f"notifications undelivered: {n['undelivered'] + n['sent_without_email']}")
    if n["emailed_twice"]:
        found.append(f"notifications emailed twice: {n['emailed_twice']}")
    if p is not None and p["not_exactly_one_charge"]:
        found.append(f"payments without exactly one charge: {p['not_exactly_one_charge']}")
    if r["failed_before_any_fault"]:
        found.append(f"{r['failed_before_any_fault']} requests failed before any fault")
    for fault, f in r["faults"].items():
        if f["unclean"]:
            samples = f["unclean_samples"]
            found.append(f"{fault}: {f['unclean']} requests failed uncleanly {samples}")
        if fault != "postgres" and f["failed"]:
            found.append(f"{fault}: {f['failed']} requests failed ({f['statuses']})")
        if fault == "postgres" and (f["recovered_after_seconds"] or 0) > 30:
            found.append(f"postgres: recovered only after {f['recovered_after_seconds']} s")
        if fault == "redis" and f["emailed_once_afterwards"] != f["notifications_meanwhile"]:
            found.append("redis: notifications written meanwhile not all emailed once")
        if fault == "worker" and (not f["held"] or any(n != 1 for n in f["held_emailed"].values())):
            found.append(f"worker: the interrupted delivery was not redone once {f}")
        if fault == "stripe" and not f["all_paid_in_time"]:
            found.append("stripe: not every payment was paid in time")
        if fault == "stripe" and set(f["webhook_answers"]) != {"200"}:
            found.append(f"stripe: webhooks answered {f['webhook_answers']}")
    return found


def report(r: dict[str, Any]) -> str:
    s, n, p, f = r["submissions"], r["notifications"], r["payments"], r["faults"]
    lost = (
        len(s["lost"])
        + len(s["altered"])
        + len(n["undelivered"])
        + len(n["sent_without_email"])
        + (len(p["not_exactly_one_charge"]) if p else 0)
    )
    rows = [
        ["load held", f"{r['suppliers']} suppliers submitting, {r['readers']} readers, "
                      f"{r['seconds']:g} s, {r['requests']} requests"],
        ["failed before any fault", r["failed_before_any_fault"]],
        ["errors (all faults)", f"{r['failed_requests']} requests failed, "
                                f"{r['unclean_requests']} of them other than the 503 page"],
    ]  # fmt: skip
    describe = {
        "postgres": lambda x: (
            f"stopped (fast) {x['down_seconds']} s, started again: {x['failed']} of "
            f"{x['requests']} requests answered 503 'try again', {x['unclean']} otherwise; "
            f"recovered by itself {x['recovered_after_seconds'] or 0} s after the restart"
        ),
        "redis": lambda x: (
            f"killed {x['down_seconds']} s, back empty: {x['failed']} of {x['requests']} "
            f"requests failed; {x['notifications_meanwhile']} notifications written meanwhile, "
            f"{x['emailed_once_afterwards']} emailed once afterwards"
        ),
        "worker": lambda x: (
            f"SIGKILL mid-delivery of notification(s) {x['held']}: emailed "
            f"{list(x['held_emailed'].values())} time(s) after the restart; "
            f"{x['failed']} of {x['requests']} requests failed"
        ),
        "stripe": lambda x: (
            f"{x['injected']}: all paid {x['all_paid_in_time']}; "
            f"{x['failed']} of {x['requests']} requests failed"
        ),
    }
    for fault, figures in f.items():
        restarts = figures["worker_restarts"]
        again = f"; worker started again {restarts} time(s)" if restarts else ""
        rows.append([f"fault: {fault}", describe[fault](figures) + again])
    rows += [
        ["worker restarted by the supervisor", r["worker_restarts"]],
        ["submissions acknowledged / receipts stored", f"{s['acknowledged']} / "
                                                       f"{s['receipts_stored']}"],
        ["notifications / emails", f"{n['notifications']} / {n['emails']}"],
        ["emailed twice", len(n["emailed_twice"])],
    ]  # fmt: skip
    if p:
        rows.append(
            ["payments paid / with exactly one session and one charge",
             f"{sum(1 for x in p['payments'] if x['status'] == 'paid')} / "
             f"{len(p['payments']) - len(p['not_exactly_one_charge'])} "
             f"of {len(p['payments'])}"]
        )  # fmt: skip
    rows.append(["**data lost** (submissions, notifications, payments)", f"**{lost}**"])
    return "\n".join(["## Faults under load", "", base.markdown_table(["", "value"], rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--suppliers", type=int, default=100)
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--payments", type=int, default=10)
    parser.add_argument("--outage", type=float, default=15.0, help="seconds a service is down")
    parser.add_argument("--settle", type=float, default=15.0, help="load between faults")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between requests")
    parser.add_argument("--faults", default=",".join(FAULTS), help="which, in order")
    parser.add_argument("--grace", type=int, default=3, help="sweeper grace, seconds")
    parser.add_argument("--sweep-every", type=float, default=3.0)
    parser.add_argument("--visibility-timeout", type=int, default=10)
    parser.add_argument("--stripe-timeout", type=float, default=2.0)
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to wait at the end")
    parser.add_argument("--quick", action="store_true", help="the small size CI runs")
    parser.add_argument("--output", type=Path, help="write the results here, not bench/results")
    args = parser.parse_args(argv)
    if args.quick:
        args.suppliers, args.readers, args.payments = 12, 3, 2
        args.outage, args.settle = 4.0, 5.0
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))} (known: {', '.join(FAULTS)})")
    result = run(args)
    print(report(result))
    found = problems(result)
    result["problems"] = found
    if args.output:
        args.output.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
        paths = [args.output]
    else:
        paths = base.results_write("faults", result)
    print(f"\nResults: {', '.join(str(p) for p in paths)}")
    for problem in found:
        print(f"FAILED: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
