"""Bilingual text for the page benchmark's data set: titles, summaries, descriptions, questions,
answers and bid answers put together from a fixed vocabulary, English and French side by side.

The words are those of the marketplace's real subject (digital work for public services), so
that full-text search in English and in French has real stemming and ranking to do: about one
posting in five is about accessibility ("accessibility" / "accessibilité"), and many more
mention it in their requirements.
"""

from __future__ import annotations

import random

# (skill slug, English name, French name)
SKILLS = [
    ("accessibility", "Accessibility", "Accessibilité"),
    ("python", "Python", "Python"),
    ("django", "Django", "Django"),
    ("javascript", "JavaScript", "JavaScript"),
    ("react", "React", "React"),
    ("front-end", "Front-end development", "Développement frontal"),
    ("back-end", "Back-end development", "Développement dorsal"),
    ("java", "Java", "Java"),
    ("dotnet", ".NET", ".NET"),
    ("data", "Data analysis", "Analyse de données"),
    ("data-engineering", "Data engineering", "Ingénierie des données"),
    ("design", "Service design", "Conception de services"),
    ("ux-research", "User research", "Recherche sur les utilisateurs"),
    ("content", "Content design", "Conception de contenu"),
    ("translation", "Translation", "Traduction"),
    ("security", "Security", "Sécurité"),
    ("devops", "DevOps", "DevOps"),
    ("cloud", "Cloud infrastructure", "Infrastructure infonuagique"),
    ("mobile", "Mobile apps", "Applications mobiles"),
    ("testing", "Automated testing", "Tests automatisés"),
    ("drupal", "Drupal", "Drupal"),
    ("wordpress", "WordPress", "WordPress"),
    ("gis", "Maps and GIS", "Cartographie et SIG"),
    ("machine-learning", "Machine learning", "Apprentissage automatique"),
]

# (English, French with its article, French after "de")
COMPONENTS = [
    (
        "the appointment booking form",
        "le formulaire de prise de rendez-vous",
        "du formulaire de prise de rendez-vous",
    ),
    ("the benefits calculator", "le calculateur de prestations", "du calculateur de prestations"),
    (
        "the document upload page",
        "la page de téléversement de documents",
        "de la page de téléversement de documents",
    ),
    ("the open data portal", "le portail de données ouvertes", "du portail de données ouvertes"),
    (
        "the employment insurance application",
        "la demande d'assurance-emploi",
        "de la demande d'assurance-emploi",
    ),
    (
        "the passport status checker",
        "l'outil de suivi des passeports",
        "de l'outil de suivi des passeports",
    ),
    (
        "the job bank search",
        "la recherche du Guichet-Emplois",
        "de la recherche du Guichet-Emplois",
    ),
    ("the notification service", "le service de notifications", "du service de notifications"),
    (
        "the address lookup component",
        "le composant de recherche d'adresse",
        "du composant de recherche d'adresse",
    ),
    ("the PDF letter generator", "le générateur de lettres PDF", "du générateur de lettres PDF"),
    ("the sign-in flow", "le parcours de connexion", "du parcours de connexion"),
    (
        "the content management system",
        "le système de gestion de contenu",
        "du système de gestion de contenu",
    ),
    (
        "the mobile app for caseworkers",
        "l'application mobile des agents",
        "de l'application mobile des agents",
    ),
    (
        "the translation workflow",
        "le flux de travail de traduction",
        "du flux de travail de traduction",
    ),
    (
        "the service metrics dashboard",
        "le tableau de bord des mesures de service",
        "du tableau de bord des mesures de service",
    ),
    ("the API gateway", "la passerelle d'API", "de la passerelle d'API"),
    (
        "the client survey tool",
        "l'outil de sondage des clients",
        "de l'outil de sondage des clients",
    ),
    ("the chat assistant", "l'assistant de clavardage", "de l'assistant de clavardage"),
    (
        "the grants and contributions portal",
        "le portail des subventions et contributions",
        "du portail des subventions et contributions",
    ),
    (
        "the call centre scheduling tool",
        "l'outil de planification du centre d'appels",
        "de l'outil de planification du centre d'appels",
    ),
    (
        "the social insurance number validator",
        "le validateur de numéro d'assurance sociale",
        "du validateur de numéro d'assurance sociale",
    ),
    ("the pension estimator", "l'estimateur de pension", "de l'estimateur de pension"),
    (
        "the student loan repayment page",
        "la page de remboursement des prêts étudiants",
        "de la page de remboursement des prêts étudiants",
    ),
    (
        "the web forms library",
        "la bibliothèque de formulaires Web",
        "de la bibliothèque de formulaires Web",
    ),
]

