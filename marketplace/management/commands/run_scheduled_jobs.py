"""Run the scheduled jobs once, now, in this process (the embedded demo has no beat)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.celery import app


class Command(BaseCommand):
    help = "Run every Celery beat job once (or only those named), as beat would."

    def add_arguments(self, parser):
        parser.add_argument(
            "jobs", nargs="*", help="beat entry names, e.g. send-outbox (default: all)"
        )

    def handle(self, *args, jobs, **options):
        schedule = settings.CELERY_BEAT_SCHEDULE
        unknown = set(jobs) - set(schedule)
        if unknown:
            raise CommandError(
                f"Unknown jobs: {', '.join(sorted(unknown))}. Known: {', '.join(schedule)}"
            )
        app.loader.import_default_modules()
        for name in jobs or schedule:
            result = app.tasks[schedule[name]["task"]].apply(throw=True).get()
            self.stdout.write(f"{name}: {result}")
