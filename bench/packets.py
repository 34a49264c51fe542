"""Packet build: how long `evaluation.services.evaluation_build_packets` takes for one
opportunity with 200 sealed bids (issue 9's target: under 10 s).

    python -m bench.packets [--bids 200] [--rounds 3]

Each round makes a fresh opportunity that has just closed the way the app closes one
(`lifecycle.closing.opportunity_close`: the submitted bids sealed, the evaluation opened with
its commitment):
four criteria, one answer of 150 to 400 words per criterion and bid (three in ten giving the
supplier away, so redaction has work), a PDF attachment on one bid in four, and a receipt per
bid made by the app's own `bid_content`. The clock runs around `evaluation_build_packets`
alone, as the worker runs it. Run alone it uses a database of its own; `bench/pages.py` runs it
inside the page benchmark's data set.

A benchmark, not a test: the exit status is 0 whatever the figure, 1 only when the run broke.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/packets.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import base, text

TARGET_SECONDS = 10.0
BIDS = 200
ATTACHMENT_SHARE = 0.25
IDENTITY_SHARE = 0.3


def pdf_bytes(pages: int = 4) -> bytes:
    """A small PDF (blank pages, no metadata), as the bid attachment checks leave one."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sealed_opportunity(*, buyer, suppliers, rng: random.Random, title: str = ""):
    """An opportunity that has just closed with one sealed bid from each supplier (each with a
    complete profile), its evaluation open and waiting for its packets."""
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.db import transaction
    from django.utils import timezone

    from bids.models import Answer, Attachment, Bid, Receipt
    from bids.services import bid_content, content_digest
    from lifecycle.closing import opportunity_close
    from marketplace.models import SupplierProfile
    from opportunities.models import Criterion, Opportunity, OpportunityType, Skill

    now = timezone.now()
    writer = text.Writer(rng)
    texts = writer.opportunity("accessibility")
    if title:
        texts["title_en"] = title
    published = now - 12 * base_day()
    with transaction.atomic():
        opportunity = Opportunity.objects.create(
            buyer=buyer,
            status=Opportunity.Status.PUBLISHED,
            type=OpportunityType.ACCESSIBILITY,
            value_cents=850_000,
            question_deadline=now - 2 * base_day(),
            closes_at=now - dt.timedelta(minutes=1),
            attest_standalone=True,
            attest_no_internal_capacity=True,
            attest_not_split=True,
            created_at=published - 5 * base_day(),
            submitted_at=published - base_day(),
            published_at=published,
            alerts_sent_at=published,
            **texts,
        )
        skill = Skill.objects.filter(slug="accessibility").first()
        if skill is not None:
            opportunity.skills.add(skill)
        criteria = [
            Criterion.objects.create(
                opportunity=opportunity,
                kind=kind,
                text_en=en,
                text_fr=fr,
                position=position,
                weight=2 if kind == Criterion.Kind.RATED else None,
                max_score=10 if kind == Criterion.Kind.RATED else None,
                word_limit=500,
            )
            for position, (kind, en, fr) in enumerate(text.CRITERIA[:4])
        ]
        profiles = {p.user_id: p for p in SupplierProfile.objects.filter(user__in=suppliers)}
        bids = Bid.objects.bulk_create(
            Bid(
                opportunity=opportunity,
                supplier=supplier,
                status=Bid.Status.SUBMITTED,
                proposed_start_date=(now + 14 * base_day()).date(),
                attest_can_work_in_canada=True,
                attest_can_be_paid_by_card=True,
                attest_no_conflict=True,
                terms_version=settings.BID_TERMS_VERSION,
                created_at=published + rng.random() * 10 * base_day(),
                draft_saved_at=published + 10 * base_day(),
                submitted_at=published + (10 + rng.random()) * base_day(),
            )
            for supplier in suppliers
        )
        answers = []
        for bid in bids:
            profile = profiles.get(bid.supplier_id)
            user = bid.supplier
            identity = {
                "website": (profile.website if profile and profile.website else "our web site"),
                "name": user.full_name or "our lead",
                "email": user.email,
                "firm": (profile.trading_name or profile.legal_name) if profile else "our firm",
                "github": (profile.github_handle if profile and profile.github_handle else "us"),
            }
            for criterion in criteria:
                gives_away = rng.random() < IDENTITY_SHARE
                answers.append(
                    Answer(
                        bid=bid,
                        criterion=criterion,
                        text=writer.bid_answer(
                            words=rng.randint(150, 400), identity=identity if gives_away else None
                        ),
                    )
                )
        Answer.objects.bulk_create(answers)
        content = pdf_bytes()
        attachments = []
        for bid in bids:
            if rng.random() < ATTACHMENT_SHARE:
                attachment = Attachment(
                    bid=bid,
                    name="portfolio.pdf",
                    size=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                )
                attachment.file.save("portfolio.pdf", ContentFile(content), save=False)
                attachments.append(attachment)
        Attachment.objects.bulk_create(attachments)
        receipts = []
        for bid in Bid.objects.filter(opportunity=opportunity).select_related("opportunity"):
            bid_data = bid_content(bid)
            receipts.append(
                Receipt(
                    bid=bid,
                    number=1,
                    received_at=bid.submitted_at,
                    submitted_at=bid.submitted_at,
                    digest=content_digest(bid_data),
                    content=bid_data,
                )
            )
        Receipt.objects.bulk_create(receipts)
        opportunity_close(opportunity=opportunity, now=now)
    return Opportunity.objects.get(pk=opportunity.pk)