AUDIENCES = [
    ("job seekers", "des chercheurs d'emploi"),
    ("seniors", "des aînés"),
    ("students", "des étudiants"),
    ("employers", "des employeurs"),
    ("newcomers to Canada", "des nouveaux arrivants"),
    ("people with disabilities", "des personnes en situation de handicap"),
    ("caseworkers", "des agents de traitement"),
    ("parents", "des parents"),
]

TECHNOLOGIES = [
    "Python",
    "Django",
    "React",
    "Java",
    "PostgreSQL",
    "Drupal",
    "WordPress",
    "Angular",
    "Vue.js",
    ".NET",
    "Kotlin",
    "Swift",
    "Power BI",
    "R",
    "GitHub Actions",
    "Terraform",
]

# Titles by type of work: (English, French), {c} the component, {de_c} its French "de" form.
TITLES = {
    "accessibility": [
        ("Make {c} accessible", "Rendre accessible {c}"),
        ("Fix accessibility barriers in {c}", "Corriger les obstacles à l'accessibilité {de_c}"),
        ("Accessibility audit and fixes for {c}", "Audit d'accessibilité et corrections {de_c}"),
        (
            "Screen reader and keyboard accessibility for {c}",
            "Accessibilité au clavier et aux lecteurs d'écran {de_c}",
        ),
    ],
    "bug_fix": [
        ("Fix the date validation bug in {c}", "Corriger le bogue de validation des dates {de_c}"),
        ("Fix crashes in {c}", "Corriger les plantages {de_c}"),
        ("Fix slow page loads in {c}", "Corriger la lenteur de chargement {de_c}"),
        ("Fix the French accents in {c}", "Corriger les accents français {de_c}"),
    ],
    "feature": [
        (
            "Add bilingual email templates to {c}",
            "Ajouter des modèles de courriel bilingues {de_c}",
        ),
        ("Add a CSV export to {c}", "Ajouter une exportation CSV {de_c}"),
        ("Add single sign-on to {c}", "Ajouter l'authentification unique {de_c}"),
        ("Add search filters to {c}", "Ajouter des filtres de recherche {de_c}"),
    ],
    "prototype": [
        ("Prototype a new version of {c}", "Prototyper une nouvelle version {de_c}"),
        ("Build a clickable prototype of {c}", "Construire un prototype cliquable {de_c}"),
    ],
    "analysis": [
        ("Analyse the usage data of {c}", "Analyser les données d'utilisation {de_c}"),
        ("Review the security of {c}", "Examiner la sécurité {de_c}"),
        ("Measure the performance of {c}", "Mesurer la performance {de_c}"),
    ],
    "other": [
        ("Write developer documentation for {c}", "Rédiger la documentation technique {de_c}"),
        ("Migrate {c} to a supported platform", "Migrer {c} vers une plateforme prise en charge"),
    ],
}

