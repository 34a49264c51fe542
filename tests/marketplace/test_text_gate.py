"""The crawl's text gate (tests/support/page_text.py) on samples: the list of raw codes it is
built from, and what it flags and spares on a French and an English page. The crawl itself is
tests/e2e/test_crawl.py; reading a real page (and its exemptions) is tested there too."""

from __future__ import annotations

import re

import polib
import pytest

from tests.support.page_text import Catalogue, RawCodes, Shown, TextGate, catalogue, raw_codes


@pytest.fixture(scope="module")
def codes() -> RawCodes:
    return raw_codes()


@pytest.fixture
def po(tmp_path):
    """A small catalogue, so that these tests do not move with the real one."""
    entries = {
        "Payment history": "Historique des paiements",
        "Bid %(label)s": "Soumission %(label)s",
        "Paid": "Payée",
        "Description": "Description",
        "Date": "Date",
        "Total: %(amount)s": "Total : %(amount)s",
        "None ticked means every skill.": "Aucune case cochée : toutes les compétences.",
        "The receipt was confirmed by the supplier.": "Le fournisseur a confirmé la réception.",
        "Awarded to %(name)s on %(date)s for %(value)s.": (
            "Attribuée à %(name)s le %(date)s pour %(value)s."
        ),
        "%(done)s of %(total)s": "%(done)s sur %(total)s",
    }
    catalogue_file = polib.POFile()
    for msgid, msgstr in entries.items():
        catalogue_file.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    catalogue_file.append(
        polib.POEntry(
            msgid="%(count)d day",
            msgid_plural="%(count)d days",
            msgstr_plural={0: "%(count)d jour", 1: "%(count)d jours"},
        )
    )
    catalogue_file.append(polib.POEntry(msgid="Draft reply", msgstr="", flags=[]))
    path = tmp_path / "django.po"
    catalogue_file.save(str(path))
    return path


def _flagged(gate: TextGate, text: str, cells: tuple[str, ...] = ()) -> list[str]:
    return gate.problems(Shown(text=text, cells=cells))


def _strings(problems: list[str]) -> set[str]:
    return {re.search(r"“(.*?)”", problem).group(1) for problem in problems}


# --- The list of raw codes -----------------------------------------------------------------------


def test_the_raw_codes_hold_every_choice_value_and_audit_verb(codes):
    # Choice values with an underscore: payment and contract statuses, roles, methods.
    assert {"in_delivery", "awaiting_acceptance", "card_holder", "not_awarded"} <= codes.coded
    # Written as verb="..." and kind="..." in the code, and through a module constant.
    assert {"payment.due", "approval.approved", "receipt_confirmed"} <= codes.coded
    assert {"role.staff_suspended", "role.staff_restored"} <= codes.coded
    # Built at run time: f"payment.{kind}", f"evaluation.offer_{outcome}".
    assert any(re.fullmatch(pattern, "payment.receipt_confirmed") for pattern in codes.patterns)
    assert any(re.fullmatch(pattern, "evaluation.offer_declined") for pattern in codes.patterns)
    # Plain words are kept apart: they are codes only where they stand for a status.
    assert {"due", "draft", "paid", "submitted", "pending"} <= codes.words
    assert not codes.words & codes.coded


def test_the_raw_codes_leave_out_what_people_read_as_it_is(codes):
    every = codes.coded | codes.words
    assert not {"en", "fr"} & every  # language codes ("en" is also a French word)
    assert not {"ON", "QC", "MIT", "Apache-2.0", "10-49", "500+"} & every


def test_extra_codes_from_the_database_join_the_list():
    extra = RawCodes.of(["stripe.event_refused", "checkout.session.completed", "due"])
    assert {"stripe.event_refused", "checkout.session.completed"} <= extra.coded
    assert extra.words == {"due"}


# --- What a French page must not show -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "string"),
    [
        ("Historique : receipt_confirmed le 21 décembre", "receipt_confirmed"),
        ("État : in_delivery", "in_delivery"),
        ("Le 21 décembre, payment.due", "payment.due"),
        ("Le 21 décembre, payment.receipt_confirmed", "payment.receipt_confirmed"),
        ("Paiement dû (— → due)", "due"),
        ("Montant : $4,800.00 taxes comprises", "$4"),
        ("Montant : 4,500.00 $", "4,500.00 $"),
        ("Montant : 4500.00 $", "0.00 $"),
        ("Soumission [redacted] reçue", "[redacted]"),
        ("Date de début : None", "None"),
        ("Reçu le 2026-12-21T14:00:00-05:00", "2026-12-21T14:00"),
        ("Reçu le 2026-12-21 14:00:00", "2026-12-21 14:00:00"),
        ("Bonjour %(name)s", "%(name)s"),
        ("Bonjour {{ user.name }}", "{{"),
        ("Soumission <Bid: 8XK>", "<Bid: 8XK>"),
        ("Soumission <bids.models.Bid object at 0x7f3a2c>", "object at 0x7f3a2c"),
        ("Texte &amp;lt;b&amp;gt;", "&amp;"),
        ("Le champ staff_only est requis", "staff_only"),
    ],
)
def test_a_french_page_with_a_raw_code_or_english_money_is_flagged(codes, text, string):
    problems = _flagged(TextGate("fr", codes), text)
    assert any(string in problem for problem in problems), problems


