from __future__ import annotations

from django import template

from payments import gateway, tax
from payments.models import StripeAccount

register = template.Library()


@register.inclusion_tag("payments/stripe_panel.html")
def stripe_payouts_panel(user) -> dict:
    """On the supplier profile: get paid by card through Stripe (when the site uses Stripe)."""
    return {
        "enabled": gateway.enabled(),
        "account": StripeAccount.objects.filter(user=user).first(),
    }


@register.filter
def tax_name(code: str) -> str:
    """A stored tax code as people read it: "GST" is "TPS" on French pages (as on the PDF)."""
    return tax.tax_name(code or "")