# Description sentences: (English, French); {C} the component capitalised, {a} an audience,
# {t} a technology, {n} a number.
SENTENCES = [
    ("{C} is used by {a} across Canada.", "{C} est utilisé par {a} partout au Canada."),
    (
        "It is built with {t} and its source code is public on GitHub.",
        "Il est construit avec {t} et son code source est public sur GitHub.",
    ),
    (
        "Users report that the page times out when more than {n} records are loaded.",
        "Les utilisateurs signalent que la page expire lorsque plus de {n} enregistrements sont "
        "chargés.",
    ),
    (
        "The team needs a small, well-tested change that can be merged within two weeks.",
        "L'équipe a besoin d'une petite modification bien testée qui peut être fusionnée en deux "
        "semaines.",
    ),
    (
        "Automated tests with {t} must cover the new behaviour.",
        "Des tests automatisés avec {t} doivent couvrir le nouveau comportement.",
    ),
    (
        "The deliverable is released under an open-source licence.",
        "Le livrable est publié sous une licence libre.",
    ),
    (
        "Data must stay in Canada and no personal information is shared with the supplier.",
        "Les données doivent rester au Canada et aucun renseignement personnel n'est communiqué au "
        "fournisseur.",
    ),
    (
        "The current version was written in {t} several years ago and is hard to maintain.",
        "La version actuelle a été écrite en {t} il y a plusieurs années et elle est difficile à "
        "maintenir.",
    ),
    (
        "A short report with recommendations, in plain language, is expected at the end.",
        "Un court rapport de recommandations, en langage clair, est attendu à la fin.",
    ),
    (
        "The supplier works remotely and meets the product owner once a week by video.",
        "Le fournisseur travaille à distance et rencontre la responsable du produit une fois par "
        "semaine par vidéo.",
    ),
    (
        "Pages must load in under two seconds for {n} simultaneous users.",
        "Les pages doivent se charger en moins de deux secondes pour {n} utilisateurs simultanés.",
    ),
    (
        "The interface must work in both official languages.",
        "L'interface doit fonctionner dans les deux langues officielles.",
    ),
    (
        "Mobile users on slow connections are the priority.",
        "Les utilisateurs mobiles qui ont une connexion lente sont la priorité.",
    ),
    (
        "Documentation for the next developer is part of the work.",
        "La documentation pour le prochain développeur fait partie du travail.",
    ),
    (
        "The error messages are unclear and {a} call the help desk instead.",
        "Les messages d'erreur sont peu clairs et {a} appellent plutôt le centre d'assistance.",
    ),
    (
        "About {n} people use it every day, most of them on a phone.",
        "Environ {n} personnes l'utilisent chaque jour, la plupart sur un téléphone.",
    ),
]

ACCESSIBILITY_SENTENCES = [
    (
        "The work must meet the Web Content Accessibility Guidelines (WCAG) 2.1 AA.",
        "Le travail doit respecter les Règles pour l'accessibilité des contenus Web (WCAG) 2.1 AA.",
    ),
    (
        "Screen reader users cannot complete the form because several fields have no label.",
        "Les utilisateurs de lecteurs d'écran ne peuvent pas remplir le formulaire, car plusieurs "
        "champs n'ont pas d'étiquette.",
    ),
    (
        "Keyboard navigation skips the main menu and traps the focus in a dialog.",
        "La navigation au clavier saute le menu principal et bloque le focus dans une boîte de "
        "dialogue.",
    ),
    (
        "Colour contrast and text resizing must be checked on every page for accessibility.",
        "Le contraste des couleurs et l'agrandissement du texte doivent être vérifiés sur "
        "chaque page pour l'accessibilité.",
    ),
]

DELIVERABLES = [
    ("A merged pull request with tests.", "Une demande de tirage fusionnée, avec des tests."),
    ("A short report in plain language.", "Un court rapport en langage clair."),
    ("Updated developer documentation.", "Une documentation technique à jour."),
    (
        "A recorded demonstration of the change.",
        "Une démonstration enregistrée de la modification.",
    ),
]

ACCEPTANCE = [
    (
        "All automated tests pass in the continuous integration pipeline.",
        "Tous les tests automatisés réussissent dans le pipeline d'intégration continue.",
    ),
    (
        "An automated accessibility scan (axe) finds no violation.",
        "Un balayage d'accessibilité automatisé (axe) ne trouve aucune violation.",
    ),
    (
        "The product owner approves the change after a demonstration.",
        "La responsable du produit approuve la modification après une démonstration.",
    ),
    (
        "The pages load in under two seconds on a 3G connection.",
        "Les pages se chargent en moins de deux secondes sur une connexion 3G.",
    ),
]

