"""The Translation Bureau's typography, checked on a French text (tests/marketplace/
test_french_typography.py reads the whole catalogue with it; pages written in French use it too)."""

import html
import re

PLACEHOLDER = re.compile(r"%\([^)]+\)[sdifr]|%[sdifr]|%%|\{\{.*?\}\}|\{[a-z_]+\}")
TAG = re.compile(r"<[^>]+>")
NOT_PROSE = re.compile(r"<code>.*?</code>|\{%.*?%\}|\{#.*?#\}", re.S)


def _prose(text: str) -> str:
    """What a reader sees: no code, markup or template tags; a placeholder reads as a word."""
    text = NOT_PROSE.sub("", text)
    text = TAG.sub("", text)
    text = PLACEHOLDER.sub("x", text)
    return html.unescape(text)


def _typography_faults(text: str) -> list[str]:
    prose = _prose(text)
    faults = []
    if re.search(r"[ \t\u202f][:;?!]", prose):
        faults.append("a plain or narrow space before « : ; ? ! » (use U+00A0)")
    # Punctuation that ends a clause (a space, the end or a closing sign follows) after a word
    # with no space at all; "a:b" inside a word or an example is not punctuation.
    if re.search(r"[^\s\u00a0][:;?!](?=\s|$|[)»])", prose):
        faults.append("no space before « : ; ? ! » (use U+00A0)")
    if "'" in prose:
        faults.append("a straight apostrophe (use \u2019)")
    if re.search(r"[\"“”]", prose):
        faults.append("English quotation marks (use « »)")
    if re.search(r"«(?!\u00a0)|(?<!\u00a0)»", prose):
        faults.append("« » without U+00A0 inside")
    if re.search(r"(?i)\be-?mail\b|\bmail\b", prose):
        faults.append("« e-mail » or « mail » (use courriel)")
    if "..." in prose:
        faults.append("three dots (use …)")
    if re.search(r"\b\d{1,2}:\d{2}\b", prose):
        faults.append("a time written 14:00 (use 14 h, 14 h 30)")
    return faults
