"""Issue 23, "Check before you commit": final marks, the lock, the reveal and the award each
answer a GET with a confirmation page (what will happen, the facts that matter, one button),
and do the step on its POST, once, whatever is sent twice. A page that carries what it showed
(the marks, the consensus) refuses a step on something else."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.utils import translation

from evaluation import draw, marking
from evaluation.models import Evaluation, Offer, PanelMember
from marketplace import once
from marketplace.labels import bid_label
from marketplace.models import AuditEvent, Role
from opportunities.models import SelectionMethod
from tests.builders import (
    consensus_reached,
    evaluation_with_panel,
    labels,
    locked_evaluation,
    mark_values,
)
from tests.factories import StaffFactory
from tests.support.confirmations import text, twice_at_once, url

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "fr"]


def post_form(response) -> dict[str, str] | None:
    """The fields of the page's form that posts to the page's own address, or None."""
    html = response.content.decode()
    path = response.wsgi_request.path
    for action, body in re.findall(
        r'<form novalidate method="post" action="([^"]*)"[^>]*>(.*?)</form>', html, re.S
    ):
        if unescape(action) == path:
            return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
    return None


def audits(verb: str) -> int:
    return AuditEvent.objects.filter(verb=verb).count()


# --- Final marks ---------------------------------------------------------------------------


def marked(score: int = 7):
    """(evaluation, evaluator): the second evaluator has marked every bid, not submitted."""
    evaluation, panel = evaluation_with_panel(count=2)
    evaluator = panel[1]
    for packet in evaluation.packets.all():
        marking.marks_save(
            evaluator=evaluator,
            packet=packet,
            values=mark_values(evaluation.opportunity, score=score, rationale="Clear example."),
        )
    return evaluation, evaluator


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_evaluator_sees_every_mark_before_submitting_them_as_final(client, language):
    evaluation, evaluator = marked(score=7)
    client.force_login(evaluator)
    address = url("evaluation:submit", evaluation.opportunity_id, language)
    response = client.get(address)
    assert response.status_code == 200
    shown = text(response)
    with translation.override(language):
        for label in labels(evaluation):
            assert bid_label(label) in shown
        assert bid_label(labels(evaluation)[0]).startswith(
            "Soumission" if language == "fr" else "Bid"
        )
    assert "Clear example." in shown
    assert "7 / 10" in shown
    if language == "en":
        assert "Check before you submit your marks" in shown
        assert "This cannot be undone" in shown
    form = post_form(response)
    assert form is not None and form["reviewed"] and once.FIELD in form
    assert PanelMember.objects.get(evaluator=evaluator).marks_submitted_at is None  # a GET

    done = client.post(address, form)
    assert done.status_code == 302 and done["Location"].endswith("/packets/")
    assert PanelMember.objects.get(evaluator=evaluator).marks_submitted_at is not None
    again = client.get(address)
    assert post_form(again) is None
    if language == "en":
        assert "already submitted" in text(again)


def test_the_packet_list_leads_to_the_confirmation_instead_of_submitting(client):
    evaluation, evaluator = marked()
    client.force_login(evaluator)
    page = client.get(url("evaluation:packets", evaluation.opportunity_id)).content.decode()
    address = url("evaluation:submit", evaluation.opportunity_id)
    assert f'href="{address}"' in page
    assert f'action="{address}"' not in page


def test_with_marks_missing_the_confirmation_says_so_and_offers_no_button(client):
    evaluation, panel = evaluation_with_panel(count=2)
    packet = evaluation.packets.first()
    marking.marks_save(
        evaluator=panel[1],
        packet=packet,
        values=mark_values(evaluation.opportunity, score=5, rationale="Fine."),
    )
    client.force_login(panel[1])
    response = client.get(url("evaluation:submit", evaluation.opportunity_id))
    assert response.status_code == 200
    assert "2 marks are still missing" in text(response)
    assert "Not marked yet" in text(response)
    assert post_form(response) is None


def test_marks_changed_after_the_review_are_not_submitted(client):
    evaluation, evaluator = marked(score=7)
    client.force_login(evaluator)
    address = url("evaluation:submit", evaluation.opportunity_id)
    form = post_form(client.get(address))
    # Meanwhile, in another tab: a score changes.
    marking.marks_save(
        evaluator=evaluator,
        packet=evaluation.packets.first(),
        values=mark_values(evaluation.opportunity, score=2, rationale="On second thought."),
    )
    response = client.post(address, form, follow=True)
    assert response.redirect_chain[-1][0] == address
    assert "Your marks changed after you reviewed them" in text(response)
    assert PanelMember.objects.get(evaluator=evaluator).marks_submitted_at is None
    assert audits("marks.submitted") == 0


def test_a_tampered_digest_is_refused(client):
    evaluation, evaluator = marked()
    client.force_login(evaluator)
    address = url("evaluation:submit", evaluation.opportunity_id)
    form = post_form(client.get(address))
    form["reviewed"] = "0" * 64
    response = client.post(address, form, follow=True)
    assert response.status_code == 200
    assert "Your marks changed after you reviewed them" in text(response)
    assert PanelMember.objects.get(evaluator=evaluator).marks_submitted_at is None


def test_the_marks_confirmation_is_the_evaluators_own(client):
    evaluation, _evaluator = marked()
    address = url("evaluation:submit", evaluation.opportunity_id)
    for outsider in (
        StaffFactory(roles=[Role.EVALUATOR]),  # on no panel
        evaluation.opportunity.buyer,
        StaffFactory(roles=[Role.PROGRAM_ADMIN]),
    ):
        client.force_login(outsider)
        assert client.get(address).status_code == 404
    client.logout()
    assert client.get(address).status_code == 302  # to sign in


def test_the_same_final_marks_posted_twice_submit_once(client):
    evaluation, evaluator = marked()
    client.force_login(evaluator)
    address = url("evaluation:submit", evaluation.opportunity_id)
    form = post_form(client.get(address))
    first = client.post(address, form)
    second = client.post(address, form)
    assert second.status_code == first.status_code == 302
    assert second["Location"] == first["Location"]
    assert audits("marks.submitted") == 1


# --- The lock ------------------------------------------------------------------------------


def tied_at_the_top(**fields):
    """(evaluation, panel): three bids, two tied at 80 on top, one failing; not locked."""
    return consensus_reached(marks=[(True, 8), (True, 8), (False, 9)], **fields)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_chair_sees_the_ranking_the_ties_and_what_the_draw_settles(client, language):
    evaluation, panel = tied_at_the_top()
    first, second, failing = labels(evaluation)
    client.force_login(panel[0])
    response = client.get(url("evaluation:lock", evaluation.opportunity_id, language))
    assert response.status_code == 200
    shown = text(response)
    with translation.override(language):
        tied = [bid_label(first), bid_label(second)]
        assert all(name in shown for name in [*tied, bid_label(failing)])
    assert ("80,00" if language == "fr" else "80.00") in shown
    if language == "en":
        assert "Check before you lock the consensus" in shown
        assert (
            f"{tied[0]} and {tied[1]} are tied at 80.00; the draw will choose between them."
            in shown
        )
        assert "1 to 2 (by the draw)" in shown
        assert "Fails: disqualified" in shown
        assert "This cannot be undone" in shown
    form = post_form(response)
    assert form is not None and form["reviewed"]
    assert Evaluation.objects.get(pk=evaluation.pk).locked_at is None  # a GET

    done = client.post(url("evaluation:lock", evaluation.opportunity_id, language), form)
    assert done.status_code == 302
    locked = Evaluation.objects.get(pk=evaluation.pk)
    assert locked.status == Evaluation.Status.SELECTED
    # What the page said the draw would settle is what it settled.
    assert set(locked.draw_order[:2]) == {first, second}
    again = client.get(url("evaluation:lock", evaluation.opportunity_id, language))
    assert post_form(again) is None
    if language == "en":
        assert "already locked" in text(again)


def test_without_a_tie_the_page_says_the_draw_changes_nothing(client):
    evaluation, panel = consensus_reached(marks=[(True, 9), (True, 5)])
    client.force_login(panel[0])
    shown = text(client.get(url("evaluation:lock", evaluation.opportunity_id)))
    top = bid_label(labels(evaluation)[0])
    assert f"{top} has the highest score: it will be selected." in shown
    assert "There is no tie" in shown


def test_a_draw_among_all_who_pass_is_said_as_such(client):
    evaluation, panel = consensus_reached(
        marks=[(True, 9), (True, 5), (True, 2)], selection_method=SelectionMethod.DRAW_AMONG_PASSING
    )
    client.force_login(panel[0])
    shown = text(client.get(url("evaluation:lock", evaluation.opportunity_id)))
    assert "The draw will choose among the 3 bids that pass every mandatory criterion" in shown


def test_with_the_consensus_incomplete_the_lock_is_not_offered(client):
    evaluation, panel = consensus_reached(marks=[(True, 9), (True, 5)])
    evaluation.packets.first().consensus.first().delete()
    client.force_login(panel[0])
    response = client.get(url("evaluation:lock", evaluation.opportunity_id))
    assert "1 consensus mark is still to record" in text(response)
    assert post_form(response) is None


def test_a_consensus_changed_after_the_review_is_not_locked(client):
    evaluation, panel = tied_at_the_top()
    chair = panel[0]
    client.force_login(chair)
    address = url("evaluation:lock", evaluation.opportunity_id)
    form = post_form(client.get(address))
    packet = evaluation.packets.order_by("label").first()
    marking.consensus_save(
        chair=chair,
        packet=packet,
        values=mark_values(evaluation.opportunity, score=10, rationale="Looked again."),
    )
    response = client.post(address, form, follow=True)
    assert response.redirect_chain[-1][0] == address
    assert "The consensus changed after you reviewed the ranking" in text(response)
    assert Evaluation.objects.get(pk=evaluation.pk).status == Evaluation.Status.CONSENSUS
    # The page now shows the new ranking: no tie any more.
    assert f"{bid_label(packet.label)} has the highest score" in text(response)


def test_only_the_chair_sees_the_lock_confirmation(client):
    evaluation, panel = tied_at_the_top()
    address = url("evaluation:lock", evaluation.opportunity_id)
    for other in (
        panel[1],  # on the panel, not the chair
        evaluation.opportunity.buyer,
        StaffFactory(roles=[Role.PROGRAM_ADMIN]),
        StaffFactory(roles=[Role.EVALUATOR]),
    ):
        client.force_login(other)
        assert client.get(address).status_code == 404
    assert Evaluation.objects.get(pk=evaluation.pk).locked_at is None


def test_before_the_consensus_the_lock_page_says_it_is_not_open(client):
    evaluation, panel = evaluation_with_panel(count=2)
    client.force_login(panel[0])
    response = client.get(url("evaluation:lock", evaluation.opportunity_id))
    assert response.status_code == 200
    assert "The consensus is not open yet" in text(response)
    assert post_form(response) is None


def test_the_preview_places_hold_whatever_the_seed():
    """selection_preview says which labels share which places; the lock's ranking, for any
    seed, puts exactly those labels there."""
    scores = {
        "Bid AAA": Decimal("80"),
        "Bid BBB": Decimal("80"),
        "Bid CCC": Decimal("60"),
        "Bid DDD": Decimal("60"),
        "Bid EEE": Decimal("78"),
    }
    for method, margin in (
        (SelectionMethod.HIGHEST_SCORE, None),
        (SelectionMethod.DRAW_AMONG_PASSING, None),
        (SelectionMethod.DRAW_WITHIN_MARGIN, 5),
    ):
        places = draw.selection_preview(method=method, scores=scores, margin=margin)
        assert sum(len(place.labels) for place in places) == len(scores)
        for seed in ("a", "b", "c", "d", "e", "f"):
            _eligible, _order, ranking = draw.selection_ranking(
                method=method, seed=seed, scores=scores, margin=margin
            )
            for place in places:
                assert set(ranking[place.first - 1 : place.last]) == set(place.labels)


# --- Reveal and award ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_buyer_reviews_the_reveal_without_seeing_who_bid(client, language):
    evaluation, _panel = locked_evaluation()
    buyer = evaluation.opportunity.buyer
    client.force_login(buyer)
    address = url("evaluation:reveal", evaluation.opportunity_id, language)
    response = client.get(address)
    assert response.status_code == 200
    html = response.content.decode()
    for packet in evaluation.packets.select_related("bid__supplier__supplier_profile"):
        assert packet.bid.supplier.supplier_profile.display_name not in html
    first = evaluation.packets.get(rank=1)
    with translation.override(language):
        assert bid_label(first.label) in text(response)
    if language == "en":
        assert "Check before you reveal who bid" in text(response)
    form = post_form(response)
    assert form is not None
    assert Evaluation.objects.get(pk=evaluation.pk).revealed_at is None
    assert client.post(address, form).status_code == 302
    assert Evaluation.objects.get(pk=evaluation.pk).revealed_at is not None
    again = client.get(address)
    assert post_form(again) is None
    if language == "en":
        assert "already revealed" in text(again)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_buyer_sees_who_gets_the_award_and_for_how_much(client, language):
    evaluation, _panel = locked_evaluation(reveal=True)
    opportunity = evaluation.opportunity
    client.force_login(opportunity.buyer)
    address = url("evaluation:award", opportunity.pk, language)
    response = client.get(address)
    assert response.status_code == 200
    shown = text(response)
    first = evaluation.packets.select_related("bid__supplier__supplier_profile").get(rank=1)
    assert first.bid.supplier.supplier_profile.display_name in shown
    assert ("2 000,00 $" if language == "fr" else "$2,000.00") in shown
    if language == "en":
        assert "Check before you award" in shown
        assert "Every other bidder is told the result" in shown
    form = post_form(response)
    assert form is not None
    assert not Offer.objects.filter(evaluation=evaluation).exists()
    assert client.post(address, form).status_code == 302
    assert Offer.objects.filter(evaluation=evaluation).count() == 1
    again = client.get(address)
    assert post_form(again) is None
    if language == "en":
        assert "already awarded" in text(again)


def test_the_award_waits_for_the_reveal(client):
    evaluation, _panel = locked_evaluation()
    client.force_login(evaluation.opportunity.buyer)
    response = client.get(url("evaluation:award", evaluation.opportunity_id))
    assert response.status_code == 200
    assert post_form(response) is None
    for packet in evaluation.packets.select_related("bid__supplier__supplier_profile"):
        assert packet.bid.supplier.supplier_profile.display_name not in response.content.decode()


def test_reveal_and_award_confirmations_are_the_owning_buyers(client):
    evaluation, panel = locked_evaluation(reveal=True)
    for name in ("evaluation:reveal", "evaluation:award"):
        address = url(name, evaluation.opportunity_id)
        for other in (
            panel[0],
            StaffFactory(roles=[Role.BUYER]),
            StaffFactory(roles=[Role.PROGRAM_ADMIN]),
        ):
            client.force_login(other)
            assert client.get(address).status_code == 404
    assert not Offer.objects.filter(evaluation=evaluation).exists()


def test_the_overview_links_to_the_confirmations_instead_of_posting(client):
    evaluation, _panel = locked_evaluation()
    opportunity = evaluation.opportunity
    client.force_login(opportunity.buyer)
    page = client.get(url("evaluation:overview", opportunity.pk)).content.decode()
    assert f'href="{url("evaluation:reveal", opportunity.pk)}"' in page
    assert f'action="{url("evaluation:reveal", opportunity.pk)}"' not in page


# --- Sent twice at once (PostgreSQL's row locks, and SQLite's write lock) -------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("keyed", [True, False], ids=["same key", "no key"])
def test_the_lock_confirmed_twice_at_once_locks_once(keyed):
    evaluation, panel = tied_at_the_top()
    chair = panel[0]
    client = Client()
    client.force_login(chair)
    address = url("evaluation:lock", evaluation.opportunity_id)
    form = post_form(client.get(address))
    if not keyed:
        form.pop(once.FIELD)
    responses = twice_at_once(client, address, form)
    for response in responses:
        assert response is not None and response.status_code == 302, response
    assert responses[0]["Location"] == responses[1]["Location"]
    assert audits("evaluation.selected") == 1


@pytest.mark.django_db(transaction=True)
def test_the_award_confirmed_twice_at_once_awards_once():
    evaluation, _panel = locked_evaluation(reveal=True)
    buyer = evaluation.opportunity.buyer
    client = Client()
    client.force_login(buyer)
    address = url("evaluation:award", evaluation.opportunity_id)
    form = post_form(client.get(address))
    responses = twice_at_once(client, address, form)
    for response in responses:
        assert response is not None and response.status_code == 302, response
    assert Offer.objects.filter(evaluation=evaluation).count() == 1
    assert audits("evaluation.awarded") == 1


def test_hostile_reviewed_values_never_break_the_step(client):
    evaluation, evaluator = marked()
    client.force_login(evaluator)
    address = url("evaluation:submit", evaluation.opportunity_id)
    for hostile in ("x" * 10_000, "\x00", "<script>", "é" * 64):
        response = client.post(address, {"reviewed": hostile})
        assert response.status_code == 302
    assert PanelMember.objects.get(evaluator=evaluator).marks_submitted_at is None
