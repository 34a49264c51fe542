"""The text gate of the crawl (tests/e2e/test_crawl.py): what a page shows people, and what must
never be in it.

A page is read as people get it: the visible text, the labels screen readers announce, the
<title>, and the whole text of each small element (a table cell, a badge, a button). Left out:

- parts marked as another language (`lang`: the bilingual wordmark, the language toggle, a
  statement quoted as it was certified), which are meant to differ;
- machine values, shown as the machine wrote them on purpose: `<code>`, `<kbd>`, `<samp>`,
  `<pre>` and any element marked `translate="no"` (HTML's own "do not translate this" marker,
  which translation tools honour too). A receipt digest, an invoice number, an email address or
  a licence identifier displayed for copying goes in one of these; interface words never do.

Then, in both languages: no raw code (a choice value such as `receipt_confirmed` or
`in_delivery`, an audit verb such as `payment.due`, a status code in a history line such as
"(— → due)", any snake_case identifier), no "None"/"True"/"False", no Python repr or escaped
markup, no untranslated template variable, no ISO date-time. On French pages no English
interface string, no "[redacted]", no English money ("$4,800.00", "4,500.00 $"); on English pages
no French interface string, no "[caviardé]", no French money ("4 800,00 $") or percent ("5 %").
Each problem is reported with the string and the text around it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
APPS = ("bids", "evaluation", "marketplace", "opportunities", "payments", "reports")

# What the gate reads of a page: it hides the exempt parts for the time of reading, then puts
# them back (the crawl reads the links afterwards).
EXEMPT = 'code, kbd, samp, pre, [translate="no"]'
CELLS = (
    "td, th, dd, dt, li, caption, legend, summary, label, button, a, option, h1, h2, h3, h4, h5,"
    " h6, p, span, strong, em, b, small, .badge"
)
PAGE_TEXT_JS = """([exempt, cells]) => {
    const language = document.documentElement.lang;
    const primary = code => code.split('-')[0].toLowerCase();
    const foreign = [...document.body.querySelectorAll('[lang]')].filter(
        element => primary(element.lang) !== primary(language));
    const skipped = element =>
        element.closest(exempt) || foreign.some(part => part.contains(element));
    const hidden = [];
    for (const element of [...document.body.querySelectorAll(exempt), ...foreign]) {
        hidden.push([element, element.style.getPropertyValue('display'),
                     element.style.getPropertyPriority('display')]);
        element.style.setProperty('display', 'none', 'important');
    }
    try {
        const labels = [document.title];
        const named = document.body.querySelectorAll(
            '[aria-label], [alt], [placeholder], [title], input[type=submit], input[type=button]');
        for (const element of named) {
            if (skipped(element)) continue;
            for (const name of ['aria-label', 'alt', 'placeholder', 'title']) {
                if (element.hasAttribute(name)) labels.push(element.getAttribute(name));
            }
            if (element.matches('input[type=submit], input[type=button]')) {
                labels.push(element.value);
            }
        }
        const whole = [];
        for (const element of document.body.querySelectorAll(cells)) {
            if (skipped(element)) continue;
            const text = (element.tagName === 'OPTION' ? element.text : element.innerText).trim();
            if (text && text.length <= 80) whole.push(text);
        }
        return {text: document.body.innerText, labels: labels, cells: whole};
    } finally {
        for (const [element, value, priority] of hidden) {
            if (value) element.style.setProperty('display', value, priority);
            else element.style.removeProperty('display');
        }
    }
}"""


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _lines(text: str) -> str:
    """Spaces squeezed, line breaks kept: a table's cells (tab-separated in innerText) and a
    page's blocks stay apart, so that "3 000,00 $" and the date in the next cell are not read
    as "$ 18"."""
    lines = (_squeeze(line) for line in text.replace("\t", "\n").splitlines())
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Shown:
    """What a page shows: its visible text (one line per block or cell, labels appended), and
    the whole text of each small element and label."""

    text: str
    cells: tuple[str, ...] = ()

    @classmethod
    def from_page(cls, page) -> Shown:
        data = page.evaluate(PAGE_TEXT_JS, [EXEMPT, CELLS])
        labels = [_squeeze(label) for label in data["labels"] if label and label.strip()]
        text = "\n".join([_lines(data["text"]), *labels])
        return cls(text=text, cells=tuple(_squeeze(cell) for cell in data["cells"]) + tuple(labels))


# --- Raw codes -------------------------------------------------------------------------------

CODE = re.compile(r"^[a-z][a-z0-9]*(?:[._][a-z0-9]+)+$")
WORD = re.compile(r"^[a-z]{2,}$")
# Choice values people legitimately read as they are: language codes (and "en" is French).
WORDS_SHOWN_AS_THEY_ARE = {"en", "fr"}


@dataclass(frozen=True)
class RawCodes:
    """The codes the apps write, which people must only ever read as sentences or labels.

    `coded` (with an underscore or a dot: `receipt_confirmed`, `payment.due`) are flagged as
    whole words anywhere; `patterns` are the same for codes built at run time (f"payment.{kind}");
    `words` (single plain words: `due`, `draft`) are ordinary English too, so they are flagged
    only where they stand for a status: a whole cell or badge, or beside an arrow ("— → due").
    """

    coded: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    def __or__(self, other: RawCodes) -> RawCodes:
        return RawCodes(
            self.coded | other.coded,
            self.words | other.words,
            tuple(sorted(set(self.patterns) | set(other.patterns))),
        )

    @classmethod
    def of(cls, values: Iterable[str], patterns: Iterable[str] = ()) -> RawCodes:
        values = {str(value) for value in values}
        return cls(
            coded=frozenset(value for value in values if CODE.match(value)),
            words=frozenset(
                value
                for value in values
                if WORD.match(value) and value not in WORDS_SHOWN_AS_THEY_ARE
            ),
            patterns=tuple(sorted(set(patterns))),
        )


def choice_values() -> set[str]:
    """Every value of every choices field of the apps' models, and of every Choices class they
    define (some are only used by forms)."""
    from django.apps import apps
    from django.db import models

    values: set[str] = set()
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in APPS:
            continue
        for model_field in model._meta.get_fields():
            if getattr(model_field, "choices", None):
                values.update(str(value) for value, _label in model_field.flatchoices)

    def subclasses(cls):
        for subclass in cls.__subclasses__():
            yield subclass
            yield from subclasses(subclass)

    for choices in subclasses(models.Choices):
        if choices.__module__.split(".")[0] in APPS:
            values.update(str(value) for value in choices.values)
    return values


CODE_ARGUMENTS = {"verb", "kind"}  # audit_event_record(verb=...), PaymentEvent/notice kind=...


def _strings(node: ast.AST, constants: dict[str, str]) -> tuple[set[str], set[str]]:
    """The string values an expression can take: (constants, regexes of f-strings)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}, set()
    if isinstance(node, ast.Name) and node.id in constants:
        return {constants[node.id]}, set()
    if isinstance(node, ast.IfExp):
        body, body_patterns = _strings(node.body, constants)
        other, other_patterns = _strings(node.orelse, constants)
        return body | other, body_patterns | other_patterns
    if isinstance(node, ast.JoinedStr):
        # f"payment.{kind}": a code whatever the kind, when its fixed parts read as one.
        fixed = "".join(str(p.value) if isinstance(p, ast.Constant) else "x" for p in node.values)
        if CODE.match(fixed):
            return set(), {
                "".join(
                    re.escape(str(p.value)) if isinstance(p, ast.Constant) else "[a-z0-9_]+"
                    for p in node.values
                )
            }
    return set(), set()


