"""Audit events and payment history as people read them (marketplace/audit_verbs.py)."""

from __future__ import annotations

from django import template

from marketplace import audit_verbs

register = template.Library()


@register.filter
def audit_sentence(event) -> str:
    """An audit event's verb as a sentence in the reader's language."""
    return audit_verbs.sentence(event.verb, event.data)


@register.filter
def payment_event_sentence(event) -> str:
    """A line of a payment's history as a sentence in the reader's language."""
    return audit_verbs.payment_event_sentence(event.kind, event.data)
