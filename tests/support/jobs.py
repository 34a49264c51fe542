"""What `marketplace.jobs` handed to Celery by name, and whether each run succeeded.

Tests run tasks in-process (tests/conftest.py): a name that is not registered, arguments the task
does not take, or a task that fails shows here, where a test can assert it, instead of being
lost in an eager result nobody reads."""

from __future__ import annotations

from typing import Any

from marketplace import jobs


class RanByName:
    def __init__(self, monkeypatch) -> None:
        self.runs: list[tuple[str, bool]] = []
        real = jobs.task_named
        runs = self.runs

        def recording(name: str):
            task = real(name)

            class Recorded:
                def apply_async(self, *args: Any, **options: Any):
                    result = task.apply_async(*args, **options)
                    runs.append((name, result.successful()))
                    return result

            return Recorded()

        monkeypatch.setattr(jobs, "task_named", recording)

    def names(self) -> set[str]:
        """The names that ran (each run must have succeeded)."""
        assert all(ok for _name, ok in self.runs), self.runs
        return {name for name, _ok in self.runs}
