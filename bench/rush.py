"""The closing-minute rush (issues 10 and 19): suppliers submit and edit their bids in the last
minute before a deadline, one of them uploading hostile PDFs all the while, against gunicorn,
PostgreSQL, Redis and a real Celery worker that closes the opportunity. Afterwards: every
submission acknowledged is stored exactly as acknowledged, every one sent before the deadline
was accepted, none sent after it is stored, no request failed with a 5xx.

    python -m bench.rush [--suppliers N] [--seconds S] [--quick]

Each supplier (a thread with its own session) loops until a few seconds past the deadline:
change the answers (a marker unique to this attempt), submit, and on the receipt page read the
receipt number and its SHA-256 digest — the acknowledgement. Each request carries
`X-Request-Start` stamped as it is sent, as the proxy in front of the site stamps what it
receives (`REQUEST_ARRIVAL_HEADER`): the deadline is judged by arrival (DESIGN.md §3), so the time
a request queues for one of the two web workers counts as arrived. One supplier is hostile: it
uploads a 47,000-page PDF again and again. The worker closes the opportunity after the deadline
and its grace (the task `publish` schedules, as in production). Then every acknowledgement is
checked against the database: the receipt exists, its digest is the one shown, the digest is
that of the stored content, the stored content holds the attempt's marker, and it arrived before
the deadline; no receipt arrived at or after it; the bids are sealed.

A benchmark script, not a timed test: it prints the table and writes bench/results/rush-*.json;
the exit status is 1 only when data was lost or a request failed (that is what it checks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: `python bench/rush.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import base, packets, pages

DIGEST = re.compile(r'<code class="digest">([0-9a-f]{64})</code>')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RECEIPT = re.compile(r"/bids/(\d+)/receipts/(\d+)/$")
GRACE_SECONDS = 20  # the close's grace for the run (BID_CLOSE_GRACE_SECONDS), above any request
HOSTILE_PAGES = 47_000


def hostile_pdf(pages: int = HOSTILE_PAGES) -> bytes:
    """Empty pages in object streams: about 4 MB to send, costly to read."""
    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    return out.getvalue()


def stamp(moment: float) -> dict[str, str]:
    """What the proxy adds to a request it received at `moment` (nginx: `t=${msec}`)."""
    return {"X-Request-Start": f"t={moment:.6f}"}


def _world(suppliers: int, seconds: float):
    """A published opportunity closing in `seconds`, and `suppliers` drafts on it."""
    from django.db import transaction
    from django.utils import timezone

    from bids import services as bid_services
    from opportunities.models import Criterion, Opportunity
    from opportunities.progress import opportunity_close_schedule

    buyer, people = packets._people(suppliers)
    now = timezone.now()
    with transaction.atomic():
        opportunity = Opportunity.objects.create(
            buyer=buyer,
            status=Opportunity.Status.PUBLISHED,
            title_en="Fix the date picker before the deadline",
            summary_en="The closing-minute rush.",
            value_cents=500_000,
            question_deadline=now,
            closes_at=now + dt.timedelta(seconds=seconds),
            attest_standalone=True,
            attest_no_internal_capacity=True,
            attest_not_split=True,
            submitted_at=now,
            published_at=now,
            alerts_sent_at=now,
        )
        Criterion.objects.create(
            opportunity=opportunity, kind="mandatory", text_en="Has fixed one.", text_fr="A."
        )
        Criterion.objects.create(
            opportunity=opportunity,
            kind="rated",
            text_en="Describe it.",
            text_fr="Décrivez.",
            weight=1,
            max_score=10,
        )
        # What `opportunity_publish` does once the posting is open: a worker closes it on time.
        opportunity_close_schedule(opportunity)
    bids = {
        person.pk: bid_services.bid_start(supplier=person, opportunity=opportunity).pk
        for person in people
    }
    return opportunity, people, bids


def submission(*, token: str, criteria: list[int], marker: str) -> dict[str, str]:
    """The bid form, filled and submitted: answers holding `marker`, unique to the attempt."""
    return {
        "csrfmiddlewaretoken": token,
        **{f"answer_{pk}": f"We fixed it ({marker})." for pk in criteria},
        "proposed_start_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        "attest_can_work_in_canada": "on",
        "attest_can_be_paid_by_card": "on",
        "attest_no_conflict": "on",
        "accept_terms": "on",
        "action_submit": "Submit",
    }


class Supplier(threading.Thread):
    """One supplier's session, submitting new answers until past the deadline."""

    def __init__(
        self,
        *,
        server: str,
        cookie: str,
        bid_id: int,
        criteria: list[int],
        deadline: float,
        until: float,
        pause: float,
    ) -> None:
        super().__init__(daemon=True)
        import requests

        self.session = requests.Session()
        self.session.cookies.set("sessionid", cookie)
        self.server, self.bid_id, self.criteria = server, bid_id, criteria
        self.deadline, self.until, self.pause = deadline, until, pause
        self.acknowledged: list[dict[str, Any]] = []
        self.refused_late = 0  # sent after the deadline
        self.refused_on_time: list[str] = []  # sent before it, refused: should not happen
        self.recorded_late = 0  # sent before it, acknowledged after it (arrival counts)
        self.requests = 0
        self.errors: list[str] = []

    def run(self) -> None:
        edit = f"{self.server}/en/bids/{self.bid_id}/edit/"
        attempt = 0
        token: str | None = None
        while time.time() < self.until:
            attempt += 1
            marker = f"rush-{self.bid_id}-{attempt}"
            try:
                page = self.session.get(edit, timeout=60, allow_redirects=False)
                self.requests += 1
                if page.status_code >= 500:
                    self.errors.append(f"GET {page.status_code}")
                found_token = CSRF.search(page.text) if page.status_code == 200 else None
                if found_token is not None:
                    token = found_token.group(1)
                elif token is None:
                    time.sleep(self.pause)
                    continue
                # Closed, the edit page sends the supplier away; a late client posts anyway
                # with the form it still has: that must be refused and stored nowhere.
                data = submission(token=token, criteria=self.criteria, marker=marker)
                sent_at = time.time()
                answer = self.session.post(
                    edit,
                    data=data,
                    timeout=60,
                    allow_redirects=False,
                    headers={"Referer": edit, **stamp(sent_at)},
                )
                self.requests += 1
                if answer.status_code >= 500:
                    self.errors.append(f"POST {answer.status_code}")
                    continue
                found = RECEIPT.search(answer.headers.get("Location", ""))
                if answer.status_code == 302 and found:
                    receipt = self.session.get(self.server + answer.headers["Location"], timeout=60)
                    self.requests += 1
                    digest = DIGEST.search(receipt.text)
                    if receipt.status_code >= 500 or digest is None:
                        self.errors.append(f"receipt {receipt.status_code}")
                        continue
                    self.acknowledged.append(
                        {
                            "number": int(found.group(2)),
                            "digest": digest.group(1),
                            "marker": marker,
                            "sent_at": sent_at,
                        }
                    )
                    self.recorded_late += sent_at < self.deadline <= time.time()
                elif sent_at >= self.deadline:
                    self.refused_late += 1
                else:
                    self.refused_on_time.append(f"{answer.status_code} {answer.text[:120]!r}")
            except Exception as error:  # a connection refused or reset: counted, not hidden
                self.errors.append(repr(error)[:200])
            time.sleep(self.pause)


