"""Django's `migrate`, without the statement time limit on its own connection.

Web requests and tasks run under `DATABASE_STATEMENT_TIMEOUT` (settings): nothing waits
forever. A migration that builds an index or rewrites a large table may rightly take longer,
so this command lifts that limit for the connection it migrates through (PostgreSQL's
`SET statement_timeout`, while it runs). The lock limit stays: a migration that cannot
get its table lock quickly gives up rather than queue every request behind it.
"""

from __future__ import annotations

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections


class Command(MigrateCommand):
    def handle(self, *args, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            return super().handle(*args, **options)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout TO 0")
        try:
            return super().handle(*args, **options)
        finally:
            # Back to the connection's own limit for whatever this process does next (tests,
            # the benchmark's load): RESET returns to what the connection started with.
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