CRITERIA = [
    (
        "mandatory",
        "Has delivered similar work in the last three years.",
        "A réalisé un travail semblable au cours des trois dernières années.",
    ),
    (
        "mandatory",
        "Can start within two weeks of the award.",
        "Peut commencer dans les deux semaines suivant l'attribution.",
    ),
    (
        "rated",
        "Describe a similar piece of work you did and what you learned.",
        "Décrivez un travail semblable que vous avez fait et ce que vous en avez appris.",
    ),
    (
        "rated",
        "Explain how you would approach this work, step by step.",
        "Expliquez comment vous aborderiez ce travail, étape par étape.",
    ),
    (
        "rated",
        "How will you test the change, including for accessibility?",
        "Comment testerez-vous la modification, y compris pour l'accessibilité?",
    ),
]

QUESTIONS = [
    "Is the source code already public, or will we get access after the award?",
    "Can the work be done by a team of two people?",
    "Which browsers and screen readers must be supported?",
    "Is there a test environment with realistic data?",
    "Can we propose a different technology if it is open source?",
    "Will the product owner be available for questions during the work?",
    "Le code source est-il déjà public?",
    "Le travail peut-il être fait en dehors des heures de bureau?",
    "Quels navigateurs et lecteurs d'écran doivent être pris en charge?",
    "Y a-t-il un environnement de test?",
]

ANSWERS = [
    (
        "Yes: the repository is public and linked in the description.",
        "Oui : le dépôt est public et le lien figure dans la description.",
    ),
    (
        "Yes, as long as one person is the contact for the work.",
        "Oui, pourvu qu'une personne soit la personne-ressource.",
    ),
    (
        "The last two versions of Chrome, Firefox, Safari and Edge; NVDA and VoiceOver.",
        "Les deux dernières versions de Chrome, Firefox, Safari et Edge; NVDA et VoiceOver.",
    ),
    (
        "A test environment with synthetic data is provided at the start.",
        "Un environnement de test avec des données synthétiques est fourni au départ.",
    ),
]

ADDENDA = [
    (
        "The closing date is extended by three business days.",
        "La date de clôture est reportée de trois jours ouvrables.",
    ),
    (
        "The description now links to the issue tracker.",
        "La description contient maintenant un lien vers le système de suivi des problèmes.",
    ),
    (
        "A second mandatory criterion was clarified.",
        "Un deuxième critère obligatoire a été précisé.",
    ),
]

# What suppliers write in their bids (answers to the criteria).
BID_SENTENCES = [
    "Last year we fixed a similar problem for a provincial service used by {n} people.",
    "We start by reproducing the issue with an automated test, then fix it in small steps.",
    "Our team has tested web forms with NVDA, JAWS and VoiceOver for many years.",
    "We write the tests first, so that the fix stays fixed when the code changes later.",
    "Every pull request is reviewed by a second developer before it is proposed.",
    "We have contributed to several open-source projects in {t}.",
    "We can start the week after the award and deliver within ten business days.",
    "We will keep the product owner informed with a short note every Friday.",
    "The accessibility of the result will be checked with axe and by hand with a keyboard.",
    "We are a small Canadian firm and we work in English and in French.",
    "In a previous contract we reduced the page load time from eight seconds to one.",
    "We document every decision in the pull request so that the next developer understands it.",
    "Nous avons corrigé un problème semblable pour un ministère fédéral l'an dernier.",
    "Nos tests couvrent la navigation au clavier et les lecteurs d'écran.",
]

IDENTITY_SENTENCES = [
    "You can see our past work at {website} or contact {name} at {email}.",
    "At {firm} we have done this kind of work since 2015.",
    "Our code is on GitHub under {github}.",
]

CANCEL_REASONS = [
    "The need changed: the team found another solution.",
    "The budget for this work was withdrawn this fiscal year.",
    "The work will be done by the internal team after all.",
]

