"""The live demo and its past year, in order (`manage.py seed_demo`; idempotent: a second run
changes nothing)."""

from __future__ import annotations

from django.db import transaction

from marketplace.models import User
from reports.services import diversity_snapshots_take, metrics_snapshot_take

from .accounts import SUPPLIERS, seed_accounts
from .bids import seed_bids
from .evaluation import seed_awards, seed_evaluation
from .history import seed_history
from .opportunities import seed_opportunities
from .payments import seed_payments


@transaction.atomic
def seed_demo() -> None:
    seed_accounts()
    seed_opportunities(
        buyer=User.objects.get(email="buyer@demo.gc.ca"),
        admin=User.objects.get(email="admin@demo.gc.ca"),
        suppliers=[User.objects.get(email=email) for email, *_rest in SUPPLIERS],
    )
    seed_bids()
    seed_evaluation()
    seed_awards()
    seed_payments()
    # After the live demo's payments: the history keeps out of the current month's limits.
    seed_history()
    # The dashboard's measures, as the nightly job would have left them (once a day).
    metrics_snapshot_take()
    # The diversity figures of the history's past quarters, as the nightly job
    # would have kept them (each quarter once; a second run adds none).
    diversity_snapshots_take()
