"""Text one person writes and others read on a public page or in an email (questions, answers,
bid answers): what is kept of it, and how long it may be (issue 23).

Kept as typed, except what has no place in it: control characters other than tabs and line
breaks (a NUL byte, which PostgreSQL refuses, would otherwise reach the database as an error
page), and the invisible marks that reverse the direction of the text around them (a "right-to-
left override" makes a page show words other than those stored). Line breaks are counted as a
browser counts them (one character each, where the form submits two), so that a text the
field's `maxlength` and counter accept is not refused by the server.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import formats

# C0 and C1 controls except tab and line feed (a carriage return becomes a line feed first).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Embeddings, overrides and isolates (and their terminators): U+202A-U+202E, U+2066-U+2069.
_DIRECTION_MARKS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def public_text_clean(value: str | None) -> str:
    """The text to store: line breaks as line feeds, no control or direction-override
    characters, no spaces around it."""
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _DIRECTION_MARKS.sub("", _CONTROLS.sub("", text)).strip()


def too_long(value: str, limit: int) -> ValidationError | None:
    """The refusal for a text over its limit, saying by how much, or None."""
    if len(value) <= limit:
        return None
    return ValidationError(
        _("Shorten this to %(limit)s characters or fewer: it has %(length)s."),
        code="max_length",
        params={"limit": formats.number(limit), "length": formats.number(len(value))},
    )


def _hint(limit: int) -> str:
    return gettext("At most %(limit)s characters.") % {"limit": formats.number(limit)}


# The limit as a field's hint says it ("At most 5,000 characters."), in the reader's language.
length_hint = lazy(_hint, str)
