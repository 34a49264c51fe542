"""Every form of the site, opened, sent back as it is and opened again, in English and in French:
no value changes on the page or in the database (issue 21).

A French page once wrote its dates as "21/12/2026", which a browser's date picker throws away:
the draft's closing date was saved empty by the next "Save". So the values here are read as a
browser reads them (an input's value that its type does not accept is dropped, as the HTML
standard says), sent as a browser sends them (the one-time form key and the CSRF token with
them, textareas with CRLF line ends), and the forms are filled first with what people write:
dates, amounts with cents ("2 500,50 $"), accents, "l’été".

`ROUND_TRIPS` lists every form a person fills, with its address and what makes its page
available; `ONE_SHOT` the forms that do not reopen, and why. A form class missing from both
fails `test_every_form_of_the_project_is_listed`.
"""

# French typography (’ « » –) is what these forms must keep.
# ruff: noqa: RUF001, RUF002, RUF003
from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from bids import services as bid_services
from bids.forms import BidForm
from evaluation import marking as evaluation_marking
from evaluation.forms import AppointForm, DeclarationForm, MarksForm
from evaluation.marking import MarkInput
from evaluation.models import ConsensusMark, Mark
from marketplace import calendar
from marketplace import services as marketplace_services
from marketplace.forms import (
    ApprovalNoteForm,
    FullNameForm,
    NotificationPreferencesForm,
    PreferredLanguageForm,
    RoleGrantForm,
    SignupForm,
    SupplierProfileForm,
    UserSearchForm,
)
from marketplace.models import Approval, Role, SupplierProfile
from marketplace.notifications import kinds_for
from opportunities.alerts import alert_save
from opportunities.drafting import EDITABLE_FIELDS
from opportunities.forms import (
    AlertForm,
    AmendForm,
    AnswerForm,
    CancelForm,
    CriterionForm,
    DismissForm,
    GuardrailsForm,
    OpportunityFilterForm,
    OpportunityForm,
    PublishForm,
    QuestionForm,
    RequestChangesForm,
)
from opportunities.models import Alert, Criterion, Guardrails, Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from payments import contracts
from payments.forms import (
    CardLimitForm,
    CertifyForm,
    ChangesForm,
    DeclineForm,
    DefaultForm,
    DeliveryForm,
    MissingPaymentForm,
    RecordPaymentForm,
)
from payments.models import CardLimit, Payment
from reports.forms import PeriodForm, PurchaseFilterForm, SelfIdentificationForm
from reports.models import SelfIdentification
from tests.builders import award_first_in_rank, close_with_bids, fill, mark_values, seat_panel
from tests.factories import (
    OpportunityFactory,
    SkillFactory,
    StaffFactory,
    SupplierFactory,
    SupplierProfileFactory,
)
from tests.support.page_forms import PageForm, _program_admins, form_on, form_read_both

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES]

# What people write, in the forms below.
SUMMER_FR = "Rendre le formulaire de « l’été » accessible au clavier"
SUMMER_EN = "Make the “summer” form keyboard accessible"
LINES_FR = "Étapes :\r\n1. Ouvrir le sélecteur ;\r\n2. Appuyer sur Échap — rien n’arrive."
LINES_EN = "Steps:\r\n1. Open the picker;\r\n2. Press Escape — nothing happens."
CENTS = 250_050  # 2 500,50 $


# --- A browser, reading and sending a form ---------------------------------------------------


# --- What each form needs ----------------------------------------------------------------------


@dataclass
class Scene:
    """A page with a form, filled; what to send, and what must hold after."""

    user: Any
    page: str  # the form's page, in English (/en/…), with its query
    field: str  # a field of the form, which finds it on the page
    saved: Callable[[], Any] = lambda: None  # the values stored, read afresh
    typed: dict[str, str] = field(default_factory=dict)  # typed before sending (not stored)
    button: str | None = None  # the button pressed; the first one otherwise
    # "saved": a redirect; "refused": the form shown again with this message: nothing
    # changed (had a value been lost or altered on the way, the change would be made).
    outcome: str = "saved"
    refusal: str = ""
    reopens: bool = True  # False: the form is gone after it is sent (`check` says what holds)
    # A form sent (GET) to a page that shows its values to check: that page's form holds them
    # all, hidden, with this signature field, and it is the one posted ("saved" is its outcome).
    reviewed_by: str | None = None
    check: Callable[[dict[str, list[str]]], None] | None = None


@dataclass(frozen=True)
class RoundTrip:
    name: str
    forms: tuple[type, ...]
    url: str
    given: str
    build: Callable[[str, Any], Scene]

    def __str__(self) -> str:
        return self.name


def _minute(moment: dt.datetime, hour: int, minute: int) -> dt.datetime:
    """A local time on the minute, as a person sets it in a picker (which has no seconds)."""
    return timezone.localtime(moment).replace(hour=hour, minute=minute, second=0, microsecond=0)