def base_day() -> dt.timedelta:
    return dt.timedelta(days=1)


def build_timed(opportunity) -> dict[str, Any]:
    """Time `evaluation_build_packets` on a closed opportunity; count its SQL statements."""
    from evaluation.models import PacketAttachment
    from evaluation.packets import evaluation_build_packets

    with base.QueryCounter() as queries:
        started = time.monotonic()
        built = evaluation_build_packets(opportunity=opportunity)
        seconds = time.monotonic() - started
    return {
        "packets": built,
        "attachments": PacketAttachment.objects.filter(
            packet__evaluation__opportunity=opportunity
        ).count(),
        "seconds": round(seconds, 3),
        "ms_per_packet": round(1000 * seconds / built, 2) if built else None,
        "sql_queries": queries.count,
    }


def measure(*, buyer, suppliers, rounds: int, seed: int, log=print) -> dict[str, Any]:
    """`rounds` fresh opportunities with len(suppliers) sealed bids each, each build timed."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    results = []
    for n in range(rounds):
        started = time.monotonic()
        opportunity = sealed_opportunity(
            buyer=buyer, suppliers=suppliers, rng=rng, title=f"Packet build benchmark {n + 1}"
        )
        prepared = time.monotonic() - started
        result = build_timed(opportunity)
        result["prepare_seconds"] = round(prepared, 2)
        result["opportunity_id"] = opportunity.pk
        log(
            f"  packet build {n + 1}/{rounds}: {result['packets']} packets "
            f"({result['attachments']} attachments) in {result['seconds']:.2f} s, "
            f"{result['sql_queries']} SQL statements"
        )
        results.append(result)
    seconds = [r["seconds"] for r in results]
    median = statistics.median(seconds)
    return {
        "bids": len(suppliers),
        "rounds": results,
        "seconds_median": round(median, 3),
        "seconds_max": round(max(seconds), 3),
        "target_seconds": TARGET_SECONDS,
        "passed": max(seconds) < TARGET_SECONDS,
    }


def report(result: dict[str, Any]) -> str:
    first = result["rounds"][0]
    return base.markdown_table(
        [
            "benchmark",
            "bids",
            "packets",
            "attachments",
            "SQL statements",
            "seconds (median)",
            "seconds (max)",
            "ms per packet",
            "target",
            "result",
        ],
        [
            [
                "packet build (`evaluation_build_packets`)",
                result["bids"],
                first["packets"],
                first["attachments"],
                first["sql_queries"],
                result["seconds_median"],
                result["seconds_max"],
                first["ms_per_packet"],
                f"< {TARGET_SECONDS:.0f} s",
                "PASS" if result["passed"] else "FAIL",
            ]
        ],
    )


# --- Run alone ------------------------------------------------------------------------------------


def _people(count: int):
    """A buyer and `count` suppliers with complete profiles (bulk inserts)."""
    from marketplace.models import Role, RoleGrant, SupplierProfile, User

    rng = random.Random(5)  # noqa: S311 (test data, not secrets)
    buyer = User.objects.create(email="buyer@bench.esdc-edsc.gc.ca", full_name="Bench Buyer")
    RoleGrant.objects.create(user=buyer, role=Role.BUYER)
    users = User.objects.bulk_create(
        User(
            email=f"supplier{n:04d}@bench.example",
            full_name=f"{rng.choice(text.FIRST_NAMES)} {rng.choice(text.LAST_NAMES)}",
            password="!bench-unusable",  # noqa: S106 (nobody signs in)
        )
        for n in range(count)
    )
    RoleGrant.objects.bulk_create(RoleGrant(user=u, role=Role.SUPPLIER) for u in users)
    SupplierProfile.objects.bulk_create(
        SupplierProfile(
            user=u,
            kind="organization",
            legal_name=f"{u.full_name.split()[1]} Digital Inc.",
            contact_name=u.full_name,
            email=u.email,
            phone="613-555-0100",
            website=f"https://firm{u.pk}.example.ca",
            github_handle=f"firm-{u.pk}",
            province="ON",
            postal_code="K1A 0B1",
        )
        for u in users
    )
    return buyer, users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.packets", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--bids", type=int, default=BIDS, help=f"sealed bids (default {BIDS})")
    parser.add_argument("--rounds", type=int, default=3, help="fresh opportunities, each timed")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL with _packets")
    parser.add_argument("--redis-url", help=f"default $BENCH_REDIS_URL or {base.DEFAULT_REDIS_URL}")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    from bench import pages

    url = args.database_url or pages.derived_database_url("packets")
    redis_url = base.redis_url(args.redis_url)
    env = pages.bench_env(database=url, redis=redis_url)
    with base.throwaway_database(url, keep=args.keep_database):
        base.django_setup(env)
        buyer, suppliers = _people(args.bids)
        result = measure(buyer=buyer, suppliers=suppliers, rounds=args.rounds, seed=args.seed)
        result["machine"] = base.machine_facts()
        pages.celery_purge()
    print(report(result))
    written = base.results_write("packets", {"benchmark": "packets", **result})
    print("\nResults: " + " and ".join(str(p.relative_to(base.ROOT)) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
