"""Submitting a draft opportunity that cannot be published yet (issue 23, "errors the GCDS way"):
the draft's form again, every problem at once, each listed once in the error summary as a link
to a control of the page and said again at its field, in specific sentences in English and in
French; what was typed saved and shown again (dates included), never a 500."""

import datetime as dt
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from marketplace.calendar import add_business_days
from marketplace.models import Role
from opportunities.models import Criterion, Opportunity
from tests.factories import OpportunityFactory, StaffFactory
from tests.support.error_summary import (
    assert_every_link_reaches_a_field,
    error_at_field,
    summary_links,
)
from tests.support.forms import RATED, _criteria, _draft_form, _local
from tests.support.gcds import component_values, plain, scripted

pytestmark = pytest.mark.django_db
Status = Opportunity.Status


def _submit_url(draft: Opportunity, language: str) -> str:
    with translation.override(language):
        return reverse("opportunities:submit", args=[draft.pk])


def _tag(page: str, control_id: str) -> str:
    match = re.search(rf'<input[^>]*\bid="{control_id}"[^>]*>', page)
    assert match, control_id
    return match.group(0)


def _in(language: str, message: str) -> str:
    with translation.override(language):
        return str(translation.gettext(message))


# The empty row for a new criterion, as the page sends it untouched.
BLANK_ROW = {
    "kind": "",
    "text_en": "",
    "text_fr": "",
    "weight": "",
    "max_score": "",
    "word_limit": "300",
}


def _faulty_form() -> dict:
    """The draft form as a buyer sends it with "Submit for review": a criterion without its
    French, no mandatory one, the French deliverables empty, an attestation unticked, a
    closing date too soon."""
    closes = add_business_days(timezone.now(), 2)
    data = _draft_form(
        deliverables_fr="",
        title_fr="Rendre le formulaire accessible : l\u2019\u00e9t\u00e9",
        closes_at=_local(closes),
        question_deadline=_local(closes - dt.timedelta(days=1)),
        action_submit="1",
    )
    del data["attest_not_split"]
    data.update(_criteria([{**RATED, "text_fr": ""}, BLANK_ROW]))
    return data


EXPECTED = [
    ("Enter the deliverables in French.", "id_deliverables_fr"),
    ("Confirm that this work is not split from a larger requirement.", "id_attest_not_split"),
    ("Add at least one mandatory criterion.", "id_criteria-1-kind"),
    ("Enter the French text of criterion %(number)s.", "id_criteria-0-text_fr"),
]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_problem_is_listed_once_linked_to_its_field_and_nothing_typed_is_lost(
    client, buyer, language
):
    draft = OpportunityFactory(buyer=buyer, criteria=[])
    client.force_login(buyer)
    data = _faulty_form()
    response = client.post(_submit_url(draft, language), data)

    assert response.status_code == 400
    page = response.content.decode()
    links = summary_links(page)
    assert_every_link_reaches_a_field(page, links)
    targets = dict((text, target) for target, text in links)
    for message, target in EXPECTED:
        text = _in(language, message)
        if "%(number)s" in text:
            text = text % {"number": 1}
        assert targets.get(text) == target, (text, links)
        # In the summary and at its field: the component's error message with scripts, the
        # plain field's without.
        assert unescape(scripted(page)).count(text) >= 2, (
            f"{text!r}: in the summary and at its field"
        )
        assert text in error_at_field(page, target), f"{text!r}: at its field without scripts"
    assert any(target == "id_closes_at" for target, _text in links), links

    # Saved as typed, and shown as typed: the dates to the minute, the French with its marks.
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.title_fr == "Rendre le formulaire accessible : l\u2019\u00e9t\u00e9"
    assert [c.text_en for c in draft.criteria.all()] == [RATED["text_en"]]
    for view in (scripted(page), plain(page)):
        for name in ("closes_at", "question_deadline", "expected_delivery_date", "title_fr"):
            assert f'value="{data[name]}"' in view, name
    sent = component_values(page)
    assert sent["attest_standalone"] == ["on"] and sent["attest_not_split"] == []
    assert "checked" in _tag(plain(page), "id_attest_standalone")
    assert "checked" not in _tag(plain(page), "id_attest_not_split")


def test_submitting_from_elsewhere_shows_the_saved_draft_with_its_problems(client, buyer):
    """A post without the form (an old page, another tool): the saved draft on its form."""
    draft = OpportunityFactory(
        buyer=buyer,
        summary_fr="",
        criteria=[Criterion(kind="mandatory", text_en="Knows WCAG.", text_fr="")],
    )
    client.force_login(buyer)
    response = client.post(_submit_url(draft, "fr"))
    assert response.status_code == 400
    page = response.content.decode()
    links = summary_links(page)
    assert_every_link_reaches_a_field(page, links)
    assert (
        "id_summary_fr",
        _in("fr", "Enter the summary in French."),
    ) in links
    assert (
        "id_criteria-0-text_fr",
        _in("fr", "Enter the French text of criterion %(number)s.") % {"number": 1},
    ) in links
    for view in (scripted(page), plain(page)):
        assert f'value="{_local(draft.closes_at)}"' in view
        assert draft.title_fr in view
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.criteria.count() == 1


def test_a_draft_that_can_be_published_is_saved_then_submitted(client, buyer):
    draft = OpportunityFactory(buyer=buyer, criteria=[])
    client.force_login(buyer)
    mandatory = {**RATED, "kind": "mandatory", "weight": "", "max_score": ""}
    data = {
        **_draft_form(title_en="Fix the keyboard trap", action_submit="1"),
        **_criteria([mandatory, RATED]),
    }
    response = client.post(_submit_url(draft, "en"), data)
    assert response.status_code == 302
    assert response["Location"] == f"/en/opportunities/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW
    assert draft.title_en == "Fix the keyboard trap"
    assert draft.criteria.count() == 2


@pytest.mark.parametrize(
    "hostile",
    [
        {"closes_at": "9999-99-99T99:99"},
        {"value_dollars": "1e400"},
        {"criteria-TOTAL_FORMS": "x"},
        {"criteria-0-id": str(2**70)},
        {"type": "nope", "skills": ["abc", str(2**70)]},
        {"title_en": "\x00"},
    ],
)
def test_hostile_input_is_an_error_on_the_form_never_a_500(client, buyer, hostile):
    draft = OpportunityFactory(buyer=buyer, criteria=[])
    client.force_login(buyer)
    data = {**_faulty_form(), **hostile}
    response = client.post(_submit_url(draft, "en"), data)
    assert response.status_code == 400
    summary_links(response.content.decode())  # one error summary
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_another_buyers_draft_is_a_404_and_nothing_is_saved(client, buyer):
    draft = OpportunityFactory(buyer=buyer, criteria=[])
    title = draft.title_en
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    response = client.post(_submit_url(draft, "en"), {**_faulty_form(), "title_en": "Mine now"})
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.title_en == title
    assert draft.status == Status.DRAFT