def _row(instance, *names: str) -> dict[str, Any]:
    instance.refresh_from_db()
    return {name: getattr(instance, name) for name in names}


def _supplier_with_profile() -> Any:
    supplier = SupplierFactory(full_name="Aurélie Tremblay")
    marketplace_services.supplier_profile_save(
        actor=supplier,
        user=supplier,
        kind=SupplierProfile.Kind.ORGANIZATION,
        legal_name="Les Services numériques de l’Érable inc.",
        trading_name="Érable Numérique",
        size=SupplierProfile.Size.UP_TO_9,
        contact_name="Aurélie Tremblay",
        email=supplier.email,
        phone="514-555-0142 ext. 12",
        website="https://erable-numerique.example/à-propos",
        github_handle="erable-num",
        province="QC",
        postal_code="h2x 1y4",
        gst_hst_number="123456789RT0001",
    )
    return supplier


def _opportunity_fields(**overrides) -> dict[str, Any]:
    now = timezone.now()
    return {
        "title_en": SUMMER_EN,
        "title_fr": SUMMER_FR,
        "summary_en": "Fix a keyboard trap in the “summer” date picker.",
        "summary_fr": "Corriger un piège au clavier dans le sélecteur de « l’été ».",
        "description_en": LINES_EN,
        "description_fr": LINES_FR,
        "value_cents": CENTS,
        "closes_at": _minute(calendar.add_business_days(now, 8), 14, 30),
        "question_deadline": _minute(calendar.add_business_days(now, 6), 16, 0),
        "expected_delivery_date": timezone.localdate() + dt.timedelta(days=45),
        "repository_url": "https://github.com/example/sélecteur-été",
        **overrides,
    }


def _opportunity_saved(opportunity: Opportunity) -> Callable[[], Any]:
    names = [*EDITABLE_FIELDS]

    def saved() -> Any:
        row = _row(opportunity, *names)
        criteria = list(
            opportunity.criteria.order_by("position").values(
                "kind", "text_en", "text_fr", "weight", "max_score", "word_limit"
            )
        )
        skills = sorted(opportunity.skills.values_list("slug", flat=True))
        return row, criteria, skills

    return saved


def _published(**fields) -> Opportunity:
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    draft = OpportunityFactory(**_opportunity_fields(**fields))
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=admin, opportunity=draft)


# --- One builder per page ---------------------------------------------------------------------


def supplier_profile(language: str, capture) -> Scene:
    supplier = _supplier_with_profile()
    profile = supplier.supplier_profile
    return Scene(
        supplier,
        reverse("marketplace:supplier_profile"),
        "legal_name",
        saved=lambda: _row(profile, *marketplace_services.SUPPLIER_PROFILE_FIELDS),
    )


def full_name(language: str, capture) -> Scene:
    supplier = SupplierFactory()
    marketplace_services.user_set_full_name(user=supplier, full_name="Éloïse Lévesque-D’Amour")
    return Scene(
        supplier,
        reverse("marketplace:dashboard"),
        "full_name",
        saved=lambda: _row(supplier, "full_name"),
    )


def preferred_language(language: str, capture) -> Scene:
    supplier = SupplierFactory()
    marketplace_services.user_set_preferred_language(user=supplier, language="fr")
    return Scene(
        supplier,
        reverse("marketplace:dashboard"),
        "preferred_language",
        saved=lambda: _row(supplier, "preferred_language"),
    )


def notification_preferences(language: str, capture) -> Scene:
    supplier = _supplier_with_profile()
    optional = [kind.code for kind in kinds_for(supplier.roles) if not kind.mandatory]
    assert len(optional) >= 2
    marketplace_services.notification_preferences_save(user=supplier, emailed_kinds=optional[1:])
    return Scene(
        supplier,
        reverse("marketplace:notification_preferences"),
        "emailed",
        saved=lambda: sorted(supplier.notification_opt_outs.values_list("kind", flat=True)),
    )


def user_search(language: str, capture) -> Scene:
    admin, _second = _program_admins()
    query = urlencode({"q": "Lévesque-D’Amour"})
    return Scene(admin, f"{reverse('marketplace:role_user_list')}?{query}", "q")


def opportunity_filter(language: str, capture) -> Scene:
    skill = SkillFactory(slug="accessibilite", name_en="Accessibility", name_fr="Accessibilité")
    _published(value_cents=CENTS, skills=[skill])
    low, high = ("2 500,50", "9 999,99") if language == "fr" else ("2,500.50", "9,999.99")
    query = urlencode(
        {
            "q": "l’été",
            "skill": skill.slug,
            "type": "bug_fix",
            "value_min": low,
            "value_max": high,
            "status": "all",
            "closing_within": 30,
            "sort": "value_high",
        }
    )
    return Scene(None, f"{reverse('opportunities:list')}?{query}", "value_min")


