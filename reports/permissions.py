"""Pure predicates about who may see program metrics and who may self-identify."""

from __future__ import annotations

from marketplace.models import User
from marketplace.permissions import is_program_admin, is_supplier


def can_self_identify(user: User) -> bool:
    """Only suppliers describe themselves; staff never see anyone's answers."""
    return is_supplier(user)


def can_view_metrics(user: User) -> bool:
    """The program dashboard and its CSV exports (aggregates only, small cells suppressed)."""
    return is_program_admin(user)
