"""The split warning names only postings that read like the same work, says why (the words
both use, the type, the skills, the dates), and stays quiet otherwise; in both languages, with
or without accents."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from opportunities import similarity
from opportunities.models import Guardrails
from opportunities.publishing import opportunity_submit_for_review, split_matches
from tests.factories import OpportunityFactory, SkillFactory

pytestmark = pytest.mark.django_db

DATE_PICKER = {
    "title_en": "Fix the keyboard trap in the date picker",
    "title_fr": "Corriger le piège au clavier du sélecteur de date",
    "summary_en": "The date picker of the benefits form traps keyboard focus.",
    "summary_fr": "Le sélecteur de date du formulaire de prestations piège le focus du clavier.",
    "description_en": "Keyboard users cannot leave the date picker calendar.",
    "description_fr": "Les utilisateurs du clavier ne peuvent pas quitter le calendrier.",
    "deliverables_en": "A merged pull request.",
    "deliverables_fr": "Une demande de tirage fusionnée.",
}
DATE_PICKER_AGAIN = {
    "title_en": "Date picker: screen reader labels",
    "title_fr": "Selecteur de dates : etiquettes pour lecteurs d\u2019ecran",  # no accents
    "summary_en": "The date picker of the benefits form has no labels for screen readers.",
    "summary_fr": "Le selecteur de date du formulaire n\u2019a pas d\u2019etiquettes.",
    "description_en": "Screen reader users hear nothing in the date picker calendar.",
    "description_fr": "Les lecteurs d\u2019ecran ne lisent rien dans le calendrier du selecteur.",
    "deliverables_en": "A merged pull request.",
    "deliverables_fr": "Une demande de tirage fusionnée.",
}
TRANSLATION = {
    "title_en": "Translate the help centre into French",
    "title_fr": "Traduire le centre d\u2019aide en français",
    "summary_en": "Translate forty help articles.",
    "summary_fr": "Traduire quarante articles d\u2019aide.",
    "description_en": "The help centre exists in English only.",
    "description_fr": "Le centre d\u2019aide n\u2019existe qu\u2019en anglais.",
    "deliverables_en": "Forty translated articles.",
    "deliverables_fr": "Quarante articles traduits.",
}


@pytest.fixture
def cap():
    guardrails = Guardrails.current()
    guardrails.value_cap_cents = 500_000
    guardrails.save()


def _submitted(buyer, texts, *, value=400_000, **fields):
    opportunity = OpportunityFactory(buyer=buyer, value_cents=value, **texts, **fields)
    return opportunity_submit_for_review(actor=buyer, opportunity=opportunity)


def test_french_words_match_without_their_accents_or_plurals():
    assert set(similarity.words("Sélecteur de dates")) == set(
        similarity.words("selecteur des date")
    )
    assert set(similarity.words("Étiquettes d\u2019écran")) == {"etiquette", "ecran"}
    # Grammar and the words every posting uses are not evidence.
    assert similarity.words("Fix the bug for the Government of Canada") == {}


def test_alike_postings_are_flagged_with_the_words_they_share(buyer, cap):
    skill = SkillFactory()
    earlier = _submitted(buyer, DATE_PICKER, skills=[skill], type="accessibility")
    later = OpportunityFactory(
        buyer=buyer, value_cents=300_000, skills=[skill], type="accessibility", **DATE_PICKER_AGAIN
    )
    [match] = split_matches(later)
    assert match.other == earlier
    assert match.score >= similarity.THRESHOLD_WITH_CONTEXT
    assert match.same_type and match.shared_skills == (skill,)
    with translation.override("en"):
        assert {"Date", "picker"} <= set(match.words)
    with translation.override("fr"):
        # Shown as the posting under review writes them (here without accents).
        assert "Selecteur" in match.words
    assert match.days_apart == 0


def test_unlike_postings_of_the_same_buyer_raise_nothing(buyer, cap):
    skill = SkillFactory()
    _submitted(buyer, TRANSLATION, skills=[skill], type="accessibility")
    later = OpportunityFactory(
        buyer=buyer, value_cents=300_000, skills=[skill], type="accessibility", **DATE_PICKER
    )
    # Same buyer, same skill, same type, over the cap together: still different work.
    assert split_matches(later) == []


def test_a_shared_topic_is_not_the_same_work():
    audit = similarity.Text(
        title="Accessibility audit of the benefits forms",
        body="Audit every form against WCAG and report the findings.",
    )
    fix = similarity.Text(
        title="Accessibility fix for the date picker",
        body="Fix the keyboard trap in the date picker calendar.",
    )
    assert similarity.likeness(audit, fix).score < similarity.THRESHOLD_WITH_CONTEXT


def test_alike_but_under_the_cap_together_is_quiet(buyer, cap):
    _submitted(buyer, DATE_PICKER, value=100_000)
    later = OpportunityFactory(buyer=buyer, value_cents=100_000, **DATE_PICKER_AGAIN)
    assert split_matches(later) == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_review_page_says_why_and_only_for_the_alike_one(
    client, buyer, program_admin, cap, language
):
    _submitted(buyer, DATE_PICKER, type="accessibility")
    unrelated = _submitted(buyer, TRANSLATION, type="accessibility")
    later = _submitted(buyer, DATE_PICKER_AGAIN, value=300_000, type="accessibility")
    client.force_login(program_admin)
    with translation.override(language):
        url = reverse("opportunities:review", args=[later.pk])
    page = client.get(url).content.decode()
    words = "Words both use:" if language == "en" else "Mots en commun\u00a0:"
    assert words in page
    same_type = "The same type of work" if language == "en" else "Le même type de travail"
    assert same_type in page
    title = unrelated.title_fr if language == "fr" else unrelated.title_en
    assert title.replace("\u2019", "&#x27;") not in page and title not in page


def test_the_same_fix_in_other_words_is_flagged(buyer, cap):
    """The demo's date picker and the browser journey's posting (tests/e2e/test_journey.py):
    a keyboard trap in a date picker, worded differently, of a different type."""
    _submitted(
        buyer,
        {
            "title_en": "Fix keyboard navigation in the benefits date picker",
            "title_fr": (
                "Corriger la navigation au clavier dans le sélecteur de date des prestations"
            ),
            "summary_en": (
                "The open-source date picker used by the benefits form traps keyboard focus."
            ),
            "summary_fr": (
                "Le sélecteur de date libre du formulaire de prestations piège le focus du clavier."
            ),
        },
        type="bug_fix",
    )
    later = OpportunityFactory(
        buyer=buyer,
        value_cents=300_000,
        type="accessibility",
        title_en="Fix the keyboard trap in the appointment booker",
        title_fr="Corriger le piège au clavier du module de rendez-vous",
        summary_en="Keyboard users cannot leave the date picker.",
        summary_fr="Les utilisateurs du clavier ne peuvent pas quitter le sélecteur de date.",
    )
    [match] = split_matches(later)
    assert match.score >= similarity.THRESHOLD
    with translation.override("en"):
        assert {"keyboard", "trap", "date", "picker"} <= set(match.words)
    with translation.override("fr"):
        assert {"clavier", "sélecteur", "date"} <= set(match.words)
