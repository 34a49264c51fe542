"""The page benchmark's data set: five years of a busy marketplace, written with COPY.

    python -m bench.data --scale 0.1      # generate into the bench database, keep it, print sizes

At scale 1.0 (issue 9): 100,000 opportunities (10 % open: published, closing in the future;
the rest closed, in evaluation, awarded, in delivery, completed, cancelled or unsuccessful,
spread over five years), 50,000 suppliers (users, role grants, verified emails, profiles),
300,000 bids, 20,000 questions, 1,000,000 audit events and 500,000 notifications, with what
goes around them: criteria, skills, addenda, watches, alerts, evaluations, contracts, payments,
self-identifications, and the measures of every published opportunity. Every size is scaled by
`scale`; one fixed seed gives the same rows on every run.

How:
- Rows go in with PostgreSQL's COPY (`cursor.copy_expert`, CSV), table by table, in id order
  (ids follow time, as on a real site). Nothing the app relies on is disabled: every index and
  constraint exists while the rows go in; ANALYZE (with VACUUM) runs at the end.
- Every column comes from the model: a column the generator does not set gets the model's
  default (or "" for a blank text field), so a field added later does not break the generator.
- Opportunity measures (`reports.OpportunityMeasures`) are computed while the audit trail is
  written, by the app's own `reports.metrics.measure_file` over the very events written for
  each file; a sample is then recomputed by `reports.services.measures_refresh` from the
  database and compared (the result is in the data set's info).
- Bid answers exist for the bids on open opportunities (the bid form reads them); closed bids
  keep their status and times but no answers or receipts (no measured page reads them).
  Evaluations exist for every closed file, packets only for the benchmark's evaluation.
- The pages' own fixtures are made through the app's services: the evaluation in scoring with
  its packets (`evaluation_build_packets`), its panel (appointed, declared) and some marks.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/data.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import text

VERSION = 2  # of the generator: a data set made by another version is made again
SEED = 11
INFO_TABLE = "bench_dataset"
CHUNK = 50_000  # rows per COPY

FULL = {
    "opportunities": 100_000,
    "suppliers": 50_000,
    "bids": 300_000,
    "questions": 20_000,
    "audit_events": 1_000_000,
    "notifications": 500_000,
}
OPEN_SHARE = 0.10
PRE_PUBLICATION_SHARE = 0.015  # drafts and postings in review
YEARS = 5
DAY = dt.timedelta(days=1)
UNUSABLE_PASSWORD = "!bench-unusable"  # noqa: S105  # nosec B105: nobody signs in as one

# The benchmark's own people and things.
BUSY_SUPPLIER_OPEN_BIDS = 25
BUSY_SUPPLIER_PAST_BIDS = 40
BUSY_SUPPLIER_CONTRACTS = 5
BUSY_SUPPLIER_WATCHES = 30
BUSY_SUPPLIER_NOTIFICATIONS = 400
BUSY_SUPPLIER_UNREAD = 40
DETAIL_QUESTIONS = 12
DETAIL_ANSWERED = 9
DETAIL_ADDENDA = 3
EVALUATION_BIDS = 40  # the evaluator's packets: the same number at every scale


@dataclass(frozen=True)
class Sizes:
    opportunities: int
    suppliers: int
    bids: int
    questions: int
    audit_events: int
    notifications: int
    buyers: int
    evaluators: int
    card_holders: int
    admins: int
    watches: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        def scaled(n: int, least: int) -> int:
            return max(least, round(n * scale))

        return cls(
            opportunities=scaled(FULL["opportunities"], 300),
            # At least enough for the packet build (200 bidders) and the evaluation's 40.
            suppliers=scaled(FULL["suppliers"], 400),
            bids=scaled(FULL["bids"], 900),
            questions=scaled(FULL["questions"], 60),
            audit_events=scaled(FULL["audit_events"], 3_000),
            notifications=scaled(FULL["notifications"], 1_500),
            buyers=scaled(400, 5),
            evaluators=scaled(150, 4),
            card_holders=scaled(20, 2),
            admins=3,
            watches=scaled(2 * FULL["suppliers"], 300),
        )


# --- COPY ---------------------------------------------------------------------------------------

NULL = r"\N"


class Copier:
    """Writes rows into one model's table with COPY, in chunks."""

    def __init__(self, connection) -> None:
        from django.db import models

        self._json = models.JSONField
        self.connection = connection
        self.counts: dict[str, int] = {}
        self.copy_seconds: dict[str, float] = {}  # PostgreSQL's side of each table's COPY

    def _cell(self, field, value: Any) -> Any:
        if value is None:
            return NULL
        if isinstance(field, self._json):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return value

    def copy(self, model, fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        meta = model._meta
        given = [meta.get_field(name) for name in fields]
        columns = [f.column for f in given]
        constants: list[Any] = []
        for f in meta.concrete_fields:
            if f in given or (f.primary_key and f.get_internal_type().endswith("AutoField")):
                continue
            if f.has_default():
                value = f.get_default()
            elif f.null:
                continue  # NULL
            elif f.empty_strings_allowed:
                value = ""
            else:
                raise ValueError(f"{meta.label}.{f.name}: NOT NULL without a default: set it")
            columns.append(f.column)
            constants.append(self._cell(f, value))
        convert = [(i, f) for i, f in enumerate(given) if f.null or isinstance(f, self._json)]
        table = meta.db_table
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f"COPY \"{table}\" ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')"
        written = 0
        self.connection.ensure_connection()
        raw = self.connection.connection
        # PostgreSQL takes one chunk while Python writes the next: two cores, both busy.
        chunks: queue.Queue = queue.Queue(maxsize=2)
        failed: list[BaseException] = []

        def consume() -> None:
            with raw.cursor() as cursor:
                while (chunk := chunks.get()) is not None:
                    if not failed:
                        started = time.monotonic()
                        try:
                            chunk.seek(0)
                            cursor.copy_expert(sql, chunk)
                        except BaseException as error:  # handed to the producer below
                            failed.append(error)
                        spent = time.monotonic() - started
                        self.copy_seconds[table] = self.copy_seconds.get(table, 0) + spent

        consumer = threading.Thread(target=consume, name=f"copy-{table}", daemon=True)
        consumer.start()
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            for row in rows:
                row = list(row)
                for i, f in convert:
                    row[i] = self._cell(f, row[i])
                if constants:
                    row.extend(constants)
                writer.writerow(row)
                written += 1
                if written % CHUNK == 0:
                    if failed:
                        break
                    chunks.put(buffer)
                    buffer = io.StringIO()
                    writer = csv.writer(buffer, lineterminator="\n")
            chunks.put(buffer)
        finally:
            chunks.put(None)
            consumer.join()
        if failed:
            raise failed[0]
        with raw.cursor() as cursor:
            if "id" in fields and meta.pk.get_internal_type().endswith("AutoField"):
                maximum = f'(SELECT COALESCE(MAX(id), 1) FROM "{table}")'  # noqa: S608
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), {maximum})"
                )
        raw.commit()
        self.counts[table] = self.counts.get(table, 0) + written
        return written


# --- The plan of one opportunity -----------------------------------------------------------------


class Plan:
    """What the generator decided about one opportunity before writing anything."""

    __slots__ = (
        "accepted",
        "addenda",
        "awarded",
        "bids",
        "buyer",
        "cancelled",
        "certified",
        "closed",
        "closes",
        "created",
        "criteria",
        "delivered",
        "id",
        "kind",
        "paid",
        "published",
        "recorded",
        "status",
        "submitted",
        "texts",
        "value",
        "winner",
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, None)


