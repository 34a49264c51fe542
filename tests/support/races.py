"""Two people (or tabs) doing things at the same moment, on PostgreSQL: each attempt on its own
connection, started together, and what each one got."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (run by `make test` with DATABASE_URL set)")


def _race(*attempts: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the callables at the same moment, each on its own connection: ("ok", result),
    ("refused", messages) for a `ValidationError`, ("denied", None), or ("error", repr) for
    anything else — what a page would answer with a 500."""
    results: list[tuple[str, Any]] = [("missing", None)] * len(attempts)
    start = threading.Barrier(len(attempts))

    def run(index: int, attempt: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[index] = ("ok", attempt())
        except ValidationError as refused:
            results[index] = ("refused", refused.messages)
        except PermissionDenied:
            results[index] = ("denied", None)
        except Exception as error:  # what the test is looking for
            results[index] = ("error", repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _outcomes(results: list[tuple[str, Any]]) -> list[str]:
    assert not [r for r in results if r[0] in ("error", "missing")], results
    return sorted(outcome for outcome, _detail in results)
