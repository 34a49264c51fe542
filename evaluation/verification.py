"""The public check of the draw: everything recomputed from what is published and from the
audit trail (the draw page and `manage.py verify_draw` show it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from marketplace.labels import bid_label, bid_labels
from marketplace.models import AuditEvent
from opportunities.models import Criterion, Opportunity

from .draw import (
    draw_key,
    label_digest,
    label_record,
    lock_packet_record,
    packet_score,
    selection_ranking,
    unscorable,
)
from .models import ConsensusMark, Evaluation, Packet
from .packets import receipt_digests

Status = Evaluation.Status


@dataclass
class PacketCheck:
    """One label's published consensus and what follows from it, recomputed."""

    label: str
    marks: list[tuple[Criterion, ConsensusMark | None]]
    qualified: bool | None = None  # None: the published consensus misses a criterion
    score: Decimal | None = None
    eligible: bool = False
    rank: int | None = None


@dataclass
class DrawCheck:
    """The draw recomputed from its public record (the page and `verify_draw` show it)."""

    revealed: bool
    criteria: list[Criterion]
    label_record: str  # rebuilt from the packets as they are now
    label_digest: str
    binding_problems: list[str]  # what can be checked before the seed is revealed
    problems: list[str]  # everything; empty: the draw checks out
    # Recomputed once the seed is revealed; empty before.
    packets: list[PacketCheck]
    eligible: list[str]
    order: list[tuple[str, str]]  # (label, draw key)
    ranking: list[str]
    selected: str = ""

    @property
    def checks_out(self) -> bool:
        return self.revealed and not self.problems


def _data(event: AuditEvent) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {}


def _the_one(events: list[AuditEvent], step: str, problems: list[str]) -> AuditEvent | None:
    """The trail is append-only, but whoever can write to the database can still add rows,
    back-dated or not: a record the check relies on is written exactly once, so none, or more
    than one, makes it unusable rather than letting the check pick one."""
    if len(events) == 1:
        return events[0]
    if not events:
        problems.append(_("The audit trail has no record of %(step)s.") % {"step": step})
    else:
        problems.append(
            _(
                "The audit trail holds %(count)s records of %(step)s where there must be "
                "exactly one: some were added afterwards."
            )
            % {"count": len(events), "step": step}
        )
    return None


def _events(evaluation: Evaluation, *verbs: str) -> list[AuditEvent]:
    # By id, the order rows were written in: created_at is a column anyone can set.
    return list(AuditEvent.objects.for_target(evaluation).filter(verb__in=verbs).order_by("id"))


def _recorded(evaluation: Evaluation, verb: str, step: str, problems: list[str]) -> dict | None:
    """The data of the one audit event `verb` on the evaluation (None, reported, otherwise)."""
    event = _the_one(_events(evaluation, verb), step, problems)
    return None if event is None else _data(event)


def _lock_record(evaluation: Evaluation, problems: list[str]) -> tuple[str, dict] | None:
    """(verb, data) of the lock: "evaluation.selected", or "evaluation.unsuccessful" when no
    bid qualified. The unsuccessful end after an award (every ranked bid ended) is another
    event, from "awarded"."""
    events = [
        event
        for event in _events(evaluation, "evaluation.selected", "evaluation.unsuccessful")
        if event.verb == "evaluation.selected" or _data(event).get("from") != Status.AWARDED
    ]
    event = _the_one(events, _("the lock"), problems)
    return None if event is None else (event.verb, _data(event))


def _consensus_complete(criterion: Criterion, mark: ConsensusMark | None) -> bool:
    if mark is None:
        return False
    if criterion.kind == Criterion.Kind.MANDATORY:
        return mark.passed is not None
    return mark.score is not None


def _result_text(qualified: bool | None, score: Decimal | None) -> str:
    if qualified is None:
        return _("incomplete")
    values = {"score": "—" if score is None else score}
    if qualified:
        return _("qualified, %(score)s") % values
    return _("not qualified, %(score)s") % values


