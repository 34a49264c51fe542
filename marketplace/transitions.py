"""The one way a lifecycle status changes (docs/DESIGN.md, "Lifecycles").

Five models have a lifecycle: the opportunity, the bid, the evaluation, the contract and the
payment. Each declares its graph as `TRANSITIONS` (status → the statuses it may become) through
`LifecycleModel`, and every change of status goes through `transition` (one row) or
`transition_many` (the rows of a queryset), which do the same four things in the same order:

1. **guard**: the row is locked (`SELECT … FOR NO KEY UPDATE OF` the row alone: a status is not
   a key, so rows that merely point at it are not held up) and the move checked against the
   graph on the locked copy; a move the graph does not allow raises `ValidationError` with the
   model's `transition_refused` sentence and writes nothing;
2. **write**: the status and the fields that change with it (a stamp such as `closed_at`) are
   saved in one `UPDATE`;
3. **who and when**: `status_changed_at` when the model keeps it, and the actor in the event;
4. **audit**: one `AuditEvent` per row, `{"from": …, "to": …}` plus the caller's data.

Callers run inside their own transaction (the lock lasts until it commits) and decide what else
happens: notifications, tasks and the public-page cache (`marketplace.caching`) are theirs to
call, because only they know whether the change is seen by anyone. `tests/test_architecture.py`
checks that no status is written any other way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .models import AuditEvent, User
from .services import audit_event_record

M = TypeVar("M", bound="LifecycleModel")


class LifecycleModel(models.Model):
    """A model whose `status` follows a graph. Subclasses set `Status`, `TRANSITIONS` and
    `transition_refused` (a lazy sentence with `%(current)s` and `%(target)s`)."""

    TRANSITIONS: ClassVar[Mapping[str, frozenset[str]]]
    transition_refused: ClassVar[Any]

    class Meta:
        abstract = True

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]  # type: ignore[attr-defined]

    def status_label(self, status: str | None = None) -> str:
        field = self._meta.get_field("status")
        value = self.status if status is None else status  # type: ignore[attr-defined]
        return str(dict(field.flatchoices).get(value, value))  # type: ignore[union-attr]


def _refusal(row: LifecycleModel, to: str) -> ValidationError:
    return ValidationError(
        type(row).transition_refused
        % {"current": row.status_label(), "target": row.status_label(to)}
    )


def _write(row: LifecycleModel, to: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {"status": to, **fields}
    if any(f.name == "status_changed_at" for f in row._meta.concrete_fields):
        values.setdefault("status_changed_at", timezone.now())
    if any(f.name == "updated_at" for f in row._meta.concrete_fields):
        values.setdefault("updated_at", timezone.now())
    for name, value in values.items():
        setattr(row, name, value)
    return values


def transition(
    row: M,
    to: str,
    *,
    actor: User | None,
    verb: str,
    data: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
    related: Iterable[str] = (),
) -> tuple[M, AuditEvent]:
    """Move one row to `to` (guard → write → who/when → audit). Returns the locked, updated copy
    (with `related` selected) and the audit event, whose id keys the notifications."""
    model = type(row)
    locked = (
        model._default_manager.select_for_update(of=("self",), no_key=True)
        .select_related(*related)
        .get(pk=row.pk)
    )
    if not locked.can_transition_to(to):
        raise _refusal(locked, to)
    previous = locked.status  # type: ignore[attr-defined]
    values = _write(locked, to, fields or {})
    model._default_manager.filter(pk=locked.pk).update(**values)
    event = audit_event_record(
        actor=actor, verb=verb, target=locked, data={"from": previous, "to": to, **(data or {})}
    )
    return locked, event


def transition_many(
    rows: models.QuerySet[M],
    to: str,
    *,
    actor: User | None,
    verb: str,
    data: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> list[M]:
    """Move every row of `rows` to `to`, all or none: one refused row refuses them all. One
    audit event per row; returns the moved rows (an empty queryset moves nothing)."""
    locked = list(rows.select_for_update(of=("self",), no_key=True).order_by("pk"))
    for row in locked:
        if not row.can_transition_to(to):
            raise _refusal(row, to)
    if not locked:
        return []
    model = rows.model
    previous = {row.pk: row.status for row in locked}  # type: ignore[attr-defined]
    values: dict[str, Any] = {}
    for row in locked:
        values = _write(row, to, fields or {})
    model._default_manager.filter(pk__in=list(previous)).update(**values)
    for row in locked:
        audit_event_record(
            actor=actor,
            verb=verb,
            target=row,
            data={"from": previous[row.pk], "to": to, **(data or {})},
        )
    return locked
