"""Demo history for `manage.py seed_demo`: a year of past opportunities, made with a fixed seed,
so the program dashboard and the open data have figures to show.

Thirty postings of three history buyers (`buyer2@demo.gc.ca` … `buyer4@demo.gc.ca`), bid on by
twenty-two history suppliers and now and then by the demo suppliers, evaluated, awarded,
delivered and paid by `cardholder@demo.gc.ca` — a few cancelled or unsuccessful, the latest
three still in delivery. Each step leaves the rows and the audit events the services would have
left (who, what, when), written in bulk: replaying a year of work through the services would
send hundreds of notifications and take minutes.

Dates count back from the Monday of the current week in whole weeks, so the history keeps its
shape (weekdays and office hours included) whatever day it is seeded, nothing in it is later
than that Monday, and no history payment falls in the current month (where it would count
against the card holder's monthly limit in the live demo). Created once: a second run finds the
first history supplier and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from bids.models import Answer, Bid, Receipt
from bids.services import content_digest
from evaluation.draw import label_digest, label_record, lock_packet_record, selection_ranking
from evaluation.models import ConsensusMark, Evaluation, Mark, Offer, Packet, PanelMember
from evaluation.packets import LABEL_ALPHABET
from marketplace.calendar import add_business_days
from marketplace.models import AuditEvent, Role, RoleGrant, SupplierProfile, User
from marketplace.services import SUPPLIER_PROFILE_FIELDS
from opportunities.models import Criterion, Opportunity, OpportunityType, Question, Skill
from opportunities.models import Licence as L
from opportunities.models import SelectionMethod as Method
from payments import tax
from payments.contracts import CERTIFICATION
from payments.models import Contract, Payment, PaymentEvent
from reports.models import SelfIdentification

from . import builders
from .accounts import DEMO_PASSWORD
from .opportunities import CRITERIA, SKILLS

SECOND, MINUTE = dt.timedelta(seconds=1), dt.timedelta(minutes=1)

Kind = SupplierProfile.Kind
Group = SelfIdentification.Group
T = OpportunityType

ADMIN = "admin@demo.gc.ca"
CARD_HOLDER = "cardholder@demo.gc.ca"
DEMO_EVALUATORS = ("evaluator1@demo.gc.ca", "evaluator2@demo.gc.ca")
DEMO_SUPPLIERS = tuple(f"supplier{n}@demo.example" for n in range(1, 5))

# (email, full name, language, role)
HISTORY_STAFF = [
    ("buyer2@demo.gc.ca", "Mireille Côté", "fr", Role.BUYER),
    ("buyer3@demo.gc.ca", "Daniel Okoye", "en", Role.BUYER),
    ("buyer4@demo.gc.ca", "Harpreet Gill", "en", Role.BUYER),
    ("evaluator3@demo.gc.ca", "Marc-André Roy", "fr", Role.EVALUATOR),
    ("evaluator4@demo.gc.ca", "Naomi Clarke", "en", Role.EVALUATOR),
]
HISTORY_BUYERS = [email for email, _name, _lang, role in HISTORY_STAFF if role == Role.BUYER]


def history_supplier_email(number: int) -> str:
    return f"history-supplier-{number:02d}@demo.example"


# (kind, legal name, trading name, contact, language, phone, website, GitHub, province,
#  postal code, GST/HST number). Five in the National Capital Region, the others across Canada.
# Mostly small firms, as the program hopes (without drawing from the seeded random stream).
ORGANIZATION_SIZES = ("2-9", "10-49", "2-9", "50-99", "2-9", "10-49", "100-499")

HISTORY_SUPPLIERS = [
    (Kind.ORGANIZATION, "Rideau Open Source Collective Inc.", "Rideau OSC", "Hannah Lefebvre",
     "en", "613-555-0161", "https://rideau-osc.example", "rideau-osc", "ON", "K1N 6N5",
     "111222333 RT0001"),
    (Kind.INDIVIDUAL, "Chloé Bergeron", "", "Chloé Bergeron", "fr", "819-555-0134", "",
     "chloe-bergeron", "QC", "J8X 3X7", ""),
    (Kind.ORGANIZATION, "Prairie Pixel Works Ltd.", "", "Tyler Schmidt", "en", "306-555-0118",
     "https://prairiepixel.example", "prairie-pixel", "SK", "S4P 3Y2", "222333444 RT0001"),
    (Kind.INDIVIDUAL, "Daniel Nakamura", "", "Daniel Nakamura", "en", "604-555-0187",
     "https://dnakamura.example", "dnakamura", "BC", "V5K 0A1", ""),
    (Kind.ORGANIZATION, "Atlantic Accessibility Partners Inc.", "AAP", "Siobhan MacDonald", "en",
     "902-555-0145", "https://atlantic-a11y.example", "atlantic-a11y", "NS", "B3H 4R2",
     "333444555 RT0001"),
    (Kind.INDIVIDUAL, "Amara Osei", "Osei Data", "Amara Osei", "en", "416-555-0172",
     "https://osei-data.example", "amara-osei", "ON", "M5V 3L9", "444555666 RT0001"),
    (Kind.ORGANIZATION, "Boréal Numérique coop", "", "Étienne Fortin", "fr", "418-555-0126",
     "https://boreal-numerique.example", "boreal-numerique", "QC", "G1R 4P5",
     "555666777 RT0001"),
    (Kind.INDIVIDUAL, "Liam O'Connor", "", "Liam O'Connor", "en", "709-555-0193", "",
     "liam-oconnor", "NL", "A1C 5M2", ""),
    (Kind.ORGANIZATION, "Chinook Data Labs Inc.", "Chinook Data", "Priyanka Desai", "en",
     "403-555-0157", "https://chinookdata.example", "chinook-data", "AB", "T2P 1J9",
     "666777888 RT0001"),
    (Kind.INDIVIDUAL, "Sofia Petrov", "", "Sofia Petrov", "en", "613-555-0139", "",
     "sofia-petrov", "ON", "K2P 0A4", ""),
    (Kind.ORGANIZATION, "Red River Web Co-operative", "", "Marcus Flett", "en", "204-555-0164",
     "https://redriverweb.example", "red-river-web", "MB", "R3B 1A1", ""),
    (Kind.INDIVIDUAL, "Maxime Lévesque", "", "Maxime Lévesque", "fr", "506-555-0111", "",
     "max-levesque", "NB", "E1C 4M3", ""),
    (Kind.ORGANIZATION, "Kootenay Code Studio Ltd.", "", "Ruth Anderson", "en", "250-555-0148",
     "https://kootenaycode.example", "kootenay-code", "BC", "V1L 4H2", "777888999 RT0001"),
    (Kind.INDIVIDUAL, "Fatima Haddad", "", "Fatima Haddad", "fr", "514-555-0182",
     "https://fhaddad.example", "fatima-haddad", "QC", "H3B 2Y5", ""),
    (Kind.ORGANIZATION, "Outaouais Logiciel libre inc.", "", "Julien Paquette", "fr",
     "819-555-0176", "https://outaouais-libre.example", "outaouais-libre", "QC", "J9H 5C6",
     "888999000 RT0001"),
    (Kind.INDIVIDUAL, "Noah Tizya", "", "Noah Tizya", "en", "867-555-0124", "", "noah-tizya",
     "YT", "Y1A 2C6", ""),
    (Kind.ORGANIZATION, "Island Digital Services Inc.", "", "Colleen Gallant", "en",
     "902-555-0199", "https://islanddigital.example", "island-digital", "PE", "C1A 7N8",
     "999000111 RT0001"),
    (Kind.INDIVIDUAL, "Grace Mbeki", "", "Grace Mbeki", "en", "780-555-0151", "", "grace-mbeki",
     "AB", "T6G 2R3", ""),
    (Kind.ORGANIZATION, "Northern Arc Software Ltd.", "Northern Arc", "Peter Kakfwi", "en",
     "867-555-0168", "https://northernarc.example", "northern-arc", "NT", "X1A 2L9", ""),
    (Kind.INDIVIDUAL, "Jérôme Côté", "", "Jérôme Côté", "fr", "613-555-0115", "", "jerome-cote",
     "ON", "K1S 5B6", ""),
    (Kind.INDIVIDUAL, "Ayesha Siddiqui", "", "Ayesha Siddiqui", "en", "905-555-0142",
     "https://asiddiqui.example", "ayesha-s", "ON", "L8P 4R5", ""),
    (Kind.ORGANIZATION, "Atelier Web Gaspésie inc.", "", "Annie Bourdages", "fr", "418-555-0133",
     "https://atelier-gaspesie.example", "atelier-gaspesie", "QC", "G4X 2A1",
     "123123123 RT0001"),
]  # fmt: skip

# Consented self-identifications (history supplier number → groups): women and youth reach five,
# the other groups stay under five, so the dashboard shows both numbers and "<5".
SELF_IDENTIFICATIONS = {
    2: [Group.WOMEN, Group.YOUTH],
    3: [Group.DISABILITY],
    4: [Group.RACIALIZED, Group.YOUTH],
    5: [Group.WOMEN],
    6: [Group.WOMEN, Group.BLACK],
    7: [],
    8: [Group.YOUTH, Group.DISABILITY],
    10: [Group.WOMEN, Group.YOUTH, Group.LGBTQ],
    11: [Group.INDIGENOUS],
    12: [Group.YOUTH, Group.DISABILITY],
    14: [Group.WOMEN, Group.RACIALIZED],
    16: [Group.INDIGENOUS, Group.YOUTH],
    18: [Group.WOMEN, Group.BLACK],
    19: [Group.INDIGENOUS],
    20: [Group.DISABILITY],
    21: [Group.WOMEN, Group.RACIALIZED],
}

# (title EN, title FR, summary EN, summary FR, type, skills, repository, licence)
CATALOGUE = [
    ("Fix the broken CSV download on the grants search page",
     "Corriger le téléchargement CSV défectueux de la page de recherche de subventions",
     "The CSV export stops after 1,000 rows.",
     "L’exportation CSV s’arrête après 1 000 lignes.",
     T.BUG_FIX, ["python", "django"], "grants-search", L.MIT),
    ("Make the job bank filters usable with a screen reader",
     "Rendre les filtres du guichet emplois utilisables avec un lecteur d’écran",
     "The filter checkboxes have no labels and announce nothing when they change.",
     "Les cases à cocher des filtres n’ont pas d’étiquette et rien n’est annoncé quand elles "
     "changent.",
     T.ACCESSIBILITY, ["accessibility", "javascript"], "job-bank-filters", L.MIT),
    ("Prototype a bilingual assistant for passport status questions",
     "Prototype d’un assistant bilingue pour les questions sur l’état des demandes de passeport",
     "A small prototype that answers the ten most frequent status questions.",
     "Un petit prototype qui répond aux dix questions les plus fréquentes sur l’état d’une "
     "demande.",
     T.PROTOTYPE, ["python"], "passport-status-assistant", L.APACHE_2),
    ("Analyse call centre wait times by region",
     "Analyser les temps d’attente du centre d’appels par région",
     "Find where and when callers wait longest, from a year of anonymized logs.",
     "Déterminer où et quand les appelants attendent le plus longtemps, à partir d’un an de "
     "journaux anonymisés.",
     T.ANALYSIS, ["data", "python"], "call-centre-analysis", L.CC_BY_4),
    ("Add French plural rules to the notification templates",
     "Ajouter les règles du pluriel français aux gabarits de notification",
     "Messages read “1 demandes” instead of “1 demande”.",
     "Les messages affichent « 1 demandes » au lieu de « 1 demande ».",
     T.BUG_FIX, ["python", "django"], "notify-templates", L.MIT),
    ("Build a React component for accessible data tables",
     "Créer un composant React de tableaux de données accessibles",
     "Sortable, paginated tables that work with a keyboard and a screen reader.",
     "Des tableaux triables et paginés qui fonctionnent au clavier et avec un lecteur d’écran.",
     T.FEATURE, ["react", "accessibility"], "accessible-tables", L.MIT),
    ("Fix the time zone bug in appointment reminders",
     "Corriger le bogue de fuseau horaire des rappels de rendez-vous",
     "Reminders go out an hour early in Newfoundland and Saskatchewan.",
     "Les rappels partent une heure trop tôt à Terre-Neuve et en Saskatchewan.",
     T.BUG_FIX, ["python"], "appointment-reminders", L.MIT),
    ("Usability-test the new benefits application form",
     "Tester l’utilisabilité du nouveau formulaire de demande de prestations",
     "Five moderated sessions in each official language, with a short report.",
     "Cinq séances animées dans chaque langue officielle, avec un court rapport.",
     T.ANALYSIS, ["design"], "benefits-form-research", L.CC_BY_4),
    ("Add an open data feed to the apprenticeship grants list",
     "Ajouter un flux de données ouvertes à la liste des subventions aux apprentis",
     "Publish the list as CSV and JSON, updated every night.",
     "Publier la liste en CSV et en JSON, mise à jour chaque nuit.",
     T.FEATURE, ["python", "data"], "apprenticeship-open-data", L.OGL_CANADA),
    ("Audit the colour contrast of the design system",
     "Vérifier le contraste des couleurs du système de conception",
     "Check every colour token against WCAG 2.1 AA and propose fixes.",
     "Vérifier chaque jeton de couleur selon les WCAG 2.1 AA et proposer des corrections.",
     T.ACCESSIBILITY, ["accessibility", "design"], "design-system-tokens", L.MIT),
    ("Speed up the search index rebuild",
     "Accélérer la reconstruction de l’index de recherche",
     "The weekly rebuild takes six hours and blocks the other jobs.",
     "La reconstruction hebdomadaire prend six heures et bloque les autres tâches.",
     T.FEATURE, ["python", "data"], "search-indexer", L.APACHE_2),
    ("Prototype a plain-language glossary widget",
     "Prototype d’un module de glossaire en langage clair",
     "Underline the jargon on a page and explain it in a pop-up.",
     "Souligner le jargon d’une page et l’expliquer dans une fenêtre contextuelle.",
     T.PROTOTYPE, ["javascript", "design"], "plain-language-glossary", L.MIT),
    ("Fix the PDF form that loses data on save",
     "Corriger le formulaire PDF qui perd des données à l’enregistrement",
     "Fields filled in with a PDF reader come back empty after saving.",
     "Les champs remplis dans un lecteur PDF reviennent vides après l’enregistrement.",
     T.BUG_FIX, ["javascript"], "pdf-forms", L.LGPL_3),
    ("Move the office locator map to an open tile service",
     "Migrer la carte des bureaux vers un service de tuiles libre",
     "Replace a paid map service that ends next quarter.",
     "Remplacer un service de cartes payant qui prend fin au prochain trimestre.",
     T.FEATURE, ["javascript", "react"], "office-locator", L.MIT),
    ("Write automated tests for the eligibility calculator",
     "Écrire des tests automatisés pour le calculateur d’admissibilité",
     "Cover the forty rules of the calculator with unit tests.",
     "Couvrir de tests unitaires les quarante règles du calculateur.",
     T.FEATURE, ["python"], "eligibility-calculator", L.MIT),
    ("Make the video player's captions menu keyboard-accessible",
     "Rendre le menu des sous-titres du lecteur vidéo accessible au clavier",
     "The captions menu cannot be opened without a mouse.",
     "Le menu des sous-titres ne s’ouvre pas sans souris.",
     T.ACCESSIBILITY, ["accessibility", "javascript"], "video-player", L.MIT),
    ("Analyse the survey of small business users",
     "Analyser le sondage auprès des petites entreprises utilisatrices",
     "Sort 2,400 open-text answers into themes, in both languages.",
     "Regrouper 2 400 réponses ouvertes par thèmes, dans les deux langues.",
     T.ANALYSIS, ["data"], "small-business-survey", L.CC_BY_4),
    ("Add a print style sheet to the forms library",
     "Ajouter une feuille de style d’impression à la bibliothèque de formulaires",
     "Printed forms cut fields off and waste pages.",
     "Les formulaires imprimés coupent des champs et gaspillent des pages.",
     T.FEATURE, ["design", "javascript"], "forms-library", L.MIT),
    ("Fix the memory leak in the document converter",
     "Corriger la fuite de mémoire du convertisseur de documents",
     "The converter grows to 8 GB and restarts every night.",
     "Le convertisseur grimpe à 8 Go et redémarre chaque nuit.",
     T.BUG_FIX, ["python"], "document-converter", L.APACHE_2),
    ("Prototype a Django app for volunteer scheduling",
     "Prototype d’une application Django de planification des bénévoles",
     "Let tax clinic organizers post shifts and volunteers sign up for them.",
     "Permettre aux organisateurs des comptoirs d’impôts de publier des quarts et aux bénévoles "
     "de s’y inscrire.",
     T.PROTOTYPE, ["python", "django"], "volunteer-scheduler", L.GPL_3),
    ("Add address autocomplete to the change-of-address form",
     "Ajouter la saisie semi-automatique au formulaire de changement d’adresse",
     "Suggest Canadian addresses as people type, in English and French.",
     "Proposer des adresses canadiennes pendant la saisie, en français et en anglais.",
     T.FEATURE, ["javascript", "react"], "address-autocomplete", L.MIT),
    ("Check the mobile app against WCAG 2.1",
     "Vérifier la conformité de l’application mobile aux WCAG 2.1",
     "Test the five main screens with VoiceOver and TalkBack and fix what blocks people.",
     "Tester les cinq écrans principaux avec VoiceOver et TalkBack et corriger les obstacles.",
     T.ACCESSIBILITY, ["accessibility", "react"], "mobile-app", L.MPL_2),
    ("Clean up and document the labour market dataset",
     "Nettoyer et documenter le jeu de données sur le marché du travail",
     "Fix the column names, write a data dictionary and publish it as open data.",
     "Corriger les noms de colonnes, rédiger un dictionnaire de données et le publier en "
     "données ouvertes.",
     T.ANALYSIS, ["data"], "labour-market-data", L.OGL_CANADA),
    ("Fix the sorting of accented names in the client directory",
     "Corriger le tri des noms accentués dans le répertoire des clients",
     "Names that start with É are sorted after Z.",
     "Les noms qui commencent par É sont classés après Z.",
     T.BUG_FIX, ["python", "django"], "client-directory", L.MIT),
    ("Redesign the error pages of the online services",
     "Repenser les pages d’erreur des services en ligne",
     "Clear, bilingual error pages that tell people what to do next.",
     "Des pages d’erreur claires et bilingues qui disent quoi faire ensuite.",
     T.FEATURE, ["design"], "error-pages", L.MIT),
    ("Prototype a service standards dashboard",
     "Prototype d’un tableau de bord des normes de service",
     "Show each service's target and actual results, updated monthly.",
     "Afficher la cible et les résultats réels de chaque service, mis à jour chaque mois.",
     T.PROTOTYPE, ["react", "data"], "service-standards-dashboard", L.BSD_3),
    ("Add keyboard shortcuts to the case management screens",
     "Ajouter des raccourcis clavier aux écrans de gestion des dossiers",
     "Agents asked for shortcuts to their ten most frequent actions.",
     "Les agents ont demandé des raccourcis pour leurs dix actions les plus fréquentes.",
     T.FEATURE, ["javascript", "accessibility"], "case-management-ui", L.MIT),
    ("Fix the broken-link checker of the content pipeline",
     "Corriger le vérificateur de liens brisés du pipeline de contenu",
     "The checker reports false positives on every French page.",
     "Le vérificateur signale de faux positifs sur chaque page en français.",
     T.BUG_FIX, ["python"], "content-pipeline", L.MIT),
    ("Translate the open-source consent banner",
     "Traduire la bannière de consentement libre",
     "Add every French string and a language switch to the banner.",
     "Ajouter toutes les chaînes en français et un sélecteur de langue à la bannière.",
     T.OTHER, ["javascript"], "consent-banner", L.MIT),
    ("Analyse two years of accessibility complaints",
     "Analyser deux ans de plaintes relatives à l’accessibilité",
     "Group the complaints by barrier and by service, and rank them by impact.",
     "Regrouper les plaintes par obstacle et par service, et les classer selon leur incidence.",
     T.ANALYSIS, ["accessibility", "data"], "accessibility-complaints", L.CC_BY_4),
]  # fmt: skip

# Dollars, tax included, by type of work.
VALUE_RANGES = {
    T.BUG_FIX: (500, 4000),
    T.ACCESSIBILITY: (2000, 9500),
    T.FEATURE: (1500, 9000),
    T.PROTOTYPE: (4000, 10000),
    T.ANALYSIS: (2000, 8000),
    T.OTHER: (500, 3000),
}

QUESTIONS = [
    ("Is there a test environment we can use?",
     "Yes: the repository's README explains how to run it locally.",
     "Oui : le fichier README du dépôt explique comment l’exécuter localement."),
    ("Can the work start before the expected date?",
     "Yes, as soon as the contract is accepted.",
     "Oui, dès que le contrat est accepté."),
    ("Which browsers must be supported?",
     "The last two versions of Chrome, Firefox, Safari and Edge.",
     "Les deux dernières versions de Chrome, Firefox, Safari et Edge."),
    ("Will we have access to real data?",
     "No: an anonymized sample is in the repository.",
     "Non : un échantillon anonymisé se trouve dans le dépôt."),
    ("May we use an existing open-source library?",
     "Yes, if its licence is compatible with the project's.",
     "Oui, si sa licence est compatible avec celle du projet."),
    ("Must the deliverable be in both official languages?",
     "Yes: every text people see must be in English and in French.",
     "Oui : tous les textes que les gens voient doivent être en français et en anglais."),
]  # fmt: skip

ANSWERS = [
    [
        "I fixed an accessibility bug in a widely used open-source date library; the pull "
        "request was merged last year.",
        "We maintain two open-source packages that have more than a hundred contributors.",
        "We contributed translations and tests to an open-source forms library used by several "
        "departments.",
        "I have had pull requests merged in three open-source Python projects.",
    ],
    [
        "Reproduce the problem with a failing test, fix it in small reviewed steps, and "
        "document the change in both languages.",
        "A short discovery session with the team, then two iterations, each ending with a demo.",
        "Review the current code, agree on the plan in the issue tracker, then open one pull "
        "request per change, each with tests.",
    ],
    [
        "Last year we did comparable work for a municipal open data portal.",
        "I delivered a similar fix for a provincial service, on time and at the fixed price.",
        "We built an accessible component library for a non-profit, tested with screen readers.",
    ],
]
RATIONALES = {
    "pass": ("Shows a relevant public contribution.",
             "Montre une contribution publique pertinente."),
    "fail": ("No public contribution is shown.", "Aucune contribution publique n’est montrée."),
    "high": ("Specific, realistic and well explained.", "Précis, réaliste et bien expliqué."),
    "mid": ("Reasonable, but light on testing.", "Raisonnable, mais peu précis sur les tests."),
    "low": ("Too general to show how the work would be done.",
            "Trop général pour montrer comment le travail serait fait."),
}  # fmt: skip
CANCEL_REASONS = [
    "The fix arrived in an upstream release; the work is no longer needed.",
    "The requirement changed after a policy update; a new opportunity will be posted.",
]
CHANGE_REQUESTS = [
    "Two screens are still missing their French labels; please add them, with tests.",
    "The report needs a plain-language summary before we can accept it.",
    "The tests fail on the main branch; please rebase and fix them.",
]

COMPLETED, DELIVERED, IN_PROGRESS = "completed", "delivered", "in_progress"
CANCELLED, NO_BIDS, NO_QUALIFIED = "cancelled", "no_bids", "no_qualified"
PAYMENT_GAP = dt.timedelta(days=35)  # no history payment in the current month
# Cents awarded to one supplier over the whole history: under the $25,000 a fiscal year that
# flags a supplier, whatever day the history is seeded (and the demo suppliers keep room for
# the live demo's awards).
AWARD_CAP = {"history": 2_500_000, "demo": 1_000_000}


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_default_timezone())


def _weekday(day: dt.date) -> dt.date:
    return day if day.weekday() < 5 else add_business_days(day, 1)


def _score(scores: tuple[int, int]) -> Decimal:
    """The weighted score out of 100 on the demo's two rated criteria, as
    evaluation.services.packet_score computes it from the consensus marks."""
    rated = [(c.weight, c.max_score) for c in CRITERIA if c.kind == Criterion.Kind.RATED]
    points = sum(
        Decimal(weight) * Decimal(score) / Decimal(top)
        for (weight, top), score in zip(rated, scores, strict=True)
    )
    return (points * 100 / sum(weight for weight, _top in rated)).quantize(Decimal("0.01"))


def _rationale(language: str, passed: bool | None, score: int | None) -> str:
    if passed is not None:
        key = "pass" if passed else "fail"
    else:
        key = "high" if score >= 7 else "mid" if score >= 4 else "low"
    return RATIONALES[key][1 if language == "fr" else 0]


def _supplier_details(supplier, *, at: dt.datetime) -> dict[str, Any]:
    """The contract's record of the supplier (payments.contracts._supplier_details_record)."""
    profile = supplier.supplier_profile
    return {
        "supplier_legal_name": profile.legal_name,
        "supplier_trading_name": profile.trading_name,
        "supplier_province": profile.province,
        "supplier_postal_code": profile.postal_code,
        "supplier_gst_hst_number": profile.gst_hst_number,
        "supplier_details_at": at,
    }