def _labels_text(labels: list[str]) -> str:
    return bid_labels(labels)


def _status_text(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status


def _record_lines(record: str) -> dict[str, set[str]]:
    """The lines of a label record by their first word ("criterion", "label"...)."""
    parts: dict[str, set[str]] = {}
    for line in record.splitlines():
        parts.setdefault(line.split(" ", 1)[0], set()).add(line)
    return parts


def _bound_labels(lines: set[str]) -> dict[str, str]:
    """label -> its line, from the "label <label> receipt <hex>" lines."""
    return {line[len("label ") :].rsplit(" receipt ", 1)[0]: line for line in lines}


def _record_differences(recorded: str, rebuilt: str, *, revealed: bool) -> list[str]:
    """Name what differs between the label record kept when the packets were built and the
    one rebuilt now. Labels are named only once revealed: the page hides them before."""
    was, now = _record_lines(recorded), _record_lines(rebuilt)
    names = {
        "commitment": _("the commitment"),
        "method": _("the selection method"),
        "margin": _("the margin"),
        "criterion": _("the criteria"),
    }
    what = [str(name) for word, name in names.items() if was.get(word) != now.get(word)]
    bound, current = _bound_labels(was.get("label", set())), _bound_labels(now.get("label", set()))
    if set(bound) != set(current):
        what.append(_("the labels"))
    swapped = sorted(label for label in set(bound) & set(current) if bound[label] != current[label])
    if swapped:
        what.append(_("the bids behind the labels"))
    problems = []
    if what:
        problems.append(
            _("What differs from the text recorded when the packets were built: %(what)s.")
            % {"what": ", ".join(what)}
        )
    if revealed:
        problems += [
            _("%(label)s: the bid behind this label is not the one bound to it before scoring.")
            % {"label": bid_label(label)}
            for label in swapped
        ]
    return problems


def _binding_problems(
    evaluation: Evaluation, packets: list[Packet], record: str, digest: str, *, revealed: bool
) -> list[str]:
    problems: list[str] = []
    committed = _recorded(
        evaluation, "evaluation.committed", _("the commitment at the close"), problems
    )
    if committed is not None and committed.get("commitment") != evaluation.commitment:
        problems.append(_("The commitment is not the one recorded when bids closed."))
    if not evaluation.label_digest:
        if packets:
            problems.append(
                _(
                    "No digest of the labels was published before scoring: the labels cannot "
                    "be checked."
                )
            )
        return problems
    bound = _recorded(
        evaluation,
        "evaluation.labels_bound",
        _("the labels bound when the packets were built"),
        problems,
    )
    recorded_record = None if bound is None else bound.get("record")
    if bound is not None and (
        bound.get("label_digest") != evaluation.label_digest
        or (
            isinstance(recorded_record, str)
            and label_digest(recorded_record) != bound.get("label_digest")
        )
    ):
        problems.append(
            _("The digest of the labels is not the one recorded when the packets were built.")
        )
    if bound is not None and not isinstance(recorded_record, str):
        problems.append(
            _(
                "The labels were bound by an earlier rule, which tied neither each bid to its "
                "label nor the criteria to their texts: this draw is not bound by the current "
                "rules."
            )
        )
        return problems
    if digest != evaluation.label_digest:
        problems.append(
            _(
                "The labels of the bids, the selection method or the criteria do not match "
                "the digest published before scoring."
            )
        )
        if recorded_record is not None:
            problems += _record_differences(recorded_record, record, revealed=revealed)
    return problems


def _status_problems(evaluation: Evaluation, lock_verb: str) -> list[str]:
    """The status, the selection on record and the outcome of the lock must tell one story:
    no qualified bid, no selection; a selection, one selected bid."""
    problems = []
    before_lock = (Status.PREPARING, Status.PANEL, Status.SCORING, Status.CONSENSUS)
    if lock_verb == "evaluation.unsuccessful":
        if evaluation.selected_label or evaluation.eligible_labels or evaluation.draw_order:
            problems.append(
                _(
                    "The lock recorded that no bid qualified, yet a selection is on record "
                    "(eligible bids, an order or a selected bid)."
                )
            )
        agrees = evaluation.status == Status.UNSUCCESSFUL and not evaluation.offers.exists()
    else:
        if not evaluation.selected_label:
            problems.append(_("The lock recorded a selection, yet no selected bid is on record."))
        agrees = evaluation.status not in before_lock and (
            evaluation.status != Status.UNSUCCESSFUL or evaluation.offers.exists()
        )
    if not agrees:
        problems.append(
            _(
                "The outcome recorded at the lock does not agree with the evaluation's status "
                "(%(status)s)."
            )
            % {"status": _status_text(evaluation.status)}
        )
    return problems


LOCK_RECORD_KEYS = ("seed", "eligible", "order", "selected", "scores", "packets")


def _lock_problems(
    evaluation: Evaluation,
    check: DrawCheck,
    scores: dict[str, Decimal],
    consensus: dict[str, dict[str, Any]],
) -> list[str]:
    """Everything the lock recorded against what is recomputed now."""
    problems: list[str] = []
    lock = _lock_record(evaluation, problems)
    if lock is None:
        return problems
    verb, locked = lock
    problems += _status_problems(evaluation, verb)
    if "packets" not in locked:
        problems.append(
            _(
                "The record kept at the lock has no consensus for each bid: this draw is not "
                "bound by the current rules."
            )
        )
    else:
        names = {
            "seed": _("seed"),
            "eligible": _("eligible bids"),
            "order": _("order"),
            "selected": _("selected bid"),
            "scores": _("scores"),
        }
        missing = [str(names[key]) for key in LOCK_RECORD_KEYS[:-1] if key not in locked]
        if missing:
            problems.append(
                _("The record kept at the lock lacks: %(what)s.") % {"what": ", ".join(missing)}
            )
    now = {
        "seed": (evaluation.seed, _("seed")),
        "eligible": (check.eligible, _("eligible bids")),
        "order": ([label for label, _key in check.order], _("order")),
        "selected": (check.selected, _("selected bid")),
        "scores": ({k: str(v) for k, v in sorted(scores.items())}, _("scores")),
    }
    differ = [
        str(name) for key, (value, name) in now.items() if key in locked and locked[key] != value
    ]
    if "packets" in locked:
        recorded = locked["packets"] if isinstance(locked["packets"], dict) else {}
        differ += [
            _("the consensus on %(label)s") % {"label": bid_label(label)}
            for label in sorted(set(recorded) | set(consensus))
            if recorded.get(label) != consensus.get(label)
        ]
    if differ:
        problems.append(
            _("The selection recorded when the consensus was locked differs in: %(what)s.")
            % {"what": ", ".join(differ)}
        )
    return problems


def draw_check(evaluation: Evaluation) -> DrawCheck:
    """Recompute the whole draw from what is published: the seed against the commitment; the
    labels, the bids behind them, the method and the criteria against the digest published
    before scoring; each label's qualification and weighted score from its consensus
    (packet_score); eligibility, the draw's order and the ranking from those
    (selection_ranking); and the record against what the audit trail kept, exactly once each,
    at the close, at the packets and at the lock, where every bid's consensus is kept. Scores
    are read only once the seed is revealed: before that they are the panel's."""
    opportunity = Opportunity.objects.get(pk=evaluation.opportunity_id)
    criteria = list(opportunity.criteria.all())
    packets = list(evaluation.packets.prefetch_related("consensus").order_by("label"))
    revealed = bool(evaluation.seed_revealed_at)
    record = label_record(
        commitment=evaluation.commitment,
        seed=evaluation.seed,
        opportunity=opportunity,
        criteria=criteria,
        receipts=receipt_digests(packets),
    )
    digest = label_digest(record)
    binding = _binding_problems(evaluation, packets, record, digest, revealed=revealed)
    check = DrawCheck(
        revealed=revealed,
        criteria=criteria,
        label_record=record,
        label_digest=digest,
        binding_problems=binding,
        problems=[],
        packets=[],
        eligible=[],
        order=[],
        ranking=[],
    )
    if not check.revealed:
        check.problems = [_("The seed is not revealed yet."), *binding]
        return check
    problems = check.problems
    if Evaluation.commit(evaluation.seed) != evaluation.commitment:
        problems.append(_("The seed does not match the commitment published at the close."))
    problems += binding
    unscorable_problems = unscorable(criteria)
    problems += unscorable_problems
    scores: dict[str, Decimal] = {}
    consensus: dict[str, dict[str, Any]] = {}
    for packet in packets:
        marks = {m.criterion_id: m for m in packet.consensus.all()}
        result = PacketCheck(label=packet.label, marks=[(c, marks.get(c.pk)) for c in criteria])
        check.packets.append(result)
        if unscorable_problems:
            continue  # reported once above; nothing to compare the recorded result with
        if all(_consensus_complete(c, marks.get(c.pk)) for c in criteria):
            result.qualified, result.score = packet_score(packet, criteria)
            if result.qualified:
                scores[packet.label] = result.score
        else:
            problems.append(
                _("%(label)s: the published consensus does not cover every criterion.")
                % {"label": packet.display_label}
            )
        consensus[packet.label] = lock_packet_record(
            marks=marks, criteria=criteria, qualified=result.qualified, score=result.score
        )
        if (packet.qualified, packet.score) != (result.qualified, result.score):
            problems.append(
                _(
                    "%(label)s: the recorded result (%(recorded)s) does not follow from its "
                    "consensus scores (%(computed)s)."
                )
                % {
                    "label": packet.display_label,
                    "recorded": _result_text(packet.qualified, packet.score),
                    "computed": _result_text(result.qualified, result.score),
                }
            )
    eligible, order, ranking = selection_ranking(
        method=opportunity.selection_method,
        seed=evaluation.seed,
        scores=scores,
        margin=opportunity.draw_margin_points,
    )
    check.eligible, check.ranking = eligible, ranking
    check.order = [(label, draw_key(evaluation.seed, label)) for label in order]
    check.selected = ranking[0] if ranking else ""
    if evaluation.eligible_labels != eligible:
        problems.append(
            _(
                "The eligible bids on record (%(recorded)s) are not those the published scores "
                "and the method give (%(computed)s)."
            )
            % {
                "recorded": _labels_text(list(evaluation.eligible_labels)),
                "computed": _labels_text(eligible),
            }
        )
    if evaluation.draw_order != order:
        problems.append(_("The order does not follow from the seed and the eligible labels."))
    rank = {label: i for i, label in enumerate(ranking, start=1)}
    for packet, result in zip(packets, check.packets, strict=True):
        result.rank, result.eligible = rank.get(packet.label), packet.label in eligible
        if packet.rank != result.rank:
            problems.append(
                _(
                    "%(label)s: the recorded rank (%(recorded)s) is not the recomputed one "
                    "(%(computed)s)."
                )
                % {
                    "label": packet.display_label,
                    "recorded": packet.rank or "—",
                    "computed": result.rank or "—",
                }
            )
    if evaluation.selected_label != check.selected:
        problems.append(
            _(
                "The selected bid on record (%(recorded)s) is not the first of the recomputed "
                "ranking (%(computed)s)."
            )
            % {
                "recorded": bid_label(evaluation.selected_label) or "—",
                "computed": bid_label(check.selected) or "—",
            }
        )
    problems += _lock_problems(evaluation, check, scores, consensus)
    return check


def verify_draw(evaluation: Evaluation) -> list[str]:
    """Recompute the public record; returns the problems found (empty: it checks out)."""
    return draw_check(evaluation).problems
