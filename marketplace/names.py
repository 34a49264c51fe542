"""A person's name as they type it, made safe to store, show and greet them by (issue 21).

The name is text a stranger chooses and other people read: in the greeting of the email that
confirms an address (sent to whoever owns that address, not to the person who typed the name),
on evaluation pages, in the admin. So it is written in the form Unicode calls canonical, on one
line, without the invisible characters that reorder or hide text, and without a web or email
address to pass off as ours.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 200  # User.full_name

# Joiners shape letters in Persian, Arabic and the scripts of India: part of some names.
_JOINERS = {"\u200c", "\u200d"}
# Control, format (bidi overrides and isolates, zero-width spaces, BOM), private-use, surrogate
# and unassigned characters, and the line and paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
# Letters and marks that show as nothing, though Unicode does not file them as format
# characters: the Hangul fillers (a name of "ㅤ" greets no one), the blank Braille pattern (a
# "space" that `split` keeps, so the first word an email greets by can be a whole sentence),
# the combining grapheme joiner and Khmer's inherent vowels (issue 21, helper H).
_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f", "\u17b4", "\u17b5"}
_ADDRESS = re.compile(r"@|://|\bwww\.", re.IGNORECASE)
# A bare domain ("gc-login.ca", "evil。com"): a letter or digit, a dot, two letters. Mail programs
# make it a link. Checked on the compatibility form, where full-width letters and dots are
# plain ones, with the dots web addresses also accept. "J.R.R. Tolkien" and "St. John" pass.
_DOMAIN = re.compile(r"[^\W_]\.[^\W\d_]{2}")
_DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})
# Accents and other marks on one letter: Hebrew, Thai or Tibetan put up to four; "Zalgo" text
# piles dozens, spilling over the lines around it.
_MOST_MARKS = 4


def person_name_clean(value: str) -> str:
    """The name to store: canonical (NFC), runs of spaces made one, trimmed.

    Refused with a message the person can act on: nothing but spaces or punctuation, a line
    break, tab or other invisible character, a web or email address (a bare domain too), more
    than four accents or marks on one letter, more than 200 characters.
    """
    name = unicodedata.normalize("NFC", str(value or ""))
    if any(
        (unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _JOINERS)
        or char in _BLANKS
        for char in name
    ):
        raise ValidationError(
            _(
                "Your name cannot contain line breaks, tabs or invisible characters (such as "
                "text-direction marks). Type it again."
            ),
            code="name_invisible",
        )
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Enter your full name."), code="required")
    if not any(unicodedata.category(char).startswith("L") for char in name):
        raise ValidationError(_("Enter your name in letters."), code="name_no_letters")
    if _ADDRESS.search(name) or _DOMAIN.search(
        unicodedata.normalize("NFKC", name).translate(_DOTS)
    ):
        raise ValidationError(
            _("Your name cannot contain a web or email address."), code="name_address"
        )
    if _marks_in_a_row(name) > _MOST_MARKS:
        raise ValidationError(
            _("Your name has too many accents or marks on one letter. Type it again."),
            code="name_marks",
        )
    if len(name) > MAX_LENGTH:
        raise ValidationError(
            _("Your name can have at most %(limit)d characters (it has %(length)d).")
            % {"limit": MAX_LENGTH, "length": len(name)},
            code="max_length",
        )
    return name


def _marks_in_a_row(name: str) -> int:
    """The most combining marks (accents, vowel signs, variation selectors) on one character."""
    most = run = 0
    for char in name:
        run = run + 1 if unicodedata.category(char) in {"Mn", "Me"} else 0
        most = max(most, run)
    return most
