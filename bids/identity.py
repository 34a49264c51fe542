"""Finding a supplier's own identity in what they wrote (evaluation is blind, DESIGN.md §5).

One matcher serves the supplier's warning before they submit, the redaction of answers in the
evaluation packets and the check of attachments' text, so all three see the same things.

A determined bidder (or a careless one) writes a name in ways a plain search misses: split by a
line break, with a soft hyphen or a zero-width space inside, in decomposed Unicode, in full-width
letters, with Cyrillic or Greek look-alikes, an email as "jane at example dot com", a phone as
204/555/0123. So both the text and every token are *folded* the same way before matching:
compatibility decomposition (NFKD: full-width, ligatures, accents split off), accents and
invisible or format characters dropped (soft hyphen, zero-width, bidi marks), case folded and
look-alike letters from other scripts mapped to the Latin letter they imitate (the Unicode
confusables table, through the confusable-homoglyphs package). Between the words of a name any
run of spaces, line breaks and punctuation matches. Each folded character remembers the original
character it came from, so redaction replaces exactly what the supplier typed, whatever its
encoding.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from confusable_homoglyphs.confusables import confusables_data
from django.utils.translation import gettext_lazy as _

from marketplace.models import SupplierProfile, User

MIN_TOKEN_LENGTH = 3


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Legal forms at the end of a firm's name, which people often leave out when they write it.
LEGAL_SUFFIX = re.compile(
    r"[\s,]+(inc|incorporated|ltd|limited|ltée|ltee|llc|llp|corp|corporation|co-op|coop|"
    r"co-operative|cooperative|coopérative|enr|s\.?e\.?n\.?c\.?(r\.?l\.?)?|s\.?a\.?)\.?$",
    re.IGNORECASE,
)
# Words that say what a firm does or what it is, in either language. A part of a firm's name made
# only of these ("Code Works", "Accessibility Co-op") is ordinary prose, not an identity; a part
# with one other word ("Northern Lights", "Leaf Code") is distinctive.
GENERIC_WORDS = _word_set(
    """
    a an and the of for to in on at by with de des du la le les l d et en au aux pour par sur
    co op coop cooperative cooperatives cooperatif cooperative collective collectif company
    compagnie corp corporation inc incorporated ltd limited ltee llc llp enr senc sa group groupe
    agency agence associates associes partners partenaires enterprises entreprises enterprise
    entreprise business affaires firm cabinet bureau office studio studios lab labs
    laboratory laboratoire works workshop atelier shop
    code coding software logiciel logiciels web digital numerique tech technology technologies
    technologie technologique technologiques data donnees cloud app apps application applications
    it ti informatique computing systems system systemes systeme solutions solution services
    service consulting consultants consultant conseil conseils conseillers development developers
    developer developpement developpeurs dev devs design designs creative creatif media medias
    accessibility accessible accessibilite a11y access inclusive inclusion ux ui research recherche
    analytics security securite network networks reseau open source libre
    canada canadian canadien canadienne national nationale international global north south east
    west nord sud est ouest new nouveau nouvelle first premier one un une
    """
)
SMALL_WORDS = _word_set("a an and the of for de des du la le les l d et en au aux pour")
# The part before the @ of a shared or role mailbox says nothing about who the supplier is.
GENERIC_MAILBOXES = _word_set(
    "info contact hello bonjour admin office bureau sales ventes support team equipe mail courriel "
    "jobs emplois dev billing facturation accounts comptes noreply no-reply"
)
# Mail providers many people share: their domain alone does not point at one supplier.
SHARED_MAIL_DOMAINS = _word_set(
    "gmail.com googlemail.com outlook.com hotmail.com hotmail.ca live.com live.ca msn.com "
    "yahoo.com yahoo.ca ymail.com icloud.com me.com mac.com proton.me protonmail.com pm.me "
    "aol.com gmx.com mail.com zoho.com fastmail.com videotron.ca sympatico.ca bell.net shaw.ca "
    "telus.net rogers.com cogeco.ca"
)

PERSON_LABELS = (_("name"), _("contact person"))
FIRM_LABELS = (_("legal name"), _("trading name"))

# Between two words of a name: any short run of spaces, line breaks and punctuation (none at all
# too: "NorthernLights"), or "dot"/"point" written out.
SEP = r"(?:[\W_]{0,5}(?:dot|point)[\W_]{0,5}|[\W_]{0,10})"
# Inside one word: a hyphen at the end of a line ("Oka-\nfor"), or, in a word spelt out, one
# space or punctuation between every letter ("J a m a l") — not here and there ("ok a for").
HYPHENATED = r"(?:-[ \t]*\n\s*)?"
SPELT_OUT = r"[\W_]"
# Between the labels of a domain: a dot, or a dot hidden ("[.]", "(dot)", " point "); a dot
# followed by a space ends a sentence, not a domain name ("a live demo. Example…").
DOT = r"(?:\.(?!\s)|[\W_]{0,3}(?:\[\.\]|\(\.\)|\{\.\}|dot|point)[\W_]{0,3})"
# Between the two halves of an email address: "@", "(at)", " at ", " arobase ".
AT = r"(?:[\W_]{0,5}(?:at|arobase)[\W_]{0,5}|[\W_]{1,6})"
# Between the digits of a phone: the separators people use ("204/555/0123", "(204) 555-0123").
PHONE_SEP = r"[\s./()\-\u2010-\u2015]{0,3}"
# Digits written with the letter they resemble ("204-555-O123").
DIGIT_LOOK_ALIKES = {"0": "[0o]", "1": "[1l]"}
START = r"(?<![^\W_])"  # not inside a longer word ("Acme" must not match "Acmeology")
END = r"(?![^\W_])"


# --- Folding -----------------------------------------------------------------------------------


def _look_alikes() -> dict[str, str]:
    """Letters and digits of other scripts that imitate a Latin one, mapped to it (lower case)."""
    table: dict[str, str] = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        latin = [e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii()]
        latin = [c for c in latin if c.isalnum()]
        if latin:
            # A letter over a digit when both are listed: names are made of letters.
            latin.sort(key=lambda c: (not c.isalpha(), c))
            # The table folds "I" and "l" together; a capital that looks like them is an "I".
            table[char] = "i" if char.isupper() and latin[0] == "l" else latin[0].lower()
    return table


LOOK_ALIKES = _look_alikes()
# Characters that draw nothing but can sit inside a word; not all of them are in category Cf.
INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u3164\uffa0")
# "NEGATIVE CIRCLED LATIN CAPITAL LETTER J", "LATIN LETTER SMALL CAPITAL A", "LATIN SMALL LETTER L
# WITH STROKE", "REGIONAL INDICATOR SYMBOL LETTER J": a Latin letter in disguise, by its name.
NAMED_LATIN = re.compile(
    r"(?:\bLATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL )?|^REGIONAL INDICATOR SYMBOL LETTER )"
    r"([A-Z])(?:$| WITH )"
)
# Direction overrides make a viewer show "Jamal" for the stored "lamaJ".
DIRECTION_OVERRIDES = frozenset("\u202a\u202b\u202d\u202e\u2066\u2067\u2068")


# Characters that fold to themselves, taken without a look-up (most of any text).
PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 \n.,;:'\"-/()")


def _latin(char: str) -> str:
    """A letter or digit of another script or style as the Latin letter or digit it stands for."""
    if char.isascii():
        return char
    if char in LOOK_ALIKES:
        return LOOK_ALIKES[char]
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    named = NAMED_LATIN.search(unicodedata.name(char, ""))
    if named:
        return named.group(1).lower()
    folded = char.casefold()
    return "".join(LOOK_ALIKES.get(c, c) for c in folded)


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    category = unicodedata.category(char)
    # Format, unassigned, private and control characters draw nothing a reader can see as a
    # letter (white space apart); a name with one inside must still match.
    if (
        char in INVISIBLE
        or category in ("Cf", "Cn", "Co", "Cs")
        or (category == "Cc" and not char.isspace())
    ):
        return ""
    # Look-alikes before decomposition and case folding: a Cyrillic capital Ka is a "K".
    folded = []
    decomposed = unicodedata.normalize("NFKD", LOOK_ALIKES.get(char, char))
    if category[0] == "S" and len(decomposed) > 1:
        # A symbol made of a letter: "⒥" is "(j)", a letter in parentheses, not punctuation.
        decomposed = "".join(part for part in decomposed if part.isalnum())
    for part in decomposed:
        if unicodedata.combining(part) or unicodedata.category(part) in ("Mn", "Me", "Cf"):
            continue
        folded.append(_latin(part))
    return unicodedata.normalize("NFKC", "".join(folded)).casefold()


def fold(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the original it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char if char in PLAIN else _fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def _words(value: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(value)[0])


def _word(word: str) -> str:
    letters = [re.escape(char) for char in word]
    if len(letters) < 2:
        return "".join(letters)
    return f"(?:{HYPHENATED.join(letters)}|{SPELT_OUT.join(letters)})"


def _phrase(words: Iterable[str], separator: str = SEP) -> str:
    return START + separator.join(_word(word) for word in words) + END


# --- Tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityToken:
    label: str  # what it is, for the warning (translatable): "legal name", "website" …
    value: str  # as the supplier gave it
    pattern: re.Pattern  # run on folded text
    # Initials are ordinary letters in lower case ("cat" for Creative Applications Team): they
    # count only where written in capitals.
    capitals_only: bool = False
    # A strong token names the supplier by itself; a weak one (a given name alone, three initials,
    # a local phone number) is warned about and redacted in answers, but no reason to refuse a
    # file: "Saint-Louis" or "RDL" in a report may well mean something else.
    strong: bool = True


@dataclass(frozen=True)
class Finding:
    label: str  # which kind of identity
    value: str  # the words as they stand in the supplier's text


class _Tokens:
    def __init__(self) -> None:
        self.tokens: list[IdentityToken] = []
        self._seen: set[str] = set()

    def add(
        self, label, value: str, pattern: str, *, capitals_only: bool = False, strong: bool = True
    ) -> None:
        if pattern in self._seen:
            return
        self._seen.add(pattern)
        self.tokens.append(IdentityToken(label, value, re.compile(pattern), capitals_only, strong))

    def phrase(
        self,
        label,
        value: str,
        words: list[str] | None = None,
        *,
        separator: str = SEP,
        strong: bool = True,
    ) -> None:
        words = _words(value) if words is None else words
        if len("".join(words)) >= MIN_TOKEN_LENGTH:
            self.add(label, value, _phrase(words, separator), strong=strong)

    def digits(
        self, label, value: str, digits: str, *, separator: str = PHONE_SEP, strong: bool = True
    ) -> None:
        pattern = separator.join(DIGIT_LOOK_ALIKES.get(d, d) for d in digits)
        self.add(label, value, r"(?<![\d])" + pattern + r"(?![\d])", strong=strong)


def _domain(url: str) -> str:
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    return host.removeprefix("www.")


def _add_person(tokens: _Tokens, label, name: str) -> None:
    tokens.phrase(label, name)
    # A family or given name alone gives a person away too ("Tremblay"); a given name alone is
    # also an ordinary word often enough ("Saint-Louis") to be only a weak sign.
    words = _words(name)
    for position, word in enumerate(words):
        if len(word) > MIN_TOKEN_LENGTH:
            tokens.phrase(label, word, [word], strong=position == len(words) - 1)


def _add_firm(tokens: _Tokens, label, name: str) -> None:
    tokens.phrase(label, name)
    short = LEGAL_SUFFIX.sub("", name).strip()
    words = _words(short)
    tokens.phrase(label, short, words)
    # Distinctive parts: people shorten a firm's name from its end ("Northern Lights" for
    # "Northern Lights Accessibility Co-op"); a part made only of ordinary words of the trade
    # ("Code Works") is not distinctive, nor are words from its middle ("Leaf Code").
    for size in range(2, len(words)):
        part = words[:size]
        if not all(word in GENERIC_WORDS for word in part):
            tokens.phrase(label, " ".join(part), part)
    # Initials: "NLAC", "N.L.A.", "MLCW": one letter a word as written ("Co-op" is one word),
    # with and without the small words and the legal form.
    for source in (name, short):
        written = [w for w in fold(source)[0].split() if re.search(r"[^\W_]", w)]
        for kept in (written, [w for w in written if w not in SMALL_WORDS]):
            initials = "".join(re.findall(r"[^\W_]", word)[0] for word in kept)
            if len(initials) >= MIN_TOKEN_LENGTH:
                pattern = START + r"\.?[ ]?".join(map(re.escape, initials)) + r"\.?" + END
                tokens.add(
                    label,
                    initials.upper(),
                    pattern,
                    capitals_only=True,
                    strong=len(initials) > MIN_TOKEN_LENGTH,
                )


def _add_email(tokens: _Tokens, label, email: str) -> None:
    local, _at, domain = email.strip().rpartition("@")
    if not local:
        return
    local_words = _words(local)
    tokens.add(
        label,
        email,
        START + SEP.join(map(_word, local_words)) + AT + _domain_pattern(domain)[len(START) :],
    )
    if local.lower() not in GENERIC_MAILBOXES:
        tokens.phrase(label, local, local_words)
    if domain.lower() not in SHARED_MAIL_DOMAINS:
        # The whole domain only: a mail domain's name alone may be an ordinary word.
        _add_domain(tokens, label, domain, name_alone=False)


def _domain_pattern(domain: str) -> str:
    """ "nlac11y.example" as written or with its dots hidden, its labels' words spaced or not."""
    labels = [_words(label) for label in domain.split(".")]
    return START + DOT.join(SEP.join(map(_word, words)) for words in labels if words) + END