def test_a_status_shown_as_its_code_is_flagged_in_a_cell(codes):
    gate = TextGate("fr", codes)
    assert _strings(_flagged(gate, "Statut draft", cells=("draft",))) == {"draft"}
    assert _strings(_flagged(gate, "Statut True", cells=("True",))) == {"True"}


@pytest.mark.parametrize(
    "text",
    [
        "Montant : 4 800,00 $ taxes comprises",
        "Montant : 4\u00a0800,00\u00a0$",
        "Aucune case cochée : toutes les compétences.",
        "Écrire à jane_doe@example.com",
        "Pièce jointe : plan_de_travail.pdf",
        "Voir https://example.com/open_data/list",
        "Publiée le 2026-12-21",  # a short date, as fr-CA writes it
        "La somme due est payée.",  # "due" is French too: a code only beside an arrow
        "Brouillon → Publiée",
        "Montant\n3 000,00 $\n18 novembre 2026",  # the amount, then the next cell's date
        "Licence : Apache-2.0",
    ],
)
def test_a_french_page_written_right_is_not_flagged(codes, text):
    assert _flagged(TextGate("fr", codes), text) == []


def test_a_status_code_beside_an_arrow_is_flagged_not_a_label_ending_in_that_word(codes):
    gate = TextGate("en", codes)
    assert _strings(_flagged(gate, "History\ndraft → submitted")) == {"draft", "submitted"}
    assert _flagged(gate, "Work accepted → Paid: 3.6 days") == []


def test_a_capitalised_label_in_a_cell_is_not_a_code(codes):
    assert _flagged(TextGate("en", codes), "Status Draft", cells=("Draft",)) == []


def test_none_in_an_english_sentence_is_not_a_value(codes):
    assert _flagged(TextGate("en", codes), "None ticked means every skill.") == []


# --- The other language --------------------------------------------------------------------------


def test_the_catalogue_sides_leave_out_what_both_languages_write_alike(po):
    english = catalogue("en", po)
    french = catalogue("fr", po)
    assert "Payment history" in english.phrases
    assert "The receipt was confirmed by the supplier" in english.phrases
    assert "Historique des paiements" in french.phrases
    assert "Description" not in english.whole and "Date" not in french.whole
    assert "Total: %(amount)s" not in english.whole  # "Total" is French too
    assert "Draft reply" not in english.phrases  # untranslated: test_i18n.py's business
    assert {"Paid", "Bid %(label)s", "%(count)d days"} <= set(english.whole)
    assert {"Payée", "Soumission %(label)s"} <= set(french.whole)


def test_a_sentence_of_short_parts_is_found_with_its_placeholders_filled(codes, po):
    english = catalogue("en", po)
    assert "Awarded to %(name)s on %(date)s for %(value)s." in english.sentences
    assert "%(done)s of %(total)s" not in english.sentences  # one word: too little to tell
    gate = TextGate("fr", codes, english)
    text = "Résultat\nAwarded to Rivière Ltée on 7 décembre 2026 for 1 500,00 $.\nSuite"
    [problem] = _flagged(gate, text)
    assert "“Awarded to Rivière Ltée on 7 décembre 2026 for 1 500,00 $.”" in problem
    assert "Attribuée à Rivière Ltée le 7 décembre 2026 pour 1 500,00 $." not in problem
    assert _flagged(gate, "Attribuée à Rivière Ltée le 7 décembre 2026 pour 1 500,00 $.") == []
    # A line break ends a sentence: words of different blocks do not make one.
    assert _flagged(gate, "Awarded to\nRivière on 7 décembre for 1 500,00 $") == []


def test_english_interface_text_on_a_french_page_is_flagged(codes, po):
    gate = TextGate("fr", codes, catalogue("en", po))
    problems = _flagged(
        gate,
        "Historique Payment history Soumission Bid 8XK",
        cells=("Bid 8XK", "Paid", "3 days", "Description"),
    )
    assert _strings(problems) == {"Payment history", "Bid 8XK", "Paid", "3 days"}
    assert any("/fr/" not in problem and "Bid %(label)s" in problem for problem in problems)


def test_french_interface_text_on_an_english_page_is_flagged(codes, po):
    gate = TextGate("en", codes, catalogue("fr", po))
    problems = _flagged(
        gate,
        "History Historique des paiements Amount 4 800,00 $ Rate 5 %",
        cells=("Soumission 8XK", "Payée", "Description"),
    )
    assert _strings(problems) == {
        "Historique des paiements",
        "Soumission 8XK",
        "Payée",
        "4 800,00 $",
        "5 %",
    }


def test_an_english_page_written_right_is_not_flagged(codes, po):
    gate = TextGate("en", codes, catalogue("fr", po))
    text = "Payment history: $4,800.00 paid on 2026-12-21 (5%). Bid 8XK. Description"
    assert _flagged(gate, text, cells=("Bid 8XK", "Paid", "Description")) == []


def test_a_problem_names_the_string_and_where_it_is(codes):
    [problem] = _flagged(TextGate("fr", codes), "Historique du paiement : receipt_confirmed, hier")
    assert problem == (
        "raw code “receipt_confirmed” in …Historique du paiement : [[receipt_confirmed]], hier…"
    )


def test_an_empty_catalogue_side_flags_nothing_of_its_own(codes):
    gate = TextGate("fr", codes, Catalogue("en"))
    assert _flagged(gate, "Payment history", cells=("Paid",)) == []
