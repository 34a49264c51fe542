"""Alert fan-out throughput: how fast one real worker emails every matching supplier.

One opportunity is published the way the app does it (opportunity_publish, whose commit enqueues
the fan-out) to N suppliers whose immediate alert matches its skill. The clock runs from the
publication to the moment the last of those N notifications is SENT; one Celery worker (prefork,
the project's queues) does all the work against PostgreSQL and Redis, emailing through Django's
locmem backend (real EmailMessages, sent into memory). Issue 7's target: 500 notifications/s.

    python -m bench.fanout [--quick | --subscribers N] [--workers-concurrency C] [--profile]

A benchmark, not a test: the exit status is 0 whatever the figure, 1 only when the run broke
(the worker died, or not every notification was sent within the timeout).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/fanout.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import base

TARGET_PER_SECOND = 500.0  # per worker process (issue 7)
QUICK_SUBSCRIBERS = 2_000
FRENCH_SHARE = 0.3  # of suppliers who read their email in French
BATCH = 5_000  # rows per bulk insert while generating the data
SKILLS = [
    ("accessibility", "Accessibility", "Accessibilité"),
    ("python", "Python", "Python"),
    ("front-end", "Front-end development", "Développement frontal"),
    ("data", "Data analysis", "Analyse de données"),
    ("design", "Service design", "Conception de services"),
]
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Camille", "Dominique", "Morgan", "Noor", "Li", "Ana"]
LAST_NAMES = ["Tremblay", "Gagnon", "Roy", "Smith", "Singh", "Nguyen", "Martin", "Côté"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--subscribers", type=int, default=50_000, help="matching alerts (default 50000)"
    )
    size.add_argument(
        "--quick",
        action="store_const",
        dest="subscribers",
        const=QUICK_SUBSCRIBERS,
        help=f"a smoke run: {QUICK_SUBSCRIBERS} subscribers",
    )
    parser.add_argument(
        "--workers-concurrency",
        type=int,
        default=1,
        metavar="C",
        help="pool processes of the one worker (default 1)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the data (default 7)")
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for every email before calling the run broken "
        "(default max(300, subscribers / 20))",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each task under cProfile and report where the time goes "
        "(the throughput of such a run is not comparable)",
    )
    parser.add_argument(
        "--database-url", help=f"default $BENCH_DATABASE_URL or {base.DEFAULT_DATABASE_URL}"
    )
    parser.add_argument("--redis-url", help=f"default $BENCH_REDIS_URL or {base.DEFAULT_REDIS_URL}")
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the bench database behind to inspect"
    )
    args = parser.parse_args(argv)
    if args.subscribers < 1 or args.workers_concurrency < 1:
        parser.error("--subscribers and --workers-concurrency must be at least 1")
    args.timeout = args.timeout or max(300.0, args.subscribers / 20)
    return args


# --- Data ----------------------------------------------------------------------------------------


def generate(*, subscribers: int, seed: int):
    """N suppliers, each with an immediate alert that matches the `accessibility` skill (plus
    up to two other skills, and sometimes a type filter that also matches). Bulk inserts only."""
    from django.db import transaction

    from marketplace.models import Role, RoleGrant, User
    from opportunities.models import Alert, OpportunityType, Skill

    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    skills = Skill.objects.bulk_create(
        Skill(slug=slug, name_en=en, name_fr=fr) for slug, en, fr in SKILLS
    )
    target, others = skills[0], skills[1:]
    type_filters = [
        [],
        [],
        [OpportunityType.ACCESSIBILITY],
        [OpportunityType.ACCESSIBILITY, "bug_fix"],
    ]
    through = Alert.skills.through
    with transaction.atomic():
        for start in range(0, subscribers, BATCH):
            users = User.objects.bulk_create(
                User(
                    email=f"supplier{n:06d}@bench.example",
                    full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    preferred_language="fr" if rng.random() < FRENCH_SHARE else "en",
                    password="!bench-unusable",  # noqa: S106 (nobody signs in)
                )
                for n in range(start, min(start + BATCH, subscribers))
            )
            RoleGrant.objects.bulk_create(RoleGrant(user=u, role=Role.SUPPLIER) for u in users)
            alerts = Alert.objects.bulk_create(
                Alert(user=u, frequency=Alert.Frequency.IMMEDIATE, types=rng.choice(type_filters))
                for u in users
            )
            through.objects.bulk_create(
                through(alert_id=alert.pk, skill_id=skill.pk)
                for alert in alerts
                for skill in [target, *rng.sample(others, rng.randint(0, 2))]
            )
    return target


def submitted_opportunity(skill):
    """A buyer's opportunity on `skill`, through the app's services, waiting for review."""
    from django.utils import timezone

    from marketplace import calendar
    from marketplace.models import Role, RoleGrant, User
    from opportunities.drafting import criterion_save, opportunity_create
    from opportunities.models import OpportunityType
    from opportunities.publishing import opportunity_submit_for_review

    buyer, admin = User.objects.bulk_create(
        [
            User(email="buyer@bench.esdc-edsc.gc.ca", full_name="Bench Buyer"),
            User(email="admin@bench.esdc-edsc.gc.ca", full_name="Bench Admin"),
        ]
    )
    RoleGrant.objects.bulk_create(
        [RoleGrant(user=buyer, role=Role.BUYER), RoleGrant(user=admin, role=Role.PROGRAM_ADMIN)]
    )
    now = timezone.now()
    opportunity = opportunity_create(
        buyer=buyer,
        title_en="Make the appointment booking form accessible",
        title_fr="Rendre accessible le formulaire de prise de rendez-vous",
        summary_en="Fix keyboard traps and missing labels in an open-source booking form so "
        "that people who use a screen reader or a keyboard alone can book an appointment.",
        summary_fr="Corriger les pièges au clavier et les étiquettes manquantes d'un formulaire "
        "libre afin que les personnes qui utilisent un lecteur d'écran ou seulement le clavier "
        "puissent prendre rendez-vous.",
        description_en="The booking form fails WCAG 2.1 AA in four places.",
        description_fr="Le formulaire ne respecte pas les WCAG 2.1 AA à quatre endroits.",
        deliverables_en="A merged pull request.",
        deliverables_fr="Une demande de tirage fusionnée.",
        acceptance_criteria_en="An axe scan finds no violation.",
        acceptance_criteria_fr="Un balayage axe ne trouve aucune violation.",
        type=OpportunityType.ACCESSIBILITY,
        value_cents=450_000,
        question_deadline=calendar.add_business_days(now, 6),
        closes_at=calendar.add_business_days(now, 8),
        attest_standalone=True,
        attest_no_internal_capacity=True,
        attest_not_split=True,
        skills=[skill],
    )
    criterion_save(
        actor=buyer,
        opportunity=opportunity,
        kind="mandatory",
        text_en="Has fixed WCAG failures before.",
        text_fr="A déjà corrigé des échecs WCAG.",
    )
    criterion_save(
        actor=buyer,
        opportunity=opportunity,
        kind="rated",
        text_en="Describe a similar fix.",
        text_fr="Décrivez une correction semblable.",
        weight=1,
        max_score=10,
    )
    buyer = User.objects.get(pk=buyer.pk)
    opportunity = opportunity_submit_for_review(actor=buyer, opportunity=opportunity)
    return opportunity, User.objects.get(pk=admin.pk)


# --- The run -------------------------------------------------------------------------------------


def _queues(app) -> list[str]:
    """Every queue a task of the project can land in: the default and any routed one."""
    queues = {app.conf.task_default_queue}
    routes = app.conf.task_routes or {}
    if isinstance(routes, dict):
        queues |= {r["queue"] for r in routes.values() if isinstance(r, dict) and "queue" in r}
    return sorted(queues)


def _expected_tasks(subscribers: int, chunk_size: int, batch_size: int) -> dict[str, int]:
    chunks = [min(chunk_size, subscribers - i) for i in range(0, subscribers, chunk_size)]
    return {
        "opportunities.tasks.opportunity_alerts_fanout": 1,
        "opportunities.tasks.opportunity_alerts_chunk": len(chunks),
        # One batch per 100 of each chunk, plus the buyer's own "published" notification.
        "marketplace.tasks.notifications_deliver": sum(math.ceil(c / batch_size) for c in chunks)
        + 1,
    }


def _diff(after: dict, before: dict) -> dict[str, dict[str, float]]:
    names = set(after) | set(before)
    return {
        name: {
            field: after.get(name, {}).get(field, 0) - before.get(name, {}).get(field, 0)
            for field in ("runs", "seconds", "queries", "emails")
        }
        for name in sorted(names)
        if after.get(name, {}).get("runs", 0) - before.get(name, {}).get("runs", 0)
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    database = base.database_url(args.database_url)
    redis_url = base.redis_url(args.redis_url)
    profile_dir = Path(tempfile.mkdtemp(prefix="bench-profile-")) if args.profile else None
    extra = {"BENCH_PROFILE_DIR": str(profile_dir)} if profile_dir else {}
    env = base.service_env(database=database, redis=redis_url, **extra)

    with base.throwaway_database(database, keep=args.keep_database):
        started = time.monotonic()
        base.django_setup(env)
        import redis
        from django.conf import settings
        from django.db.models import Count, Max, Min, Q
        from django.utils import timezone

        from bench.worker import stats_read, stats_reset
        from marketplace.celery import app
        from marketplace.models import Notification
        from opportunities.models import Opportunity
        from opportunities.publishing import opportunity_publish

        client = redis.Redis.from_url(redis_url)
        queues = _queues(app)
        # Whatever an earlier, interrupted run left: queued messages, and those a killed worker
        # held (kombu's unacked set, which a new worker would restore).
        app.control.purge()
        client.delete("unacked", "unacked_index", "unacked_mutex")
        stats_reset(client)
        migrate_seconds = time.monotonic() - started

        started = time.monotonic()
        skill = generate(subscribers=args.subscribers, seed=args.seed)
        opportunity, admin = submitted_opportunity(skill)
        generate_seconds = time.monotonic() - started
        print(
            f"Data: {args.subscribers} suppliers with a matching alert in {generate_seconds:.1f} s",
            file=sys.stderr,
        )

        sent = Notification.Status.SENT
        alerts = Notification.objects.filter(
            kind="opportunity.alert", dedupe_key__startswith=f"opportunity.alert:{opportunity.pk}:"
        )
        log_path = base.RESULTS / "fanout-worker.log"
        base.RESULTS.mkdir(parents=True, exist_ok=True)
        with base.Worker(
            env=env, queues=queues, concurrency=args.workers_concurrency, log_path=log_path
        ) as worker:
            worker.wait_ready(app)
            # Warm-up: the admin's "submitted for review" email goes through the same worker
            # (imports, templates, connections), as on a worker that has been up a while.
            if not base.wait_until(
                lambda: Notification.objects.filter(recipient=admin, status=sent).exists(),
                timeout=60,
            ):
                raise RuntimeError(f"The worker delivered nothing; see {log_path}")
            before = stats_read(client)
            cpu_before, busy_before = worker.cpu_seconds(), base.machine_busy_seconds()

            # --- measured from here ---
            start_at, start = timezone.now(), time.monotonic()
            with base.QueryCounter() as publish_queries:
                opportunity_publish(actor=admin, opportunity=opportunity)
            publish_seconds = time.monotonic() - start
            last_report, done = start, 0
            deadline = start + args.timeout
            while time.monotonic() < deadline:
                done = alerts.filter(status=sent).count()
                if done >= args.subscribers:
                    break
                if not worker.alive():
                    raise RuntimeError(f"The worker died; see {log_path}")
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    rate = done / (last_report - start)
                    print(f"  {done} / {args.subscribers} sent ({rate:.0f}/s)", file=sys.stderr)
                time.sleep(1.0)  # a ~20 ms count at 50,000 rows: keep it rare
            observed_seconds = time.monotonic() - start
            complete = done >= args.subscribers
            sent_within_timeout = done
            cpu_after, busy_after = worker.cpu_seconds(), base.machine_busy_seconds()
            # --- measured until here ---

            # The last task's bookkeeping lands just after its commit: let the counters settle.
            snapshot: dict = {}

            def settled() -> bool:
                nonlocal snapshot
                current = stats_read(client)
                quiet = current == snapshot and not any(client.llen(q) for q in queues)
                snapshot = current
                return quiet

            base.wait_until(settled, timeout=30, interval=1.0)
        tasks = _diff(snapshot, before)

        facts = base.machine_facts()
        facts["load_average_at_start"] = load_at_start
        opportunity = Opportunity.objects.get(pk=opportunity.pk)
        rows = alerts.aggregate(
            total=Count("pk"),
            sent=Count("pk", filter=Q(status=sent)),
            last_created=Max("created_at"),
            first_sent=Min("sent_at"),
            last_sent=Max("sent_at"),
        )
        by_status = dict(alerts.values_list("status").annotate(n=Count("pk")).order_by())

    def since_start(moment: dt.datetime | None) -> float | None:
        return None if moment is None else round((moment - start_at).total_seconds(), 3)

    wall = since_start(rows["last_sent"]) if complete else None
    delivery = None
    if rows["first_sent"] and rows["last_sent"] and rows["last_sent"] > rows["first_sent"]:
        delivery = (rows["last_sent"] - rows["first_sent"]).total_seconds()
    rate = round(args.subscribers / wall, 1) if wall else None
    per_process = round(rate / args.workers_concurrency, 1) if rate else None
    deliver = tasks.get("marketplace.tasks.notifications_deliver", {})
    worker_cpu = None if cpu_before is None else round(cpu_after - cpu_before, 2)
    machine_busy = None if busy_before is None else round(busy_after - busy_before, 2)
    payload: dict[str, Any] = {
        "benchmark": "fanout",
        "when": start_at.isoformat(),
        "subscribers": args.subscribers,
        "workers": 1,
        "worker_concurrency": args.workers_concurrency,
        "seed": args.seed,
        "profiled": bool(args.profile),
        "complete": complete,
        "notifications": {
            "total": rows["total"],
            "sent": rows["sent"],
            "sent_within_timeout": sent_within_timeout,
            "by_status": by_status,
        },
        "seconds": {
            "wall": wall,
            "observed_by_polling": round(observed_seconds, 3),
            "publish_call": round(publish_seconds, 3),
            "fanout_done": since_start(opportunity.alerts_sent_at),
            "last_row_written": since_start(rows["last_created"]),
            "first_sent": since_start(rows["first_sent"]),
            "delivery_first_to_last": None if delivery is None else round(delivery, 3),
            "data_generation": round(generate_seconds, 1),
            "migrate": round(migrate_seconds, 1),
        },
        "notifications_per_second": rate,
        "notifications_per_second_per_process": per_process,
        "delivery_rate_per_second": round(rows["sent"] / delivery, 1) if delivery else None,
        "target_per_second": TARGET_PER_SECOND,
        "passed": bool(per_process and per_process >= TARGET_PER_SECOND),
        "tasks": {name: {k: round(v, 3) for k, v in t.items()} for name, t in tasks.items()},
        "tasks_expected": _expected_tasks(
            args.subscribers, settings.ALERTS_CHUNK_SIZE, settings.NOTIFICATIONS_BATCH_SIZE
        ),
        "sql_queries": {
            "publish": publish_queries.count,
            "worker": int(sum(t["queries"] for t in tasks.values())),
            "per_notification_delivered": round(deliver.get("queries", 0) / args.subscribers, 2),
        },
        "emails_sent": int(sum(t["emails"] for t in tasks.values())),
        "cpu_seconds": {"worker": worker_cpu, "machine": machine_busy},
        "cpu_ms_per_notification": None
        if worker_cpu is None
        else round(1000 * worker_cpu / args.subscribers, 2),
        # Above the worker's own share, other work (PostgreSQL, other processes) used the CPUs.
        "machine_busy_percent": None
        if machine_busy is None
        else round(100 * machine_busy / ((os.cpu_count() or 1) * observed_seconds)),
        "settings": {
            "ALERTS_CHUNK_SIZE": settings.ALERTS_CHUNK_SIZE,
            "NOTIFICATIONS_BATCH_SIZE": settings.NOTIFICATIONS_BATCH_SIZE,
            "queues": queues,
        },
        "machine": facts,
    }
    if profile_dir:
        payload["profile"] = profile_report(profile_dir)
    return payload


# --- Reporting -----------------------------------------------------------------------------------

# Where a notification's time can go, as (label, file ending, function) in the profile.
PROFILE_SPOTS = [
    ("notifications_deliver (all of it)", "marketplace/services.py", "notifications_deliver"),
    ("email_message: build the email", "marketplace/notifications.py", "email_message"),
    ("render_to_string (txt + html)", "django/template/loader.py", "render_to_string"),
    ("unsubscribe_token (signing)", "marketplace/notifications.py", "unsubscribe_token"),
    ("reverse (URLs)", "django/urls/base.py", "reverse"),
    ("message.send (MIME + locmem)", "django/core/mail/message.py", "send"),
    ("SQL: cursor execute", "django/db/backends/utils.py", "execute"),
    ("SQL: commit", "django/db/backends/base/base.py", "commit"),
    ("QuerySet.update (claim and mark sent)", "django/db/models/query.py", "update"),
    ("atomic enter/exit", "django/db/transaction.py", "__exit__"),
    ("opportunity_alerts_chunk (all of it)", "opportunities/tasks.py", "opportunity_alerts_chunk"),
]


def profile_report(directory: Path) -> dict[str, Any]:
    files = sorted(directory.glob("*.pstats"))
    if not files:
        return {"error": "no profile written"}
    stats = pstats.Stats(*map(str, files))
    total = stats.total_tt
    spots = []
    for label, suffix, function in PROFILE_SPOTS:
        cumulative = sum(
            value[3]
            for (filename, _line, name), value in stats.stats.items()
            if name == function and filename.endswith(suffix)
        )
        spots.append({"where": label, "seconds": round(cumulative, 2)})
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:15]
    return {
        "profiled_seconds": round(total, 2),
        "cumulative": spots,
        "top_own_time": [
            {
                "function": f"{Path(filename).name}:{line}:{name}",
                "calls": value[1],
                "own_seconds": round(value[2], 2),
            }
            for (filename, line, name), value in top
        ],
        "files": [str(f) for f in files],
    }


def report(payload: dict[str, Any]) -> str:
    seconds = payload["seconds"]
    n = payload["subscribers"]
    verdict = "PASS" if payload["passed"] else "FAIL"
    lines = [
        f"## Alert fan-out: {n} subscribers, 1 worker, concurrency "
        f"{payload['worker_concurrency']}" + (" (profiled)" if payload["profiled"] else ""),
        "",
        base.markdown_table(
            ["subscribers", "wall s", "notifications/s", "per process", "target", "result"],
            [
                [
                    n,
                    seconds["wall"] if seconds["wall"] is not None else "incomplete",
                    payload["notifications_per_second"] or "—",
                    payload["notifications_per_second_per_process"] or "—",
                    f"≥ {payload['target_per_second']:.0f}/s",
                    verdict,
                ]
            ],
        ),
        "",
    ]
    rows = [
        ["publish call (request side)", f"{seconds['publish_call']} s"],
        ["fan-out task done", f"{seconds['fanout_done']} s"],
        ["last notification row written", f"{seconds['last_row_written']} s"],
        ["first email sent", f"{seconds['first_sent']} s"],
        ["last email sent (wall)", f"{seconds['wall']} s"],
        [
            "delivery rate, first to last email",
            f"{payload['delivery_rate_per_second']}/s",
        ],
        ["emails sent (locmem, incl. the buyer's)", payload["emails_sent"]],
        ["notifications by status", payload["notifications"]["by_status"]],
        [
            "SQL queries: publish / worker / per notification delivered",
            f"{payload['sql_queries']['publish']} / {payload['sql_queries']['worker']} / "
            f"{payload['sql_queries']['per_notification_delivered']}",
        ],
        [
            "CPU s: worker / whole machine",
            f"{payload['cpu_seconds']['worker']} / {payload['cpu_seconds']['machine']}",
        ],
        ["worker CPU per notification", f"{payload['cpu_ms_per_notification']} ms"],
        ["machine busy during the run (all cores)", f"{payload['machine_busy_percent']} %"],
    ]
    lines += [base.markdown_table(["phase (from the publication)", "value"], rows), ""]
    expected = payload["tasks_expected"]
    task_rows = [
        [
            name.rsplit(".", 1)[1],
            int(t["runs"]),
            expected.get(name, "—"),
            round(t["seconds"], 2),
            round(1000 * t["seconds"] / t["runs"], 1),
            int(t["queries"]),
            int(t["emails"]),
        ]
        for name, t in payload["tasks"].items()
    ]
    lines += [
        base.markdown_table(
            ["task", "runs", "expected", "busy s", "ms per run", "SQL queries", "emails"],
            task_rows,
        ),
        "",
    ]
    if "profile" in payload and "cumulative" in payload["profile"]:
        profile = payload["profile"]
        lines += [
            f"Profile (cProfile, {profile['profiled_seconds']} s inside tasks; cumulative):",
            "",
            base.markdown_table(
                ["where", "seconds", "per notification ms"],
                [
                    [s["where"], s["seconds"], round(1000 * s["seconds"] / n, 3)]
                    for s in profile["cumulative"]
                ],
            ),
            "",
            base.markdown_table(
                ["top own time", "calls", "seconds"],
                [[t["function"], t["calls"], t["own_seconds"]] for t in profile["top_own_time"]],
            ),
            "",
        ]
    machine = payload["machine"]
    load = machine["load_average_at_start"]
    lines.append(
        f"Machine: {machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
        f"Django {machine['django']}, Celery {machine['celery']}, PostgreSQL "
        f"{machine['postgresql']} (synchronous_commit={machine['postgresql_synchronous_commit']}); "
        f"load average at start {load[0]} / {load[1]} / {load[2]}"
        + (" — measured under load" if base.under_load(load, machine["cores"]) else "")
        + "."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        payload = run(args)
    except RuntimeError as exc:
        print(f"Benchmark broken: {exc}", file=sys.stderr)
        return 1
    print(report(payload))
    # A broken run keeps its dated file for a look, but never replaces the latest figures.
    written = base.results_write("fanout", payload, latest=payload["complete"])
    print("\nResults: " + " and ".join(str(path.relative_to(base.ROOT)) for path in written))
    if not payload["complete"]:
        print(
            f"Benchmark broken: only {payload['notifications']['sent_within_timeout']} of "
            f"{payload['subscribers']} notifications sent within {args.timeout:.0f} s",
            file=sys.stderr,
        )
        return 1
    print(
        f"{'PASS' if payload['passed'] else 'FAIL'}: "
        f"{payload['notifications_per_second_per_process']} notifications/s per worker process "
        f"against a target of {TARGET_PER_SECOND:.0f}/s (a benchmark: the exit status stays 0)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
