"""Bilingual content stored as `<field>_en` / `<field>_fr` pairs."""

from __future__ import annotations

import unicodedata
from typing import Any

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


def collation_key(text: str) -> tuple[str, str, str]:
    """Sort `text` as a dictionary of its language does, accents and case set aside first
    ("Île-du-Prince-Édouard" among the I's, "Québec" before "Saskatchewan"); then accents and
    case, so that the order is the same every time. The base letters of Latin scripts are
    what French and English sort on: no locale (and none installed on the server) is needed."""
    decomposed = unicodedata.normalize("NFD", str(text))
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base.casefold(), str(text).casefold(), str(text)


def sorted_choices(choices) -> list[tuple[Any, Any]]:
    """(value, label) pairs in the order of their labels in the current language: call it
    where the form is built for a request, not at import, as the labels are lazy."""
    return sorted(choices, key=lambda choice: collation_key(str(choice[1])))
