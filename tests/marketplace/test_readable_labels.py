"""Statuses read as statuses, agreeing with their noun in French, and lists of names in the
reader's alphabetical order."""

from __future__ import annotations

import pytest
from django.utils import translation

from bids.models import Bid
from evaluation.models import Offer
from marketplace.forms import SupplierProfileForm
from marketplace.i18n import collation_key, sorted_choices
from marketplace.models import Province
from payments.models import Contract, Payment

FRENCH_ORDER = [
    "Alberta",
    "Colombie-Britannique",
    "Île-du-Prince-Édouard",
    "Manitoba",
    "Nouveau-Brunswick",
    "Nouvelle-Écosse",
    "Nunavut",
    "Ontario",
    "Québec",
    "Saskatchewan",
    "Terre-Neuve-et-Labrador",
    "Territoires du Nord-Ouest",
    "Yukon",
]
ENGLISH_ORDER = [
    "Alberta",
    "British Columbia",
    "Manitoba",
    "New Brunswick",
    "Newfoundland and Labrador",
    "Northwest Territories",
    "Nova Scotia",
    "Nunavut",
    "Ontario",
    "Prince Edward Island",
    "Quebec",
    "Saskatchewan",
    "Yukon",
]


# --- Statuses --------------------------------------------------------------------------------


def test_a_submitted_bid_is_a_status_not_a_date_phrase():
    with translation.override("en"):
        assert Bid.Status.SUBMITTED.label == "Submitted"
        assert Bid.Status.DRAFT.label == "Draft, not submitted"
    with translation.override("fr"):
        assert Bid.Status.SUBMITTED.label == "Soumise"  # la soumission
        assert Bid.Status.DRAFT.label == "Ébauche, non soumise"


def test_statuses_agree_with_their_noun_in_french():
    """The same English words, said of an offer (une offre) and of a contract (un contrat): the
    contract's French is never the feminine participle (the glossary's noun phrase, « Refus du
    fournisseur », fits both). A payment (un paiement) is « Payé »."""
    with translation.override("en"):
        assert Contract.Status.DECLINED.label == Offer.Outcome.DECLINED.label
    with translation.override("fr"):
        for status in (Contract.Status.DECLINED, Contract.Status.DEFAULTED):
            assert not str(status.label).split()[0].endswith("ée"), status.label
        assert Payment.Status.PAID.label == "Payé"
        assert Bid.Status.WITHDRAWN.label == "Retirée"  # la soumission


def test_a_contract_page_shows_its_status_in_the_masculine(db):
    contract = Contract(status=Contract.Status.DECLINED)
    with translation.override("fr"):
        assert not contract.get_status_display().split()[0].endswith("ée")


# --- Alphabetical order --------------------------------------------------------------------------


def test_the_collation_key_sets_accents_and_case_aside_first():
    words = ["Zèbre", "île", "Île", "Ile", "Ontario", "Éole", "eau", "Québec"]
    assert sorted(words, key=collation_key) == [
        "eau",
        "Éole",
        "Ile",
        "Île",
        "île",
        "Ontario",
        "Québec",
        "Zèbre",
    ]
    assert collation_key("Île") != collation_key("île")  # a fixed order, every time


@pytest.mark.parametrize(("language", "order"), [("en", ENGLISH_ORDER), ("fr", FRENCH_ORDER)])
def test_provinces_are_in_the_readers_alphabetical_order(language, order):
    with translation.override(language):
        assert [str(label) for _code, label in sorted_choices(Province.choices)] == order


@pytest.mark.parametrize(("language", "order"), [("en", ENGLISH_ORDER), ("fr", FRENCH_ORDER)])
def test_the_supplier_profile_form_lists_provinces_in_the_readers_order(db, language, order):
    with translation.override(language):
        form = SupplierProfileForm()
        choices = [(code, str(label)) for code, label in form.fields["province"].choices]
        html = str(form["province"])
    assert choices[0][0] == "" and [label for _code, label in choices[1:]] == order
    positions = [html.index(f'value="{code}"') for code, _label in choices[1:]]
    assert positions == sorted(positions)
    assert dict(choices)["PE"] == order[2 if language == "fr" else 9]
