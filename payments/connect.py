"""The suppliers' Stripe Connect Express accounts: created on first use, and kept as Stripe
last described them (on return from onboarding, and by `account.updated` webhooks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.models import User
from marketplace.services import audit_event_record

from . import gateway
from .models import StripeAccount


def stripe_account_ensure(*, supplier: User) -> StripeAccount:
    """The supplier's Connect Express account, created on first use (idempotent per user)."""
    existing = StripeAccount.objects.filter(user=supplier).first()
    if existing is not None:
        return existing
    profile = supplier.supplier_profile
    account = gateway.account_create(
        user_id=supplier.pk,
        email=profile.email or supplier.email,
        individual=profile.kind == profile.Kind.INDIVIDUAL,
    )
    try:
        with transaction.atomic():
            created = StripeAccount.objects.create(user=supplier, account_id=account["id"])
            audit_event_record(actor=supplier, verb="stripe.account_created", target=created)
    except IntegrityError:  # a double click: the idempotency key gave the same account
        return StripeAccount.objects.get(user=supplier)
    return created


def stripe_account_apply(account: StripeAccount, data: Any, *, at: dt.datetime) -> bool:
    """Apply Stripe's view of the account unless a newer one was applied already."""
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if locked.synced_at is not None and at < locked.synced_at:
            return False
        locked.details_submitted = bool(data.get("details_submitted"))
        locked.charges_enabled = bool(data.get("charges_enabled"))
        locked.payouts_enabled = bool(data.get("payouts_enabled"))
        locked.synced_at = at
        locked.save()
    return True


def stripe_account_refresh(account: StripeAccount) -> StripeAccount:
    # Stripe's event times are whole seconds: an event of this very second still applies.
    now = timezone.now().replace(microsecond=0)
    stripe_account_apply(account, gateway.account_retrieve(account.account_id), at=now)
    account.refresh_from_db()
    return account