FIRST_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Camille",
    "Dominique",
    "Morgan",
    "Noor",
    "Li",
    "Ana",
    "Marc",
    "Sophie",
    "Émilie",
    "Jean",
    "Priya",
    "Omar",
    "Chloé",
    "Liam",
    "Olivia",
    "Mei",
    "Hugo",
]
LAST_NAMES = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Smith",
    "Singh",
    "Nguyen",
    "Martin",
    "Côté",
    "Bouchard",
    "Wilson",
    "Pelletier",
    "Brown",
    "Lavoie",
    "Chen",
    "Fortin",
    "Patel",
    "Leblanc",
    "Taylor",
]
FIRM_WORDS = ["Digital", "Labs", "Studio", "Consulting", "Code", "Numérique", "Solutions", "Web"]


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class Writer:
    """Builds the texts from one random generator, so the data set is the same on every run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _fill(self, pair: tuple[str, str], component: tuple[str, str, str]) -> tuple[str, str]:
        rng = self.rng
        audience = rng.choice(AUDIENCES)
        technology = rng.choice(TECHNOLOGIES)
        number = rng.choice((50, 200, 500, 1000, 5000, 20000))
        en, fr = pair
        return (
            en.format(C=capitalised(component[0]), a=audience[0], t=technology, n=number),
            fr.format(C=capitalised(component[1]), a=audience[1], t=technology, n=number),
        )

    def opportunity(self, kind: str) -> dict[str, str]:
        """Title, summary, description, deliverables and acceptance criteria, in both languages."""
        rng = self.rng
        component = rng.choice(COMPONENTS)
        title_en, title_fr = rng.choice(TITLES[kind])
        title_en = capitalised(title_en.format(c=component[0]))
        title_fr = capitalised(title_fr.format(c=component[1], de_c=component[2]))
        sentences = rng.sample(SENTENCES, rng.randint(4, 7))
        if kind == "accessibility":
            sentences[1:1] = rng.sample(ACCESSIBILITY_SENTENCES, rng.randint(2, 4))
        elif rng.random() < 0.3:
            sentences.append(ACCESSIBILITY_SENTENCES[0])
        filled = [self._fill(pair, component) for pair in sentences]
        first_en, first_fr = filled[0]
        half = max(2, len(filled) // 2)
        deliverables = rng.sample(DELIVERABLES, rng.randint(1, 3))
        acceptance = rng.sample(ACCEPTANCE, rng.randint(1, 3))
        return {
            "title_en": title_en,
            "title_fr": title_fr,
            "summary_en": f"{title_en}. {first_en}",
            "summary_fr": f"{title_fr}. {first_fr}",
            "description_en": " ".join(en for en, _fr in filled[:half])
            + "\n\n"
            + " ".join(en for en, _fr in filled[half:]),
            "description_fr": " ".join(fr for _en, fr in filled[:half])
            + "\n\n"
            + " ".join(fr for _en, fr in filled[half:]),
            "deliverables_en": "\n".join(f"- {en}" for en, _fr in deliverables),
            "deliverables_fr": "\n".join(f"- {fr}" for _en, fr in deliverables),
            "acceptance_criteria_en": "\n".join(f"- {en}" for en, _fr in acceptance),
            "acceptance_criteria_fr": "\n".join(f"- {fr}" for _en, fr in acceptance),
        }

    def bid_answer(self, *, words: int, identity: dict[str, str] | None = None) -> str:
        """About `words` words of a supplier's answer; with `identity`, one sentence gives the
        supplier away (what evaluation's redaction is for)."""
        rng = self.rng
        sentences: list[str] = []
        count = 0
        while count < words:
            sentence = rng.choice(BID_SENTENCES).format(
                n=rng.choice((300, 2000, 15000)), t=rng.choice(TECHNOLOGIES)
            )
            sentences.append(sentence)
            count += sentence.count(" ") + 1
        if identity is not None:
            position = rng.randrange(len(sentences) + 1)
            sentences.insert(position, rng.choice(IDENTITY_SENTENCES).format(**identity))
        paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
        return "\n\n".join(paragraphs)