def _add_domain(tokens: _Tokens, label, domain: str, *, name_alone: bool = True) -> None:
    if len(domain) > MIN_TOKEN_LENGTH:
        tokens.add(label, domain, _domain_pattern(domain))
    # The name under the top-level domain alone: "nlac11y" of nlac11y.example.
    labels = domain.lower().split(".")
    if name_alone and len(labels) >= 2:
        name = labels[-2]
        name_words = _words(name)
        if len(name) > MIN_TOKEN_LENGTH and not all(w in GENERIC_WORDS for w in name_words):
            tokens.phrase(label, name, name_words)


def _add_phone(tokens: _Tokens, label, phone: str) -> None:
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) < 7:
        return
    tokens.digits(label, phone, digits)
    if len(digits) == 10:
        # The local number without its area code: seven digits can be a figure too.
        tokens.digits(label, phone, digits[3:], strong=False)


# What the identity is made of, in the order it is matched: each key of an identity (below) and
# the attribute it is read from, on the account, then on the supplier profile.
ACCOUNT_FIELDS = {"full_name": "full_name", "email": "email"}
PROFILE_FIELDS = {
    "legal_name": "legal_name",
    "trading_name": "trading_name",
    "contact_name": "contact_name",
    "profile_email": "email",
    "website": "website",
    "github_handle": "github_handle",
    "phone": "phone",
    "postal_code": "postal_code",
    "gst_hst_number": "gst_hst_number",
}

