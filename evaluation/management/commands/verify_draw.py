"""Recompute an opportunity's draw from its public record (anyone can do the same by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evaluation.models import Evaluation
from evaluation.services import draw_key, verify_draw


class Command(BaseCommand):
    help = "Check the draw of an opportunity: seed against commitment, order against the rule."

    def add_arguments(self, parser):
        parser.add_argument("opportunity", type=int, help="the opportunity's number")

    def handle(self, *args, opportunity, **options):
        evaluation = Evaluation.objects.filter(opportunity_id=opportunity).first()
        if evaluation is None:
            raise CommandError(f"Opportunity {opportunity} has no evaluation.")
        if not evaluation.seed_revealed_at:
            raise CommandError("The seed is not revealed yet: the selection is not locked.")
        self.stdout.write(f"commitment  {evaluation.commitment}")
        self.stdout.write(f"seed        {evaluation.seed}")
        self.stdout.write('rule        order the eligible labels by SHA-256("<seed>:<label>")')
        for label in evaluation.draw_order:
            self.stdout.write(f"  {draw_key(evaluation.seed, label)}  {label}")
        problems = verify_draw(evaluation)
        if problems:
            raise CommandError(" ".join(str(p) for p in problems))
        self.stdout.write(
            self.style.SUCCESS(f"The draw checks out. Selected: {evaluation.selected_label or '—'}")
        )