@dataclass
class _Ref:
    """A value known only once rows are saved (a primary key, a digest): resolved just before
    the insert that needs it."""

    obj: Any
    attr: str = "pk"


def _resolve(value: Any) -> Any:
    if isinstance(value, _Ref):
        return getattr(value.obj, value.attr)
    if isinstance(value, dict):
        return {key: _resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    return value


@dataclass
class _Event:
    at: dt.datetime
    verb: str
    actor: User | None
    target: models.Model
    status: str = ""  # the target's status as str(target) showed it then
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        builders.verb(self.verb)  # a verb the registry lacks stops the seed before any insert


@dataclass
class _Supplier:
    user: User
    profile: SupplierProfile
    joined: dt.datetime | None  # None: a demo supplier, around from the start


@dataclass
class _BidPlan:
    bid: Bid
    answers: list[tuple[Criterion, str]]
    passes: bool = True
    scores: tuple[int, int] = (0, 0)
    packet: Packet | None = None
    digest: str = ""
    consensus: list[ConsensusMark] = field(default_factory=list)


class _History:
    """Plans the rows in memory (unsaved instances pointing at each other) with the events
    the services would have written, then saves them in bulk, parents first."""

    def __init__(
        self, *, rng: random.Random, now: dt.datetime, demo: dict[str, User], password: str
    ):
        self.rng = rng
        local = timezone.localtime(now)
        self.anchor = _at(local.date() - dt.timedelta(days=local.weekday()), 0)
        self.admin, self.card_holder = demo[ADMIN], demo[CARD_HOLDER]
        self.rows: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        self.events: list[_Event] = []
        self.bid_plans: list[_BidPlan] = []
        self.draws: list[tuple[Evaluation, Opportunity, list[Criterion], list[_BidPlan]]] = []
        self.awarded: dict[str, int] = defaultdict(int)  # supplier email → cents
        self.first_bids: dict[str, dt.datetime] = {}
        self.certification = str(CERTIFICATION)
        self.staff: list[tuple[User, str]] = []
        self.suppliers: list[_Supplier] = []
        self._people(make_password(password))
        self.buyers = [user for user, role in self.staff if role == Role.BUYER]
        self.evaluators = [demo[email] for email in DEMO_EVALUATORS] + [
            user for user, role in self.staff if role == Role.EVALUATOR
        ]
        self.demo_suppliers = [
            _Supplier(demo[email], demo[email].supplier_profile, None) for email in DEMO_SUPPLIERS
        ]
        for slug, name_en, name_fr in SKILLS:
            Skill.objects.get_or_create(
                slug=slug, defaults={"name_en": name_en, "name_fr": name_fr}
            )
        self.skills = {skill.slug: skill for skill in Skill.objects.all()}

    def _people(self, password: str) -> None:
        """The history's staff and suppliers; the suppliers join over the year."""
        for email, name, language, role in HISTORY_STAFF:
            joined = _at(_weekday(self.anchor.date() - dt.timedelta(days=400)), 10)
            user = builders.user(email=email, full_name=name, language=language, joined=joined,
                                 password=password)  # fmt: skip
            self.staff.append((self.add(user), role))
        for number, row in enumerate(HISTORY_SUPPLIERS, start=1):
            kind, legal, trading, contact, language, phone, web, github, province, postal, gst = row
            days_ago = 375 if number <= 6 else 375 - (number - 6) * 18
            joined = _at(
                _weekday(self.anchor.date() - dt.timedelta(days=days_ago)),
                self.rng.randint(8, 20),
            )
            user = self.add(builders.user(email=history_supplier_email(number), full_name=contact,
                                          language=language, joined=joined,
                                          password=password))  # fmt: skip
            size = (
                SupplierProfile.Size.ONE
                if kind == SupplierProfile.Kind.INDIVIDUAL
                else ORGANIZATION_SIZES[number % len(ORGANIZATION_SIZES)]
            )
            profile = self.add(SupplierProfile(
                user=user, kind=kind, size=size, legal_name=legal, trading_name=trading,
                contact_name=contact, email=user.email, phone=phone, website=web,
                github_handle=github, province=province, postal_code=postal, gst_hst_number=gst,
            ))  # fmt: skip
            self.suppliers.append(_Supplier(user, profile, joined))

    # --- Moments -------------------------------------------------------------------------------

    def office(self, after: dt.datetime, days: tuple[int, int]) -> dt.datetime:
        """A staff member's moment, `days` business days later: a weekday, 9:00 to 16:00 (so
        that what follows within the hour still falls in office hours)."""
        count = self.rng.randint(*days)
        if count == 0:
            moment = after + dt.timedelta(minutes=self.rng.randint(10, 150))
            if moment.weekday() < 5 and 9 <= moment.hour < 16 and moment.date() == after.date():
                return moment
        day = add_business_days(after.date(), max(count, 1))
        return _at(day, self.rng.randint(9, 15), self.rng.randint(0, 59))

    def anytime(self, after: dt.datetime, days: tuple[int, int]) -> dt.datetime:
        """A supplier's moment: any day of the week, from morning to late evening."""
        day = after.date() + dt.timedelta(days=self.rng.randint(*days))
        moment = _at(day, self.rng.randint(8, 21), self.rng.randint(0, 59))
        return moment if moment > after else after + dt.timedelta(minutes=self.rng.randint(20, 90))

    def between(self, start: dt.datetime, end: dt.datetime, low: float, high: float):
        """A supplier's moment in a fraction of [start, end] (not in the small hours)."""
        moment = start + (end - start) * self.rng.uniform(low, high)
        if moment.hour < 7:
            moment = moment.replace(hour=self.rng.randint(7, 11))
        return moment if start < moment < end else start + (end - start) / 2

    def milestones(self, plan: str, start: dt.date, value: int) -> dict[str, dt.datetime]:
        """When each step of the file happened, up to where `plan` stops; moved back by whole
        weeks when it would end too late (a paid file: before the current month)."""
        rng, m = self.rng, {}
        m["created"] = _at(start, rng.randint(9, 15), rng.randint(0, 59))
        m["submitted"] = self.office(m["created"], (0, 1))
        if rng.random() < 0.2:
            m["changes"] = self.office(m["submitted"], (0, 1))
            m["resubmitted"] = self.office(m["changes"], (0, 1))
        m["published"] = self.office(m.get("resubmitted", m["submitted"]), (0, 1))
        m["closes"] = _at(add_business_days(m["published"].date(), rng.randint(5, 8)), 14)
        if plan == CANCELLED:
            m["cancelled"] = self.office(m["published"], (1, 4))
        elif plan != NO_BIDS:
            self._evaluation_milestones(plan, m, value)
        limit = self.anchor - (PAYMENT_GAP if plan == COMPLETED else dt.timedelta(days=1))
        late = max(m.values()) - limit
        if late >= dt.timedelta(0):
            weeks = dt.timedelta(weeks=math.floor(late / dt.timedelta(weeks=1)) + 1)
            m = {name: moment - weeks for name, moment in m.items()}
        return m

    def _evaluation_milestones(self, plan: str, m: dict[str, dt.datetime], value: int) -> None:
        rng = self.rng
        m["appointed"] = self.office(m["closes"], (0, 1))
        for n in (1, 2):
            m[f"declared_{n}"] = self.office(m["appointed"], (0, 1))
            m[f"marked_{n}"] = self.office(m[f"declared_{n}"], (1, 3))
        day = add_business_days(max(m["marked_1"], m["marked_2"]).date(), rng.randint(1, 2))
        m["consensus"] = _at(day, rng.randint(9, 13), rng.randint(0, 59))
        m["locked"] = m["consensus"] + dt.timedelta(minutes=75)
        if plan == NO_QUALIFIED:
            return
        m["revealed"] = self.office(m["locked"], (0, 1))
        m["awarded"] = m["revealed"] + dt.timedelta(minutes=rng.randint(5, 40))
        m["accepted"] = self.anytime(m["awarded"], (0, 2))
        if plan == IN_PROGRESS:
            return
        work = 2 + value // 150_000 + rng.randint(0, 4)
        day = add_business_days(m["accepted"].date(), work)
        m["delivered"] = _at(day, rng.randint(10, 21), rng.randint(0, 59))
        if plan == DELIVERED:
            return
        if rng.random() < 0.2:
            m["changes_requested"] = self.office(m["delivered"], (1, 2))
            m["redelivered"] = self.anytime(m["changes_requested"], (1, 4))
        m["certified"] = self.office(m.get("redelivered", m["delivered"]), (0, 2))
        m["recorded"] = self.office(m["certified"], (0, 3))
        m["confirmed"] = self.anytime(m["recorded"], (0, 2))

    # --- Rows and events -----------------------------------------------------------------------

    def add(self, obj):
        self.rows[type(obj)].append(obj)
        return obj

    def event(self, at, verb, actor, target, status="", **data) -> None:
        self.events.append(_Event(at, verb, actor, target, status, data))

    def move(self, at, verb, actor, target, was: str, to: str, *, shown="", **data) -> None:
        """A transition, recorded as the services do: {"from": …, "to": …, …}. `shown`: the
        status str(target) showed, when the service logged before moving it."""
        self.event(at, verb, actor, target, shown or to, **builders.moved(was, to, **data))

    # --- One opportunity -----------------------------------------------------------------------

    def opportunity(self, index: int, entry: tuple, plan: str) -> None:
        rng = self.rng
        title_en, title_fr, summary_en, summary_fr, kind, skill_slugs, repo, licence = entry
        low, high = VALUE_RANGES[kind]
        value = rng.randrange(low, high + 1, 250) * 100
        method = rng.choices(list(Method), [75, 15, 10])[0]
        start = self.anchor.date() - dt.timedelta(days=350 - index * 11 + rng.randint(-3, 3))
        start += dt.timedelta(days={5: -1, 6: 1}.get(start.weekday(), 0))  # Friday or Monday
        m = self.milestones(plan, start, value)
        buyer = self.buyers[index % len(self.buyers)]
        expected = m["closes"].date() + dt.timedelta(days=rng.randint(21, 35))
        if "delivered" in m:
            expected = max(expected, m.get("redelivered", m["delivered"]).date())
        if plan == IN_PROGRESS:  # not overdue: the live demo would send reminders
            expected = max(expected, self.anchor.date() + dt.timedelta(days=rng.randint(14, 21)))
        S = Opportunity.Status
        final = {
            COMPLETED: S.COMPLETED, DELIVERED: S.IN_DELIVERY, IN_PROGRESS: S.IN_DELIVERY,
            CANCELLED: S.CANCELLED, NO_BIDS: S.UNSUCCESSFUL, NO_QUALIFIED: S.UNSUCCESSFUL,
        }[plan]  # fmt: skip
        opportunity = self.add(Opportunity(
            buyer=buyer, status=final, title_en=title_en, title_fr=title_fr,
            summary_en=summary_en, summary_fr=summary_fr,
            description_en=f"{summary_en}\n\n**Context.** The code is public and the team "
            "reviews pull requests within two business days.",
            description_fr=f"{summary_fr}\n\n**Contexte.** Le code est public et l’équipe "
            "examine les demandes de tirage en moins de deux jours ouvrables.",
            deliverables_en="The change, with tests and a short bilingual write-up.",
            deliverables_fr="Le changement, avec des tests et un court compte rendu bilingue.",
            acceptance_criteria_en="- Tests pass\n- The team can maintain the change",
            acceptance_criteria_fr=(
                "- Les tests réussissent\n- L’équipe peut maintenir le changement"
            ),
            type=kind, value_cents=value, licence=licence,
            repository_url=f"https://github.com/example-org/{repo}",
            question_deadline=m["closes"] - dt.timedelta(days=2), closes_at=m["closes"],
            expected_delivery_date=expected, selection_method=method,
            draw_margin_points=5 if method == Method.DRAW_WITHIN_MARGIN else None,
            evaluator_count=2, attest_standalone=True, attest_no_internal_capacity=True,
            attest_not_split=True, created_at=m["created"],
            submitted_at=m.get("resubmitted", m["submitted"]), published_at=m["published"],
            alerts_sent_at=m["published"] + dt.timedelta(minutes=1),
            closed_at=None if plan == CANCELLED else m["closes"],
            cancelled_at=m.get("cancelled"),
            cancel_reason=rng.choice(CANCEL_REASONS) if plan == CANCELLED else "",
            awarded_at=m.get("awarded"),
        ))  # fmt: skip
        opportunity._skills = [self.skills[slug] for slug in skill_slugs]
        criteria = []
        for position, c in enumerate(CRITERIA):
            criteria.append(self.add(Criterion(
                opportunity=opportunity, kind=c.kind, text_en=c.text_en, text_fr=c.text_fr,
                weight=c.weight, max_score=c.max_score, word_limit=c.word_limit,
                position=position,
            )))  # fmt: skip
        self.event(m["created"], "opportunity.created", buyer, opportunity)
        self.move(m["submitted"], "opportunity.submitted", buyer, opportunity, S.DRAFT,
                  S.IN_REVIEW)  # fmt: skip
        if "changes" in m:
            self.move(m["changes"], "opportunity.changes_requested", self.admin, opportunity,
                      S.IN_REVIEW, S.DRAFT)  # fmt: skip
            self.move(m["resubmitted"], "opportunity.submitted", buyer, opportunity, S.DRAFT,
                      S.IN_REVIEW)  # fmt: skip
        self.move(m["published"], "opportunity.published", self.admin, opportunity,
                  S.IN_REVIEW, S.PUBLISHED)  # fmt: skip
        bidders = self._bidders(plan, m)
        if plan != CANCELLED and rng.random() < 0.5:
            self._questions(m, opportunity, buyer, bidders)
        plans = [self._bid(m, opportunity, criteria, plan, supplier) for supplier in bidders]
        if plan == CANCELLED:
            self.move(m["cancelled"], "opportunity.cancelled", buyer, opportunity, S.PUBLISHED,
                      S.CANCELLED, reason=opportunity.cancel_reason)  # fmt: skip
            return
        self._close(m, plan, opportunity, criteria, plans, buyer)

    def _bidders(self, plan: str, m: dict[str, dt.datetime]) -> list[_Supplier]:
        """Who bid: the history suppliers who had joined by then, the demo suppliers now and
        then (a weighted draw without replacement)."""
        rng = self.rng
        around = [s for s in self.suppliers if s.joined < m["published"]]
        weights = [1.0] * len(around) + [0.3] * len(self.demo_suppliers)
        around += self.demo_suppliers
        if plan in (COMPLETED, DELIVERED, IN_PROGRESS):
            wanted = rng.choices(range(1, 8), [2, 4, 6, 5, 4, 2, 1])[0]
        else:
            wanted = {CANCELLED: rng.randint(0, 1), NO_BIDS: 0, NO_QUALIFIED: rng.randint(1, 2)}
            wanted = wanted[plan]
        keys = [rng.random() ** (1 / weight) for weight in weights]
        ranked = sorted(range(len(around)), key=lambda i: -keys[i])
        return [around[i] for i in ranked[:wanted]]

    def _questions(self, m, opportunity, buyer, bidders: list[_Supplier]) -> None:
        rng = self.rng
        askers = bidders or self.suppliers[:6]
        for text, answer_en, answer_fr in rng.sample(QUESTIONS, rng.choice([1, 1, 2])):
            asker = rng.choice(askers).user
            asked = self.between(
                m["published"] + dt.timedelta(hours=1), m["closes"] - dt.timedelta(days=2),
                0.05, 0.6,
            )  # fmt: skip
            answered = self.office(asked, (0, 1))
            if answered >= m["closes"] - dt.timedelta(hours=1):
                answered = asked + dt.timedelta(hours=1)
            question = self.add(Question(
                opportunity=opportunity, asker=asker, text=text, answer_en=answer_en,
                answer_fr=answer_fr, answered_by=buyer, answered_at=answered, created_at=asked,
            ))  # fmt: skip
            self.event(asked, "question.asked", asker, opportunity)
            self.event(answered, "question.answered", buyer, opportunity, question=_Ref(question))

    def _bid(self, m, opportunity, criteria, plan, supplier: _Supplier) -> _BidPlan:
        rng, user = self.rng, supplier.user
        start = m["published"] + dt.timedelta(hours=1)
        end = m.get("cancelled", m["closes"]) - dt.timedelta(minutes=15)
        started = self.between(start, end, 0.0, 0.8)
        submitted = started + dt.timedelta(minutes=rng.randint(20, 2 * 24 * 60))
        if submitted >= end:
            submitted = max(end - dt.timedelta(minutes=rng.randint(5, 60)), started + 5 * MINUTE)
        self.first_bids[user.email] = min(self.first_bids.get(user.email, submitted), submitted)
        bid = self.add(Bid(
            opportunity=opportunity, supplier=user, status=Bid.Status.SUBMITTED,
            proposed_start_date=m["closes"].date() + dt.timedelta(days=rng.randint(3, 14)),
            attest_can_work_in_canada=True, attest_can_be_paid_by_card=True,
            attest_no_conflict=True, terms_version=settings.BID_TERMS_VERSION,
            created_at=started, draft_saved_at=submitted - 2 * MINUTE, submitted_at=submitted,
            sealed_at=None if plan == CANCELLED else m["closes"],
        ))  # fmt: skip
        answers = [(c, rng.choice(ANSWERS[i])) for i, c in enumerate(criteria)]
        for criterion, text in answers:
            self.add(Answer(bid=bid, criterion=criterion, text=text))
        bid_plan = _BidPlan(bid=bid, answers=answers)
        self.bid_plans.append(bid_plan)
        self.event(started, "bid.started", user, bid, Bid.Status.DRAFT)
        self.event(submitted, "bid.submitted", user, bid, Bid.Status.SUBMITTED, receipt=1,
                   digest=_Ref(bid_plan, "digest"))  # fmt: skip
        return bid_plan

    def _close(self, m, plan, opportunity, criteria, plans: list[_BidPlan], buyer) -> None:
        """At the deadline: the close, the commitment to the draw's seed, the packets."""
        S, E = Opportunity.Status, Evaluation.Status
        closes = m["closes"]
        evaluation = self.add(Evaluation(opportunity=opportunity, created_at=closes))
        self._roll(evaluation)
        self.move(closes, "opportunity.closed", None, opportunity, S.PUBLISHED, S.CLOSED)
        for bid_plan in plans:  # bids.services.bids_seal: the system seals each submitted bid
            self.move(closes, "bid.sealed", None, bid_plan.bid, Bid.Status.SUBMITTED,
                      Bid.Status.SEALED)  # fmt: skip
        self.event(closes + SECOND, "evaluation.committed", None, evaluation, E.PREPARING,
                   commitment=_Ref(evaluation, "commitment"))  # fmt: skip
        if plan == NO_BIDS:
            evaluation.status, evaluation.status_changed_at = E.UNSUCCESSFUL, closes + 20 * SECOND
            self.move(closes + 20 * SECOND, "evaluation.no_bids", None, evaluation, E.PREPARING,
                      E.UNSUCCESSFUL)  # fmt: skip
            self.move(closes + 21 * SECOND, "opportunity.unsuccessful", None, opportunity,
                      S.CLOSED, S.UNSUCCESSFUL, reason="no bids")  # fmt: skip
            return
        labels: set[str] = set()
        for bid_plan in plans:
            label = ""
            while not label or label in labels:
                label = "Bid " + "".join(self.rng.choice(LABEL_ALPHABET) for _ in range(3))
            labels.add(label)
            bid_plan.packet = self.add(Packet(
                evaluation=evaluation, bid=bid_plan.bid, label=label,
                answers=[{"criterion": _Ref(c), "text": text} for c, text in bid_plan.answers],
                proposed_start_date=bid_plan.bid.proposed_start_date,
            ))  # fmt: skip
        # The digest is set in _evaluate, once the seed (so the commitment) is final.
        evaluation.labels_bound_at = closes + 20 * SECOND
        self.event(closes + 20 * SECOND, "evaluation.labels_bound", None, evaluation,
                   E.PREPARING, label_digest=_Ref(evaluation, "label_digest"),
                   labels=sorted(labels), record=_Ref(evaluation, "_label_record"))  # fmt: skip
        self.move(closes + 20 * SECOND, "evaluation.packets_ready", None, evaluation,
                  E.PREPARING, E.PANEL, packets=len(plans))  # fmt: skip
        self.move(closes + 21 * SECOND, "opportunity.evaluating", None, opportunity, S.CLOSED,
                  S.EVALUATING)  # fmt: skip
        self._evaluate(m, plan, opportunity, evaluation, criteria, plans, buyer)

    def _roll(self, evaluation: Evaluation) -> None:
        seed = f"{self.rng.getrandbits(256):064x}"  # a demo's draw: no secret to keep
        evaluation.seed, evaluation.commitment = seed, Evaluation.commit(seed)

    def _select(self, plan, opportunity, evaluation, plans: list[_BidPlan]):
        """The consensus scores and the draw's seed, re-rolled (rarely) while the winner would
        pass their award cap. Returns selection_ranking's (eligible, order, ranking)."""
        rng = self.rng
        for _attempt in range(30):
            self._roll(evaluation)
            for bid_plan in plans:
                bid_plan.passes = plan != NO_QUALIFIED and rng.random() > 0.12
                bid_plan.scores = (rng.randint(3, 10), rng.randint(3, 10))
            if plan != NO_QUALIFIED and not any(p.passes for p in plans):
                rng.choice(plans).passes = True
            selection = selection_ranking(
                method=opportunity.selection_method,
                seed=evaluation.seed,
                scores={p.packet.label: _score(p.scores) for p in plans if p.passes},
                margin=opportunity.draw_margin_points,
            )
            ranking = selection[2]
            if not ranking:
                return selection
            supplier = next(p.bid.supplier for p in plans if p.packet.label == ranking[0])
            cap = AWARD_CAP["demo" if supplier.email in DEMO_SUPPLIERS else "history"]
            if self.awarded[supplier.email] + opportunity.value_cents <= cap:
                break
        self.awarded[supplier.email] += opportunity.value_cents
        return selection

    def _evaluate(self, m, plan, opportunity, evaluation, criteria, plans, buyer) -> None:
        """The panel declares, marks and agrees; the chair locks; the buyer reveals, awards."""
        S, E, B = Opportunity.Status, Evaluation.Status, Bid.Status
        eligible, order, ranking = self._select(plan, opportunity, evaluation, plans)
        # The digest binds the receipts' digests and the criteria's keys: set in save().
        self.draws.append((evaluation, opportunity, criteria, plans))
        chair, other = self.rng.sample(self.evaluators, 2)
        members = []
        for number, evaluator in enumerate((chair, other), start=1):
            appointed = m["appointed"] + number * 2 * MINUTE
            members.append(self.add(PanelMember(
                evaluation=evaluation, evaluator=evaluator, is_chair=evaluator is chair,
                appointed_by=buyer, appointed_at=appointed,
                declaration=PanelMember.Declaration.NO_CONFLICT,
                declared_at=max(m[f"declared_{number}"], appointed + 5 * SECOND),
                marks_submitted_at=m[f"marked_{number}"],
            )))  # fmt: skip
            self.event(appointed, "panel.appointed", buyer, evaluation, E.PANEL,
                       evaluator=_Ref(evaluator), chair=evaluator is chair)  # fmt: skip
        for member in members:
            self.event(member.declared_at, "panel.declared_no_conflict", member.evaluator,
                       evaluation, E.PANEL, member=_Ref(member))  # fmt: skip
        complete = max(member.declared_at for member in members) + SECOND
        self.move(complete, "evaluation.panel_complete", None, evaluation, E.PANEL, E.SCORING)
        for member in members:
            # Each evaluator reads every packet on the day they submit their marks.
            submitted = member.marks_submitted_at
            morning = submitted.replace(hour=9, minute=0)
            for i, bid_plan in enumerate(plans, start=1):
                viewed = morning + (submitted - morning) * i / (len(plans) + 1)
                self.event(viewed, "packet.viewed", member.evaluator, bid_plan.packet,
                           label=bid_plan.packet.label)  # fmt: skip
                for criterion in criteria:
                    self.add(self._mark(Mark, criterion, bid_plan, member.evaluator, jitter=True,
                                        member=member, packet=bid_plan.packet))  # fmt: skip
            self.event(member.marks_submitted_at, "marks.submitted", member.evaluator,
                       evaluation, E.SCORING)  # fmt: skip
        scored = max(member.marks_submitted_at for member in members) + SECOND
        self.move(scored, "evaluation.consensus", None, evaluation, E.SCORING, E.CONSENSUS)
        rank = {label: i for i, label in enumerate(ranking, start=1)}
        for i, bid_plan in enumerate(plans, start=1):
            recorded = m["consensus"] + i * (60 // (len(plans) + 1)) * MINUTE
            for criterion in criteria:
                bid_plan.consensus.append(self.add(self._mark(
                    ConsensusMark, criterion, bid_plan, chair, packet=bid_plan.packet,
                    recorded_by=chair, recorded_at=recorded,
                )))  # fmt: skip
            self.event(recorded, "consensus.recorded", chair, evaluation, E.CONSENSUS,
                       packet=bid_plan.packet.label,
                       criteria=[_Ref(c) for c in criteria])  # fmt: skip
            packet = bid_plan.packet
            packet.qualified, packet.score = bid_plan.passes, _score(bid_plan.scores)
            packet.rank = rank.get(packet.label)
        locked = m["locked"]
        evaluation.eligible_labels, evaluation.draw_order = eligible, order
        evaluation.selected_label = ranking[0] if ranking else ""
        evaluation.seed_revealed_at = evaluation.locked_at = locked
        evaluation.locked_by = chair
        scores = {p.packet.label: str(_score(p.scores)) for p in plans if p.passes}
        lock = dict(seed=evaluation.seed, eligible=eligible, order=order,
                    selected=evaluation.selected_label, scores=scores,
                    packets=_Ref(evaluation, "_lock_packets"))  # fmt: skip
        for bid_plan in plans:  # evaluation_lock: each bid qualified or not, by the chair
            bid_plan.bid.status = B.QUALIFIED if bid_plan.passes else B.DISQUALIFIED
            self.move(locked, "bid.qualified" if bid_plan.passes else "bid.disqualified", chair,
                      bid_plan.bid, B.SEALED, bid_plan.bid.status)  # fmt: skip
        if plan == NO_QUALIFIED:
            evaluation.status, evaluation.status_changed_at = E.UNSUCCESSFUL, locked
            self.move(locked, "evaluation.unsuccessful", chair, evaluation, E.CONSENSUS,
                      E.UNSUCCESSFUL, **lock)  # fmt: skip
            self.move(locked + SECOND, "opportunity.unsuccessful", chair, opportunity,
                      S.EVALUATING, S.UNSUCCESSFUL, reason="no qualified bid")  # fmt: skip
            return
        self.move(locked, "evaluation.selected", chair, evaluation, E.CONSENSUS, E.SELECTED,
                  **lock)  # fmt: skip
        evaluation.revealed_at, evaluation.revealed_by = m["revealed"], buyer
        self.move(m["revealed"], "evaluation.revealed", buyer, evaluation, E.SELECTED,
                  E.REVEALED)  # fmt: skip
        awarded = m["awarded"]
        evaluation.status, evaluation.status_changed_at = E.AWARDED, awarded
        self.move(awarded, "evaluation.awarded", buyer, evaluation, E.REVEALED, E.AWARDED)
        self.move(awarded, "opportunity.awarded", buyer, opportunity, S.EVALUATING, S.AWARDED)
        winner = next(p for p in plans if p.packet.label == ranking[0])
        for bid_plan in [winner] + [p for p in plans if p is not winner]:  # evaluation_award
            was, bid_plan.bid.status = (
                bid_plan.bid.status,
                (B.AWARDED if bid_plan is winner else B.NOT_AWARDED),
            )
            self.move(awarded, "bid.awarded" if bid_plan is winner else "bid.not_awarded", buyer,
                      bid_plan.bid, was, bid_plan.bid.status)  # fmt: skip
        self.add(Offer(evaluation=evaluation, packet=winner.packet, number=1,
                       offered_at=awarded, offered_by=buyer))  # fmt: skip
        self._deliver(m, plan, opportunity, winner.bid, buyer)
        self.event(awarded + 3 * SECOND, "evaluation.offered", buyer, evaluation, E.AWARDED,
                   offer=1, packet=winner.packet.label, bid=_Ref(winner.bid))  # fmt: skip

    def _mark(self, model, criterion, bid_plan, evaluator, *, jitter=False, **fields):
        """One mark on one criterion: the consensus, or an evaluator's (near the consensus)."""
        passed = score = None
        if criterion.kind == Criterion.Kind.MANDATORY:
            passed = bid_plan.passes
        else:
            score = bid_plan.scores[criterion.position - 1]  # the demo's criteria: 1 mandatory
            if jitter:
                score = min(max(score + self.rng.choice([-1, 0, 0, 1]), 0), criterion.max_score)
        rationale = _rationale(evaluator.preferred_language, passed, score)
        return model(criterion=criterion, passed=passed, score=score, rationale=rationale,
                     **fields)  # fmt: skip

    def _deliver(self, m, plan, opportunity, bid, buyer) -> None:
        """The contract: accepted, delivered (perhaps twice), certified, then paid."""
        rng, supplier = self.rng, bid.supplier
        S, C = Opportunity.Status, Contract.Status
        contract = self.add(Contract(
            opportunity=opportunity, bid=bid, supplier=supplier, status=C.IN_PROGRESS,
            value_cents=opportunity.value_cents, created_at=m["awarded"] + 2 * SECOND,
            terms_version=settings.BID_TERMS_VERSION, terms_accepted_at=m["accepted"],
            **_supplier_details(supplier, at=m["awarded"] + 2 * SECOND),
        ))  # fmt: skip
        self.event(m["awarded"] + 2 * SECOND, "contract.created", None, contract,
                   C.AWAITING_ACCEPTANCE)  # fmt: skip
        self.move(m["accepted"], "contract.accepted", supplier, contract, C.AWAITING_ACCEPTANCE,
                  C.IN_PROGRESS, terms=settings.BID_TERMS_VERSION)  # fmt: skip
        self.move(m["accepted"] + SECOND, "opportunity.in_delivery", supplier, opportunity,
                  S.AWARDED, S.IN_DELIVERY)  # fmt: skip
        if plan == IN_PROGRESS:
            return
        pull = opportunity.type != OpportunityType.PROTOTYPE and rng.random() < 0.8
        repository = opportunity.repository_url
        contract.delivery_url = f"{repository}/pull/{rng.randint(12, 480)}" if pull else repository
        contract.delivery_notes = "Done as described; the write-up is in the repository."
        contract.status, contract.delivered_at, contract.deliveries = C.DELIVERED, m["delivered"], 1
        self.move(m["delivered"], "contract.delivered", supplier, contract, C.IN_PROGRESS,
                  C.DELIVERED)  # fmt: skip
        if plan == DELIVERED:
            return
        if "changes_requested" in m:
            contract.change_request = rng.choice(CHANGE_REQUESTS)
            contract.cure_deadline = add_business_days(
                m["changes_requested"].date(), settings.CURE_PERIOD_BUSINESS_DAYS
            )
            contract.delivered_at, contract.deliveries = m["redelivered"], 2
            self.move(m["changes_requested"], "contract.changes_requested", buyer, contract,
                      C.DELIVERED, C.CHANGES_REQUESTED)  # fmt: skip
            self.move(m["redelivered"], "contract.delivered", supplier, contract,
                      C.CHANGES_REQUESTED, C.DELIVERED)  # fmt: skip
        contract.status, contract.certified_at = C.ACCEPTED, m["certified"]
        contract.certified_by, contract.certification_statement = buyer, self.certification
        self.move(m["certified"], "contract.certified", buyer, contract, C.DELIVERED, C.ACCEPTED)
        self._pay(m, opportunity, contract)

    def _pay(self, m, opportunity, contract) -> None:
        """Paid by the card holder outside, recorded, and confirmed by the supplier."""
        rng, supplier, P = self.rng, contract.supplier, Payment.Status
        certified, recorded, confirmed = m["certified"], m["recorded"], m["confirmed"]
        profile = supplier.supplier_profile
        split = tax.split_tax_included(
            contract.value_cents, province=profile.province, registered=bool(profile.gst_hst_number)
        )
        paid_on = timezone.localdate(recorded)
        reference = f"AUTH-{rng.randint(100000, 999999)}"
        method = rng.choice(list(Payment.Method))
        payment = self.add(Payment(
            contract=contract, status=P.PAID, provider=Payment.Provider.RECORDED_CARD,
            issued_on=timezone.localdate(certified), province=profile.province,
            gst_hst_number=profile.gst_hst_number, subtotal_cents=split.subtotal_cents,
            tax_label=split.label, tax_rate_bp=split.rate_bp, tax_cents=split.tax_cents,
            total_cents=split.total_cents, due_since=certified, payer=self.card_holder,
            started_at=recorded, committed_at=recorded, method=method, paid_on=paid_on,
            reference=reference,
            recorded_at=recorded, paid_at=confirmed, confirmed_at=confirmed, created_at=certified,
        ))  # fmt: skip
        data = {"amount_cents": split.total_cents, "paid_on": paid_on.isoformat(),
                "reference": reference, "method": str(method)}  # fmt: skip
        self.add(PaymentEvent(payment=payment, created_at=certified, kind="due", to_status=P.DUE))
        self.add(PaymentEvent(payment=payment, created_at=recorded, kind="recorded",
                              actor=self.card_holder, from_status=P.DUE, to_status=P.RECORDED,
                              data=data))  # fmt: skip
        self.add(PaymentEvent(payment=payment, created_at=confirmed, kind="receipt_confirmed",
                              actor=supplier, from_status=P.RECORDED,
                              to_status=P.PAID))  # fmt: skip
        self.event(certified + SECOND, "payment.due", None, payment, P.DUE)
        self.move(recorded, "payment.recorded", self.card_holder, payment, P.DUE, P.RECORDED,
                  shown=P.DUE, **data)  # fmt: skip
        self.move(confirmed, "payment.receipt_confirmed", supplier, payment, P.RECORDED, P.PAID,
                  shown=P.RECORDED)  # fmt: skip
        self.move(confirmed + SECOND, "opportunity.completed", supplier, opportunity,
                  Opportunity.Status.IN_DELIVERY, Opportunity.Status.COMPLETED)  # fmt: skip

    # --- Saving --------------------------------------------------------------------------------

    def _bulk(self, model, *, check: bool = False) -> list:
        rows = self.rows.get(model, [])
        relations = [f for f in model._meta.concrete_fields if f.is_relation]
        for row in rows:
            for relation in relations:
                related = getattr(row, relation.name)  # planned unsaved: take its key now
                if related is not None and getattr(row, relation.attname) is None:
                    setattr(row, relation.name, related)
            for name, value in list(vars(row).items()):
                if isinstance(value, dict | list) and not name.startswith("_"):
                    setattr(row, name, _resolve(value))
            if check:
                row.full_clean(validate_unique=False, validate_constraints=False)
        return model.objects.bulk_create(rows)

    def save(self) -> None:
        users = self._bulk(User, check=True)
        EmailAddress.objects.bulk_create(
            builders.email_address(user_id=user.pk, email=user.email) for user in users
        )
        RoleGrant.objects.bulk_create(
            [builders.role_grant(user_id=user.pk, role=role, granted_by_id=self.admin.pk,
                                 granted_at=user.date_joined)
             for user, role in self.staff]
            + [builders.role_grant(user_id=s.user.pk, role=Role.SUPPLIER, granted_by_id=None,
                                   granted_at=s.joined)
               for s in self.suppliers]
        )  # fmt: skip
        self._bulk(SupplierProfile, check=True)
        SelfIdentification.objects.bulk_create(
            SelfIdentification(
                user=self.suppliers[number - 1].user,
                groups=[str(group) for group in groups],
                consented_at=self.suppliers[number - 1].joined + dt.timedelta(days=2),
            )
            for number, groups in SELF_IDENTIFICATIONS.items()
        )
        opportunities = self._bulk(Opportunity, check=True)
        Opportunity.skills.through.objects.bulk_create(
            Opportunity.skills.through(opportunity=o, skill=skill)
            for o in opportunities
            for skill in o._skills
        )
        for model in (Criterion, Question, Bid, Answer):
            self._bulk(model, check=model in (Criterion, Question))
        for plan in self.bid_plans:
            bid = plan.bid
            content = {
                "opportunity": bid.opportunity.pk,
                "supplier": bid.supplier.pk,
                "answers": [{"criterion": c.pk, "text": text} for c, text in plan.answers],
                "proposed_start_date": bid.proposed_start_date.isoformat(),
                "attestations": {name: getattr(bid, name) for name in Bid.ATTESTATIONS},
                "terms_version": bid.terms_version,
                "attachments": [],
            }
            plan.digest = content_digest(content)
            self.add(Receipt(bid=bid, number=1, received_at=bid.submitted_at,
                             submitted_at=bid.submitted_at, digest=plan.digest,
                             content=content))  # fmt: skip
        self._bind_draws()
        for model in (Receipt, Evaluation, Packet, PanelMember, Mark, ConsensusMark, Offer):
            self._bulk(model)
        self._bulk(Contract, check=True)
        for payment in self.rows[Payment]:
            payment.invoice_number = f"MA-{payment.issued_on.year}-{payment.contract.pk:05d}"
        self._bulk(Payment, check=True)
        self._bulk(PaymentEvent)
        events = self._people_events() + self.events
        types = ContentType.objects.get_for_models(*{type(event.target) for event in events})
        AuditEvent.objects.bulk_create(
            builders.audit_event(
                at=event.at,
                verb_name=event.verb,
                actor_id=event.actor.pk if event.actor is not None else None,
                target_type_id=types[type(event.target)].pk,
                target_id=event.target.pk,
                target_repr=self._repr(event),
                data=_resolve(event.data),
            )
            for event in sorted(events, key=lambda event: event.at)
        )

    def _bind_draws(self) -> None:
        """Once the criteria have their keys and the receipts their digests: the label record
        each draw published before scoring, and each bid's consensus as its lock recorded it
        (evaluation.services.label_record and lock_packet_record, as the services do)."""
        for evaluation, opportunity, criteria, plans in self.draws:
            evaluation._label_record = label_record(
                commitment=evaluation.commitment, seed=evaluation.seed, opportunity=opportunity,
                criteria=criteria, receipts={p.packet.label: p.digest for p in plans},
            )  # fmt: skip
            evaluation.label_digest = label_digest(evaluation._label_record)
            evaluation._lock_packets = {
                p.packet.label: lock_packet_record(
                    marks={mark.criterion.pk: mark for mark in p.consensus}, criteria=criteria,
                    qualified=p.packet.qualified, score=p.packet.score,
                )
                for p in sorted(plans, key=lambda p: p.packet.label)
            }  # fmt: skip

    def _people_events(self) -> list[_Event]:
        events = []
        for user, role in self.staff:
            events.append(_Event(user.date_joined, "user.created", None, user))
            events.append(_Event(user.date_joined + 5 * MINUTE, "role.granted",
                                 self.admin, user, data={"role": str(role)}))  # fmt: skip
        blank = SupplierProfile()
        for s in self.suppliers:
            # A self-service sign-up, then the profile (field names only, as the service logs).
            events.append(_Event(s.joined, "user.signed_up", s.user, s.user))
            events.append(_Event(s.joined, "role.granted", s.user, s.user,
                                 data={"role": str(Role.SUPPLIER)}))  # fmt: skip
            changed = [
                f for f in SUPPLIER_PROFILE_FIELDS if getattr(s.profile, f) != getattr(blank, f)
            ]
            events.append(_Event(s.joined + 12 * MINUTE, "supplier_profile.created", s.user,
                                 s.profile, data={"fields": sorted(changed)}))  # fmt: skip
        return events

    @staticmethod
    def _repr(event: _Event) -> str:
        """What str(target) showed when the service wrote the event (in English)."""
        target = event.target
        if isinstance(target, Opportunity):
            return target.title_en
        if isinstance(target, Bid):
            return f"Bid {target.pk} on opportunity {target.opportunity.pk} ({event.status})"
        if isinstance(target, Evaluation):
            return f"{target.opportunity.pk} ({event.status})"
        if isinstance(target, Contract):
            return f"{target.opportunity.pk} → {target.supplier.email} ({event.status})"
        if isinstance(target, Payment):
            return f"{target.invoice_number} ({event.status})"
        return str(target)


@transaction.atomic
def seed_history(*, now: dt.datetime | None = None, rng_seed: int = 2026) -> int:
    """Create the demo's past year once; returns the number of opportunities created (0 when
    the history is already there). Needs the accounts `seed_demo` creates first."""
    if User.objects.filter(email=history_supplier_email(1)).exists():
        return 0
    emails = [ADMIN, CARD_HOLDER, *DEMO_EVALUATORS, *DEMO_SUPPLIERS]
    demo = {
        user.email: user
        for user in User.objects.filter(email__in=emails).select_related("supplier_profile")
    }
    missing = sorted(set(emails) - set(demo))
    if missing:
        raise RuntimeError(f"Run seed_demo first: missing demo accounts {', '.join(missing)}.")
    rng = random.Random(rng_seed)  # noqa: S311 - demo data, reproducible  # nosec B311
    history = _History(rng=rng, now=now or timezone.now(), demo=demo, password=DEMO_PASSWORD)
    plans = [COMPLETED] * len(CATALOGUE)
    special = rng.sample(range(2, len(CATALOGUE) - 4), 4)
    for index, plan in zip(special, (CANCELLED, CANCELLED, NO_BIDS, NO_QUALIFIED), strict=True):
        plans[index] = plan
    plans[-3:] = [DELIVERED, IN_PROGRESS, IN_PROGRESS]
    for index, (entry, plan) in enumerate(zip(CATALOGUE, plans, strict=True)):
        history.opportunity(index, entry, plan)
    history.save()
    # The demo suppliers who took part were around before their first history bid.
    for supplier in history.demo_suppliers:
        first = history.first_bids.get(supplier.user.email)
        if first is not None and first < supplier.user.date_joined:
            joined = first - dt.timedelta(days=rng.randint(10, 40))
            User.objects.filter(pk=supplier.user.pk).update(date_joined=joined)
            RoleGrant.objects.filter(user=supplier.user, role=Role.SUPPLIER).update(
                granted_at=joined
            )
    return len(CATALOGUE)
