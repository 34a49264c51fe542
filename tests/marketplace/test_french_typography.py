"""French as Canadians write it (issue 21, docs/glossary.md).

Every French string of the catalogue, and every French help page, follows the Translation
Bureau's typography: a no-break space (U+00A0) before « : ; ? ! » and inside « », the
typographic apostrophe, « courriel » rather than « e-mail », 24-hour « 14 h » rather than
« 14:00 »; and each French string keeps exactly the placeholders and markup of its English.
"""

from pathlib import Path

import polib
import pytest

from tests.support.french_typography import PLACEHOLDER, TAG, _typography_faults

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
HELP_PAGES = sorted((ROOT / "templates" / "marketplace" / "help").glob("*.fr.html"))
NBSP = "\u00a0"


def _forms(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(English, French) pairs: one for a plain entry, one per plural form."""
    if entry.msgid_plural:
        return [
            (entry.msgid if index == 0 else entry.msgid_plural, text)
            for index, text in sorted(entry.msgstr_plural.items())
        ]
    return [(entry.msgid, entry.msgstr)]


def _catalogue() -> list[tuple[str, str]]:
    return [
        pair
        for entry in polib.pofile(str(PO))
        if entry.msgid and not entry.obsolete
        for pair in _forms(entry)
        if pair[1]
    ]


def test_the_catalogue_is_read():
    pairs = _catalogue()
    assert len(pairs) > 1000
    assert ("Submitted", "Soumise") in pairs


def test_french_strings_follow_the_translation_bureau_typography():
    faults = [
        f"{english!r} → {french!r}: {fault}"
        for english, french in _catalogue()
        for fault in _typography_faults(french)
    ]
    assert faults == []


def test_french_strings_keep_the_placeholders_of_the_english():
    faults = [
        f"{english!r} → {french!r}"
        for english, french in _catalogue()
        if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(french))
    ]
    assert faults == []


def test_french_strings_keep_the_markup_of_the_english():
    """The same tags and attributes (a translation may repeat one, e.g. a second <code>)."""
    faults = [
        f"{english!r} → {french!r}"
        for english, french in _catalogue()
        if set(TAG.findall(english)) != set(TAG.findall(french))
    ]
    assert faults == []


@pytest.mark.parametrize(
    ("french", "fault"),
    [
        ("Motif: %(reason)s", "no space"),
        ("Motif : %(reason)s", "plain or narrow space"),
        ("Prête\u202f?", "plain or narrow space"),
        ("L'occasion", "straight apostrophe"),
        ("Adresse e-mail", "e-mail"),
        ("Le rôle « %(role)s »", "« » without"),
        ('Le rôle "%(role)s"', "English quotation marks"),
        ("Clôture à 14:00", "14:00"),
        ("Chargement...", "three dots"),
    ],
)
def test_the_typography_check_finds_each_fault(french, fault):
    assert any(fault in found for found in _typography_faults(french))


@pytest.mark.parametrize(
    "french",
    [
        "Motif\u00a0: %(reason)s",
        "Prête pour l\u2019examen\u00a0?",
        "Le rôle «\u00a0%(role)s\u00a0»\u00a0; la suite",
        "par exemple «\u00a0&lt;graine&gt;:Bid K7Q\u00a0».",
        '<a href="https://example.ca/?a=1">lien</a> <code>LC_ALL=C sort</code>',
        "Ébauche enregistrée à 14 h 30.",
    ],
)
def test_the_typography_check_accepts_correct_french(french):
    assert _typography_faults(french) == []


@pytest.mark.parametrize("page", HELP_PAGES, ids=lambda page: page.name)
def test_french_help_pages_follow_the_translation_bureau_typography(page):
    assert _typography_faults(page.read_text(encoding="utf-8")) == []


def test_french_help_pages_exist():
    assert len(HELP_PAGES) >= 4


def test_the_words_we_override_are_still_allauths_and_djangos():
    """A msgid copied from allauth or Django overrides its French only while it is the same
    msgid: after an upgrade changes one, this names it."""
    import allauth
    import django

    from marketplace.allauth_strings import ALLAUTH_STRINGS, DJANGO_STRINGS

    def msgids(path: Path) -> set[str]:
        return {entry.msgid for entry in polib.mofile(str(path))}

    allauth_words = msgids(Path(allauth.__file__).parent / "locale/fr/LC_MESSAGES/django.mo")
    django_root = Path(django.__file__).parent
    django_words = msgids(django_root / "conf/locale/fr/LC_MESSAGES/django.mo") | msgids(
        django_root / "contrib/auth/locale/fr/LC_MESSAGES/django.mo"
    )
    assert [word for word in ALLAUTH_STRINGS if word not in allauth_words] == []
    assert [word for word in DJANGO_STRINGS if word not in django_words] == []
