"""How a contract or a payment moves, and what its notifications say about it.

The lowest of the payments modules (docs/DESIGN.md, "Layers"): every flow above it
(`contracts`, `paying`, `recorded`, `checkout`, `webhooks`, `reconciliation`) changes a status
only through `contract_transition` / `payment_transition`, which go through
`marketplace.transitions.transition` (guard → write → who/when → audit event). A payment also
keeps its own history: every move and every note appends a `PaymentEvent` next to the audit
event, which the payment page shows.
"""

from __future__ import annotations

from typing import Any

from marketplace import notifications as notices
from marketplace.models import User
from marketplace.transitions import transition
from opportunities.notices import notice_context

from .models import Contract, Payment, PaymentEvent


def contract_transition(
    contract: Contract, to: str, *, actor: User | None, verb: str, **data: Any
) -> Contract:
    """Move the contract to `to` (locked, its opportunity selected). Callers run in a
    transaction and save the fields that change with the status."""
    locked, _event = transition(
        contract, to, actor=actor, verb=verb, data=data, related=("opportunity",)
    )
    return locked


def contract_context(contract: Contract, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("payments:contract", pk=contract.pk))
    return notice_context(contract.opportunity, **extra)


def payment_transition(
    payment: Payment, to: str, *, actor: User | None, kind: str, **data: Any
) -> Payment:
    """Move the payment to `to` (the audit verb is `payment.<kind>`) and append the same move
    to its history. Callers run in a transaction."""
    locked, event = transition(
        payment, to, actor=actor, verb=f"payment.{kind}", data=data,
        related=("contract__opportunity", "contract__supplier"),
    )  # fmt: skip
    PaymentEvent.objects.create(
        payment=locked,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        from_status=event.data["from"],
        to_status=to,
        data=data,
    )
    return locked


def payment_note(payment: Payment, kind: str, *, actor: User | None = None, **data: Any) -> None:
    """An event that does not move the payment (a duplicate, a transfer, a payout)."""
    PaymentEvent.objects.create(
        payment=payment,
        kind=kind,
        actor=actor,
        from_status=payment.status,
        to_status=payment.status,
        data=data,
    )


def payment_context(payment: Payment, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("payments:detail", pk=payment.pk))
    return contract_context(payment.contract, amount=notices.money(payment.total_cents), **extra)