def opportunity_draft(language: str, capture) -> Scene:
    skills = [SkillFactory(slug="accessibilite"), SkillFactory(slug="javascript")]
    opportunity = OpportunityFactory(
        **_opportunity_fields(),
        skills=skills,
        criteria=[
            Criterion(
                kind="mandatory",
                text_en="Has fixed a keyboard trap before.",
                text_fr="A déjà corrigé un piège au clavier.",
            ),
            Criterion(
                kind="rated",
                text_en="Describe the fix you would make.",
                text_fr="Décrivez la correction que vous feriez, « pas à pas ».",
                weight=3,
                max_score=10,
                word_limit=250,
            ),
        ],
    )
    return Scene(
        opportunity.buyer,
        reverse("opportunities:edit", args=[opportunity.pk]),
        "title_en",
        saved=_opportunity_saved(opportunity),
    )


def opportunity_amend(language: str, capture) -> Scene:
    opportunity = _published()
    return Scene(
        opportunity.buyer,
        reverse("opportunities:amend", args=[opportunity.pk]),
        "closes_at",
        saved=_opportunity_saved(opportunity),
        # An addendum of nothing: had a value been lost on the way, it would be published.
        typed={"note_en": "Clarified the dates.", "note_fr": "Précisé les dates de l’été."},
        outcome="refused",
        refusal="Nothing was changed.",
    )


def alert(language: str, capture) -> Scene:
    supplier = _supplier_with_profile()
    skills = [SkillFactory(slug="accessibilite"), SkillFactory(slug="javascript")]
    alert_save(
        user=supplier, skills=skills, types=["accessibility", "bug_fix"], frequency="immediate"
    )
    saved_alert = Alert.objects.get(user=supplier)

    def saved() -> Any:
        row = _row(saved_alert, "types", "frequency")
        return row, sorted(saved_alert.skills.values_list("slug", flat=True))

    return Scene(supplier, reverse("opportunities:alert"), "frequency", saved=saved)


def guardrails(language: str, capture) -> Scene:
    admin, _second = _program_admins()
    Guardrails.objects.update_or_create(
        pk=1,
        defaults={
            "value_cap_cents": 950_050,
            "min_open_business_days": 6,
            "allowed_types": ["accessibility", "bug_fix"],
            "split_window_days": 45,
        },
    )
    current = Guardrails.current()
    return Scene(
        admin,
        reverse("opportunities:guardrails"),
        "value_cap_dollars",
        saved=lambda: _row(
            current,
            "value_cap_cents",
            "min_open_business_days",
            "allowed_types",
            "split_window_days",
        ),
        # A change is asked of a second program administrator; the same values are no change.
        outcome="refused",
        refusal="These are already the guardrails.",
    )


def bid(language: str, capture) -> Scene:
    opportunity = _published()
    supplier = SupplierProfileFactory(contact_name="Aurélie Tremblay").user
    draft = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
    fill(
        draft,
        supplier,
        answers={c.pk: LINES_FR for c in opportunity.criteria.all()},
        proposed_start_date=timezone.localdate() + dt.timedelta(days=21),
    )

    def saved() -> Any:
        row = _row(
            draft,
            "proposed_start_date",
            "attest_can_work_in_canada",
            "attest_can_be_paid_by_card",
            "attest_no_conflict",
            "terms_version",
        )
        return row, sorted(draft.answers.values_list("criterion_id", "text"))

    return Scene(
        supplier,
        reverse("bids:edit", args=[draft.pk]),
        "proposed_start_date",
        saved=saved,
        button="action_save",
    )


def _evaluation(capture):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    opportunity, _bids = close_with_bids(admin, capture, count=2, **_opportunity_fields())
    evaluation = opportunity.evaluation
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    seat_panel(evaluation, evaluators)
    return opportunity, evaluation, evaluators


def marks(language: str, capture) -> Scene:
    opportunity, evaluation, evaluators = _evaluation(capture)
    packet = evaluation.packets.order_by("label").first()
    member = evaluation.panel.get(evaluator=evaluators[1])
    evaluation_marking.marks_save(
        evaluator=evaluators[1],
        packet=packet,
        values=mark_values(opportunity, score=7, rationale=LINES_FR),
    )
    return Scene(
        evaluators[1],
        reverse("evaluation:packet", args=[opportunity.pk, packet.pk]),
        "rationale_" + str(opportunity.criteria.first().pk),
        saved=lambda: sorted(
            Mark.objects.filter(member=member).values_list(
                "packet_id", "criterion_id", "passed", "score", "rationale"
            )
        ),
    )


