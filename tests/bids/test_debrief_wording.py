"""A bid's page says what is true of it in every status: a ranked bid that lost reads its rank,
its score and that another bid was awarded, never "not submitted" or "sealed"."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from bids.models import Bid
from evaluation.models import Packet
from opportunities.cancellation import opportunity_cancel
from opportunities.models import Opportunity
from tests.factories import BidFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

WORDS = {
    "en": {
        "another": "The work was awarded to another bid.",
        "ranked": "Your bid ranked {rank}, with a consensus score of {score} out of 100.",
        "next": "it is offered to the next bid in rank",
        "unranked": "did not pass every mandatory criterion, so it was not ranked",
        "selected": "Your bid was selected",
        "not_submitted": "was not submitted",
        "sealed": "Your bid is sealed",
        "cancelled": "The opportunity was cancelled",
    },
    "fr": {
        "another": "Le travail a été attribué à une autre soumission.",
        "ranked": (
            "Votre soumission s\u2019est classée au rang {rank}, avec une note de consensus "
            "de {score} sur 100."
        ),
        "next": "offert à la soumission suivante au classement",
        "unranked": "n\u2019a pas satisfait à tous les critères obligatoires",
        "selected": "Votre soumission a été retenue",
        "not_submitted": "n\u2019a pas été déposée",
        "sealed": "Votre soumission est scellée",
        "cancelled": "L\u2019occasion a été annulée",
    },
}


def _note(client, bid: Bid, language: str) -> str:
    client.force_login(bid.supplier)
    with translation.override(language):
        url = reverse("bids:detail", args=[bid.pk])
    response = client.get(url)
    assert response.status_code == 200
    match = re.search(r'id="bid-status-note">(.*?)</div>', response.content.decode(), re.S)
    assert match, "the status note is missing"
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()))


def _formatted(score, language: str) -> str:
    text = f"{score}"
    return text.replace(".", ",") if language == "fr" else text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_ranked_losing_bid_reads_its_rank_score_and_who_won(client, awarded, language):
    opportunity, _contract = awarded
    words = WORDS[language]
    second = Packet.objects.get(evaluation__opportunity=opportunity, rank=2)
    note = _note(client, second.bid, language)
    assert words["another"] in note
    assert words["ranked"].format(rank=2, score=_formatted(second.score, language)) in note
    assert words["next"] in note
    for wrong in ("not_submitted", "sealed", "selected"):
        assert words[wrong] not in note


@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_unranked_losing_bid_is_told_it_was_not_ranked(client, awarded, language):
    opportunity, _contract = awarded
    words = WORDS[language]
    unranked = Packet.objects.get(evaluation__opportunity=opportunity, rank__isnull=True)
    note = _note(client, unranked.bid, language)
    assert words["another"] in note and words["unranked"] in note
    assert words["not_submitted"] not in note and words["next"] not in note


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_awarded_bid_reads_that_it_was_selected(client, awarded, language):
    _opportunity, contract = awarded
    note = _note(client, contract.bid, language)
    assert WORDS[language]["selected"] in note
    assert WORDS[language]["another"] not in note


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_status_has_a_sentence_and_none_contradicts_it(client, language):
    words = WORDS[language]
    closed = OpportunityFactory(status=Opportunity.Status.CLOSED)
    for status in Bid.Status.values:
        note = _note(client, BidFactory(opportunity=closed, status=status), language)
        assert note, status
        if status not in ("draft",):
            assert words["not_submitted"] not in note, (status, note)
        if status != "sealed":
            assert words["sealed"] not in note, (status, note)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_sealed_bid_of_a_cancelled_opportunity_is_not_said_to_be_evaluated(
    client, closed, language
):
    opportunity, bids = closed
    opportunity_cancel(actor=opportunity.buyer, opportunity=opportunity, reason="No longer needed.")
    note = _note(client, Bid.objects.get(pk=bids[0].pk), language)
    assert WORDS[language]["cancelled"] in note
    assert WORDS[language]["sealed"] not in note
