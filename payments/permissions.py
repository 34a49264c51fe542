"""Who may do what with a contract: pure predicates."""

from __future__ import annotations

from marketplace.models import Role, User
from marketplace.permissions import has_role
from opportunities.permissions import is_owning_buyer

from .models import Contract


def is_contract_supplier(user: User, contract: Contract) -> bool:
    return has_role(user, Role.SUPPLIER) and contract.supplier_id == user.pk


def is_contract_buyer(user: User, contract: Contract) -> bool:
    return is_owning_buyer(user, contract.opportunity)


def can_view_contract(user: User, contract: Contract) -> bool:
    return (
        is_contract_supplier(user, contract)
        or is_contract_buyer(user, contract)
        or has_role(user, Role.PROGRAM_ADMIN)
    )