def consensus(language: str, capture) -> Scene:
    opportunity, evaluation, evaluators = _evaluation(capture)
    for evaluator in evaluators:
        for packet in evaluation.packets.all():
            evaluation_marking.marks_save(
                evaluator=evaluator,
                packet=packet,
                values=mark_values(opportunity, score=8, rationale="Clair et précis."),
            )
        evaluation_marking.marks_submit(evaluator=evaluator, evaluation=evaluation)
    evaluation.refresh_from_db()
    packet = evaluation.packets.order_by("label").first()
    evaluation_marking.consensus_save(
        chair=evaluators[0],
        packet=packet,
        values={
            **mark_values(opportunity, score=9, rationale=LINES_FR),
            opportunity.criteria.get(kind="mandatory").pk: MarkInput(
                passed=False, rationale="Le panel n’est pas d’accord."
            ),
        },
    )
    return Scene(
        evaluators[0],
        reverse("evaluation:consensus_packet", args=[opportunity.pk, packet.pk]),
        "rationale_" + str(opportunity.criteria.first().pk),
        saved=lambda: sorted(
            ConsensusMark.objects.filter(packet=packet).values_list(
                "criterion_id", "passed", "score", "rationale"
            )
        ),
    )


def card_limits(language: str, capture) -> Scene:
    admin, _second = _program_admins()
    holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Émilie Bélanger")
    limit = CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=CENTS, monthly_cents=1_250_075
    )
    return Scene(
        admin,
        reverse("payments:oversight"),
        f"holder{holder.pk}-per_transaction",
        saved=lambda: _row(limit, "per_transaction_cents", "monthly_cents"),
        outcome="refused",
        refusal="These are already the limits of this card holder.",
    )


def record_payment(language: str, capture) -> Scene:
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    opportunity, _bids = close_with_bids(admin, capture, count=2, **_opportunity_fields())
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    contract = award_first_in_rank(opportunity, evaluators, [(True, 9), (True, 5)])
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    contract = contracts.contract_certify(
        buyer=opportunity.buyer, contract=contract, confirmed=True
    )
    payment = contract.payment
    holder = StaffFactory(roles=[Role.CARD_HOLDER], full_name="Émilie Bélanger")
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=2_500_000
    )
    assert payment.total_cents % 100, "an amount with cents"

    def check(sent: dict[str, list[str]]) -> None:
        payment.refresh_from_db()
        assert payment.status == Payment.Status.RECORDED
        assert payment.paid_on.isoformat() == sent["paid_on"][0] == timezone.localdate().isoformat()
        assert (payment.method, payment.reference) == (sent["method"][0], sent["reference"][0])

    return Scene(
        holder,
        reverse("payments:detail", args=[payment.pk]),
        "amount",
        # The amount shown is the amount due; sent as it is, it must be read as that amount
        # (the service refuses any other), in French as in English.
        saved=lambda: _row(payment, "total_cents"),
        typed={"reference": "Autorisation 004512 – l’été"},
        reopens=False,
        check=check,
        reviewed_by="reviewed",
    )


def self_identification(language: str, capture) -> Scene:
    supplier = _supplier_with_profile()
    groups = list(SelfIdentification.Group.values)[:2]
    from reports import services as report_services

    report_services.self_identification_save(user=supplier, groups=groups, consent=True)
    record = SelfIdentification.objects.get(user=supplier)
    return Scene(
        supplier,
        reverse("reports:self_identification"),
        "groups",
        saved=lambda: _row(record, "groups"),
    )


def metrics_period(language: str, capture) -> Scene:
    admin, _second = _program_admins()
    return Scene(admin, reverse("reports:metrics"), "start")


def metrics_opportunities(language: str, capture) -> Scene:
    admin, _second = _program_admins()
    query = "?start=2025-04-01&end=2026-03-31"
    return Scene(admin, reverse("reports:metrics_opportunities") + query, "start")


def purchases(language: str, capture) -> Scene:
    return Scene(None, reverse("reports:purchases") + "?type=accessibility", "type")


