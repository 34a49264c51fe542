"""Print the demo accounts and their password (`make demo` prints it after seeding)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.logins import logins_table


class Command(BaseCommand):
    help = "List the demo accounts and their password (after `manage.py seed_demo`)."

    def handle(self, *args, **options):
        self.stdout.write(logins_table(style=self.style))
