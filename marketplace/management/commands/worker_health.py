"""Health check of a Celery worker: does the worker of this host answer through the broker?

docker-compose.yml runs it in the worker's container (its hostname names the worker); exit
status 0 when it answers within the timeout, 1 otherwise (a dead worker, or no broker).
"""

from __future__ import annotations

import socket

from django.core.management.base import BaseCommand, CommandError

from marketplace.celery import app


class Command(BaseCommand):
    help = "Exit 0 if this host's Celery worker answers a ping through the broker, else 1."

    def add_arguments(self, parser):
        parser.add_argument(
            "--worker",
            default=f"celery@{socket.gethostname()}",
            help="the worker's node name (default: celery@<this host>)",
        )
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait")

    def handle(self, *args, worker: str, timeout: float, **options):
        try:
            replies = app.control.ping(destination=[worker], timeout=timeout)
        except Exception as error:  # the broker itself cannot be reached
            raise CommandError(f"No broker: {error}") from error
        if not any(worker in reply for reply in replies):
            raise CommandError(f"{worker} did not answer within {timeout:g} s.")
        self.stdout.write(f"{worker} answers.")
