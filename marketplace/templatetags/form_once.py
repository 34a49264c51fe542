"""`{% form_once %}`: the one-time key of a form that changes something (marketplace/once.py)."""

from django import template
from django.utils.safestring import SafeString

from marketplace import once

register = template.Library()


@register.simple_tag(name="form_once")
def form_once() -> SafeString:
    """A hidden field with a fresh key: put it in every POST form that changes state."""
    return once.hidden_input()