def audit_codes_in_code(apps: Iterable[str] = APPS) -> RawCodes:
    """The audit verbs and event kinds written in the apps' code: the values of `verb=` and
    `kind=` arguments, and of local `verb`/`kind` variables (module constants resolved)."""
    values: set[str] = set()
    patterns: set[str] = set()
    for app in apps:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or path.name.startswith("test"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {
                target.id: node.value.value
                for node in tree.body
                if isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(tree):
                found: list[ast.AST] = []
                if isinstance(node, ast.Call):
                    found = [k.value for k in node.keywords if k.arg in CODE_ARGUMENTS]
                elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id in CODE_ARGUMENTS for t in node.targets
                ):
                    found = [node.value]
                for expression in found:
                    strings, regexes = _strings(expression, constants)
                    values.update(s for s in strings if CODE.match(s))
                    patterns.update(regexes)
    return RawCodes.of(values, patterns)


def raw_codes(extra: Iterable[str] = ()) -> RawCodes:
    """The choice values and the audit codes of the code, with any `extra` (the codes of the
    crawled database: its audit verbs and event kinds)."""
    return RawCodes.of(choice_values()) | audit_codes_in_code() | RawCodes.of(extra)


# --- The catalogue -----------------------------------------------------------------------------

EDGE_PUNCTUATION = " .,:;!?()-\u2013\u2014\u201c\u201d\u00ab\u00bb\"'\u2019\u00a0\u202f"
PLACEHOLDER = r"%\(\w+\)[-+ #0]*\d*(?:\.\d+)?[sdif]|%[sdif]|\{\w*\}"
MARKUP = r"<[^>]+>|&\w+;"


def _fixed_parts(text: str) -> list[str]:
    """The fixed parts of a catalogue string: split at placeholders and markup."""
    pieces = re.split(f"{PLACEHOLDER}|{MARKUP}", text)
    return [_squeeze(piece).strip(EDGE_PUNCTUATION) for piece in pieces]


def _pattern(text: str, gap: str = ".+?") -> str | None:
    """A regex for a catalogue string with its placeholders filled (`gap`); None when it has no
    word of its own to recognise it by."""
    text = _squeeze(re.sub(MARKUP, "", text)).strip(" .:")
    # The space French puts before « : ; ? ! » is typography, not another language.
    text = re.sub(r"\s+([:;!?])", r"\1", text)
    pieces = re.split(PLACEHOLDER, text)
    if not any(re.search(r"[^\W\d_]{3}", piece) for piece in pieces):
        return None
    # Spaces, not \s: a line break parts blocks of the page, which make no sentence together.
    pattern = gap.join(re.escape(piece).replace("\\ ", " +") for piece in pieces)
    for mark in ":;!?":
        pattern = pattern.replace(re.escape(mark), " *" + re.escape(mark))
    return pattern


@dataclass(frozen=True)
class Catalogue:
    """One language's side of the catalogue, as the other language's pages must not show it.

    `phrases`: fixed parts of three words or more (or a whole string of two words and twelve
    characters), found anywhere in the text. `sentences`: strings made of shorter fixed parts
    that add up to three words or more ("Awarded to %(name)s on %(date)s for %(value)s."),
    found with their placeholders filled within a line. `whole`: strings of three words or
    fewer, found only as the whole text of an element ("Paid", "Bid 8XK"), where they cannot be
    part of someone's sentence. All leave out what both languages write alike ("Date",
    "Description", "GitHub").
    """

    language: str
    phrases: frozenset[str] = frozenset()
    whole: dict[str, re.Pattern] = field(default_factory=dict)
    sentences: dict[str, re.Pattern] = field(default_factory=dict)


def _compiled(texts: set[str], others: set[str], gap: str) -> dict[str, re.Pattern]:
    """The patterns of `texts`, less those the other language's strings also match."""
    patterns = {}
    others = [_squeeze(re.sub(MARKUP, "", text)) for text in others]
    for text in sorted(texts):
        pattern = _pattern(text, gap)
        if pattern is None:
            continue
        compiled = re.compile(pattern)
        if any(compiled.fullmatch(other) for other in others):
            continue  # the other language writes it the same way
        if gap != ".+?":  # searched within a line: start at a word, end at the line's end
            if pattern.endswith(gap):
                pattern = pattern.removesuffix(gap) + r"[^\n]+"
            pattern = (r"(?<!\w)" if re.match(r"\w", pattern) else "") + pattern
            compiled = re.compile(pattern)
        patterns[text] = compiled
    return patterns


def catalogue(language: str, po: Path = PO) -> Catalogue:
    """The catalogue's strings in `language` ("en": the msgids, "fr": the msgstrs)."""
    phrases: set[str] = set()
    short: set[str] = set()
    sentences: set[str] = set()
    other_side: set[str] = set()
    other_whole: set[str] = set()
    for entry in polib.pofile(str(po)):
        if entry.obsolete or not entry.msgid or "fuzzy" in entry.flags:
            continue
        english = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        french = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        french = [text for text in french if text]
        if not french:
            continue
        mine, theirs = (english, french) if language == "en" else (french, english)
        for text in theirs:
            other_side.update(_fixed_parts(text))
            other_whole.add(_squeeze(text))
        for text in mine:
            parts = _fixed_parts(text)
            counts = [len(part.split()) for part in parts]
            whole = len(parts) == 1
            for part, words in zip(parts, counts, strict=True):
                if words >= 3 or (whole and words >= 2 and len(part) >= 12):
                    phrases.add(part)
            if max(counts) < 3 and sum(counts) <= 3 and len(parts) <= 3:
                short.add(_squeeze(text))
            elif max(counts) < 3 and sum(counts) >= 3:
                sentences.add(_squeeze(text))
    return Catalogue(
        language,
        frozenset(phrases - other_side),
        _compiled(short - other_whole, other_whole, ".+?"),
        _compiled(sentences - other_whole, other_whole, r"[^\n]+?"),
    )


# --- The checks --------------------------------------------------------------------------------

SNAKE = re.compile(
    r"(?<![\w@/.:#=?&%-])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"
    r"(?![\w@/=-]|\.\w)"
)
EVERYWHERE = {
    "None": re.compile(r"\bNone\b(?! [a-z])"),  # "None ticked means every skill." is a sentence
    "Python repr": re.compile(
        r"object at 0x[0-9a-fA-F]+|<[A-Za-z/!?][^>]*>?|\b(?:Decimal|datetime\.\w+)\("
    ),
    "escaped markup": re.compile(r"&(?:[a-z]+|#\d+|#x[0-9a-fA-F]+);"),
    "template variable": re.compile(
        r"\{\{|\}\}|\{%|%\}|%\(\w+\)[sdif]?|(?<![\w%])%[sd](?!\w)|\{[a-z_][a-z0-9_]*\}"
    ),
    "ISO date-time": re.compile(
        r"\b\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}|\s\d{2}:\d{2}:\d{2}|\s\d{2}:\d{2}[+-]\d{2}:?\d{2})"
    ),
    "JavaScript value": re.compile(r"\b(?:undefined|NaN)\b|\[object \w+\]"),
}
WHOLE_VALUES = {"None", "True", "False", "null", "undefined"}
BY_LANGUAGE = {
    "fr": {
        "English money": re.compile(r"\$ ?\d|\d{1,3}(?:,\d{3})+(?:\.\d{1,2})? ?\$|\d\.\d{2} ?\$"),
        "English text": re.compile(r"\[redacted\]"),
    },
    "en": {
        "French money": re.compile(r"\d(?:[\u00a0\u202f ]\d{3})*,\d{2}[\u00a0\u202f ]?\$"),
        "French percent": re.compile(r"(?<![\d.,])\d[\d.,]*[\u00a0\u202f ]%"),  # English: "5%"
        "French text": re.compile(r"\[caviardé\]|\bcaviardé\b", re.IGNORECASE),
    },
}
ARROWS = "→|->|⟶"


def _context(text: str, start: int, end: int, width: int = 30) -> str:
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    return f"…{before}[[{text[start:end]}]]{after}…".replace("\n", " ¶ ")


def _code_regex(codes: RawCodes) -> re.Pattern | None:
    alternatives = [re.escape(code) for code in sorted(codes.coded, key=len, reverse=True)]
    alternatives += list(codes.patterns)
    if not alternatives:
        return None
    return re.compile(r"(?<![\w@/.:#=?&%-])(?:" + "|".join(alternatives) + r")(?![\w@/=-]|\.\w)")


def _arrow_regex(codes: RawCodes) -> re.Pattern | None:
    if not codes.words:
        return None
    words = "|".join(sorted(codes.words, key=len, reverse=True))
    # After an arrow ("— → due"), or before one where it starts the line or a bracket ("due →"),
    # not where it ends a label ("Work accepted → Paid").
    return re.compile(
        rf"(?:(?:{ARROWS}) *({words})\b|(?:^|[(\[\u2014\u2013:|,] *)({words})(?= *(?:{ARROWS})))",
        re.MULTILINE,
    )


@dataclass
class TextGate:
    """The checks of one language's pages. `foreign` is the other language's catalogue."""

    language: str
    codes: RawCodes = field(default_factory=RawCodes)
    foreign: Catalogue | None = None

    def __post_init__(self) -> None:
        self._codes = _code_regex(self.codes)
        self._arrows = _arrow_regex(self.codes)

    def problems(self, shown: Shown) -> list[str]:
        """One line per problem: what it is, the string, and where it sits in the text."""
        text = shown.text
        found: dict[tuple[str, str], str] = {}

        def add(kind: str, match: re.Match, group: int = 0) -> None:
            key = (kind, match.group(group))
            found.setdefault(key, _context(text, match.start(group), match.end(group)))

        flagged_spans = []
        if self._codes:
            for match in self._codes.finditer(text):
                add("raw code", match)
                flagged_spans.append(match.span())
        for match in SNAKE.finditer(text):
            if not any(start <= match.start() < end for start, end in flagged_spans):
                add("raw code", match)
        if self._arrows:
            for match in self._arrows.finditer(text):
                add("raw status code", match, 1 if match.group(1) else 2)
        for kind, pattern in [*EVERYWHERE.items(), *BY_LANGUAGE.get(self.language, {}).items()]:
            for match in pattern.finditer(text):
                add(kind, match)
        for cell in dict.fromkeys(shown.cells):
            if cell in self.codes.words:
                found.setdefault(("raw status code", cell), f"an element showing only “{cell}”")
            if cell in WHOLE_VALUES:
                found.setdefault(("raw value", cell), f"an element showing only “{cell}”")
        if self.foreign is not None:
            other = "English" if self.foreign.language == "en" else "French"
            for phrase in sorted(self.foreign.phrases):
                start = text.find(phrase)
                if start >= 0:
                    found.setdefault(
                        (f"{other} interface text", phrase),
                        _context(text, start, start + len(phrase)),
                    )
            for source, pattern in self.foreign.sentences.items():
                match = pattern.search(text)
                if match:
                    found.setdefault(
                        (f"{other} interface text", match.group()),
                        f"{_context(text, match.start(), match.end())} (catalogue: “{source}”)",
                    )
            for cell in dict.fromkeys(shown.cells):
                for source, pattern in self.foreign.whole.items():
                    if pattern.fullmatch(cell):
                        found.setdefault(
                            (f"{other} interface text", cell),
                            f"an element showing only “{cell}” (catalogue: “{source}”)",
                        )
                        break
        return [f"{kind} “{string}” in {where}" for (kind, string), where in found.items()]
