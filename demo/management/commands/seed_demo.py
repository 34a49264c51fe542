"""Create the demo accounts and data (idempotent: a second run changes nothing)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.logins import logins_table
from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create the demo accounts (all with the password demo-pass-2026!). Safe to re-run."

    def handle(self, *args, **options):
        seed_demo()
        if options["verbosity"] >= 1:
            self.stdout.write(logins_table(style=self.style))
