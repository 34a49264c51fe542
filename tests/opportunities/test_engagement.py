"""Addenda, public Q&A, watching and alerts."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from marketplace.models import AuditEvent, Role
from opportunities.addenda import opportunity_amend
from opportunities.models import Addendum, Alert, Opportunity, Question, Watch
from opportunities.questions import question_answer, question_ask
from tests.factories import OpportunityFactory, SkillFactory, StaffFactory, SupplierFactory

pytestmark = pytest.mark.django_db
Status = Opportunity.Status


@pytest.fixture
def published(buyer):
    return OpportunityFactory(buyer=buyer, status=Status.PUBLISHED, published_at=timezone.now())


# --- Addenda ------------------------------------------------------------------------------------


def test_deadline_extension_is_a_numbered_bilingual_addendum(published):
    new_close = published.closes_at + dt.timedelta(days=3)
    first = opportunity_amend(
        actor=published.buyer,
        opportunity=published,
        note_en="Deadline extended by three days.",
        note_fr="Date de clôture reportée de trois jours.",
        closes_at=new_close,
    )
    second = opportunity_amend(
        actor=published.buyer,
        opportunity=published,
        note_en="Clarified deliverables.",
        note_fr="Livrables précisés.",
        deliverables_en="A merged pull request with tests.",
    )
    published.refresh_from_db()
    assert published.closes_at == new_close
    assert (first.number, first.changed_fields) == (1, ["closes_at"])
    assert (second.number, second.changed_fields) == (2, ["deliverables_en"])
    assert AuditEvent.objects.filter(verb="opportunity.amended").count() == 2


def test_addendum_needs_both_notes_and_a_real_change(published):
    with pytest.raises(ValidationError):
        opportunity_amend(
            actor=published.buyer,
            opportunity=published,
            note_en="x",
            note_fr="",
            title_en="New title",
        )
    with pytest.raises(ValidationError, match="Nothing was changed"):
        opportunity_amend(
            actor=published.buyer,
            opportunity=published,
            note_en="x",
            note_fr="y",
            title_en=published.title_en,
        )
    published.refresh_from_db()
    assert not Addendum.objects.exists()


def test_amending_refused_for_drafts_other_buyers_and_past_deadlines(published, draft):
    with pytest.raises(PermissionDenied):
        opportunity_amend(
            actor=draft.buyer, opportunity=draft, note_en="x", note_fr="y", title_en="z"
        )
    with pytest.raises(PermissionDenied):
        opportunity_amend(
            actor=StaffFactory(roles=[Role.BUYER]),
            opportunity=published,
            note_en="x",
            note_fr="y",
            title_en="z",
        )
    with pytest.raises(ValidationError, match="stay in the future"):
        opportunity_amend(
            actor=published.buyer,
            opportunity=published,
            note_en="x",
            note_fr="y",
            closes_at=timezone.now() - dt.timedelta(minutes=1),
        )


def test_addenda_show_in_order_on_the_page(client, published):
    for n in (1, 2):
        opportunity_amend(
            actor=published.buyer,
            opportunity=published,
            note_en=f"Change number {n}.",
            note_fr=f"Changement numéro {n}.",
            title_en=f"Title {n}",
        )
    body = client.get(f"/en/opportunities/{published.pk}/").content.decode()
    assert body.index("Change number 1.") < body.index("Change number 2.")
    assert (
        "Changement numéro 2." in client.get(f"/fr/opportunities/{published.pk}/").content.decode()
    )


def test_amend_page(client, published):
    client.force_login(published.buyer)
    page = client.get(f"/en/opportunities/{published.pk}/amend/")
    assert page.status_code == 200
    form = page.context["form"]
    data = {
        name: form[name].value() if form[name].value() is not None else ""
        for name in form.fields
        if name not in ("note_en", "note_fr", "skills")
    }
    for name in ("remote_unclassified_only",):
        data[name] = "on" if data[name] else ""
    data.update(
        title_en="Fix the calendar bug",
        note_en="Renamed.",
        note_fr="Renommé.",
        closes_at=timezone.localtime(published.closes_at).strftime("%Y-%m-%dT%H:%M"),
        question_deadline=timezone.localtime(published.question_deadline).strftime(
            "%Y-%m-%dT%H:%M"
        ),
    )
    response = client.post(f"/en/opportunities/{published.pk}/amend/", data)
    assert response.status_code == 302, response.context["form"].errors
    published.refresh_from_db()
    assert published.title_en == "Fix the calendar bug"
    assert Addendum.objects.get().note_en == "Renamed."
    client.force_login(SupplierFactory())
    assert client.get(f"/en/opportunities/{published.pk}/amend/").status_code == 404


# --- Questions and answers --------------------------------------------------------------------


def test_supplier_asks_buyer_answers_and_the_asker_stays_anonymous(client, published):
    supplier = SupplierFactory(full_name="Zed Secretname")
    client.force_login(supplier)
    response = client.post(
        f"/en/opportunities/{published.pk}/questions/", {"text": "Is Python 3.12 allowed?"}
    )
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.asker == supplier

    client.force_login(published.buyer)
    owner_page = client.get(f"/en/opportunities/{published.pk}/").content.decode()
    assert "Is Python 3.12 allowed?" in owner_page
    assert supplier.email not in owner_page
    client.post(
        f"/en/opportunities/{published.pk}/questions/{question.pk}/answer/",
        {"answer_en": "Yes.", "answer_fr": "Oui.", "as_addendum": "on"},
    )
    question.refresh_from_db()
    assert question.answered_by == published.buyer
    assert Addendum.objects.get().note_fr.endswith("R : Oui.")

    client.logout()
    public = client.get(f"/en/opportunities/{published.pk}/").content.decode()
    assert "Is Python 3.12 allowed?" in public and "Yes." in public
    assert supplier.email not in public and "Secretname" not in public
    assert "Oui." in client.get(f"/fr/opportunities/{published.pk}/").content.decode()


def test_unanswered_questions_are_not_public(client, published):
    question_ask(asker=SupplierFactory(), opportunity=published, text="Secret?")
    assert "Secret?" not in client.get(f"/en/opportunities/{published.pk}/").content.decode()


def test_questions_refused_after_the_question_deadline(published):
    published.question_deadline = timezone.now() - dt.timedelta(seconds=1)
    published.save()
    with pytest.raises(ValidationError, match="Questions are closed"):
        question_ask(asker=SupplierFactory(), opportunity=published, text="Late?")
    assert not Question.objects.exists()


def test_only_suppliers_ask_and_only_the_owner_answers(client, published):
    with pytest.raises(ValidationError):
        question_ask(asker=published.buyer, opportunity=published, text="Me?")
    question = question_ask(asker=SupplierFactory(), opportunity=published, text="Q?")
    other_buyer = StaffFactory(roles=[Role.BUYER])
    with pytest.raises(PermissionDenied):
        question_answer(actor=other_buyer, question=question, answer_en="a", answer_fr="b")
    client.force_login(other_buyer)
    response = client.post(
        f"/en/opportunities/{published.pk}/questions/{question.pk}/answer/",
        {"answer_en": "a", "answer_fr": "b"},
    )
    assert response.status_code == 404
    question.refresh_from_db()
    assert question.answered_at is None


def test_answer_needs_both_languages(client, published):
    question = question_ask(asker=SupplierFactory(), opportunity=published, text="Q?")
    client.force_login(published.buyer)
    client.post(
        f"/en/opportunities/{published.pk}/questions/{question.pk}/answer/",
        {"answer_en": "Only English", "answer_fr": ""},
    )
    question.refresh_from_db()
    assert question.answered_at is None


def test_empty_question_is_a_clear_error(client, published):
    client.force_login(SupplierFactory())
    response = client.post(f"/en/opportunities/{published.pk}/questions/", {"text": ""})
    # The page again, the error at the field (not a flash on the next page).
    assert response.status_code == 400
    assert "Write your question" in response.content.decode()
    assert not Question.objects.exists()


# --- Watching and alerts ----------------------------------------------------------------------


def test_supplier_watches_and_unwatches(client, published):
    supplier = SupplierFactory()
    client.force_login(supplier)
    client.post(f"/en/opportunities/{published.pk}/watch/")
    assert Watch.objects.filter(user=supplier, opportunity=published).exists()
    assert published.title_en in client.get("/en/dashboard/").content.decode()
    client.post(f"/en/opportunities/{published.pk}/watch/")
    assert not Watch.objects.exists()


def test_drafts_cannot_be_watched(client, draft):
    client.force_login(SupplierFactory())
    assert client.post(f"/en/opportunities/{draft.pk}/watch/").status_code == 404
    assert not Watch.objects.exists()


def test_alert_subscription_works_with_nothing_open(client):
    react = SkillFactory(slug="react")
    supplier = SupplierFactory()
    client.force_login(supplier)
    page = client.get("/en/opportunities/alerts/").content.decode()
    assert "Nothing is open right now" in page
    client.post(
        "/en/opportunities/alerts/",
        {"skills": [react.pk], "types": ["bug_fix"], "frequency": "immediate"},
    )
    alert = Alert.objects.get(user=supplier)
    assert (list(alert.skills.all()), alert.types, alert.frequency) == (
        [react],
        ["bug_fix"],
        "immediate",
    )
    matching = OpportunityFactory(type="bug_fix", skills=[react])
    other = OpportunityFactory(type="analysis", skills=[react])
    assert alert.matches(matching, {react.pk})
    assert not alert.matches(other, {react.pk})
    client.post("/en/opportunities/alerts/delete/")
    assert not Alert.objects.exists()


def test_alerts_are_for_suppliers(client, buyer):
    client.force_login(buyer)
    assert client.get("/en/opportunities/alerts/").status_code == 403
    assert client.post("/en/opportunities/alerts/delete/").status_code == 403
