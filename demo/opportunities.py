"""Demo opportunities for `manage.py seed_demo` (created once; a second run changes nothing)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from marketplace import calendar
from marketplace.models import User
from opportunities.addenda import opportunity_amend
from opportunities.alerts import alert_save, watch_toggle
from opportunities.cancellation import opportunity_cancel
from opportunities.drafting import criterion_save, opportunity_create
from opportunities.models import Alert, Criterion, Opportunity, Skill
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_answer, question_ask

SKILLS = [
    ("python", "Python", "Python"),
    ("django", "Django", "Django"),
    ("javascript", "JavaScript", "JavaScript"),
    ("react", "React", "React"),
    ("accessibility", "Accessibility (WCAG)", "Accessibilité (WCAG)"),
    ("data", "Data analysis", "Analyse de données"),
    ("design", "User experience design", "Conception de l’expérience utilisateur"),
]

CRITERIA = [
    Criterion(
        kind="mandatory",
        text_en="Show one public contribution to an open-source project.",
        text_fr="Montrez une contribution publique à un projet libre.",
        word_limit=150,
    ),
    Criterion(
        kind="rated",
        text_en="Explain how you would approach this work.",
        text_fr="Expliquez comment vous aborderiez ce travail.",
        weight=2,
        max_score=10,
        word_limit=400,
    ),
    Criterion(
        kind="rated",
        text_en="Describe similar work you have done.",
        text_fr="Décrivez un travail semblable que vous avez réalisé.",
        weight=1,
        max_score=10,
        word_limit=300,
    ),
]

# (title_en, title_fr, summary_en, summary_fr, type, skills, value in dollars, final status)
POSTINGS = [
    (
        "Fix keyboard navigation in the benefits date picker",
        "Corriger la navigation au clavier dans le sélecteur de date des prestations",
        "The open-source date picker used by the benefits form traps keyboard focus.",
        "Le sélecteur de date libre du formulaire de prestations piège le focus du clavier.",
        "bug_fix",
        ["javascript", "accessibility"],
        2000,
        "closing_soon",
    ),
    (
        "Make the Employment Insurance estimator accessible",
        "Rendre l’estimateur d’assurance-emploi accessible",
        "Bring the estimator to WCAG 2.1 AA and document the fixes.",
        "Rendre l’estimateur conforme aux WCAG 2.1 AA et documenter les corrections.",
        "accessibility",
        ["accessibility", "react"],
        9500,
        "published",
    ),
    (
        "Prototype a plain-language letter generator",
        "Prototype d’un générateur de lettres en langage clair",
        "A small Django prototype that turns templates into plain-language letters.",
        "Un petit prototype Django qui transforme des gabarits en lettres en langage clair.",
        "prototype",
        ["python", "django"],
        8000,
        "published",
    ),
    (
        "Speed up the open data export job",
        "Accélérer la tâche d’exportation des données ouvertes",
        "The nightly CSV export takes four hours; make it take less than one.",
        "L’exportation CSV nocturne prend quatre heures ; ramenez-la à moins d’une heure.",
        "feature",
        ["python", "data"],
        4500,
        "published",
    ),
    (
        "Analyse the service request backlog",
        "Analyser l’arriéré des demandes de service",
        "Find patterns in two years of anonymized service requests.",
        "Trouver des tendances dans deux ans de demandes de service anonymisées.",
        "analysis",
        ["data"],
        6000,
        "published",
    ),
    (
        "Redesign the supplier onboarding screens",
        "Repenser les écrans d’inscription des fournisseurs",
        "Usability-test and redesign three onboarding screens.",
        "Tester l’utilisabilité de trois écrans d’inscription et les repenser.",
        "feature",
        ["design", "accessibility"],
        7000,
        "published",
    ),
    (
        "Fix the French hyphenation bug in the PDF generator",
        "Corriger le bogue de césure française du générateur PDF",
        "Long French words break incorrectly in generated PDF letters.",
        "Les longs mots français sont mal coupés dans les lettres PDF générées.",
        "bug_fix",
        ["python"],
        1500,
        "published",
    ),
    (
        "Add dark mode to the internal dashboard",
        "Ajouter un mode sombre au tableau de bord interne",
        "A colour scheme that respects the user's system preference.",
        "Un jeu de couleurs qui respecte la préférence du système de l’utilisateur.",
        "feature",
        ["react", "design"],
        3000,
        "draft",
    ),
    (
        "Translate the API documentation site generator",
        "Traduire le générateur du site de documentation de l’API",
        "Make the documentation generator bilingual.",
        "Rendre le générateur de documentation bilingue.",
        "feature",
        ["javascript"],
        5000,
        "in_review",
    ),
    (
        "Migrate the survey tool to a supported framework",
        "Migrer l’outil de sondage vers un cadre pris en charge",
        "Move the survey tool off an unsupported framework.",
        "Migrer l’outil de sondage d’un cadre qui n’est plus pris en charge.",
        "feature",
        ["javascript"],
        9000,
        "cancelled",
    ),
    (
        "Add automated accessibility checks to the forms library",
        "Ajouter des vérifications automatisées d’accessibilité à la bibliothèque de formulaires",
        "Run axe-core on every component of the open-source forms library in CI.",
        "Exécuter axe-core sur chaque composant de la bibliothèque de formulaires libre en IC.",
        "accessibility",
        ["accessibility", "javascript"],
        4500,
        "closed",  # demo.bids gives it three sealed bids, then closes it
    ),
    (
        "Translate the open-source forms library's error messages",
        "Traduire les messages d’erreur de la bibliothèque de formulaires libre",
        "Add French translations for every validation message, with tests.",
        "Ajouter la traduction française de chaque message de validation, avec des tests.",
        "feature",
        ["javascript"],
        1500,
        "awarded",  # demo.evaluation awards it to supplier 4, who has accepted the contract
    ),
    (
        "Add a dark theme to the open-source status page",
        "Ajouter un thème sombre à la page d’état libre",
        "Offer a dark colour scheme that follows the system setting, with AA contrast.",
        "Offrir un thème sombre qui suit le réglage du système, avec un contraste AA.",
        "accessibility",
        ["accessibility"],
        2500,
        "awarded",  # awarded to supplier 4, who has delivered; demo.payments
    ),
    (
        "Document the open-source address lookup API",
        "Documenter l’API libre de recherche d’adresses",
        "Write a bilingual reference and a getting-started guide for the API.",
        "Rédiger une référence bilingue et un guide de démarrage pour l’API.",
        "analysis",
        ["python"],
        3000,
        "awarded",  # awarded to supplier 4, certified and paid by card; demo.payments
    ),
]


def seed_opportunities(*, buyer: User, admin: User, suppliers: list[User]) -> None:
    """`suppliers`: the four demo suppliers. The second asks the demo question; the first
    watches the opportunity closing soon; the third and second have alerts (immediate, daily)."""
    for slug, name_en, name_fr in SKILLS:
        Skill.objects.get_or_create(slug=slug, defaults={"name_en": name_en, "name_fr": name_fr})
    asker, watcher = suppliers[1], suppliers[0]
    if not Alert.objects.filter(user=suppliers[2]).exists():
        alert_save(
            user=suppliers[2],
            skills=list(Skill.objects.filter(slug="accessibility")),
            types=[],
            frequency=Alert.Frequency.IMMEDIATE,
        )
    if not Alert.objects.filter(user=suppliers[1]).exists():
        alert_save(user=suppliers[1], skills=[], types=[], frequency=Alert.Frequency.DAILY)
    now = timezone.now()
    for title_en, title_fr, summary_en, summary_fr, kind, skills, value, final in POSTINGS:
        if Opportunity.objects.filter(title_en=title_en).exists():
            continue
        closes_at = calendar.add_business_days(now, 10).replace(hour=14, minute=0, second=0)
        opportunity = opportunity_create(
            buyer=buyer,
            title_en=title_en,
            title_fr=title_fr,
            summary_en=summary_en,
            summary_fr=summary_fr,
            description_en=f"{summary_en}\n\n**Context.** The code is public and the team "
            "reviews pull requests within a day.",
            description_fr=f"{summary_fr}\n\n**Contexte.** Le code est public et l’équipe "
            "examine les demandes de tirage en moins d’une journée.",
            deliverables_en="A merged pull request with tests and a short write-up.",
            deliverables_fr="Une demande de tirage fusionnée, avec tests et un court compte rendu.",
            acceptance_criteria_en="- Tests pass\n- The team can maintain the change",
            acceptance_criteria_fr=(
                "- Les tests réussissent\n- L’équipe peut maintenir le changement"
            ),
            type=kind,
            value_cents=value * 100,
            licence="MIT",
            repository_url="https://example.org/esdc/demo",
            question_deadline=closes_at - dt.timedelta(days=2),
            closes_at=closes_at,
            expected_delivery_date=(closes_at + dt.timedelta(days=21)).date(),
            attest_standalone=True,
            attest_no_internal_capacity=True,
            attest_not_split=True,
            skills=list(Skill.objects.filter(slug__in=skills)),
        )
        for criterion in CRITERIA:
            criterion_save(
                actor=buyer,
                opportunity=opportunity,
                kind=criterion.kind,
                text_en=criterion.text_en,
                text_fr=criterion.text_fr,
                weight=criterion.weight,
                max_score=criterion.max_score,
                word_limit=criterion.word_limit,
            )
        if final == "draft":
            continue
        opportunity_submit_for_review(actor=buyer, opportunity=opportunity)
        if final == "in_review":
            continue
        opportunity = opportunity_publish(
            actor=admin, opportunity=opportunity, acknowledge_split=True
        )
        if final == "cancelled":
            opportunity_cancel(
                actor=buyer,
                opportunity=opportunity,
                reason="The framework vendor extended support; the work is no longer needed.",
            )
        elif final == "closing_soon":
            # Demo history: posted last week, so it closes within the next 24 hours.
            soon = now + dt.timedelta(hours=20)
            Opportunity.objects.filter(pk=opportunity.pk).update(
                published_at=now - dt.timedelta(days=7),
                question_deadline=soon - dt.timedelta(hours=12),
                closes_at=soon,
            )
            opportunity.refresh_from_db()
            watch_toggle(user=watcher, opportunity=opportunity)
            question = question_ask(
                asker=asker,
                opportunity=opportunity,
                text="Which browsers must the fix support?",
            )
            question_answer(
                actor=buyer,
                question=question,
                answer_en="The last two versions of Chrome, Firefox, Safari and Edge.",
                answer_fr="Les deux dernières versions de Chrome, Firefox, Safari et Edge.",
                as_addendum=True,
            )
            opportunity_amend(
                actor=buyer,
                opportunity=opportunity,
                note_en="Added a link to the failing test case.",
                note_fr="Ajout d’un lien vers le cas de test qui échoue.",
                repository_url="https://example.org/esdc/demo/issues/42",
            )
