"""How alike two postings read: the words they share in their titles and texts, folded the
same way in both languages (accents, case, plurals), with the words every posting uses left
out. Pure functions, no database: `publishing.split_matches` asks them whether two postings of
one buyer look like pieces of one purchase, and shows people why."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# A posting whose score reaches this looks like the same work. Calibrated on the tests' pairs
# (tests/opportunities/test_split_warning.py): the same fix described in other words scores
# about 0.4 and up, postings that share a topic but not the work ("accessibility audit" and
# "accessibility fix") under 0.25, unrelated work 0.
THRESHOLD = 0.35
# Lower, when the two are also the same type of work and share a skill.
THRESHOLD_WITH_CONTEXT = 0.25
TITLE_WEIGHT = 0.5
TEXT_WEIGHT = 1 - TITLE_WEIGHT
SHOWN_WORDS = 8

# Words that say nothing about which work it is: grammar, and what every posting here says.
_STOP_WORDS = """
    a an and are as at be by for from has have in into is it its of on or our that the their
    this to was we were will with you your not all any can may must should would also than
    then there these those which who what when where how new work fix fixes fixing fixed bug
    bugs add adds adding make improve improving update updating need needs needed help using
    use used small piece part government canada federal department team project service
    services supplier buyer opportunity deliverable deliverables please one two three
    open source every each other same more less only cannot get gets
    au aux avec ce ces cet cette dans de des du elle en est et il ils la le les leur leurs
    ou par pas plus pour qui que quoi sa se ses son sont sur un une nos notre vos votre
    etre avoir fait faire doit peut tous tout toute toutes afin ainsi comme entre sans sous
    corriger correction corrige bogue bogues travail travaux ajouter ajout nouveau nouvelle
    nouveaux nouvelles mise mettre jour ameliorer amelioration besoin aide utiliser petit
    petite gouvernement federal ministere equipe projet fournisseur acheteur occasion
    livrable livrables
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

_WORD = re.compile(r"[^\W_]+")

# Letters of other scripts drawn like Latin ones (Cyrillic, Greek, Armenian; lower case, as
# `fold` sees them): a word written with them reads the same on the page, so it is the same
# word. Invisible characters (format characters: zero-width spaces and joiners, soft hyphens,
# direction marks) are taken out before the words are cut. Without both, a buyer could post the
# same work twice with titles that look identical and share no word (issue 23, attacked).
_LOOKALIKES = str.maketrans(
    "\u0430\u0432\u0435\u0456\u0458\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445"
    "\u0455\u04bb\u0501\u051b\u051d\u04cf\u03b1\u03b2\u03b5\u03b6\u03b7\u03b9\u03ba\u03bc"
    "\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u0585\u057d\u0131\u0251\u0261",
    "abeijkmhopctyxshdqwlabezhikmnoptyxouiag",
)


def visible(text: str) -> str:
    """The text without its invisible (format) characters."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def fold(text: str) -> str:
    """Lower case without accents, in Latin letters: "Sélecteur", "selecteur" and "selecteur"
    written with a Cyrillic "e" (U+0435) are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LOOKALIKES)


def _stem(word: str) -> str:
    # Plurals in both languages: "pickers", "dates", "travaux" -> "picker", "date", "travau".
    if len(word) > 4 and word[-1] in "sx" and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> dict[str, str]:
    """The meaningful words of a text, folded and stemmed, each with the first way it was
    written (to show people the word as they wrote it)."""
    found: dict[str, str] = {}
    for match in _WORD.finditer(visible(text)):
        written = match.group()
        folded = fold(written)
        if len(folded) < 3 or folded.isdigit() or folded in STOP_WORDS:
            continue
        key = _stem(folded)
        if key in STOP_WORDS:
            continue
        found.setdefault(key, written)
    return found


def _cosine(first: Iterable[str], second: Iterable[str]) -> float:
    """Cosine similarity of two sets of words: what they share over the geometric mean of their
    sizes, so that a long text and a short one about the same thing still score high."""
    a, b = set(first), set(second)
    return len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0


@dataclass(frozen=True)
class Text:
    """One posting in one language: its title, and what the work is (its summary)."""

    title: str
    body: str


@dataclass(frozen=True)
class Likeness:
    """How alike two postings read in one language: a score from 0 to 1 and the words they
    share (as the first posting writes them; title words first)."""

    score: float
    shared: tuple[str, ...]


def likeness(first: Text, second: Text) -> Likeness:
    """Half the likeness of the titles, half that of the titles and summaries together."""
    title_a, title_b = words(first.title), words(second.title)
    text_a = {**words(first.body), **title_a}
    text_b = {**words(second.body), **title_b}
    score = TITLE_WEIGHT * _cosine(title_a, title_b) + TEXT_WEIGHT * _cosine(text_a, text_b)
    in_titles = sorted(title_a.keys() & title_b.keys())
    in_texts = sorted((text_a.keys() & text_b.keys()) - set(in_titles))
    shared = [title_a[w] for w in in_titles] + [text_a[w] for w in in_texts]
    return Likeness(score=round(score, 3), shared=tuple(shared))


def bilingual_likeness(
    first: dict[str, Text], second: dict[str, Text]
) -> tuple[float, dict[str, tuple[str, ...]]]:
    """The likeness in each language both postings have: the best score, and the shared words
    in each language."""
    score = 0.0
    shared: dict[str, tuple[str, ...]] = {}
    for language in first.keys() & second.keys():
        if not first[language].title.strip() or not second[language].title.strip():
            continue
        found = likeness(first[language], second[language])
        score = max(score, found.score)
        shared[language] = found.shared[:SHOWN_WORDS]
    return score, shared


def looks_alike(score: float, *, same_type: bool, shared_skills: bool) -> bool:
    if score >= THRESHOLD:
        return True
    return same_type and shared_skills and score >= THRESHOLD_WITH_CONTEXT
