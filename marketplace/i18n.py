"""Bilingual content stored as `<field>_en` / `<field>_fr` pairs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language


def in_current_language(english: str, french: str) -> str:
    """The French text on French pages when there is one; the English text otherwise."""
    if (get_language() or "en").startswith("fr") and french:
        return french
    return english


def choice_label(choices: type[models.Choices], value: str) -> str:
    """The label of `value` in the current language, or `value` itself when it is not one.

    Django's `get_<field>_display` translates every label of the field to find one (it hashes
    each lazy label); models of long lists define theirs with this: one translation a call."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def format_cents(cents: int) -> str:
    """Integer cents as a dollar amount with thousands separators: 1000000 → '10,000.00'."""
    return f"{cents / 100:,.2f}"


def format_money(cents: int) -> str:
    """Integer cents as dollars, as the site shows them: 150000 → '$1,500.00'."""
    return f"${format_cents(cents)}"
