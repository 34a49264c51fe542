"""A bid's page says what happened to it: a bid that was evaluated is never told it "was not
submitted" (an awarded bid read "This bid was not submitted, so it will not be evaluated.")."""

import pytest
from django.urls import reverse
from django.utils import translation

from opportunities.models import Opportunity
from tests.factories import BidFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

NOT_SUBMITTED = {
    "en": "This bid was not submitted",
    "fr": "Cette soumission n\u2019a pas été déposée",
}


def _page(client, bid, language: str) -> str:
    client.force_login(bid.supplier)
    with translation.override(language):
        url = reverse("bids:detail", args=[bid.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("status", ["awarded", "not_awarded", "terminated"])
def test_an_evaluated_bid_is_not_said_to_be_unsubmitted(client, language, status):
    opportunity = OpportunityFactory(status=Opportunity.Status.AWARDED)
    bid = BidFactory(opportunity=opportunity, status=status)
    assert NOT_SUBMITTED[language] not in _page(client, bid, language)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_draft_left_at_the_close_is_said_to_be_unsubmitted(client, language):
    opportunity = OpportunityFactory(status=Opportunity.Status.CLOSED)
    bid = BidFactory(opportunity=opportunity, status="draft")
    assert NOT_SUBMITTED[language] in _page(client, bid, language)
