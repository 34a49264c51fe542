"""Who may do what with a contract or a payment: pure predicates."""

from __future__ import annotations

from marketplace.models import Role, User
from marketplace.permissions import has_role
from opportunities.permissions import is_owning_buyer

from .models import Contract, Payment


def is_contract_supplier(user: User, contract: Contract) -> bool:
    return has_role(user, Role.SUPPLIER) and contract.supplier_id == user.pk


def is_contract_buyer(user: User, contract: Contract) -> bool:
    return is_owning_buyer(user, contract.opportunity)


def is_card_holder(user: User) -> bool:
    return has_role(user, Role.CARD_HOLDER)


def can_view_contract(user: User, contract: Contract) -> bool:
    """The supplier, the buyer and the admins; card holders once there is a payment."""
    return (
        is_contract_supplier(user, contract)
        or is_contract_buyer(user, contract)
        or has_role(user, Role.PROGRAM_ADMIN)
        or (is_card_holder(user) and Payment.objects.filter(contract=contract).exists())
    )


def can_view_payment(user: User, payment: Payment) -> bool:
    """The supplier paid, the buyer, every card holder (any of them may pay) and the admins."""
    return (
        is_contract_supplier(user, payment.contract)
        or is_contract_buyer(user, payment.contract)
        or is_card_holder(user)
        or has_role(user, Role.PROGRAM_ADMIN)
    )
