"""The error summary on the bid form (templates/includes/error_summary.html): every problem of
a submission at once, each listed once as a link to a field that exists on the page, and said
again at the field, in English and in French; an answer over its character limit is a clear
error, never a 500, and nothing else typed is lost."""

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from bids import services
from bids.models import Bid, answer_max_length
from opportunities.models import Criterion
from tests.builders import published_opportunity
from tests.factories import SupplierProfileFactory
from tests.support.error_summary import (
    assert_every_link_reaches_a_field,
    assert_said_in_summary_and_at_its_field,
    summary_links,
)
from tests.support.forms import _form_data
from tests.support.gcds import component_values, plain, scripted

pytestmark = pytest.mark.django_db


def nine_criteria() -> list[Criterion]:
    criteria = [
        Criterion(kind="mandatory", text_en=f"Mandatory point {n}.", text_fr=f"Exigence {n}.")
        for n in range(1, 5)
    ]
    criteria += [
        Criterion(
            kind="rated",
            text_en=f"Rated point {n}.",
            text_fr=f"Point coté {n}.",
            weight=1,
            max_score=10,
        )
        for n in range(1, 6)
    ]
    return criteria


@pytest.fixture
def bare_draft(program_admin, supplier):
    """A draft on an opportunity of nine criteria, nothing filled in: fourteen problems."""
    opportunity = published_opportunity(admin=program_admin, criteria=nine_criteria())
    return services.bid_start(supplier=supplier, opportunity=opportunity)


def submit_empty(client, bid: Bid, language: str = "en"):
    with translation.override(language):
        url = reverse("bids:edit", args=[bid.pk])
    return client.post(url, {"action_submit": "1"})


def test_a_draft_with_fourteen_problems_lists_them_all_each_linked_to_its_field(
    client, bare_draft, supplier
):
    client.force_login(supplier)
    response = submit_empty(client, bare_draft)
    assert response.status_code == 400
    page = response.content.decode()
    links = summary_links(page)
    assert len(links) == 14
    assert_every_link_reaches_a_field(page, links)
    assert "There is a problem on this page" in page
    criteria = list(bare_draft.opportunity.criteria.all())
    expected = {
        f"id_answer_{c.pk}": f"Enter your answer to criterion {n}, “{c.text_en}”."
        for n, c in enumerate(criteria, start=1)
    }
    expected.update(
        id_proposed_start_date="Enter the date you could start the work.",
        id_accept_terms="Accept the bid terms: a bid cannot be submitted without them.",
        **{f"id_{name}": str(message) for name, message in services.ATTESTATION_PROBLEMS.items()},
    )
    assert dict(links) == expected
    # Each message is said again at its field (the component's error message; without
    # scripts, the plain field's), and no stacked banner repeats them.
    for target, message in expected.items():
        assert_said_in_summary_and_at_its_field(page, target, message)
    assert 'class="gc-notice gc-notice-danger' not in page
    # The draft was saved all the same (nothing typed is lost), and is still a draft.
    bare_draft.refresh_from_db()
    assert bare_draft.status == Bid.Status.DRAFT and bare_draft.draft_saved_at is not None


def test_the_summary_and_the_fields_speak_french(client, bare_draft, supplier):
    client.force_login(supplier)
    page = submit_empty(client, bare_draft, "fr").content.decode()
    links = summary_links(page)
    assert len(links) == 14
    assert_every_link_reaches_a_field(page, links)
    assert "Il y a un problème sur cette page" in page
    first = bare_draft.opportunity.criteria.first()
    assert f"Entrez votre réponse au critère 1, «\u00a0{first.text_fr}\u00a0»." in unescape(page)
    assert "Enter your answer" not in page


def test_a_french_draft_keeps_every_value_when_it_cannot_be_submitted(client, bare_draft, supplier):
    client.force_login(supplier)
    criteria = list(bare_draft.opportunity.criteria.all())
    data = {f"answer_{c.pk}": f"Réponse nº {n} : « déjà » faite." for n, c in enumerate(criteria)}
    del data[f"answer_{criteria[0].pk}"]
    data.update(proposed_start_date="2001-02-03", attest_no_conflict="on", action_submit="1")
    with translation.override("fr"):
        url = reverse("bids:edit", args=[bare_draft.pk])
    raw = client.post(url, data).content.decode()
    page = unescape(raw)
    # Shown again as typed, with scripts (the components) and without (the plain fields).
    for view in (scripted(raw), plain(raw)):
        for value in data.values():
            if value not in ("on", "1"):
                assert value in unescape(view)
    sent = component_values(raw)
    for name, value in data.items():
        if name.startswith("answer_"):
            assert sent[name] == [value], name
    assert sent["attest_no_conflict"] == ["on"]
    assert re.search(r'name="attest_no_conflict"[^>]*checked', unescape(plain(raw)))
    links = dict(summary_links(page))
    assert f"id_answer_{criteria[0].pk}" in links
    assert "est déjà passé" in links["id_proposed_start_date"]  # 2001: in the past


def test_an_answer_of_twenty_thousand_characters_is_refused_clearly_and_nothing_is_lost(
    client, draft_bid, supplier
):
    client.force_login(supplier)
    mandatory, rated = draft_bid.opportunity.criteria.all()
    huge = "a" * 20_000
    data = _form_data(draft_bid, action_save="1", **{f"answer_{rated.pk}": huge})
    data[f"answer_{mandatory.pk}"] = "Kept as typed."
    response = client.post(reverse("bids:edit", args=[draft_bid.pk]), data)
    assert response.status_code == 400
    page = response.content.decode()
    links = summary_links(page)
    limit = answer_max_length(rated)
    assert links == [
        (
            f"id_answer_{rated.pk}",
            f"Shorten your answer to criterion 2, “{rated.text_en}”, to {limit:,} characters "
            "or fewer (it has 20,000).",
        )
    ]
    assert huge in page and "Kept as typed." in page  # shown again, nothing lost
    assert f'maxlength="{limit}"' in page and "data-counter" in page
    assert f"{limit:,} characters" in page  # the limit is said in the hint
    # Nothing was saved from that request; the stored answer stays as it was.
    assert draft_bid.answers.get(criterion=rated).text != huge
    # The service refuses it too (a script, the autosave), never a 500.
    autosave = client.post(reverse("bids:autosave", args=[draft_bid.pk]), data)
    assert autosave.status_code == 400 and autosave.json()["saved"] is False
    with pytest.raises(services.ValidationError):
        services.bid_save_draft(supplier=supplier, bid=draft_bid, answers={rated.pk: huge})


def test_a_valid_form_shows_no_summary(client, draft_bid, supplier):
    client.force_login(supplier)
    page = client.get(reverse("bids:edit", args=[draft_bid.pk])).content.decode()
    assert "gc-error-summary" not in page


def test_another_suppliers_draft_shows_no_summary_but_a_404(client, bare_draft):
    client.force_login(SupplierProfileFactory().user)
    assert submit_empty(client, bare_draft).status_code == 404