# An identity as plain data (JSON): for each key above, the values it has had. A bid keeps the
# one it was submitted under (`Bid.identity_at_submission`).
Identity = dict[str, list[str]]


def identity_of(user: User, profile: SupplierProfile | None) -> Identity:
    """The supplier's identity as it stands, as plain data."""
    values = {key: getattr(user, name) for key, name in ACCOUNT_FIELDS.items()}
    if profile is not None:
        values |= {key: getattr(profile, name) for key, name in PROFILE_FIELDS.items()}
    return {key: [value] for key, value in values.items() if value and value.strip()}


def identity_merge(*identities: Mapping[str, Iterable[str]]) -> Identity:
    """Every value each key has in any of `identities`, once. Anything but text is ignored."""
    merged: Identity = {}
    for identity in identities:
        for key in (*ACCOUNT_FIELDS, *PROFILE_FIELDS):
            values = identity.get(key) or ()
            for value in values if isinstance(values, list | tuple) else ():
                if isinstance(value, str) and value.strip() and value not in merged.get(key, ()):
                    merged.setdefault(key, []).append(value)
    return merged


def identity_tokens(
    user: User,
    profile: SupplierProfile | None,
    *,
    earlier: Mapping[str, Iterable[str]] | None = None,
) -> list[IdentityToken]:
    """The ways the supplier's identity can be written, with a matcher for each: as it stands,
    and as it stood before (`earlier`: a bid's identity at its submissions). What a supplier
    wrote under their former name still names them after a rename."""
    identity = identity_merge(identity_of(user, profile), earlier or {})
    tokens = _Tokens()
    for name in identity.get("full_name", ()):
        _add_person(tokens, _("name"), name)
    for email in identity.get("email", ()):
        _add_email(tokens, _("email"), email)
    for key, label in (("legal_name", _("legal name")), ("trading_name", _("trading name"))):
        for name in identity.get(key, ()):
            _add_firm(tokens, label, name)
    for name in identity.get("contact_name", ()):
        _add_person(tokens, _("contact person"), name)
    for email in identity.get("profile_email", ()):
        _add_email(tokens, _("email"), email)
    for website in identity.get("website", ()):
        _add_domain(tokens, _("website"), _domain(website))
    for handle in identity.get("github_handle", ()):
        tokens.phrase(_("GitHub handle"), handle.strip().lstrip("@"))
    for phone in identity.get("phone", ()):
        _add_phone(tokens, _("phone"), phone)
    for postal_code in identity.get("postal_code", ()):
        postal = re.sub(r"[\W_]", "", postal_code).lower()
        if len(postal) == 6:
            tokens.add(
                _("postal code"),
                postal_code,
                START + r"[\W_]{0,2}".join(map(re.escape, postal)) + END,
            )
    for gst_hst_number in identity.get("gst_hst_number", ()):
        business_number = re.sub(r"\D", "", gst_hst_number)[:9]
        if len(business_number) == 9:
            tokens.digits(_("GST/HST number"), gst_hst_number, business_number, separator=r"[ \-]?")
    return tokens.tokens


