"""Nobody who bid on an opportunity sits on its panel (DESIGN.md §4): refused at the
appointment, and checked again at the declaration and at every opening of the packets, so a
seat obtained before the rule, or a bid started after it, gives no access."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from bids.models import Bid
from evaluation import services
from evaluation.models import PanelMember
from marketplace.models import Role, RoleGrant, User
from tests.evaluation.conftest import mark_values
from tests.factories import BidFactory, StaffFactory

pytestmark = pytest.mark.django_db

APPOINT_REFUSED = "This person has a bid on this opportunity"
DECLARE_REFUSED = "You have a bid on this opportunity"


@pytest.fixture
def staff_bidder(closed):
    """A staff evaluator who somehow has a bid on the closed opportunity (the rules forbid it:
    built directly, as rows written before them would be)."""
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    BidFactory(opportunity=opportunity, supplier=evaluator, status=Bid.Status.DRAFT)
    return evaluator


def _appoint(client, opportunity, evaluator, language="en"):
    client.force_login(opportunity.buyer)
    return client.post(
        f"/{language}/evaluation/{opportunity.pk}/panel/",
        {"evaluator": evaluator.pk, "is_chair": "on"},
        follow=True,
    )


def test_buyer_cannot_appoint_an_evaluator_with_a_bid_on_the_opportunity(
    client, closed, staff_bidder
):
    opportunity, _bids = closed
    response = _appoint(client, opportunity, staff_bidder)
    assert response.redirect_chain[-1][0] == f"/en/evaluation/{opportunity.pk}/"
    assert APPOINT_REFUSED in response.content.decode()
    assert not PanelMember.objects.filter(evaluator=staff_bidder).exists()


def test_panel_refusal_of_a_bidder_is_in_french_on_french_pages(client, closed, staff_bidder):
    opportunity, _bids = closed
    body = _appoint(client, opportunity, staff_bidder, language="fr").content.decode()
    assert "Cette personne a une soumission pour cette occasion" in body
    assert APPOINT_REFUSED not in body


@pytest.mark.parametrize("status", [s for s, _label in Bid.Status.choices])
def test_a_bid_in_any_status_keeps_its_author_off_the_panel(closed, status):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    BidFactory(opportunity=opportunity, supplier=evaluator, status=status)
    with pytest.raises(ValidationError, match=APPOINT_REFUSED):
        services.panel_appoint(
            actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluator
        )


def test_a_bid_on_another_opportunity_does_not_keep_an_evaluator_off(closed):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    BidFactory(supplier=evaluator)  # on an opportunity of its own
    member = services.panel_appoint(
        actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluator
    )
    assert member.evaluator == evaluator


def test_the_buyer_is_still_refused_a_seat_on_their_own_panel(closed):
    opportunity, _bids = closed
    RoleGrant.objects.create(user=opportunity.buyer, role=Role.EVALUATOR)
    with pytest.raises(ValidationError, match="other than the buyer"):
        services.panel_appoint(
            actor=opportunity.buyer,
            evaluation=opportunity.evaluation,
            evaluator=User.objects.get(pk=opportunity.buyer_id),
        )


def _seat(opportunity, evaluator) -> PanelMember:
    """A seat from before the rule: written directly, as the appointment now refuses it."""
    return PanelMember.objects.create(
        evaluation=opportunity.evaluation,
        evaluator=evaluator,
        appointed_by=opportunity.buyer,
        is_chair=True,
    )


def test_a_seated_bidder_cannot_declare_no_conflict_on_the_page_but_can_recuse(
    client, closed, staff_bidder
):
    opportunity, _bids = closed
    member = _seat(opportunity, staff_bidder)
    client.force_login(staff_bidder)
    url = f"/en/evaluation/{opportunity.pk}/declare/"
    response = client.post(url, {"conflict": "no"})
    assert response.status_code == 400
    assert DECLARE_REFUSED in response.content.decode()
    member.refresh_from_db()
    assert member.declaration == PanelMember.Declaration.PENDING

    response = client.post(url, {"conflict": "yes", "note": "I bid on it."})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.declaration == PanelMember.Declaration.RECUSED
    assert client.get(f"/en/evaluation/{opportunity.pk}/packets/").status_code == 404


def test_a_bid_started_after_the_declaration_closes_the_packets(client, closed):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    member = services.panel_appoint(
        actor=opportunity.buyer,
        evaluation=opportunity.evaluation,
        evaluator=evaluator,
        is_chair=True,
    )
    services.panel_declare(evaluator=evaluator, member=member, conflict=False)
    packet = opportunity.evaluation.packets.first()
    urls = [
        f"/en/evaluation/{opportunity.pk}/packets/",
        f"/en/evaluation/{opportunity.pk}/packets/{packet.pk}/",
    ]
    client.force_login(evaluator)
    for url in urls:
        assert client.get(url).status_code == 200, url

    BidFactory(opportunity=opportunity, supplier=evaluator, status=Bid.Status.WITHDRAWN)
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/en/evaluation/{opportunity.pk}/submit/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.marks_save(
            evaluator=evaluator,
            packet=packet,
            values=mark_values(opportunity, score=5, rationale="Clear."),
        )


def test_an_evaluator_whose_staff_powers_are_suspended_cannot_declare_no_conflict(closed):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    member = services.panel_appoint(
        actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluator
    )
    evaluator.emailaddress_set.update(verified=False)
    evaluator = User.objects.get(pk=evaluator.pk)
    with pytest.raises(PermissionDenied):
        services.panel_declare(evaluator=evaluator, member=member, conflict=False)
    recused = services.panel_declare(
        evaluator=evaluator, member=member, conflict=True, note="My address changed."
    )
    assert recused.declaration == PanelMember.Declaration.RECUSED