ROUND_TRIPS = [
    RoundTrip(
        "supplier profile",
        (SupplierProfileForm,),
        "/<lang>/profile/",
        "a supplier with a saved profile (accents, apostrophes, extension, GST/HST number)",
        supplier_profile,
    ),
    RoundTrip(
        "full name",
        (FullNameForm,),
        "/<lang>/dashboard/",
        "a person whose name has accents and an apostrophe",
        full_name,
    ),
    RoundTrip(
        "email language",
        (PreferredLanguageForm,),
        "/<lang>/dashboard/",
        "a supplier whose emails are in French",
        preferred_language,
    ),
    RoundTrip(
        "notification choices",
        (NotificationPreferencesForm,),
        "/<lang>/notifications/preferences/",
        "a supplier who stopped one optional kind of email",
        notification_preferences,
    ),
    RoundTrip(
        "people search (GET)",
        (UserSearchForm,),
        "/<lang>/program/users/?q=…",
        "a program administrator searching for an accented, apostrophed name",
        user_search,
    ),
    RoundTrip(
        "opportunity search (GET)",
        (OpportunityFilterForm,),
        "/<lang>/opportunities/?q=…&value_min=2 500,50…",
        "anyone; every filter set, amounts with cents written in the page's language",
        opportunity_filter,
    ),
    RoundTrip(
        "draft opportunity and its criteria",
        (OpportunityForm, CriterionForm),
        "/<lang>/opportunities/<pk>/edit/",
        "a buyer's draft: 2 500,50 $, deadlines on the minute, delivery date, two skills, two "
        "criteria (the empty extra row sent empty)",
        opportunity_draft,
    ),
    RoundTrip(
        "amendment of a published opportunity",
        (AmendForm,),
        "/<lang>/opportunities/<pk>/amend/",
        "a published opportunity; the notes typed, every other value sent as shown: "
        "“Nothing was changed”",
        opportunity_amend,
    ),
    RoundTrip(
        "opportunity alert",
        (AlertForm,),
        "/<lang>/opportunities/alerts/",
        "a supplier with an alert on two skills and two types, sent immediately",
        alert,
    ),
    RoundTrip(
        "guardrails",
        (GuardrailsForm,),
        "/<lang>/opportunities/guardrails/",
        "a cap of 9 500,50 $, two types allowed, a second program administrator; sent as "
        "shown: “These are already the guardrails”",
        guardrails,
    ),
    RoundTrip(
        "bid draft",
        (BidForm,),
        "/<lang>/bids/<pk>/edit/",
        "a supplier's complete draft with a proposed start date (Save draft)",
        bid,
    ),
    RoundTrip(
        "an evaluator's marks",
        (MarksForm,),
        "/<lang>/evaluation/<pk>/packets/<packet>/",
        "a seated evaluator's saved marks on a packet (tests/builders.py)",
        marks,
    ),
    RoundTrip(
        "the panel's consensus",
        (MarksForm,),
        "/<lang>/evaluation/<pk>/consensus/<packet>/",
        "the chair's saved consensus on a packet, one criterion failed",
        consensus,
    ),
    RoundTrip(
        "card limits",
        (CardLimitForm,),
        "/<lang>/payments/oversight/",
        "a card holder's limits of 2 500,50 $ and 12 500,75 $, a second program "
        "administrator; sent as shown: “These are already the limits”",
        card_limits,
    ),
    RoundTrip(
        "record a card payment",
        (RecordPaymentForm,),
        "/<lang>/payments/<pk>/",
        "a certified contract's payment with cents, a card holder; the reference typed, the "
        "details checked on their confirmation page (and “Go back”), then recorded",
        record_payment,
    ),
    RoundTrip(
        "self-identification",
        (SelfIdentificationForm,),
        "/<lang>/reports/self-identification/",
        "a supplier's saved answers (two groups, consent)",
        self_identification,
    ),
    RoundTrip(
        "metrics period (GET)",
        (PeriodForm,),
        "/<lang>/reports/metrics/",
        "a program administrator; the default period, sent as shown",
        metrics_period,
    ),
    RoundTrip(
        "metrics of each opportunity (GET)",
        (PeriodForm,),
        "/<lang>/reports/metrics/opportunities/?start=…&end=…",
        "a program administrator; a fiscal year",
        metrics_opportunities,
    ),
    RoundTrip(
        "what we bought (GET)",
        (PurchaseFilterForm,),
        "/<lang>/reports/what-we-bought/?type=…",
        "anyone",
        purchases,
    ),
]

# Forms that do not reopen: each is one step, done once, with its confirmation; what it holds
# is not shown again to be sent again.
ONE_SHOT = {
    SignupForm: "creates the account (its passwords are never shown again)",
    RoleGrantForm: "asks for a role to be granted; the form always opens on the first role",
    ApprovalNoteForm: "a second administrator's decision; once decided, the request is closed",
    PublishForm: "publishes an opportunity in review; the review page is gone after",
    RequestChangesForm: "sends an opportunity in review back, with a note",
    CancelForm: "cancels an opportunity",
    QuestionForm: "sends a question (published with its answer)",
    AnswerForm: "publishes an answer",
    DismissForm: "dismisses a question (it leaves the list, never to be answered)",
    AppointForm: "appoints an evaluator, who leaves the list",
    DeclarationForm: "an evaluator's declaration of interests, final once made",
    DeliveryForm: "delivers the work (link, notes, file) once",
    ChangesForm: "asks for changes to delivered work",
    CertifyForm: "certifies delivered work",
    DeclineForm: "the awardee declines the award, final once made",
    DefaultForm: "declares a default",
    MissingPaymentForm: "reports a problem with a recorded payment",
}
# Not the project's forms, and not tried here: django-allauth's (sign-in, codes, passwords,
# email addresses, two-factor), whose secrets are never shown again and which hold no date or
# amount; and Django's technical admin, with Django's own widgets (text inputs in the
# language's formats, which the same language reads back).


# --- The tests ---------------------------------------------------------------------------------


def _in(language: str, address: str) -> str:
    assert address.startswith("/en/"), address
    return f"/{language}/{address.removeprefix('/en/')}"


