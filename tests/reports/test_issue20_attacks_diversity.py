"""Issue 20, point 3 attacked: reading a person's groups off the published quarter figures.

Who won a contract is public (the award, the open data), and a buyer knows who bid on their
own opportunity. In a quarter with one award, "0" in a group's awarded column beside "<5" in
another told which groups the winner chose, with no differencing at all."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from bids.models import Bid
from payments.models import Contract
from reports import diversity, services
from reports.models import SelfIdentification
from tests.factories import OpportunityFactory
from tests.support.diversity import (
    LAST_START,
    answered,
    diversity_cells,
    in_quarter,
)

pytestmark = pytest.mark.django_db

Group = SelfIdentification.Group


def _won(supplier, when: dt.datetime) -> None:
    """The supplier bid on an opportunity and was awarded it, on `when`."""
    opportunity = OpportunityFactory()
    bid = Bid.objects.create(
        opportunity=opportunity, supplier=supplier, status=Bid.Status.SUBMITTED, submitted_at=when
    )
    contract = Contract.objects.create(
        opportunity=opportunity, bid=bid, supplier=supplier, value_cents=100_00
    )
    Contract.objects.filter(pk=contract.pk).update(created_at=when)


def _figures_with_the_winner_in(group) -> dict:
    """The last quarter: six women, six young people, and one winner (public) who chose
    `group`. Computed, then everything removed for the next reading."""
    crowd = [answered(Group.WOMEN, when=in_quarter(LAST_START)) for _ in range(6)]
    crowd += [answered(Group.YOUTH, when=in_quarter(LAST_START)) for _ in range(6)]
    winner = answered(group, when=in_quarter(LAST_START))
    _won(winner, in_quarter(LAST_START, day=30))
    figures, _before = diversity.quarter_figures(LAST_START)
    Contract.objects.all().delete()
    Bid.objects.all().delete()
    for user in [*crowd, winner]:
        user.delete()
    return figures


def test_the_only_winner_of_a_quarter_is_not_told_apart_by_a_zero():
    as_woman = _figures_with_the_winner_in(Group.WOMEN)
    as_young = _figures_with_the_winner_in(Group.YOUTH)
    assert as_woman == as_young
    assert as_woman["rows"][Group.WOMEN] == [5, diversity.SUPPRESSED, diversity.SUPPRESSED]
    # A group nobody chose says so: its bidders and winners are none, as its members.
    assert as_woman["rows"][Group.INDIGENOUS] == [0, 0, 0]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_dashboard_says_what_a_small_bid_or_award_figure_stands_for(
    client,
    program_admin,
    language,
):
    winner = answered(Group.WOMEN, when=in_quarter(LAST_START))
    for _ in range(5):
        answered(Group.WOMEN, when=in_quarter(LAST_START))
    _won(winner, in_quarter(LAST_START, day=30))
    services.diversity_snapshots_take()
    client.force_login(program_admin)
    with translation.override(language):
        html = client.get(reverse("reports:metrics")).content.decode()
        women = str(Group.WOMEN.label)
    cells = diversity_cells(html)
    at = cells.index(women)
    assert cells[at + 1 : at + 4] == ["5", "&lt;5", "&lt;5"]
    expected = {
        "en": "In the bid and award columns, “&lt;5” also stands for none",
        "fr": "Dans les colonnes des soumissions et des contrats,",
    }[language]
    assert expected in html