class HostileUploader(Supplier):
    """A supplier who wants the others to miss the deadline: a 47,000-page PDF, again and again
    through the rush. Every upload must be refused (too complex, or the flood control), and the
    others must not notice."""

    def __init__(self, *, data: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = data
        self.uploads = 0
        self.accepted = 0
        self.answers: dict[int, int] = {}

    def run(self) -> None:
        edit = f"{self.server}/en/bids/{self.bid_id}/edit/"
        upload = f"{self.server}/en/bids/{self.bid_id}/attachments/"
        while time.time() < self.until:
            try:
                page = self.session.get(edit, timeout=60, allow_redirects=False)
                self.requests += 1
                token = CSRF.search(page.text) if page.status_code == 200 else None
                if token is None:
                    time.sleep(self.pause)
                    continue
                sent_at = time.time()
                answer = self.session.post(
                    upload,
                    data={"csrfmiddlewaretoken": token.group(1)},
                    files={"file": ("proposal.pdf", self.data, "application/pdf")},
                    timeout=60,
                    allow_redirects=False,
                    headers={"Referer": edit, **stamp(sent_at)},
                )
                self.requests += 1
                self.uploads += 1
                self.answers[answer.status_code] = self.answers.get(answer.status_code, 0) + 1
                if answer.status_code >= 500:
                    self.errors.append(f"upload {answer.status_code}")
            except Exception as error:
                self.errors.append(repr(error)[:200])
            time.sleep(self.pause / 4)


def _check(opportunity, bids, threads) -> dict[str, Any]:
    """Every acknowledgement against the database."""
    from bids.models import Attachment, Bid, Receipt
    from bids.services import content_digest

    closes_at = opportunity.closes_at
    lost, mismatched, late_acknowledged = [], [], []
    acknowledged = 0
    for thread in threads:
        for ack in thread.acknowledged:
            acknowledged += 1
            receipt = Receipt.objects.filter(bid_id=thread.bid_id, number=ack["number"]).first()
            if receipt is None:
                lost.append((thread.bid_id, ack["number"]))
                continue
            if (
                receipt.digest != ack["digest"]
                or content_digest(receipt.content) != receipt.digest
                or ack["marker"] not in str(receipt.content)
            ):
                mismatched.append((thread.bid_id, ack["number"]))
            if receipt.received_at >= closes_at:
                late_acknowledged.append((thread.bid_id, ack["number"]))
    receipts = Receipt.objects.filter(bid__opportunity=opportunity)
    stored_late = receipts.filter(received_at__gte=closes_at).count()
    opportunity.refresh_from_db()
    hostile = [t for t in threads if isinstance(t, HostileUploader)]
    statuses = sorted(
        set(Bid.objects.filter(pk__in=bids.values()).values_list("status", flat=True))
    )
    return {
        "acknowledged": acknowledged,
        "receipts_stored": Receipt.objects.filter(bid__opportunity=opportunity).count(),
        "lost": lost,
        "mismatched": mismatched,
        "acknowledged_after_deadline": late_acknowledged,
        "stored_after_deadline": stored_late,
        "recorded_after_deadline_arrived_before": receipts.filter(
            received_at__lt=closes_at, submitted_at__gte=closes_at
        ).count(),
        "hostile_attachments_stored": Attachment.objects.filter(
            bid_id__in=[t.bid_id for t in hostile]
        ).count(),
        "closed_after_seals_at_seconds": (
            round((opportunity.closed_at - opportunity.seals_at).total_seconds(), 1)
            if opportunity.closed_at
            else None
        ),
        "opportunity_status": opportunity.status,
        "bid_statuses": statuses,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = pages.derived_database_url("rush")
    env = pages.bench_env(database=url, redis=base.redis_url(args.redis_url))
    env["BENCH_BID_SUBMISSION_LIMIT"] = "100000"  # bench/settings.py: the flood control lifted
    env["BID_CLOSE_GRACE_SECONDS"] = str(GRACE_SECONDS)
    env["REQUEST_ARRIVAL_HEADER"] = "HTTP_X_REQUEST_START"  # the clients play the proxy's part
    with base.throwaway_database(url, keep=args.keep_database):
        base.django_setup(env)
        from django.core.management import call_command

        from marketplace.celery import app

        call_command("collectstatic", interactive=False, verbosity=0, clear=True)
        pages.celery_purge()
        setup_seconds = args.seconds + 60  # publication to deadline, with the setup inside
        opportunity, people, bids = _world(args.suppliers, setup_seconds)
        hostile = hostile_pdf()
        criteria = list(opportunity.criteria.values_list("pk", flat=True))
        cookies = {p.pk: pages.session_cookie(p) for p in people}
        log_dir = base.RESULTS
        log_dir.mkdir(parents=True, exist_ok=True)
        with (
            base.Worker(
                env=env, queues=[app.conf.task_default_queue], log_path=log_dir / "rush-worker.log"
            ) as worker,
            pages.Gunicorn(env=env, workers=2, log_path=log_dir / "rush-gunicorn.log") as server,
        ):
            worker.wait_ready(app)
            deadline = opportunity.closes_at.timestamp()
            start = deadline - args.seconds
            wait = start - time.time()
            if wait < 0:
                raise RuntimeError(f"setup took too long: {-wait:.0f} s past the rush's start")
            time.sleep(wait)
            threads = [
                (HostileUploader if index == 0 else Supplier)(
                    server=server.url,
                    cookie=cookies[p.pk],
                    bid_id=bids[p.pk],
                    criteria=criteria,
                    deadline=deadline,
                    until=deadline + args.after,
                    pause=args.pause,
                    **({"data": hostile} if index == 0 else {}),
                )
                for index, p in enumerate(people)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + args.after + 120)
            closed = base.wait_until(
                lambda: opportunity.__class__.objects.filter(
                    pk=opportunity.pk, closed_at__isnull=False
                ).exists(),
                timeout=GRACE_SECONDS + 60,
            )
        result = _check(opportunity, bids, threads)
        facts = base.machine_facts()
    errors = [e for t in threads for e in t.errors]
    uploader = next(t for t in threads if isinstance(t, HostileUploader))
    return {
        "benchmark": "rush",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "suppliers": args.suppliers,
        "seconds": args.seconds,
        "requests": sum(t.requests for t in threads),
        "refused_after_deadline": sum(t.refused_late for t in threads),
        "refused_on_time": sum(len(t.refused_on_time) for t in threads),
        "refused_on_time_samples": [e for t in threads for e in t.refused_on_time][:10],
        "acknowledged_after_deadline_sent_before": sum(t.recorded_late for t in threads),
        "hostile_uploads": uploader.uploads,
        "hostile_upload_answers": {str(k): v for k, v in sorted(uploader.answers.items())},
        "errors": len(errors),
        "error_samples": errors[:10],
        "closed_by_the_worker": closed,
        **result,
        "machine": facts,
    }


def report(r: dict[str, Any]) -> str:
    lost = len(r["lost"]) + len(r["mismatched"]) + len(r["acknowledged_after_deadline"])
    rows = [
        ["load held", f"{r['suppliers']} suppliers, last {r['seconds']:g} s before the deadline"],
        [
            "hostile uploader (one of them)",
            f"{r['hostile_uploads']} uploads of a {HOSTILE_PAGES:,}-page PDF, answers "
            + ", ".join(f"{k}: {v}" for k, v in r["hostile_upload_answers"].items())
            + f"; stored: {r['hostile_attachments_stored']}",
        ],
        ["requests", r["requests"]],
        ["submissions acknowledged", r["acknowledged"]],
        ["receipts stored", r["receipts_stored"]],
        [
            "sent before the deadline, answered after it: acknowledged",
            r["acknowledged_after_deadline_sent_before"],
        ],
        ["**on-time submissions refused**", f"**{r['refused_on_time']}**"],
        ["refused after the deadline", r["refused_after_deadline"]],
        ["errors (5xx or connection)", r["errors"]],
        ["stored after the deadline", r["stored_after_deadline"]],
        [
            f"closed by the worker after the deadline and its {GRACE_SECONDS} s grace",
            ("yes" if r["closed_by_the_worker"] else "no")
            + f", {r['closed_after_seals_at_seconds']} s after",
        ],
        ["bids afterwards", ", ".join(r["bid_statuses"])],
        ["**data lost** (missing, altered, or acknowledged late)", f"**{lost}**"],
    ]
    return "\n".join(["## The closing-minute rush", "", base.markdown_table(["", "value"], rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rush", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the rush")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of trying after it")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between attempts")
    parser.add_argument("--quick", action="store_true", help="30 suppliers, 15 s")
    parser.add_argument("--redis-url")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.suppliers, args.seconds = 30, 15.0
    result = run(args)
    print(report(result))
    paths = base.results_write("rush", result)
    print(f"\nResults: {', '.join(str(p) for p in paths)}")
    failed = (
        result["lost"]
        or result["mismatched"]
        or result["acknowledged_after_deadline"]
        or result["stored_after_deadline"]
        or result["refused_on_time"]
        or result["hostile_attachments_stored"]
        or result["errors"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