class BidPlan:
    __slots__ = ("created", "id", "saved", "sealed", "status", "submitted", "supplier", "withdrawn")


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        return start
    return start + (end - start) * rng.random()


# --- The generator -------------------------------------------------------------------------------


class Generator:
    def __init__(self, *, scale: float, seed: int, log: Callable[[str], None]) -> None:
        from django.db import connection
        from django.utils import timezone

        self.scale = scale
        self.seed = seed
        self.sizes = Sizes.at(scale)
        self.rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self.writer = text.Writer(self.rng)
        self.now = timezone.now().replace(microsecond=0)
        self.copier = Copier(connection)
        self.connection = connection
        self.log = log
        self.seconds: dict[str, float] = {}
        self.fixtures: dict[str, Any] = {}

    def _timed(self, label: str, step: Callable[[], None]) -> None:
        started = time.monotonic()
        step()
        self.seconds[label] = round(time.monotonic() - started, 2)
        self.log(f"  {label}: {self.seconds[label]:.1f} s")

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        with self.connection.cursor() as cursor:
            # This session's commits only (nothing else writes here); bigger sorts for the
            # index builds, which may take longer than a request's statement limit (settings).
            cursor.execute("SET synchronous_commit TO off")
            cursor.execute("SET maintenance_work_mem TO '512MB'")
            cursor.execute("SET statement_timeout TO 0")
        for label, step in (
            ("indexes and foreign keys dropped for the load", self.indexes_drop),
            ("people", self.people),
            ("opportunities", self.opportunities),
            ("bids", self.bids),
            ("questions, addenda, watches, alerts", self.around),
            ("contracts, payments, evaluations", self.files),
            ("audit trail and measures", self.audit_trail),
            ("notifications", self.notifications),
            ("indexes built, foreign keys added and validated", self.indexes_build),
            ("the pages' fixtures (services)", self.page_fixtures),
            ("VACUUM ANALYZE", self.analyze),
        ):
            self._timed(label, step)
        self.seconds["total"] = round(time.monotonic() - started, 1)
        return {
            "version": VERSION,
            "scale": self.scale,
            "seed": self.seed,
            "generated_at": self.now.isoformat(),
            "sizes": asdict(self.sizes),
            "rows": dict(sorted(self.copier.counts.items())),
            "copy_seconds": {k: round(v, 2) for k, v in sorted(self.copier.copy_seconds.items())},
            "seconds": self.seconds,
            "fixtures": self.fixtures,
        }

    # --- people ----------------------------------------------------------------------------------

    def people(self) -> None:
        from allauth.account.models import EmailAddress

        from demo import builders
        from marketplace.models import Province, Role, RoleGrant, SupplierProfile, User
        from reports.models import SelfIdentification

        rng, sizes, now = self.rng, self.sizes, self.now
        staff = [
            (Role.PROGRAM_ADMIN, "admin", sizes.admins),
            (Role.BUYER, "buyer", sizes.buyers),
            (Role.EVALUATOR, "evaluator", sizes.evaluators),
            (Role.CARD_HOLDER, "cardholder", sizes.card_holders),
        ]
        users: list[tuple] = []
        grants: list[tuple] = []
        self.staff: dict[str, list[int]] = {}
        next_id = 1
        start = now - YEARS * 365 * DAY
        for role, prefix, count in staff:
            ids = list(range(next_id, next_id + count))
            self.staff[role] = ids
            for n, pk in enumerate(ids):
                name = f"{rng.choice(text.FIRST_NAMES)} {rng.choice(text.LAST_NAMES)}"
                joined = _between(rng, start, start + 30 * DAY)
                users.append((pk, f"{prefix}{n:04d}@esdc-edsc.gc.ca", name, "en", joined))
                grants.append(
                    builders.role_grant_row(
                        user_id=pk,
                        role=role,
                        granted_by_id=1 if pk != 1 else None,
                        granted_at=joined,
                    )
                )
            next_id += count
        self.admins, self.buyers = self.staff[Role.PROGRAM_ADMIN], self.staff[Role.BUYER]
        self.evaluators, self.card_holders = (
            self.staff[Role.EVALUATOR],
            self.staff[Role.CARD_HOLDER],
        )
        self.suppliers = list(range(next_id, next_id + sizes.suppliers))
        self.supplier_names: dict[int, str] = {}
        self.provinces: dict[int, str] = {}
        domains = ["example.com", "example.ca", "mail.example.org", "courriel.example.ca"]
        for n, pk in enumerate(self.suppliers):
            name = f"{rng.choice(text.FIRST_NAMES)} {rng.choice(text.LAST_NAMES)}"
            self.supplier_names[pk] = name
            language = "fr" if rng.random() < 0.3 else "en"
            joined = _between(rng, start, now - DAY)
            local = name.lower().replace(" ", ".").replace("é", "e").replace("ô", "o")
            email = f"{local}.{n}@{rng.choice(domains)}"
            users.append((pk, email, name, language, joined))
            grants.append(
                builders.role_grant_row(
                    user_id=pk, role=Role.SUPPLIER, granted_by_id=None, granted_at=joined
                )
            )
        self.user_emails = {row[0]: row[1] for row in users}
        # The rows of the demo history's builders (demo/builders.py), with ids given here.
        self.copier.copy(
            User,
            ("id", *builders.USER_FIELDS),
            (
                (pk, *builders.user_row(email=email, full_name=name, language=language,
                                        joined=joined, password=UNUSABLE_PASSWORD))
                for pk, email, name, language, joined in users
            ),
        )  # fmt: skip
        self.copier.copy(RoleGrant, builders.ROLE_GRANT_FIELDS, grants)
        self.copier.copy(
            EmailAddress,
            builders.EMAIL_ADDRESS_FIELDS,
            (builders.email_address_row(user_id=row[0], email=row[1]) for row in users),
        )

        provinces = [p for p in Province.values]
        weights = [
            8 if p == "ON" else 5 if p == "QC" else 3 if p in ("BC", "AB") else 1 for p in provinces
        ]
        sizes_field = getattr(SupplierProfile, "Size", None)
        size_values = list(sizes_field.values) if sizes_field else []
        ncr = ["K1A 0B1", "K2P 1L4", "J8X 3X7", "K1N 5T5"]
        elsewhere = ["M5V 2T6", "H2X 1Y4", "V6B 4Y8", "T2P 2M5", "R3C 4T3", "B3J 3K5", "S4P 3Y2"]

        def profiles():
            for pk in self.suppliers:
                name = self.supplier_names[pk]
                organization = rng.random() < 0.55
                last = name.split(" ", 1)[1]
                firm = f"{last} {rng.choice(text.FIRM_WORDS)}"
                province = rng.choices(provinces, weights)[0]
                self.provinces[pk] = province
                postal = rng.choice(ncr) if rng.random() < 0.25 else rng.choice(elsewhere)
                handle = f"{last.lower().replace('ô', 'o').replace('é', 'e')}-{pk}"
                row = [
                    pk,
                    SupplierProfile.Kind.ORGANIZATION
                    if organization
                    else SupplierProfile.Kind.INDIVIDUAL,
                    f"{firm} Inc." if organization else name,
                    firm if organization and rng.random() < 0.5 else "",
                    name,
                    self.user_emails[pk],
                    f"613-555-{pk % 10000:04d}",
                    f"https://{handle}.example.ca" if rng.random() < 0.6 else "",
                    handle if rng.random() < 0.7 else "",
                    province,
                    postal,
                    f"{100000000 + pk:09d} RT0001" if rng.random() < 0.4 else "",
                    now - rng.random() * 365 * DAY,
                ]
                if size_values:
                    row.append(rng.choice(size_values) if organization else "")
                yield row

        fields = [
            "user_id",
            "kind",
            "legal_name",
            "trading_name",
            "contact_name",
            "email",
            "phone",
            "website",
            "github_handle",
            "province",
            "postal_code",
            "gst_hst_number",
            "updated_at",
        ]
        if size_values:
            fields.append("size")
        self.copier.copy(SupplierProfile, fields, profiles())

        groups = list(SelfIdentification.Group.values)
        self.copier.copy(
            SelfIdentification,
            ["user_id", "groups", "consented_at", "updated_at"],
            (
                (pk, sorted(rng.sample(groups, rng.randint(1, 2))), moment, moment)
                for pk in self.suppliers
                if rng.random() < 0.12
                for moment in [now - rng.random() * 900 * DAY]
            ),
        )
        # The benchmark's people: the first of each kind.
        self.busy_supplier = self.suppliers[0]
        self.bidders = self.suppliers[1:]  # everyone else bids at random
        self.fixtures.update(
            supplier_id=self.busy_supplier,
            admin_id=self.admins[0],
            buyer_id=self.buyers[0],
            evaluator_ids=self.evaluators[:2],
        )

    # --- opportunities ---------------------------------------------------------------------------

    def opportunities(self) -> None:
        from opportunities.models import (
            Criterion,
            Licence,
            Opportunity,
            OpportunityType,
            SelectionMethod,
            Skill,
        )

        rng, now, sizes = self.rng, self.now, self.sizes
        S = Opportunity.Status
        Skill.objects.bulk_create(
            Skill(slug=s, name_en=en, name_fr=fr) for s, en, fr in text.SKILLS
        )
        self.skill_ids = dict(Skill.objects.values_list("slug", "pk"))
        count = sizes.opportunities
        n_open = round(OPEN_SHARE * count)
        n_pre = round(PRE_PUBLICATION_SHARE * count)
        states = ["open"] * n_open + ["pre"] * n_pre + ["past"] * (count - n_open - n_pre)
        types = list(OpportunityType.values)
        type_weights = [20 if t == "bug_fix" else 18 if t == "accessibility" else 15 for t in types]
        plans: list[Plan] = []
        for state in states:
            p = Plan()
            p.kind = rng.choices(types, type_weights)[0]
            p.buyer = rng.choice(self.buyers)
            p.value = rng.randrange(20, 201) * 5_000  # $1,000 to $10,000 in steps of $50
            if state == "open":
                p.published = now - rng.uniform(0.01, 20) * DAY
                p.closes = now + rng.uniform(0.1, 25) * DAY
                p.status = S.PUBLISHED
            elif state == "pre":
                p.created = now - rng.uniform(0, 30) * DAY
                p.closes = now + rng.uniform(10, 40) * DAY
                p.status = S.IN_REVIEW if rng.random() < 0.3 else S.DRAFT
            else:
                p.published = now - rng.uniform(2, YEARS * 365) * DAY
                p.closes = min(
                    p.published + rng.uniform(7, 21) * DAY, now - rng.uniform(1, 24) / 24 * DAY
                )
                age = (now - p.closes) / DAY
                roll = rng.random()
                if roll < 0.07:
                    p.status = S.CANCELLED
                    p.cancelled = _between(rng, p.published, p.closes)
                elif age < 7:
                    p.status = S.CLOSED if roll < 0.3 else S.EVALUATING
                elif age < 90:
                    p.status = rng.choices(
                        [S.EVALUATING, S.AWARDED, S.IN_DELIVERY, S.UNSUCCESSFUL], [10, 20, 55, 15]
                    )[0]
                else:
                    p.status = S.UNSUCCESSFUL if roll > 0.88 else S.COMPLETED
            if p.published is not None:
                p.created = p.published - rng.uniform(3, 20) * DAY
                p.submitted = p.published - rng.uniform(0.3, 3) * DAY
            elif p.status == S.IN_REVIEW:
                p.submitted = _between(rng, p.created, now)
            if p.status not in (S.DRAFT, S.IN_REVIEW, S.PUBLISHED, S.CANCELLED):
                p.closed = p.closes + rng.uniform(1, 60) * dt.timedelta(seconds=1)
            if p.status in (S.AWARDED, S.IN_DELIVERY, S.COMPLETED):
                age = (now - p.closed) / DAY
                p.awarded = p.closed + rng.uniform(3, max(3.1, min(15, age - 1))) * DAY
                p.awarded = min(p.awarded, now - DAY / 24)
            plans.append(p)
        # Ids follow creation time, as on a real site.
        plans.sort(key=lambda p: p.created)
        for pk, p in enumerate(plans, start=1):
            p.id = pk
            p.texts = self.writer.opportunity(p.kind)
        self.plans = plans
        self.open_plans = [p for p in plans if p.status == S.PUBLISHED]
        self.published_plans = [p for p in plans if p.published is not None]

        # The opportunity page and the bid form: an open accessibility posting with a while to go.
        detail = next(
            p
            for p in self.open_plans
            if p.kind == "accessibility"
            and p.closes > now + 10 * DAY
            and p.published < now - 5 * DAY
        )
        self.detail = detail
        methods = [SelectionMethod.HIGHEST_SCORE] * 7 + [SelectionMethod.DRAW_AMONG_PASSING] * 3
        licences = list(Licence.values)

        def rows():
            for p in plans:
                t = p.texts
                moments = (p.created, p.submitted, p.published, p.closed, p.cancelled, p.awarded)
                updated = max(m for m in moments if m)
                yield (
                    p.id,
                    p.buyer,
                    p.status,
                    t["title_en"],
                    t["title_fr"],
                    t["summary_en"],
                    t["summary_fr"],
                    t["description_en"],
                    t["description_fr"],
                    t["deliverables_en"],
                    t["deliverables_fr"],
                    t["acceptance_criteria_en"],
                    t["acceptance_criteria_fr"],
                    p.kind,
                    p.value,
                    rng.choice(licences),
                    f"https://github.com/cds-snc/project-{p.id % 997}/issues/{p.id}",
                    p.closes - 2 * DAY,
                    p.closes,
                    (p.closes + 30 * DAY).date(),
                    rng.choice(methods),
                    True,
                    True,
                    True,
                    rng.choice(text.CANCEL_REASONS) if p.cancelled else "",
                    p.created,
                    updated,
                    p.submitted,
                    p.published,
                    p.closed,
                    p.cancelled,
                    p.awarded,
                    p.published,
                )

        self.copier.copy(
            Opportunity,
            [
                "id",
                "buyer_id",
                "status",
                "title_en",
                "title_fr",
                "summary_en",
                "summary_fr",
                "description_en",
                "description_fr",
                "deliverables_en",
                "deliverables_fr",
                "acceptance_criteria_en",
                "acceptance_criteria_fr",
                "type",
                "value_cents",
                "licence",
                "repository_url",
                "question_deadline",
                "closes_at",
                "expected_delivery_date",
                "selection_method",
                "attest_standalone",
                "attest_no_internal_capacity",
                "attest_not_split",
                "cancel_reason",
                "created_at",
                "updated_at",
                "submitted_at",
                "published_at",
                "closed_at",
                "cancelled_at",
                "awarded_at",
                "alerts_sent_at",
            ],
            rows(),
        )

        # Skills: one to three, the type's own first.
        slugs = [s for s, _en, _fr in text.SKILLS]
        by_type = {
            "accessibility": "accessibility",
            "bug_fix": "python",
            "feature": "javascript",
            "prototype": "design",
            "analysis": "data",
            "other": "content",
        }
        self.opportunity_skills: dict[int, list[int]] = {}

        def skill_rows():
            for p in plans:
                chosen = [by_type[p.kind], *rng.sample(slugs, rng.randint(0, 2))]
                ids = list(dict.fromkeys(self.skill_ids[s] for s in chosen))
                self.opportunity_skills[p.id] = ids
                for skill_id in ids:
                    yield (p.id, skill_id)

        through = Opportunity.skills.through
        self.copier.copy(through, ["opportunity_id", "skill_id"], skill_rows())

        # Criteria: one or two mandatory, one to three rated (the detail page's: two and two).
        mandatory = [c for c in text.CRITERIA if c[0] == "mandatory"]
        rated = [c for c in text.CRITERIA if c[0] == "rated"]
        self.criteria: dict[int, list[int]] = {}

        def criterion_rows():
            pk = 0
            for p in plans:
                if p is detail:
                    chosen = mandatory[:2] + rated[:2]
                else:
                    chosen = mandatory[: rng.randint(1, 2)] + rng.sample(rated, rng.randint(1, 3))
                ids = []
                for position, (kind, en, fr) in enumerate(chosen):
                    pk += 1
                    ids.append(pk)
                    is_rated = kind == "rated"
                    yield (
                        pk,
                        p.id,
                        kind,
                        en,
                        fr,
                        rng.randint(1, 3) if is_rated else None,
                        10 if is_rated else None,
                        300,
                        position,
                    )
                self.criteria[p.id] = ids

        self.copier.copy(
            Criterion,
            [
                "id",
                "opportunity_id",
                "kind",
                "text_en",
                "text_fr",
                "weight",
                "max_score",
                "word_limit",
                "position",
            ],
            criterion_rows(),
        )
        self.fixtures.update(
            detail_opportunity_id=detail.id,
            detail_title_en=detail.texts["title_en"],
            skill="accessibility",
        )

    # --- bids ------------------------------------------------------------------------------------

    def bids(self) -> None:
        from django.conf import settings

        from bids.models import Answer, Bid
        from opportunities.models import Opportunity

        rng, now = self.rng, self.now
        S, B = Opportunity.Status, Bid.Status
        awarded_states = (S.AWARDED, S.IN_DELIVERY, S.COMPLETED)
        # The busy supplier: drafts and submitted bids on open postings (one is the bid form),
        # a history of past bids, and a few contracts.
        others_open = [p for p in self.open_plans if p is not self.detail]
        busy_open = {self.detail.id} | {
            p.id for p in rng.sample(others_open, BUSY_SUPPLIER_OPEN_BIDS - 1)
        }
        past = [p for p in self.plans if p.closed is not None]
        winners = [p for p in past if p.status in (S.IN_DELIVERY, S.COMPLETED)]
        busy_wins = {p.id for p in rng.sample(winners, min(BUSY_SUPPLIER_CONTRACTS, len(winners)))}
        rest = [p for p in past if p.id not in busy_wins]
        busy_past = busy_wins | {
            p.id for p in rng.sample(rest, min(BUSY_SUPPLIER_PAST_BIDS, len(rest)))
        }

        eligible = [p for p in self.plans if p.published is not None]
        weights = [0.5 if p.status == S.PUBLISHED else 1.0 for p in eligible]
        total = self.sizes.bids - len(busy_open) - len(busy_past)
        counts: dict[int, int] = {}
        for p in rng.choices(eligible, weights, k=total):
            counts[p.id] = counts.get(p.id, 0) + 1

        bid_id = 0
        answers_for: list[tuple[int, int]] = []  # (bid, opportunity) that get answers
        terms = settings.BID_TERMS_VERSION
        self.busy_draft_bid = None
        self.unsuccessful: list[Plan] = []  # planned as awarded, but nobody bid
        rows: list[tuple] = []
        for p in eligible:
            k = min(counts.get(p.id, 0), len(self.bidders))
            suppliers = rng.sample(self.bidders, k)
            if p.id in busy_open or p.id in busy_past:
                suppliers.insert(0, self.busy_supplier)
            plans = []
            end = min(p.closes, now)
            for supplier in suppliers:
                b = BidPlan()
                bid_id += 1
                b.id, b.supplier = bid_id, supplier
                b.created = _between(rng, p.published, end - (end - p.published) * 0.05)
                b.saved = _between(rng, b.created, min(b.created + DAY, end))
                b.submitted = b.withdrawn = b.sealed = None
                roll = rng.random()
                if p.status == S.PUBLISHED:
                    b.status = (
                        B.DRAFT if roll < 0.35 else B.WITHDRAWN if roll > 0.93 else B.SUBMITTED
                    )
                else:
                    b.status = B.DRAFT if roll < 0.08 else B.WITHDRAWN if roll > 0.97 else B.SEALED
                if supplier == self.busy_supplier and p is self.detail:
                    b.status = B.DRAFT
                    self.busy_draft_bid = b.id
                if b.status != B.DRAFT:
                    b.submitted = _between(rng, b.saved, end)
                if b.status == B.WITHDRAWN:
                    b.withdrawn = _between(rng, b.submitted, end)
                if b.status == B.SEALED:
                    if p.status == S.CANCELLED:
                        b.status = B.SUBMITTED
                    else:
                        b.sealed = p.closed
                plans.append(b)
            counted = [b for b in plans if b.status in (B.SEALED, B.SUBMITTED)]
            if p.status in awarded_states or p.status == S.UNSUCCESSFUL:
                if p.status in awarded_states and not counted:
                    p.status = S.UNSUCCESSFUL  # nobody bid: no award
                    p.awarded = None
                    self.unsuccessful.append(p)
                for b in counted:
                    b.status = (
                        B.DISQUALIFIED
                        if p.status == S.UNSUCCESSFUL or rng.random() < 0.2
                        else B.NOT_AWARDED
                    )
                if p.status in awarded_states:
                    mine = [b for b in counted if b.supplier == self.busy_supplier]
                    winner = mine[0] if p.id in busy_wins and mine else rng.choice(counted)
                    winner.status = B.AWARDED
                    p.winner = winner
            p.bids = plans
            for b in plans:
                attested = b.status != B.DRAFT
                start_date = (p.closes + rng.randint(7, 21) * DAY).date() if attested else None
                rows.append(
                    (
                        b.id,
                        p.id,
                        b.supplier,
                        b.status,
                        start_date,
                        attested,
                        attested,
                        attested,
                        terms if attested else "",
                        b.created,
                        b.saved,
                        b.submitted,
                        b.withdrawn,
                        b.sealed,
                    )
                )
                if p.status == S.PUBLISHED:
                    answers_for.append((b.id, p.id))
        self.copier.copy(
            Bid,
            [
                "id",
                "opportunity_id",
                "supplier_id",
                "status",
                "proposed_start_date",
                "attest_can_work_in_canada",
                "attest_can_be_paid_by_card",
                "attest_no_conflict",
                "terms_version",
                "created_at",
                "draft_saved_at",
                "submitted_at",
                "withdrawn_at",
                "sealed_at",
            ],
            rows,
        )
        del rows
        writer = self.writer
        self.copier.copy(
            Answer,
            ["bid_id", "criterion_id", "text"],
            (
                (bid, criterion, writer.bid_answer(words=rng.randint(40, 160)))
                for bid, opportunity in answers_for
                for criterion in self.criteria[opportunity]
            ),
        )
        self.fixtures.update(draft_bid_id=self.busy_draft_bid)

    # --- what surrounds the postings -----------------------------------------------------------

    def around(self) -> None:
        from opportunities.models import (
            Addendum,
            Alert,
            Opportunity,
            OpportunityType,
            Question,
            Watch,
        )

        rng, now = self.rng, self.now
        detail = self.detail
        # Questions: most on recent postings, the detail page's dozen among them.
        total = self.sizes.questions - DETAIL_QUESTIONS
        targets = rng.choices(
            self.published_plans,
            [
                3.0 if p.status == Opportunity.Status.PUBLISHED else 1.0
                for p in self.published_plans
            ],
            k=total,
        )
        targets += [detail] * DETAIL_QUESTIONS
        targets.sort(key=lambda p: p.id)
        self.questions: list[tuple] = []  # (opportunity plan, asker, asked, answered or None)
        detail_seen = 0

        def question_rows():
            nonlocal detail_seen
            for p in targets:
                asker = rng.choice(self.bidders)
                end = min(p.closes - 2 * DAY, now)
                asked = _between(rng, p.published, end)
                answered = None
                if p is detail:
                    detail_seen += 1
                    if detail_seen <= DETAIL_ANSWERED:
                        answered = _between(rng, asked, now)
                elif rng.random() < 0.8 and asked < now - DAY:
                    answered = _between(rng, asked, min(asked + 2 * DAY, now))
                answer = rng.choice(text.ANSWERS) if answered else ("", "")
                self.questions.append((p, asker, asked, answered))
                yield (
                    p.id,
                    asker,
                    rng.choice(text.QUESTIONS),
                    answer[0],
                    answer[1],
                    p.buyer if answered else None,
                    answered,
                    asked,
                )

        self.copier.copy(
            Question,
            [
                "opportunity_id",
                "asker_id",
                "text",
                "answer_en",
                "answer_fr",
                "answered_by_id",
                "answered_at",
                "created_at",
            ],
            question_rows(),
        )

        def addendum_rows():
            for p in self.published_plans:
                n = (
                    DETAIL_ADDENDA
                    if p is detail
                    else (rng.randint(1, 2) if rng.random() < 0.08 else 0)
                )
                end = min(p.closes, now)
                moments = sorted(_between(rng, p.published, end) for _ in range(n))
                for number, moment in enumerate(moments, start=1):
                    note = text.ADDENDA[(number - 1) % len(text.ADDENDA)]
                    changed = ["closes_at"] if number == 1 else ["description_en", "description_fr"]
                    yield (p.id, number, note[0], note[1], changed, p.buyer, moment)

        self.copier.copy(
            Addendum,
            [
                "opportunity_id",
                "number",
                "note_en",
                "note_fr",
                "changed_fields",
                "created_by_id",
                "created_at",
            ],
            addendum_rows(),
        )

        # Watches: suppliers follow postings (the busy supplier: thirty open ones).
        pairs: dict[tuple[int, int], dt.datetime] = {}
        busy_watch = rng.sample(self.open_plans, min(BUSY_SUPPLIER_WATCHES, len(self.open_plans)))
        for p in busy_watch:
            pairs[(self.busy_supplier, p.id)] = _between(rng, p.published, now)
        picks = rng.choices(
            self.published_plans,
            [
                4.0 if p.status == Opportunity.Status.PUBLISHED else 1.0
                for p in self.published_plans
            ],
            k=self.sizes.watches,
        )
        for p in picks:
            user = rng.choice(self.bidders)
            pairs.setdefault((user, p.id), _between(rng, p.published, min(p.closes, now)))
        self.copier.copy(
            Watch,
            ["user_id", "opportunity_id", "created_at"],
            ((u, o, m) for (u, o), m in sorted(pairs.items(), key=lambda item: item[1])),
        )

        # Alerts: three suppliers in ten, and the busy one.
        types = list(OpportunityType.values)
        skill_ids = list(self.skill_ids.values())
        alert_users = [self.busy_supplier] + [u for u in self.bidders if rng.random() < 0.3]
        alert_rows, alert_skills = [], []
        for pk, user in enumerate(alert_users, start=1):
            chosen = rng.sample(types, rng.randint(1, 2)) if rng.random() < 0.3 else []
            frequency = "immediate" if rng.random() < 0.4 else "daily"
            alert_rows.append((pk, user, chosen, frequency, now - rng.random() * 700 * DAY))
            for skill in rng.sample(
                skill_ids, 4 if user == self.busy_supplier else rng.randint(1, 3)
            ):
                alert_skills.append((pk, skill))
        self.copier.copy(Alert, ["id", "user_id", "types", "frequency", "updated_at"], alert_rows)
        self.copier.copy(Alert.skills.through, ["alert_id", "skill_id"], alert_skills)

    # --- evaluations, contracts, payments ------------------------------------------------------

    def files(self) -> None:
        from django.conf import settings

        from evaluation.models import Evaluation
        from opportunities.models import Opportunity
        from payments.models import Contract, Payment

        rng, now = self.rng, self.now
        S = Opportunity.Status
        evaluation_status = {
            S.CLOSED: Evaluation.Status.PANEL,
            S.EVALUATING: Evaluation.Status.SCORING,
            S.AWARDED: Evaluation.Status.AWARDED,
            S.IN_DELIVERY: Evaluation.Status.AWARDED,
            S.COMPLETED: Evaluation.Status.AWARDED,
            S.UNSUCCESSFUL: Evaluation.Status.UNSUCCESSFUL,
        }

        def evaluation_rows():
            for p in self.plans:
                if p.closed is None:
                    continue
                seed = f"{rng.getrandbits(256):064x}"
                status = evaluation_status[p.status]
                if p.status == S.EVALUATING and rng.random() < 0.4:
                    status = Evaluation.Status.CONSENSUS
                yield (
                    p.id,
                    status,
                    seed,
                    hashlib.sha256(seed.encode()).hexdigest(),
                    p.closed,
                    p.closed,
                )

        self.copier.copy(
            Evaluation,
            ["opportunity_id", "status", "seed", "commitment", "created_at", "status_changed_at"],
            evaluation_rows(),
        )

        C = Contract.Status
        contracts, payments = [], []
        self.contracts: dict[int, int] = {}  # opportunity → contract id
        self.payments: dict[int, int] = {}
        contract_id = 0
        for p in self.plans:
            if p.winner is None:
                continue
            status, accepted_terms = C.AWAITING_ACCEPTANCE, None
            if p.status in (S.IN_DELIVERY, S.COMPLETED):
                p.accepted = min(p.awarded + rng.uniform(0.2, 3) * DAY, now)
                accepted_terms = p.accepted
                status = C.IN_PROGRESS
            if p.status == S.COMPLETED:
                p.delivered = p.accepted + rng.uniform(5, 30) * DAY
                p.certified = p.delivered + rng.uniform(1, 7) * DAY
                p.recorded = p.certified + rng.uniform(1, 10) * DAY
                p.paid = p.recorded + rng.uniform(0.5, 5) * DAY
                status = C.ACCEPTED
            elif p.status == S.IN_DELIVERY and rng.random() < 0.4:
                p.delivered = _between(rng, p.accepted, now)
                status = C.DELIVERED
            contract_id += 1
            self.contracts[p.id] = contract_id
            supplier = p.winner.supplier
            contracts.append(
                (
                    contract_id,
                    p.id,
                    p.winner.id,
                    supplier,
                    status,
                    p.value,
                    p.awarded,
                    settings.BID_TERMS_VERSION if accepted_terms else "",
                    accepted_terms,
                    f"https://github.com/cds-snc/project-{p.id % 997}/pull/{p.id}"
                    if p.delivered
                    else "",
                    "Delivered as agreed; see the pull request." if p.delivered else "",
                    p.delivered,
                    1 if p.delivered else 0,
                    p.certified,
                    p.buyer if p.certified else None,
                    "I certify that the work was performed and accepted." if p.certified else "",
                )
            )
            if p.paid is not None:
                province = self.provinces[supplier]
                subtotal = round(p.value / 1.13)
                payments.append(
                    (
                        contract_id,
                        Payment.Status.PAID,
                        Payment.Provider.RECORDED_CARD,
                        f"MA-{p.certified.year}-{contract_id:07d}",
                        p.certified.date(),
                        province,
                        subtotal,
                        "HST",
                        1300,
                        p.value - subtotal,
                        p.value,
                        p.certified,
                        rng.choice(self.card_holders),
                        Payment.Method.CARD_TERMINAL,
                        p.recorded.date(),
                        f"AUTH-{rng.randrange(10**6):06d}",
                        p.recorded,
                        p.paid,
                        p.paid,
                        p.certified,
                        p.paid,
                    )
                )
        self.copier.copy(
            Contract,
            [
                "id",
                "opportunity_id",
                "bid_id",
                "supplier_id",
                "status",
                "value_cents",
                "created_at",
                "terms_version",
                "terms_accepted_at",
                "delivery_url",
                "delivery_notes",
                "delivered_at",
                "deliveries",
                "certified_at",
                "certified_by_id",
                "certification_statement",
            ],
            contracts,
        )
        written = self.copier.copy(
            Payment,
            [
                "contract_id",
                "status",
                "provider",
                "invoice_number",
                "issued_on",
                "province",
                "subtotal_cents",
                "tax_label",
                "tax_rate_bp",
                "tax_cents",
                "total_cents",
                "due_since",
                "payer_id",
                "method",
                "paid_on",
                "reference",
                "recorded_at",
                "paid_at",
                "confirmed_at",
                "created_at",
                "updated_at",
            ],
            payments,
        )
        with self.connection.cursor() as cursor:
            # Planned as awarded, but nobody bid (rare): no award after all.
            cursor.execute(
                "UPDATE opportunities_opportunity SET status = %s, awarded_at = NULL "
                "WHERE id = ANY(%s)",
                [S.UNSUCCESSFUL, [p.id for p in self.unsuccessful]],
            )
            cursor.execute("SELECT id, contract_id FROM payments_payment")
            by_contract = {contract: pk for pk, contract in cursor.fetchall()}
        for opportunity_id, contract in self.contracts.items():
            if contract in by_contract:
                self.payments[opportunity_id] = by_contract[contract]
        assert written == len(self.payments)

    # --- the audit trail, and the measures it implies -------------------------------------------

    def audit_trail(self) -> None:
        from django.contrib.contenttypes.models import ContentType

        from bids.models import Bid
        from demo import builders
        from marketplace.models import AuditEvent
        from opportunities.models import Opportunity, Question
        from payments.models import Contract, Payment
        from reports.metrics import Action, measure_file
        from reports.models import OpportunityMeasures

        rng, now = self.rng, self.now
        S, C, P = Opportunity.Status, Contract.Status, Payment.Status
        kinds = ContentType.objects.get_for_models(Opportunity, Bid, Contract, Payment, Question)
        t_opp, t_bid, t_contract, t_payment, t_question = (
            kinds[m].pk for m in (Opportunity, Bid, Contract, Payment, Question)
        )
        # Every event through the demo's builder: the field order of the COPY below, the verb
        # checked against the registry (marketplace/audit_verbs.py), {"from", "to"} as the
        # transitions write it (demo/builders.py, shared with the demo history).
        row = builders.audit_event_row

        def lifecycle(p: Plan) -> tuple[list[tuple], list[tuple]]:
            """(essential, secondary) events of one file, in builders.AUDIT_EVENT_FIELDS order.
            Essential events fix the measured stages; secondary ones are the rest."""
            title = p.texts["title_en"]
            essential, secondary = [], []

            def event(bucket, at, verb, actor, target_type, target, target_repr, data=None):
                bucket.append(
                    row(
                        at=at,
                        verb_name=verb,
                        actor_id=actor,
                        target_type_id=target_type,
                        target_id=target,
                        target_repr=target_repr,
                        data=data,
                    )
                )

            def move(at, verb, actor, to, previous, bucket):
                data = builders.moved(previous, to)
                event(bucket, at, f"opportunity.{verb}", actor, t_opp, p.id, title, data)

            event(essential, p.created, "opportunity.created", p.buyer, t_opp, p.id, title)
            if p.status == S.DRAFT:
                return essential, secondary
            move(p.submitted, "submitted", p.buyer, S.IN_REVIEW, S.DRAFT, secondary)
            if p.status == S.IN_REVIEW:
                return essential, secondary
            admin = rng.choice(self.admins)
            move(p.published, "published", admin, S.PUBLISHED, S.IN_REVIEW, essential)
            if p.cancelled:
                move(p.cancelled, "cancelled", p.buyer, S.CANCELLED, S.PUBLISHED, essential)
                return essential, secondary
            if p.closed is None:
                return essential, secondary
            move(p.closed, "closed", None, S.CLOSED, S.PUBLISHED, essential)
            if p.status == S.CLOSED:
                return essential, secondary
            evaluating = p.closed + 5 * dt.timedelta(minutes=1)
            if p.status != S.UNSUCCESSFUL or p.bids:
                move(evaluating, "evaluating", None, S.EVALUATING, S.CLOSED, secondary)
            if p.status == S.UNSUCCESSFUL:
                at = _between(rng, evaluating, min(evaluating + 10 * DAY, now))
                move(at, "unsuccessful", p.buyer, S.UNSUCCESSFUL, S.EVALUATING, essential)
                return essential, secondary
            if p.awarded is None:
                return essential, secondary
            move(p.awarded, "awarded", p.buyer, S.AWARDED, S.EVALUATING, essential)
            winner = p.winner
            event(
                secondary, winner.submitted, "bid.submitted", winner.supplier, t_bid, winner.id,
                f"bid {winner.id}", {"receipt": 1},
            )  # fmt: skip
            contract = self.contracts[p.id]
            if p.accepted:
                event(
                    secondary, p.accepted, "contract.accepted", winner.supplier, t_contract,
                    contract, f"contract {contract}",
                    builders.moved(C.AWAITING_ACCEPTANCE, C.IN_PROGRESS),
                )  # fmt: skip
                move(
                    p.accepted, "in_delivery", winner.supplier, S.IN_DELIVERY, S.AWARDED, secondary
                )
            if p.delivered:
                event(
                    secondary, p.delivered, "contract.delivered", winner.supplier, t_contract,
                    contract, f"contract {contract}", builders.moved(C.IN_PROGRESS, C.DELIVERED),
                )  # fmt: skip
            if p.certified:
                event(
                    essential, p.certified, "contract.certified", p.buyer, t_contract, contract,
                    f"contract {contract}", builders.moved(C.DELIVERED, C.ACCEPTED),
                )  # fmt: skip
            if p.paid:
                payment = self.payments[p.id]
                holder = rng.choice(self.card_holders)
                event(
                    secondary, p.recorded, "payment.recorded", holder, t_payment, payment,
                    f"payment {payment}", builders.moved(P.DUE, P.RECORDED),
                )  # fmt: skip
                event(
                    essential, p.paid, "payment.receipt_confirmed", winner.supplier, t_payment,
                    payment, f"payment {payment}", builders.moved(P.RECORDED, P.PAID),
                )  # fmt: skip
                move(p.paid, "completed", winner.supplier, S.COMPLETED, S.IN_DELIVERY, secondary)
            return essential, secondary

        files = [lifecycle(p) for p in self.plans]
        n_essential = sum(len(e) for e, _s in files)
        n_secondary = sum(len(s) for _e, s in files)
        # Other events: each bid started and submitted (not the winners', already counted), each
        # question asked and answered.
        others: dict[int, list[tuple]] = {}
        for p in self.plans:
            for b in p.bids or ():
                if p.winner is not None and b is p.winner:
                    continue
                events = others.setdefault(p.id, [])
                label = f"bid {b.id}"
                events.append(
                    row(
                        at=b.created,
                        verb_name="bid.started",
                        actor_id=b.supplier,
                        target_type_id=t_bid,
                        target_id=b.id,
                        target_repr=label,
                    )
                )
                if b.submitted:
                    events.append(
                        row(
                            at=b.submitted,
                            verb_name="bid.submitted",
                            actor_id=b.supplier,
                            target_type_id=t_bid,
                            target_id=b.id,
                            target_repr=label,
                            data={"receipt": 1},
                        )
                    )
                if b.withdrawn:
                    events.append(row(at=b.withdrawn, verb_name="bid.withdrawn",
                                      actor_id=b.supplier, target_type_id=t_bid, target_id=b.id,
                                      target_repr=label))  # fmt: skip
        for question_pk, (p, asker, asked, answered) in enumerate(self.questions, start=1):
            events = others.setdefault(p.id, [])
            events.append(row(at=asked, verb_name="question.asked", actor_id=asker,
                              target_type_id=t_question, target_id=question_pk,
                              target_repr="question"))  # fmt: skip
            if answered:
                events.append(row(at=answered, verb_name="question.answered", actor_id=p.buyer,
                                  target_type_id=t_question, target_id=question_pk,
                                  target_repr="question"))  # fmt: skip
        n_others = sum(len(v) for v in others.values())
        budget = self.sizes.audit_events
        if n_essential > budget:
            raise ValueError(f"{n_essential} essential audit events exceed {budget}")
        # The rest of the budget: secondary and other events alike, each kept with the same
        # chance, to the exact total (a full data set has more candidates than room).
        left = n_secondary + n_others
        want = min(left, budget - n_essential)
        filler = budget - n_essential - want

        def take() -> bool:
            nonlocal left, want
            chosen = rng.random() * left < want
            left -= 1
            want -= chosen
            return chosen

        measures: list[tuple] = []

        def events():
            for p, (essential, secondary) in zip(self.plans, files, strict=True):
                kept = essential + [e for e in secondary if take()]
                if p.published is not None:
                    actions = [
                        Action(at=e[0], verb=e[1], actor_id=e[2], to=e[6].get("to", ""))
                        for e in kept
                    ]
                    m = measure_file(
                        actions,
                        recorded={
                            "drafted": p.created,
                            "published": p.published,
                            "closed": p.closed,
                            "awarded": p.awarded,
                        },
                    )
                    s = m.stages
                    measures.append(
                        (
                            p.id,
                            s["drafted"],
                            s["published"],
                            s["closed"],
                            s["awarded"],
                            s["accepted"],
                            s["paid"],
                            m.elapsed_business_days,
                            m.touch_business_days,
                            m.people,
                            now,
                        )
                    )
                yield from kept
                yield from (e for e in others.get(p.id, ()) if take())
            for n in range(filler):  # only when a tiny data set has too few events of its own
                yield row(
                    at=now - n * dt.timedelta(minutes=1),
                    verb_name="user.signed_up",
                    actor_id=None,
                    target_type_id=None,
                    target_id=None,
                    target_repr="",
                )

        self.copier.copy(AuditEvent, builders.AUDIT_EVENT_FIELDS, events())
        self.copier.copy(
            OpportunityMeasures,
            [
                "opportunity_id",
                "drafted_at",
                "published_at",
                "closed_at",
                "awarded_at",
                "accepted_at",
                "paid_at",
                "elapsed_business_days",
                "touch_business_days",
                "people",
                "computed_at",
            ],
            measures,
        )
        self.fixtures["measures_written"] = len(measures)

    # --- notifications ------------------------------------------------------------------------

    def notifications(self) -> None:
        from marketplace.models import Notification

        rng, now = self.rng, self.now
        N = Notification.Status
        busy = self.busy_supplier
        total = self.sizes.notifications
        picks = rng.choices(self.published_plans, k=total - BUSY_SUPPLIER_NOTIFICATIONS)
        busy_picks = rng.sample(
            self.published_plans, min(BUSY_SUPPLIER_NOTIFICATIONS, len(self.published_plans))
        )
        while len(busy_picks) < BUSY_SUPPLIER_NOTIFICATIONS:
            busy_picks.append(rng.choice(self.published_plans))
        recent_busy = set(
            sorted(range(len(busy_picks)), key=lambda i: busy_picks[i].published)[
                -BUSY_SUPPLIER_UNREAD:
            ]
        )
        work = [(p, None) for p in picks] + [
            (p, i in recent_busy) for i, p in enumerate(busy_picks)
        ]
        work.sort(key=lambda item: item[0].published)
        kinds = ["opportunity.alert"] * 6 + [
            "bid.submitted",
            "opportunity.closed",
            "opportunity.amended",
        ]

        def moment(value):
            return None if value is None else {"datetime": value.isoformat()}

        def rows():
            for n, (p, busy_unread) in enumerate(work):
                t = p.texts
                kind = rng.choice(kinds)
                recipient = busy if busy_unread is not None else rng.choice(self.bidders)
                context = {
                    "title": {"en": t["title_en"], "fr": t["title_fr"]},
                    "value": {"cents": p.value},
                    "closes_at": moment(p.closes),
                    "question_deadline": moment(p.closes - 2 * DAY),
                    "link": {"name": "opportunities:detail", "kwargs": {"pk": p.id}},
                }
                if kind == "opportunity.alert":
                    context["summary"] = {"en": t["summary_en"], "fr": t["summary_fr"]}
                created = _between(rng, p.published, min(p.published + 3 * DAY, now))
                roll = rng.random()
                status = (
                    N.SENT
                    if roll < 0.97
                    else N.PENDING
                    if roll < 0.98
                    else N.FAILED
                    if roll < 0.99
                    else N.SUPPRESSED
                )
                sent = (
                    created + dt.timedelta(seconds=rng.randint(1, 90)) if status == N.SENT else None
                )
                if busy_unread is not None:
                    read = None if busy_unread else created + DAY
                else:
                    read = (
                        created + rng.random() * 5 * DAY
                        if created < now - 2 * DAY and rng.random() < 0.6
                        else None
                    )
                yield (
                    recipient,
                    kind,
                    "fr" if rng.random() < 0.3 else "en",
                    context,
                    f"{kind}:{p.id}:{recipient}:{n}",
                    status,
                    1 if sent else 0,
                    "" if status != N.FAILED else "Connection refused",
                    created,
                    created,
                    sent,
                    read,
                )

        self.copier.copy(
            Notification,
            [
                "recipient_id",
                "kind",
                "language",
                "context",
                "dedupe_key",
                "status",
                "attempts",
                "last_error",
                "next_attempt_at",
                "created_at",
                "sent_at",
                "read_at",
            ],
            rows(),
        )

    # --- the pages' fixtures, through the app's services ---------------------------------------

    def page_fixtures(self) -> None:
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        from bench import packets
        from evaluation.marking import MarkInput, marks_save
        from evaluation.models import Packet, PanelMember
        from evaluation.packets import evaluation_build_packets
        from evaluation.panel import panel_appoint, panel_declare
        from marketplace.models import User
        from opportunities.models import Guardrails

        Guardrails.current()
        staff = User.objects.filter(
            pk__in=[self.admins[0], self.buyers[0], *self.evaluators[:2]]
        ).order_by("pk")
        for user in staff:
            TOTP.activate(user, generate_totp_secret())
        buyer = User.objects.get(pk=self.buyers[0])
        chair, second = (User.objects.get(pk=pk) for pk in self.evaluators[:2])
        suppliers = list(User.objects.filter(pk__in=self.bidders[:EVALUATION_BIDS]).order_by("pk"))
        opportunity = packets.sealed_opportunity(
            buyer=buyer,
            suppliers=suppliers,
            rng=self.rng,
            title="Make the benefits calculator accessible",
        )
        evaluation_build_packets(opportunity=opportunity)
        evaluation = opportunity.evaluation
        for evaluator, is_chair in ((chair, True), (second, False)):
            member = panel_appoint(
                actor=buyer, evaluation=evaluation, evaluator=evaluator, is_chair=is_chair
            )
            panel_declare(evaluator=evaluator, member=member, conflict=False)
        evaluation.refresh_from_db()
        packets_in_order = list(Packet.objects.filter(evaluation=evaluation).order_by("label"))
        criteria = list(opportunity.criteria.all())
        member = PanelMember.objects.get(evaluation=evaluation, evaluator=chair)
        for packet in packets_in_order[1:4]:  # some marks already given, not on the page's packet
            marks_save(
                evaluator=chair,
                packet=packet,
                values={
                    c.pk: MarkInput(
                        passed=True if c.kind == "mandatory" else None,
                        score=7 if c.kind == "rated" else None,
                        rationale="Clear answer with a relevant example.",
                    )
                    for c in criteria
                },
            )
        page_packet = packets_in_order[0]
        self.fixtures.update(
            evaluation_opportunity_id=opportunity.pk,
            evaluation_status=evaluation.status,
            packet_id=page_packet.pk,
            packet_label=page_packet.label,
            evaluator_id=chair.pk,
            evaluator_member_id=member.pk,
        )

    def indexes_drop(self) -> None:
        """The plain indexes and the foreign keys of the app's tables go while the rows go in,
        and come back once they are all in, as pg_restore does it: one sort per index instead of
        a million inserts into it, one validating join per foreign key instead of a trigger per
        row. Primary keys and unique constraints stay and check every row as it goes in."""
        from django.apps import apps

        tables = [m._meta.db_table for m in apps.get_models(include_auto_created=True)]
        with self.connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                WHERE c.contype = 'f' AND t.relname = ANY(%s)
                ORDER BY t.relname, c.conname
                """,
                [tables],
            )
            self.dropped_keys = cursor.fetchall()
            for table, name, _definition in self.dropped_keys:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            cursor.execute(
                """
                SELECT i.relname, pg_get_indexdef(x.indexrelid)
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                WHERE t.relname = ANY(%s)
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                ORDER BY i.relname
                """,
                [tables],
            )
            self.dropped_indexes = cursor.fetchall()
            for name, _definition in self.dropped_indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        self.fixtures["indexes_rebuilt"] = len(self.dropped_indexes)
        self.fixtures["foreign_keys_readded"] = len(self.dropped_keys)

    def indexes_build(self) -> None:
        with self.connection.cursor() as cursor:
            for _name, definition in self.dropped_indexes:
                cursor.execute(definition)
            for table, name, definition in self.dropped_keys:
                # Validated: every row is checked against its target, as the triggers would.
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

    def analyze(self) -> None:
        raw = self.connection.connection
        old = raw.autocommit
        raw.commit()
        raw.autocommit = True
        try:
            with raw.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        finally:
            raw.autocommit = old


# --- The data set's info: what was generated, for `reuse` --------------------------------------


def info_write(info: dict[str, Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {INFO_TABLE} (id int PRIMARY KEY, info jsonb)")
        cursor.execute(
            f"INSERT INTO {INFO_TABLE} (id, info) VALUES (1, %s) "  # noqa: S608 (a constant)
            "ON CONFLICT (id) DO UPDATE SET info = EXCLUDED.info",
            [json.dumps(info, default=str)],
        )


def info_read() -> dict[str, Any] | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [INFO_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT info FROM {INFO_TABLE} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def measures_check(sample: int = 100) -> dict[str, int]:
    """Recompute a sample of the generated measures with the app's `measures_refresh`, from the
    audit trail in the database, and count the rows that came out different."""
    from reports.models import OpportunityMeasures
    from reports.services import measures_refresh

    fields = [
        "drafted_at",
        "published_at",
        "closed_at",
        "awarded_at",
        "accepted_at",
        "paid_at",
        "elapsed_business_days",
        "touch_business_days",
        "people",
    ]
    ids = list(
        OpportunityMeasures.objects.order_by("-opportunity_id").values_list("pk", flat=True)[
            : sample * 10
        ]
    )
    ids = ids[:: max(1, len(ids) // sample)][:sample]
    before = {
        row[0]: row[1:]
        for row in OpportunityMeasures.objects.filter(pk__in=ids).values_list("pk", *fields)
    }
    measures_refresh(opportunity_ids=ids)
    after = {
        row[0]: row[1:]
        for row in OpportunityMeasures.objects.filter(pk__in=ids).values_list("pk", *fields)
    }
    return {
        "checked": len(ids),
        "different": sum(1 for pk in ids if before.get(pk) != after.get(pk)),
    }


def generate(
    *, scale: float, seed: int = SEED, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Fill the (freshly migrated, empty) bench database; returns the data set's info."""
    log(f"Generating the data set at scale {scale} (seed {seed}):")
    generator = Generator(scale=scale, seed=seed, log=log)
    info = generator.run()
    started = time.monotonic()
    info["measures_check"] = measures_check()
    info["seconds"]["measures check"] = round(time.monotonic() - started, 2)
    info_write(info)
    log(
        f"Data set generated in {info['seconds']['total']:.1f} s "
        f"({sum(info['rows'].values()):,} rows); measures recomputed by measures_refresh for "
        f"{info['measures_check']['checked']}: {info['measures_check']['different']} different."
    )
    return info


def main(argv: list[str] | None = None) -> int:
    from bench import base

    parser = argparse.ArgumentParser(
        prog="python -m bench.data", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", type=float, default=0.01, help="1.0 is issue 9's full size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--database-url", help="default: the pages benchmark's database")
    parser.add_argument("--redis-url", help=f"default $BENCH_REDIS_URL or {base.DEFAULT_REDIS_URL}")
    args = parser.parse_args(argv)
    from bench import pages

    url = args.database_url or pages.database_url_for(args.scale)
    env = pages.bench_env(database=url, redis=base.redis_url(args.redis_url))
    with base.throwaway_database(url, keep=True):
        base.django_setup(env)
        info = generate(scale=args.scale, seed=args.seed)
    print(json.dumps(info, indent=2, default=str))
    print(f"Kept the database: {url.rsplit('/', 1)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