def _shown(client, address: str, field_name: str) -> PageForm:
    response = client.get(address)
    assert response.status_code == 200, f"{address}: {response.status_code}"
    form = form_read_both(response.content.decode(), field_name)
    assert not form.dropped, f"a browser would drop these values: {form.dropped}"
    assert not form.invalid, f"fields shown in error: {form.invalid}"
    return form


def _links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a [^>]*href="([^"]*)"', page)]


def _errors(response) -> list[str]:
    return [
        str(message)
        for message in messages.get_messages(response.wsgi_request)
        if message.level >= messages.ERROR
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("trip", ROUND_TRIPS, ids=str)
def test_a_form_sent_back_as_shown_changes_nothing(
    client, trip, language, django_capture_on_commit_callbacks
):
    scene = trip.build(language, django_capture_on_commit_callbacks)
    if scene.user is not None:
        client.force_login(scene.user)
    page = _in(language, scene.page)
    shown = _shown(client, page, scene.field)
    before = scene.saved()
    sent = shown.submission(button=scene.button, typed=scene.typed)
    target = shown.action or page

    if shown.method == "get" and scene.reviewed_by:
        # Sent to the page that shows the values to check: its form holds every one of them as
        # sent (the typed ones too), hidden, with the signature of what it showed.
        response = client.get(urlsplit(target).path, sent)
        assert response.status_code == 200, (
            f"{response.status_code}: {form_on(response.content.decode(), scene.field).invalid}"
        )
        review_page = response.content.decode()
        review = form_read_both(review_page, scene.field)
        assert review.method == "post"
        assert not review.dropped, f"a browser would drop these values: {review.dropped}"
        assert not review.invalid, f"fields shown in error: {review.invalid}"
        held = review.values()
        assert held.pop(scene.reviewed_by, [""]) != [""], "the values shown are not signed"
        as_sent = {**shown.values(), **{k: [v] for k, v in scene.typed.items()}}
        # Held as the server read them (an empty text component, not sent, as "").
        assert held == {**shown.values_read(), **{k: [v] for k, v in scene.typed.items()}}
        # "Go back" opens the form again with the values as they were sent.
        (back,) = {
            link
            for link in _links(review_page)
            if urlsplit(link).path == urlsplit(page).path and urlsplit(link).query
        }
        again = _shown(client, back, scene.field)
        assert again.values() == as_sent
        # The values checked are the ones recorded.
        shown, sent, target = review, review.submission(), review.action or page

    elif shown.method == "get":
        # A search: the browser asks for the form's address with the values as its query.
        response = client.get(urlsplit(target).path, sent)
        assert response.status_code == 200
        again = form_read_both(response.content.decode(), scene.field)
        assert not again.invalid, f"fields shown in error: {again.invalid}"
        assert again.values() == shown.values()
        return

    response = client.post(target, sent)
    if scene.outcome == "refused":
        assert response.status_code in (200, 400), response.status_code
        with translation.override(language):
            refusal = gettext(scene.refusal)
        assert refusal in html.unescape(response.content.decode())
        # Shown again with everything that was sent.
        kept = form_read_both(response.content.decode(), scene.field).values()
        assert kept == {**shown.values(), **{k: [v] for k, v in scene.typed.items()}}
    else:
        assert response.status_code == 302, (
            f"{response.status_code}: {form_on(response.content.decode(), scene.field).invalid}"
        )
        assert not _errors(response)
    if scene.check is not None:
        scene.check(sent)
    if scene.reopens:
        again = _shown(client, page, scene.field)
        typed = set(scene.typed)
        assert {k: v for k, v in again.values().items() if k not in typed} == {
            k: v for k, v in shown.values().items() if k not in typed
        }
    assert scene.saved() == before


def test_the_values_a_browser_drops_are_dropped():
    """The parser throws away what a browser would: a French date in a date input."""
    page = (
        '<form method="post"><input type="date" name="a" value="21/12/2026">'
        '<input type="datetime-local" name="b" value="2026-12-21 14:00:00">'
        '<input type="number" name="c" value="2 500,50">'
        '<textarea name="d">\nL’été\r\nfin</textarea>'
        '<select name="e"><option value="1">1</option><option value="2" selected>2</option>'
        "</select></form>"
    )
    form = form_on(page, "a")
    assert form.values() == {
        "a": [""],
        "b": ["2026-12-21T14:00"],
        "c": [""],
        "d": ["L’été\r\nfin"],
        "e": ["2"],
    }
    assert len(form.dropped) == 2


def test_a_form_is_read_with_scripts_from_its_components_and_without_from_its_noscript():
    """With scripts, the components send the values and the <noscript> content is text; without,
    the plain fields send them. `form_read_both` finds where the two disagree."""
    page = (
        '<form method="post"><input type="hidden" name="h" value="1">'
        '<gcds-input input-id="id_a" name="a" label="A" value="L’été" error-message="Non">'
        "</gcds-input><noscript>"
        '<input type="text" name="a" id="id_a" value="L’été" class="gc-input gc-invalid">'
        "</noscript>"
        '<gcds-textarea textarea-id="id_d" name="d" label="D" value="L’été\nfin">'
        '</gcds-textarea><noscript><textarea name="d" id="id_d">\nL’été\r\nfin</textarea>'
        '</noscript><gcds-select select-id="id_e" name="e" label="E" value="2">'
        '<option value="1">1</option><option value="2" selected>2</option></gcds-select>'
        '<noscript><select name="e" id="id_e"><option value="1">1</option>'
        '<option value="2" selected>2</option></select></noscript>'
        '<gcds-radios name="f" legend="F" options="[{&quot;value&quot;: &quot;x&quot;, '
        '&quot;checked&quot;: true}, {&quot;value&quot;: &quot;y&quot;}]"></gcds-radios>'
        '<gcds-input input-id="id_m" name="m" label="M"></gcds-input>'
        '<noscript><input type="text" name="m" id="id_m"></noscript>'
        '<noscript><input type="radio" name="f" value="x" checked>'
        '<input type="radio" name="f" value="y"></noscript>'
        '<gcds-checkboxes name="g" options=\'[{"value": "on"}]\' value=\'["on"]\'>'
        "</gcds-checkboxes>"
        '<noscript><input type="checkbox" name="g" checked></noscript>'
        '<gcds-checkboxes name="k" options=\'[{"value": "on"}]\' value="[]"></gcds-checkboxes>'
        '<noscript><input type="checkbox" name="k"></noscript>'
        '<input type="date" name="b" value="2026-12-21"></form>'
    )
    expected = {
        "h": ["1"],
        "a": ["L’été"],
        "d": ["L’été\r\nfin"],
        "e": ["2"],
        "f": ["x"],
        "g": ["on"],
        "b": ["2026-12-21"],
    }
    for scripts in (True, False):
        form = form_on(page, "a", scripts=scripts)
        # An empty text component sends nothing; the plain field sends "", read alike.
        assert form.values() == (expected if scripts else {**expected, "m": [""]}), scripts
        assert form.values_read() == {**expected, "m": [""]}, scripts
        assert form.invalid == ["a"], scripts
        assert form.names == {"h", "a", "d", "e", "f", "g", "k", "m", "b"}, scripts
    assert form_read_both(page, "a").values() == expected
    # Radios given a value attribute send nothing until a choice is clicked (GCDS 1.3.1).
    with pytest.raises(AssertionError, match="f: None with scripts, \\['x'\\] without"):
        form_read_both(page.replace(', {&quot;value&quot;: &quot;y&quot;}]"', ']" value="x"'), "a")
    # A fallback that sends something else is caught.
    with pytest.raises(AssertionError, match="e: \\['2'\\] with scripts, \\['1'\\] without"):
        form_read_both(
            page.replace('<option value="2" selected>2</option></select>', "</select>"), "a"
        )
    with pytest.raises(AssertionError, match="only without: \\['z'\\]"):
        form_read_both(
            page.replace('name="k"></noscript>', 'name="k"><input name="z"></noscript>'), "a"
        )


def _project_form_classes() -> set[type]:
    """Every form class the project's apps define, in their forms modules or elsewhere."""
    import_module(settings.ROOT_URLCONF)  # every view, hence every form, is imported
    project = {
        config.name
        for config in apps.get_app_configs()
        if str(config.path).startswith(str(settings.BASE_DIR)) and ".venv" not in str(config.path)
    }
    for name in project:
        try:
            import_module(f"{name}.forms")
        except ModuleNotFoundError as error:
            if error.name != f"{name}.forms":
                raise
    found, pending = set(), [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in project and "tests" not in cls.__module__:
            found.add(cls)
    return found


def test_every_form_of_the_project_is_listed():
    listed = {form for trip in ROUND_TRIPS for form in trip.forms} | set(ONE_SHOT)
    missing = _project_form_classes() - listed
    assert not missing, (
        "Add these forms to ROUND_TRIPS (or, when they never reopen, to ONE_SHOT with the "
        f"reason): {sorted(f'{f.__module__}.{f.__qualname__}' for f in missing)}"
    )
    assert not set(ONE_SHOT) & {form for trip in ROUND_TRIPS for form in trip.forms}


def test_money_inputs_take_what_french_and_english_write(client):
    """The amount fields read "2 500,50" (spaces, non-breaking or not, and a comma) and
    "2500.50" in French, "2,500.50" in English; anything else is a clear error, never a 500."""
    admin, _second = _program_admins()
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    client.force_login(admin)
    prefix = f"holder{holder.pk}"
    accepted = {
        "fr": ["2 500,50", "2\u00a0500,50", "2500,50", "2500.50", "2 500,50 $", "2\u202f500,5"],
        "en": ["2,500.50", "2500.50", "$2,500.50", "2 500.50"],
    }
    for language, amounts in accepted.items():
        for amount in amounts:
            Approval.objects.all().delete()
            response = client.post(
                f"/{language}/payments/card-limits/{holder.pk}/",
                {f"{prefix}-per_transaction": amount, f"{prefix}-monthly": "10000"},
            )
            assert response.status_code == 302, (language, amount)
            payload = Approval.objects.get().payload
            assert payload["per_transaction_cents"] == CENTS, (language, amount)
    refused = ["12abc", "1e9", "NaN", "Infinity", "-5", "٢٥٠٠", "9" * 400, "1.2.3", "$", "2 50"]
    # Each language's decimal mark where the other puts its thousands: refused, not misread.
    ambiguous = {"fr": ["2,500.50", "2.500,50"], "en": ["2500,50", "2,50", "2 500,50"]}
    for language in LANGUAGES:
        for amount in [*refused, *ambiguous[language]]:
            Approval.objects.all().delete()
            response = client.post(
                f"/{language}/payments/card-limits/{holder.pk}/",
                {f"{prefix}-per_transaction": amount, f"{prefix}-monthly": "10000"},
            )
            assert response.status_code == 400, (language, amount)
            assert not Approval.objects.exists()
            error = form_read_both(response.content.decode(), f"{prefix}-per_transaction").invalid
            assert f"{prefix}-per_transaction" in error, (language, amount)


@pytest.mark.parametrize(
    ("language", "amount", "message"),
    [
        ("fr", "12abc", "2\u00a0500,50"),
        ("en", "12abc", "2,500.50"),
        ("fr", "-5", "1,00\u00a0$"),
        ("en", "-5", "$1.00"),
        ("fr", "99999999999", "9\u00a0999\u00a0999,99\u00a0$"),
        ("en", "99999999999", "$9,999,999.99"),
    ],
)
def test_a_wrong_amount_is_explained_in_the_readers_format(client, language, amount, message):
    opportunity = OpportunityFactory()
    client.force_login(opportunity.buyer)
    address = _in(language, reverse("opportunities:edit", args=[opportunity.pk]))
    form = form_read_both(client.get(address).content.decode(), "value_dollars")
    response = client.post(address, form.submission(typed={"value_dollars": amount}))
    assert response.status_code == 400
    assert message in response.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.value_cents == 200_000


def test_amounts_are_shown_as_the_reader_writes_them(client):
    opportunity = OpportunityFactory(value_cents=123_456_789)
    client.force_login(opportunity.buyer)
    shown = {}
    for language in LANGUAGES:
        address = _in(language, reverse("opportunities:edit", args=[opportunity.pk]))
        form = form_read_both(client.get(address).content.decode(), "value_dollars")
        shown[language] = form.values()["value_dollars"]
    assert shown == {"en": ["1,234,567.89"], "fr": ["1\u00a0234\u00a0567,89"]}
    assert Decimal("1234567.89") * 100 == 123_456_789


HOSTILE_DAYS = [
    "9999-12-31",
    "0001-01-01",
    "99999-01-01",
    "2026-02-30",
    "٢٠٢٦-١٢-٢١",
    "2026-12-21T25:00",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2026-03-08T02:30",  # does not exist in Toronto (spring forward)
    "2026-11-01T01:30",  # happens twice in Toronto (fall back)
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("build", "names"),
    [
        (opportunity_draft, ["closes_at", "question_deadline", "expected_delivery_date"]),
        (bid, ["proposed_start_date"]),
    ],
    ids=["draft opportunity", "bid draft"],
)
def test_a_date_past_any_use_is_an_error_not_a_crash(
    client, language, build, names, django_capture_on_commit_callbacks
):
    scene = build(language, django_capture_on_commit_callbacks)
    client.force_login(scene.user)
    page = _in(language, scene.page)
    shown = _shown(client, page, scene.field)
    before = scene.saved()
    for name in names:
        for day in HOSTILE_DAYS:
            response = client.post(
                page, shown.submission(button=scene.button, typed={**scene.typed, name: day})
            )
            assert response.status_code == 400, (name, day, response.status_code)
            assert name in form_read_both(response.content.decode(), scene.field).invalid
    assert scene.saved() == before


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_metrics_period_past_any_use_is_an_error_not_a_crash(client, language):
    admin, _second = _program_admins()
    client.force_login(admin)
    for address in (reverse("reports:metrics"), reverse("reports:metrics_opportunities")):
        for day in HOSTILE_DAYS:
            for start, end in ((day, "2026-03-31"), ("2025-04-01", day), (day, day)):
                response = client.get(_in(language, address), {"start": start, "end": end})
                assert response.status_code == 200, (address, start, end)
                assert form_read_both(response.content.decode(), "start").invalid, (start, end)
