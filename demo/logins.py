"""The demo accounts as a table, to sign in with (`manage.py demo_logins`; `make demo` prints it
last, after the seed's own output, just before the server starts)."""

from __future__ import annotations

from typing import Any

from marketplace.models import Role

from .accounts import DEMO_PASSWORD, STAFF, SUPPLIERS
from .history import HISTORY_STAFF


def logins() -> list[tuple[str, str]]:
    """(email, what the account is for) of every demo account: the live demo's staff, its
    suppliers, then the past year's staff (demo.history)."""
    rows = []
    for email, name, _language, roles in STAFF:
        what = ", ".join(str(Role(role).label) for role in roles) or "Technical administration"
        rows.append((email, f"{what} ({name})"))
    for email, _language, profile in SUPPLIERS:
        rows.append((email, f"Supplier ({profile['legal_name']})"))
    for email, name, _language, role in HISTORY_STAFF:
        rows.append((email, f"{Role(role).label}, the past year ({name})"))
    return rows


def logins_table(*, style: Any = None) -> str:
    """The accounts, one a line, under a heading with the password."""
    rows = logins()
    width = max(len(email) for email, _what in rows)
    heading = f"Demo accounts (password for all: {DEMO_PASSWORD})"
    lines = [style.SUCCESS(heading) if style is not None else heading]
    lines += [f"  {email:<{width}}  {what}" for email, what in rows]
    return "\n".join(lines)