def strong(tokens: list[IdentityToken]) -> list[IdentityToken]:
    """The tokens that name the supplier by themselves: what a file is refused for."""
    return [token for token in tokens if token.strong]


# --- Matching ----------------------------------------------------------------------------------


def _spans(text: str, tokens: list[IdentityToken]) -> list[tuple[int, int, IdentityToken]]:
    """Where each token occurs in `text`, as (start, end) of the original characters."""
    folded, origin = fold(text)
    drawn = set(origin)
    spans = []
    matches = [(token, match.start(), match.end()) for token in tokens
               for match in token.pattern.finditer(folded)]  # fmt: skip
    if DIRECTION_OVERRIDES & set(text):
        # Stored backwards, shown forwards: look for the identity read the other way too.
        backwards = folded[::-1]
        last = len(folded)
        matches += [(token, last - match.end(), last - match.start()) for token in tokens
                    for match in token.pattern.finditer(backwards)]  # fmt: skip
    for token, match_start, match_end in matches:
        if match_end == match_start:
            continue
        start, end = origin[match_start], origin[match_end - 1] + 1
        # Accents and invisible characters right after the last letter go with it.
        while end < len(text) and end not in drawn:
            end += 1
        if token.capitals_only and any(char.islower() for char in text[start:end]):
            continue
        spans.append((start, end, token))
    return spans


def identity_matches(texts: Iterable[str], tokens: list[IdentityToken]) -> list[Finding]:
    """Each distinct way the supplier's identity is written in `texts`, in order of appearance."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for text in texts:
        reached = 0  # a match inside a longer one ("Okafor" in "Jamal Okafor") is not listed
        for start, end, token in sorted(_spans(text, tokens), key=lambda s: (s[0], -s[1])):
            if end <= reached:
                continue
            reached = end
            shown = "".join(
                c for c in text[start:end] if c not in INVISIBLE and unicodedata.category(c) != "Cf"
            )
            shown = " ".join(unicodedata.normalize("NFC", shown).split())
            if shown.casefold() not in seen:
                seen.add(shown.casefold())
                findings.append(Finding(token.label, shown))
    return findings


REDACTED = "[redacted]"  # stored in packets; pages show it in the reader's language


def redact(text: str, tokens: list[IdentityToken], replacement: str = REDACTED) -> str:
    """`text` with every occurrence of the tokens replaced, overlapping ones merged."""
    spans = sorted((start, end) for start, end, _token in _spans(text, tokens))
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)
