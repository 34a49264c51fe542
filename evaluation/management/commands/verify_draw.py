"""Recompute an opportunity's draw from its public record (anyone can do the same by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evaluation.draw import LABEL_RECORD_HEADER
from evaluation.models import Evaluation
from evaluation.verification import draw_check


class Command(BaseCommand):
    help = (
        "Check the draw of an opportunity step by step: the seed against the commitment, the "
        "labels, the bids behind them and the criteria against the digest published before "
        "scoring, eligibility and the selection against the published consensus scores and "
        "method, and all of it against the audit trail. Fails on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("opportunity", type=int, help="the opportunity's number")

    def handle(self, *args, opportunity, **options):
        evaluation = (
            Evaluation.objects.filter(opportunity_id=opportunity).select_related("opportunity")
        ).first()
        if evaluation is None:
            raise CommandError(f"Opportunity {opportunity} has no evaluation.")
        if not evaluation.seed_revealed_at:
            raise CommandError("The seed is not revealed yet: the selection is not locked.")
        check = draw_check(evaluation)
        out = self.stdout.write
        seed = evaluation.seed

        out("1. The commitment, published at the close")
        out(f"   commitment      {evaluation.commitment}")
        out("2. The seed, revealed at the lock; its SHA-256 must equal the commitment")
        out(f"   seed            {seed}")
        out(f"   SHA-256(seed)   {Evaluation.commit(seed)}")
        out("3. The digest of the labels, published before scoring")
        out("   rule: SHA-256 of this UTF-8 text, every line ending with a line feed:")
        out(f'   "{LABEL_RECORD_HEADER}"; "commitment <commitment>"; "method <code>";')
        out('   "margin <points or none>"; per criterion in order "criterion <n> id <id> mandatory')
        out('   en <E> fr <F>" or "criterion <n> id <id> rated weight <w> max <m> en <E> fr <F>",')
        out("   <E> and <F> the SHA-256 of its English and French texts; per bid, sorted by")
        out('   character code (LC_ALL=C sort), "label <label> receipt <R>", <R> the SHA-256 of')
        out('   "<seed>:<label>:<SHA-256 digest on the last receipt of the bid behind it>"')
        for line in check.label_record.splitlines():
            out(f"   | {line}")
        out(f"   published       {evaluation.label_digest or '(none)'}")
        out(f"   recomputed      {check.label_digest}")
        method = evaluation.opportunity.selection_method
        margin = evaluation.opportunity.draw_margin_points
        margin = "none" if margin is None else margin
        out(f"4. Each bid's result from its consensus (method {method}, margin {margin})")
        out("   qualified: passes every mandatory criterion; score: sum of weight x score / max,")
        out("   x 100 / sum of weights, to the hundredth")
        for packet in check.packets:
            marks = []
            for number, (criterion, mark) in enumerate(packet.marks, start=1):
                if mark is None:
                    value = "missing"
                elif criterion.kind == criterion.Kind.MANDATORY:
                    value = {True: "pass", False: "fail", None: "missing"}[mark.passed]
                else:
                    value = f"{mark.score}/{criterion.max_score} w{criterion.weight or 1}"
                marks.append(f"c{number} {value}")
            qualified = {True: "qualified", False: "not qualified", None: "incomplete"}
            out(
                f"   {packet.label}  {'; '.join(marks)}  ->  {qualified[packet.qualified]}, "
                f"score {packet.score if packet.score is not None else '-'}, "
                f"{'eligible' if packet.eligible else 'not eligible'}, "
                f"rank {packet.rank or '-'}"
            )
        out(f"   eligible        {', '.join(check.eligible) or '-'}")
        out(f"   on record       {', '.join(evaluation.eligible_labels) or '-'}")
        out('5. The draw\'s order: the eligible bids by SHA-256("<seed>:<label>"), smallest first')
        for key_label, key in check.order:
            out(f"   {key}  {key_label}")
        out(f"   on record       {', '.join(evaluation.draw_order) or '-'}")
        out("6. The selection: the first of the ranking")
        out(f"   ranking         {', '.join(check.ranking) or '-'}")
        out(f"   selected        {check.selected or '-'}")
        out(f"   on record       {evaluation.selected_label or '-'}")
        if check.problems:
            for problem in check.problems:
                self.stderr.write(f"MISMATCH: {problem}")
            raise CommandError(
                "The draw does not check out: " + " ".join(str(p) for p in check.problems)
            )
        self.stdout.write(
            self.style.SUCCESS(f"The draw checks out. Selected: {evaluation.selected_label or '—'}")
        )
