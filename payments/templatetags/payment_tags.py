from __future__ import annotations

from django import template

from payments import gateway
from payments.models import StripeAccount

register = template.Library()


@register.inclusion_tag("payments/stripe_panel.html")
def stripe_payouts_panel(user) -> dict:
    """On the supplier profile: get paid by card through Stripe (when the site uses Stripe)."""
    return {
        "enabled": gateway.enabled(),
        "account": StripeAccount.objects.filter(user=user).first(),
    }
