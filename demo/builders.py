"""The one place the demo history (demo/history.py, bulk inserts) and the benchmark's data set
(bench/data.py, COPY) build rows that the services would otherwise write: each row's field set
is here once, statuses come from the models' Status enums, and every audit verb is checked
against marketplace/audit_verbs.py's registry when the row is built — a verb the registry does
not know stops the seed (or the benchmark) before anything is written.

Rows come in two forms from the same function: `*_row(...)` gives a tuple in the order of the
matching `*_FIELDS` (what COPY and `bulk_create` both take: ids, not objects), and `instance()`
turns such a tuple into an unsaved model instance. The live demo (demo/opportunities.py …)
does not build rows: it calls the services and lifecycle steps, which write their own.

Why not the services for the history and the benchmark: replaying a year (or five years and a
million events) through them would send hundreds of notifications and take minutes to hours.
What keeps the bulk rows honest is that they share these builders, and that
tests/test_demo_data.py compares what the seed wrote with the registry and the lifecycles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from allauth.account.models import EmailAddress
from django.db import models

from marketplace import audit_verbs
from marketplace.models import AuditEvent, RoleGrant, User

M = TypeVar("M", bound=models.Model)

# --- Audit events --------------------------------------------------------------------------------

AUDIT_EVENT_FIELDS = (
    "created_at",
    "verb",
    "actor_id",
    "target_type_id",
    "target_id",
    "target_repr",
    "data",
)


def verb(name: str) -> str:
    """`name`, when the registry has it; otherwise LookupError (marketplace.audit_verbs.verb,
    the check the app's own readers of the trail use)."""
    return audit_verbs.verb(name)


def moved(was: str, to: str, **data: Any) -> dict[str, Any]:
    """The data of a transition's audit event, as marketplace.transitions writes it:
    {"from": …, "to": …} (the statuses' values) plus what the step adds."""
    return {"from": str(was), "to": str(to), **data}


def audit_event_row(
    *,
    at: dt.datetime,
    verb_name: str,
    actor_id: int | None,
    target_type_id: int | None,
    target_id: Any,
    target_repr: str,
    data: Mapping[str, Any] | None = None,
) -> tuple:
    """One audit event in AUDIT_EVENT_FIELDS order (marketplace.services.audit_event_record
    writes the same: the target as a content type and a text id, its str() cut to 255)."""
    return (
        at,
        verb(verb_name),
        actor_id,
        target_type_id,
        "" if target_id is None else str(target_id),
        target_repr[:255],
        dict(data or {}),
    )


# --- People --------------------------------------------------------------------------------------

USER_FIELDS = ("email", "full_name", "preferred_language", "date_joined", "password")
ROLE_GRANT_FIELDS = ("user_id", "role", "granted_by_id", "granted_at")
EMAIL_ADDRESS_FIELDS = ("user_id", "email", "verified", "primary")


def user_row(
    *, email: str, full_name: str, language: str, joined: dt.datetime, password: str
) -> tuple:
    """An account in USER_FIELDS order (`password`: a hash, or "!…" for an unusable one)."""
    return (email, full_name, language, joined, password)


def role_grant_row(
    *, user_id: int, role: str, granted_by_id: int | None, granted_at: dt.datetime
) -> tuple:
    """A role in ROLE_GRANT_FIELDS order (`role`: a marketplace.models.Role)."""
    return (user_id, str(role), granted_by_id, granted_at)


def email_address_row(*, user_id: int, email: str) -> tuple:
    """The account's address, primary and verified (as a demo or benchmark account is)."""
    return (user_id, email, True, True)


# --- Rows as instances ---------------------------------------------------------------------------


def instance(model: type[M], fields: Sequence[str], row: Sequence[Any]) -> M:
    """An unsaved `model` from a row and its field names (for `bulk_create`)."""
    return model(**dict(zip(fields, row, strict=True)))


def audit_event(**kwargs: Any) -> AuditEvent:
    return instance(AuditEvent, AUDIT_EVENT_FIELDS, audit_event_row(**kwargs))


def user(**kwargs: Any) -> User:
    return instance(User, USER_FIELDS, user_row(**kwargs))


def role_grant(**kwargs: Any) -> RoleGrant:
    return instance(RoleGrant, ROLE_GRANT_FIELDS, role_grant_row(**kwargs))


def email_address(**kwargs: Any) -> EmailAddress:
    return instance(EmailAddress, EMAIL_ADDRESS_FIELDS, email_address_row(**kwargs))
