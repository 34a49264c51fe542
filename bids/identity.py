"""Finding a supplier's own identity in their answers (evaluation is blind, DESIGN.md §5).

Bids warn the supplier before they submit; evaluation (later) redacts what is still there.
Matching ignores case, and finds a token inside URLs and with punctuation around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from marketplace.models import SupplierProfile, User

MIN_TOKEN_LENGTH = 3
# Legal forms at the end of a firm's name, which people often leave out when they write it.
LEGAL_SUFFIX = re.compile(
    r"[\s,]+(inc|incorporated|ltd|limited|ltée|llc|corp|corporation|co-op|coop|"
    r"cooperative|coopérative|s\.?e\.?n\.?c\.?)\.?$",
    re.IGNORECASE,
)

PERSON_LABELS = (_("name"), _("contact person"))
FIRM_LABELS = (_("legal name"), _("trading name"))


@dataclass(frozen=True)
class IdentityToken:
    label: str  # what it is, for the warning (translatable): "legal name", "website" …
    value: str  # as the supplier gave it
    pattern: re.Pattern


def _words(value: str) -> re.Pattern:
    # Not inside a longer word: "Acme" should not match "Acmeology".
    return re.compile(rf"(?<![\w]){re.escape(value.strip())}(?![\w])", re.IGNORECASE)


def _phone(value: str) -> re.Pattern | None:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) < 7:
        return None
    separators = r"[\s().\-]*"
    return re.compile(r"(?<!\d)" + separators.join(digits[:10]) + r"(?!\d)")


def _domain(url: str) -> str:
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    return host.removeprefix("www.")


def identity_tokens(user: User, profile: SupplierProfile | None) -> list[IdentityToken]:
    """The strings that would give the supplier away, with a matcher for each."""
    candidates: list[tuple[str, str]] = [
        (_("name"), user.full_name),
        (_("email"), user.email),
        (_("email"), user.email.split("@")[0] if "@" in user.email else ""),
    ]
    if profile is not None:
        candidates += [
            (_("legal name"), profile.legal_name),
            (_("trading name"), profile.trading_name),
            (_("contact person"), profile.contact_name),
            (_("email"), profile.email),
            (_("website"), _domain(profile.website) if profile.website else ""),
            (_("GitHub handle"), profile.github_handle),
        ]
    tokens: list[IdentityToken] = []
    seen: set[str] = set()
    for label, value in candidates:
        value = (value or "").strip()
        if len(value) < MIN_TOKEN_LENGTH:
            continue
        if value.lower() not in seen:
            seen.add(value.lower())
            tokens.append(IdentityToken(label, value, _words(value)))
        variants: list[str] = []
        if label in PERSON_LABELS:
            # A family or given name alone gives a person away too ("Tremblay").
            variants = [part.strip(".,") for part in value.split()]
        elif label in FIRM_LABELS:
            # "Maple Leaf Code Works" for "Maple Leaf Code Works Inc.". Single words of a firm's
            # name ("Northern", "Accessibility") are ordinary words: not matched alone.
            variants = [LEGAL_SUFFIX.sub("", value).strip()]
        for variant in variants:
            if len(variant) >= MIN_TOKEN_LENGTH + 1 and variant.lower() not in seen:
                seen.add(variant.lower())
                tokens.append(IdentityToken(label, variant, _words(variant)))
    if profile is not None and profile.phone:
        pattern = _phone(profile.phone)
        if pattern is not None:
            tokens.append(IdentityToken(_("phone"), profile.phone, pattern))
    return tokens


def identity_findings(texts: list[str], tokens: list[IdentityToken]) -> list[IdentityToken]:
    """The tokens that occur in any of `texts`, once each, in token order."""
    return [token for token in tokens if any(token.pattern.search(text) for text in texts)]


def redact(text: str, tokens: list[IdentityToken], replacement: str = "[redacted]") -> str:
    # Longest first, so that "Maple Leaf Code Works" goes before "Maple".
    for token in sorted(tokens, key=lambda t: len(t.value), reverse=True):
        text = token.pattern.sub(replacement, text)
    return text
