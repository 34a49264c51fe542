"""How evaluators read a packet: paragraphs, each redaction said in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from bids.identity import REDACTED
from marketplace import labels as packet_labels

register = template.Library()


@register.filter
def packet_answer(text: str) -> SafeString:
    """The answer escaped and in paragraphs; the stored redaction mark becomes a visible, labelled
    mark in the reader's language ("[caviardé]" on French pages)."""
    mark = format_html('<span class="redacted">{}</span>', _("[redacted]"))
    escaped = str(mark).join(escape(part) for part in (text or "").split(REDACTED))
    # Paragraphs of the text escaped just above, and our own marks: safe to show as they are.
    return SafeString(linebreaks(escaped))  # nosec B703


@register.filter
def bid_label(label: str) -> str:
    """A label on record as people read it: "Soumission K7Q" on French pages."""
    return packet_labels.bid_label(label or "")


@register.filter
def bid_labels(labels: list[str]) -> str:
    """Labels on record as people read them, joined by commas; "—" for none."""
    return packet_labels.bid_labels(list(labels or []))
