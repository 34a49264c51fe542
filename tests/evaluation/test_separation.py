"""Nobody who bid on an opportunity sits on its panel (DESIGN.md §4): refused at the
appointment, and checked again at the declaration and at every opening of the packets, so a
seat obtained before the rule, or a bid started after it, gives no access.

Two layers: an account with a bid anywhere holds no staff role in force (`User.roles`), so it
is refused as "not an evaluator"; and the panel checks the bid on its own opportunity itself,
which the tests reach with a user whose roles were read before the bid was written."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from bids.models import Bid
from evaluation import marking as evaluation_marking
from evaluation import panel as evaluation_panel
from evaluation import permissions
from evaluation.models import PanelMember
from marketplace.models import Role, RoleGrant, User
from tests.builders import mark_values
from tests.factories import BidFactory, StaffFactory

pytestmark = pytest.mark.django_db

APPOINT_REFUSED = "This person has a bid on this opportunity"
DECLARE_REFUSED = "You have a bid on this opportunity"
NOT_AN_EVALUATOR = "Only staff with the evaluator role, other than the buyer."


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


def test_buyer_cannot_appoint_an_evaluator_with_a_bid_and_is_not_told_of_the_bid(
    client, closed, staff_bidder
):
    opportunity, _bids = closed
    client.force_login(opportunity.buyer)
    page = client.get(f"/en/evaluation/{opportunity.pk}/").content.decode()
    assert staff_bidder.email not in page  # not offered in the list of evaluators
    response = _appoint(client, opportunity, staff_bidder)
    assert response.redirect_chain[-1][0] == f"/en/evaluation/{opportunity.pk}/"
    body = response.content.decode()
    assert "Choose an evaluator from the list." in body
    # Refused as not an evaluator: the buyer learns nothing about who bid.
    assert APPOINT_REFUSED not in body
    assert not PanelMember.objects.filter(evaluator=staff_bidder).exists()


def test_panel_refusal_of_a_bidder_is_in_french_on_french_pages(client, closed, staff_bidder):
    opportunity, _bids = closed
    body = _appoint(client, opportunity, staff_bidder, language="fr").content.decode()
    assert "Choisissez un évaluateur dans la liste." in body
    assert "Choose an evaluator" not in body
    assert "Cette personne a une soumission" not in body
    assert not PanelMember.objects.filter(evaluator=staff_bidder).exists()


@pytest.mark.parametrize("status", [s for s, _label in Bid.Status.choices])
def test_a_bid_in_any_status_keeps_its_author_off_the_panel(closed, status):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    BidFactory(opportunity=opportunity, supplier=evaluator, status=status)
    with pytest.raises(ValidationError, match=NOT_AN_EVALUATOR):
        evaluation_panel.panel_appoint(
            actor=opportunity.buyer,
            evaluation=opportunity.evaluation,
            evaluator=User.objects.with_roles().get(pk=evaluator.pk),
        )


@pytest.mark.parametrize("status", [s for s, _label in Bid.Status.choices])
def test_the_panel_checks_the_bid_itself_when_the_roles_were_read_before_it(closed, status):
    """The second layer: roles read before the bid was written still find the bid refused."""
    opportunity, _bids = closed
    evaluator = User.objects.with_roles().get(pk=StaffFactory(roles=[Role.EVALUATOR]).pk)
    assert Role.EVALUATOR in evaluator.roles  # read now, before the bid
    BidFactory(opportunity=opportunity, supplier=evaluator, status=status)
    with pytest.raises(ValidationError, match=APPOINT_REFUSED):
        evaluation_panel.panel_appoint(
            actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluator
        )


def test_a_bid_on_another_opportunity_keeps_an_evaluator_off_every_panel(closed):
    """A bid anywhere means the account was a supplier: it holds no staff power at all."""
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    BidFactory(supplier=evaluator)  # on an opportunity of its own
    with pytest.raises(ValidationError, match=NOT_AN_EVALUATOR):
        evaluation_panel.panel_appoint(
            actor=opportunity.buyer,
            evaluation=opportunity.evaluation,
            evaluator=User.objects.with_roles().get(pk=evaluator.pk),
        )
    assert not PanelMember.objects.filter(evaluator=evaluator).exists()


def test_the_buyer_is_still_refused_a_seat_on_their_own_panel(closed):
    opportunity, _bids = closed
    RoleGrant.objects.create(user=opportunity.buyer, role=Role.EVALUATOR)
    with pytest.raises(ValidationError, match="other than the buyer"):
        evaluation_panel.panel_appoint(
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
    # Not the overview, which names the other evaluators: only the declaration form.
    assert client.get(f"/en/evaluation/{opportunity.pk}/").status_code == 404
    url = f"/en/evaluation/{opportunity.pk}/declare/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"conflict": "no"})
    assert response.status_code == 403  # no evaluator role in force on an account that bid
    member.refresh_from_db()
    assert member.declaration == PanelMember.Declaration.PENDING

    response = client.post(url, {"conflict": "yes", "note": "I bid on it."})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.declaration == PanelMember.Declaration.RECUSED
    assert client.get(f"/en/evaluation/{opportunity.pk}/packets/").status_code == 404


def test_a_seated_evaluator_whose_roles_were_read_before_their_bid_cannot_declare_no_conflict(
    closed,
):
    opportunity, _bids = closed
    evaluator = User.objects.with_roles().get(pk=StaffFactory(roles=[Role.EVALUATOR]).pk)
    assert Role.EVALUATOR in evaluator.roles
    member = _seat(opportunity, evaluator)
    BidFactory(opportunity=opportunity, supplier=evaluator, status=Bid.Status.WITHDRAWN)
    with pytest.raises(ValidationError, match=DECLARE_REFUSED):
        evaluation_panel.panel_declare(evaluator=evaluator, member=member, conflict=False)
    member.refresh_from_db()
    assert member.declaration == PanelMember.Declaration.PENDING


def test_a_bid_started_after_the_declaration_closes_the_packets(client, closed):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    member = evaluation_panel.panel_appoint(
        actor=opportunity.buyer,
        evaluation=opportunity.evaluation,
        evaluator=evaluator,
        is_chair=True,
    )
    evaluation_panel.panel_declare(evaluator=evaluator, member=member, conflict=False)
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
        evaluation_marking.marks_save(
            evaluator=evaluator,
            packet=packet,
            values=mark_values(opportunity, score=5, rationale="Clear."),
        )


def test_an_evaluator_whose_staff_powers_are_suspended_cannot_declare_no_conflict(closed):
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    member = evaluation_panel.panel_appoint(
        actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluator
    )
    evaluator.emailaddress_set.update(verified=False)
    evaluator = User.objects.get(pk=evaluator.pk)
    with pytest.raises(PermissionDenied):
        evaluation_panel.panel_declare(evaluator=evaluator, member=member, conflict=False)
    recused = evaluation_panel.panel_declare(
        evaluator=evaluator, member=member, conflict=True, note="My address changed."
    )
    assert recused.declaration == PanelMember.Declaration.RECUSED


# --- The overview and the access log -----------------------------------------------------------


def test_a_program_admin_with_a_bid_cannot_open_the_overview_or_the_access_log(
    client, closed, program_admin
):
    """The attack as found: a former supplier who became a program admin opens the evaluation
    of their own bid. Their staff roles are not in force, and the pages check the bid too."""
    opportunity, _bids = closed
    urls = [f"/en/evaluation/{opportunity.pk}/", f"/en/evaluation/{opportunity.pk}/access-log/"]
    client.force_login(program_admin)
    for url in urls:
        assert client.get(url).status_code == 200, url  # an admin with no bid: allowed
    BidFactory(opportunity=opportunity, supplier=program_admin, status=Bid.Status.WITHDRAWN)
    for url in urls:
        assert client.get(url).status_code == 404, url


def test_the_overview_and_access_log_check_the_bid_even_with_roles_read_before_it(
    closed, program_admin
):
    """The second layer, on its own: the predicates read the bid, not only the roles."""
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    admin = User.objects.with_roles().get(pk=program_admin.pk)
    assert Role.PROGRAM_ADMIN in admin.roles  # read now, before the bid
    assert permissions.can_view_overview(admin, evaluation)
    assert permissions.can_view_access_log(admin, evaluation)
    BidFactory(opportunity=opportunity, supplier=admin, status=Bid.Status.DRAFT)
    assert not permissions.can_view_overview(admin, evaluation)
    assert not permissions.can_view_access_log(admin, evaluation)


def test_the_buyer_still_sees_the_overview_of_their_opportunity(client, closed):
    opportunity, _bids = closed
    client.force_login(opportunity.buyer)
    assert client.get(f"/en/evaluation/{opportunity.pk}/").status_code == 200
