"""The draw's arithmetic and its records, without the database (docs/DESIGN.md, "The draw").

Everything here is a pure function of its arguments, so anyone can redo it by hand from the
public record: the label record bound before scoring (`label_record`, `label_digest`), the
order of the draw (`draw_key`, `draw_order`), a packet's result from its consensus
(`packet_score`), the selection (`selection_ranking`) and what the lock keeps of each packet
(`lock_packet_record`). The lock (evaluation.services) and the public check
(evaluation.verification) both call these, so the check recomputes exactly what was done.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.utils.translation import gettext as _

from opportunities.models import Criterion, Opportunity, SelectionMethod

if TYPE_CHECKING:
    from .models import ConsensusMark, Packet


LABEL_RECORD_HEADER = "marketplace-draw-labels v2"


def bid_binding(seed: str, label: str, receipt_digest: str) -> str:
    """What ties a label to its bid: SHA-256 of "<seed>:<label>:<receipt digest>", the digest
    being the one on that bid's last receipt. Opaque until the seed is revealed at the lock;
    from then on anyone can check it, and each supplier with the digest on their own receipt."""
    return hashlib.sha256(f"{seed}:{label}:{receipt_digest}".encode()).hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label_record(
    *,
    commitment: str,
    seed: str,
    opportunity: Opportunity,
    criteria: list[Criterion],
    receipts: dict[str, str],
) -> str:
    """The text the label digest is the SHA-256 of (UTF-8), so anyone can rebuild it by hand:
    the header line; "commitment <hex>"; "method <code>"; "margin <points or none>"; one line
    per criterion in the opportunity's order, "criterion <n> id <id> mandatory en <h> fr <h>"
    or "criterion <n> id <id> rated weight <w> max <m> en <h> fr <h>", <h> the SHA-256 of the
    criterion's English, then French, text; then for each label in character-code order (as
    `LC_ALL=C sort`) "label <label> receipt <bid_binding(seed, label, receipt digest)>".
    Every line ends with a line feed, the last one too. `receipts`: label -> the digest of the
    last receipt of the bid behind it.

    The method and the criteria are in it because eligibility is recomputed from them, and
    each bid's receipt because the award follows the packet to its bid: binding all of it
    before scoring means none of it can be changed afterwards unseen."""
    margin = opportunity.draw_margin_points
    lines = [
        LABEL_RECORD_HEADER,
        f"commitment {commitment}",
        f"method {opportunity.selection_method}",
        f"margin {'none' if margin is None else margin}",
    ]
    for number, criterion in enumerate(criteria, start=1):
        texts = f"en {_text_digest(criterion.text_en)} fr {_text_digest(criterion.text_fr)}"
        if criterion.kind == Criterion.Kind.MANDATORY:
            kind = "mandatory"
        else:
            kind = f"rated weight {criterion.weight or 1} max {criterion.max_score}"
        lines.append(f"criterion {number} id {criterion.pk} {kind} {texts}")
    lines += [
        f"label {label} receipt {bid_binding(seed, label, receipts[label])}"
        for label in sorted(receipts)
    ]
    return "".join(f"{line}\n" for line in lines)


def label_digest(record: str) -> str:
    return hashlib.sha256(record.encode("utf-8")).hexdigest()


def draw_key(seed: str, label: str) -> str:
    """The documented rule: order labels by SHA-256 of "<seed>:<label>" (hex, ascending)."""
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()


def draw_order(seed: str, labels: list[str]) -> list[str]:
    return sorted(sorted(labels), key=lambda label: draw_key(seed, label))


def packet_score(packet: Packet, criteria: list[Criterion]) -> tuple[bool, Decimal]:
    """(passes every mandatory criterion, weighted consensus score out of 100)."""
    marks = {m.criterion_id: m for m in packet.consensus.all()}
    passes = all(marks[c.pk].passed for c in criteria if c.kind == Criterion.Kind.MANDATORY)
    rated = [c for c in criteria if c.kind == Criterion.Kind.RATED]
    total_weight = sum(c.weight or 1 for c in rated)
    if not total_weight:
        return passes, Decimal("0")
    # Every rated mark has its score and every rated criterion its maximum here: the lock and
    # the check refuse before (unscorable, consensus complete).
    points = sum(
        (
            Decimal(c.weight or 1)
            * Decimal(cast(int, marks[c.pk].score))
            / Decimal(cast(int, c.max_score))
            for c in rated
        ),
        Decimal("0"),
    )
    return passes, (points * 100 / total_weight).quantize(Decimal("0.01"))


def selection_ranking(
    *, method: str, seed: str, scores: dict[str, Decimal], margin: int | None
) -> tuple[list[str], list[str], list[str]]:
    """(eligible labels, the draw's order of them, full ranking of qualified labels).

    `scores` holds the qualified labels only. Highest score: rank by score, ties by the draw.
    Draw among passing: the draw's order. Draw within N points of the top: the draw's order
    among those within the margin, then the others by score (ties by the draw)."""
    qualified = sorted(scores)
    if method in (SelectionMethod.HIGHEST_SCORE, SelectionMethod.DRAW_AMONG_PASSING):
        eligible = qualified
    else:
        top = max(scores.values(), default=Decimal("0"))
        eligible = [label for label in qualified if scores[label] >= top - (margin or 0)]
    order = draw_order(seed, eligible)
    position = {label: i for i, label in enumerate(draw_order(seed, qualified))}
    if method == SelectionMethod.HIGHEST_SCORE:
        ranking = sorted(qualified, key=lambda label: (-scores[label], position[label]))
    else:
        rest = sorted(
            (label for label in qualified if label not in eligible),
            key=lambda label: (-scores[label], position[label]),
        )
        ranking = order + rest
    return eligible, order, ranking


def lock_packet_record(
    *,
    marks: dict[int, ConsensusMark],
    criteria: list[Criterion],
    qualified: bool | None,
    score: Decimal | None,
) -> dict[str, Any]:
    """One packet as the lock records it: its consensus per criterion id (pass/fail, or the
    score; None when missing), whether it qualified and its score."""
    values: dict[str, Any] = {}
    for criterion in criteria:
        mark = marks.get(criterion.pk)
        if mark is None:
            values[str(criterion.pk)] = None
        elif criterion.kind == Criterion.Kind.MANDATORY:
            values[str(criterion.pk)] = mark.passed
        else:
            values[str(criterion.pk)] = mark.score
    return {
        "marks": values,
        "qualified": qualified,
        "score": None if score is None else str(score),
    }


def unscorable(criteria: list[Criterion]) -> list[str]:
    """A rated criterion without a maximum (only a database edit makes one): no score can be
    computed from it."""
    return [
        _("Criterion %(n)s has no maximum score, so no score can be computed from it.")
        % {"n": number}
        for number, criterion in enumerate(criteria, start=1)
        if criterion.kind == Criterion.Kind.RATED and not criterion.max_score
    ]


@dataclass(frozen=True)
class Place:
    """A run of places in the ranking the lock will make, known before the seed is out: one
    label at its place, or several whose order (and, at the top, who is selected) only the
    draw settles. `score` is their common score, or None for a draw among different scores
    (a draw among all who pass, or within the margin)."""

    first: int
    last: int
    labels: tuple[str, ...]
    score: Decimal | None

    @property
    def by_draw(self) -> bool:
        return len(self.labels) > 1


def selection_preview(
    *, method: str, scores: dict[str, Decimal], margin: int | None
) -> list[Place]:
    """The ranking `selection_ranking` will make from `scores` (the qualified labels), as far
    as it is known without the seed: what the chair reviews before locking. Whatever the seed,
    the ranking puts exactly the labels of each place in positions first..last."""
    qualified = sorted(scores)
    if method in (SelectionMethod.HIGHEST_SCORE, SelectionMethod.DRAW_AMONG_PASSING):
        eligible = qualified
    else:
        top = max(scores.values(), default=Decimal("0"))
        eligible = [label for label in qualified if scores[label] >= top - (margin or 0)]
    places: list[Place] = []
    rest = qualified
    if method != SelectionMethod.HIGHEST_SCORE and eligible:
        common = {scores[label] for label in eligible}
        places.append(
            Place(1, len(eligible), tuple(eligible), common.pop() if len(common) == 1 else None)
        )
        rest = [label for label in qualified if label not in eligible]
    by_score: dict[Decimal, list[str]] = {}
    for label in rest:
        by_score.setdefault(scores[label], []).append(label)
    for score in sorted(by_score, reverse=True):
        first = places[-1].last + 1 if places else 1
        tied = tuple(by_score[score])
        places.append(Place(first, first + len(tied) - 1, tied, score))
    return places
