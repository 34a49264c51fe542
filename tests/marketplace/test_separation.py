"""Nobody who bids can judge, nobody who judges can bid (DESIGN.md §4): supplier and staff
roles exclude each other, staff powers follow a verified government primary address, and a
command reports the rows that break the rules."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from bids import services as bid_services
from bids.models import Bid
from evaluation.models import PanelMember
from marketplace import services
from marketplace.models import STAFF_ROLES, AuditEvent, Notification, Role, RoleGrant, User
from marketplace.selectors import users_with_role
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.builders import fill, seat_panel
from tests.factories import (
    BidFactory,
    OpportunityFactory,
    StaffFactory,
    SupplierFactory,
    SupplierProfileFactory,
)
from tests.support.email_addresses import add_and_verify_email, make_primary, remove_email

pytestmark = pytest.mark.django_db

SUPPLIER_REFUSED = "This account is a supplier: it cannot hold a staff role"
SUSPENDED = "role.staff_suspended"
RESTORED = "role.staff_restored"


def fresh(user) -> User:
    """The user as the next request loads them (marketplace.auth_backends)."""
    return User.objects.with_roles().get(pk=user.pk)


# --- Granting roles -------------------------------------------------------------------------


def test_supplier_who_verifies_a_gc_address_is_refused_a_staff_role_on_the_role_page(
    client, program_admin
):
    """The attack as found: a supplier adds and verifies a gc.ca address, makes it primary,
    and a program administrator tries to make them an evaluator."""
    supplier = SupplierProfileFactory().user
    client.force_login(supplier)
    add_and_verify_email(client, "mole@esdc-edsc.gc.ca")
    make_primary(client, "mole@esdc-edsc.gc.ca")
    assert fresh(supplier).roles == {Role.SUPPLIER}  # keeps only its supplier role

    client.force_login(program_admin)
    response = client.post(f"/en/program/users/{supplier.pk}/grant/", {"role": "evaluator"})
    assert response.status_code == 400
    body = response.content.decode()
    assert SUPPLIER_REFUSED in body
    assert "No: this account is a supplier, and suppliers never hold a staff role." in body
    assert not RoleGrant.objects.filter(user=supplier, role=Role.EVALUATOR).exists()
    assert not AuditEvent.objects.filter(verb="role.granted", target_id=str(supplier.pk)).exists()


def test_supplier_refusal_on_the_role_page_is_in_french_on_french_pages(client, program_admin):
    supplier = SupplierFactory(email="taupe@esdc-edsc.gc.ca")
    client.force_login(program_admin)
    response = client.post(f"/fr/program/users/{supplier.pk}/grant/", {"role": "buyer"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Ce compte est celui d\u2019un fournisseur\u00a0: il ne peut détenir aucun rôle" in body
    assert SUPPLIER_REFUSED not in body
    assert not RoleGrant.objects.filter(user=supplier, role=Role.BUYER).exists()


@pytest.mark.parametrize("role", sorted(r for r in Role.values if r != Role.SUPPLIER))
def test_no_staff_role_is_granted_to_a_supplier_with_a_verified_gc_primary_address(
    program_admin, role
):
    supplier = SupplierFactory(email="mole@esdc-edsc.gc.ca")
    with pytest.raises(ValidationError, match=SUPPLIER_REFUSED):
        services.role_grant(actor=program_admin, user=supplier, role=role)
    with pytest.raises(ValidationError, match=SUPPLIER_REFUSED):
        services.role_grant(actor=None, user=supplier, role=role)  # the command line too
    assert fresh(supplier).granted_roles == {Role.SUPPLIER}


STAKE_REFUSED = "This account has a supplier profile or has bid: it cannot hold a staff role"


def _published(program_admin):
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=program_admin, opportunity=draft)


def _former_supplier_with_a_live_bid(client, program_admin):
    """The attack as found: a supplier bids, a program administrator revokes their supplier
    role, and they add, verify and make primary a gc.ca address through allauth's pages."""
    mole = SupplierProfileFactory(legal_name="Mole Works Inc.").user
    opportunity = _published(program_admin)
    bid = bid_services.bid_start(supplier=mole, opportunity=opportunity)
    fill(bid, mole)
    bid_services.bid_submit(supplier=mole, bid=bid)
    services.role_revoke(actor=program_admin, user=mole, role=Role.SUPPLIER)
    client.force_login(mole)
    add_and_verify_email(client, "mole@esdc-edsc.gc.ca")
    make_primary(client, "mole@esdc-edsc.gc.ca")
    assert fresh(mole).email == "mole@esdc-edsc.gc.ca" and fresh(mole).granted_roles == set()
    return mole, opportunity


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_a_former_supplier_with_a_live_bid_is_refused_every_staff_role(client, program_admin, role):
    mole, _opportunity = _former_supplier_with_a_live_bid(client, program_admin)
    with pytest.raises(ValidationError, match=STAKE_REFUSED):
        services.role_grant(actor=program_admin, user=mole, role=role)
    with pytest.raises(ValidationError, match=STAKE_REFUSED):
        services.role_grant(actor=None, user=mole, role=role)  # the command line too
    assert fresh(mole).granted_roles == set()
    assert not AuditEvent.objects.filter(
        verb="role.granted", target_id=str(mole.pk), data__role=role
    ).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", STAKE_REFUSED),
        ("fr", "Ce compte a un profil de fournisseur ou a déjà présenté une soumission"),
    ],
)
def test_the_role_page_refuses_a_former_supplier_a_staff_role_in_both_languages(
    client, program_admin, language, message
):
    mole, _opportunity = _former_supplier_with_a_live_bid(client, program_admin)
    client.force_login(program_admin)
    response = client.post(f"/{language}/program/users/{mole.pk}/grant/", {"role": "evaluator"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RoleGrant.objects.filter(user=mole).exists()


def test_an_account_whose_supplier_role_was_revoked_before_any_profile_or_bid_may_be_staff(
    client, program_admin
):
    """A public servant who first signed up with a personal address, never bid and never
    filled a profile: nothing to keep them from a staff role once the role is revoked."""
    person = SupplierFactory(email="ana@example.com")
    services.role_revoke(actor=program_admin, user=person, role=Role.SUPPLIER)
    client.force_login(person)
    add_and_verify_email(client, "ana@esdc-edsc.gc.ca")
    make_primary(client, "ana@esdc-edsc.gc.ca")
    services.role_grant(actor=None, user=person, role=Role.EVALUATOR)  # the command line
    assert fresh(person).roles == {Role.EVALUATOR}


def test_grant_role_command_refuses_a_supplier_a_staff_role():
    supplier = SupplierFactory(email="mole@esdc-edsc.gc.ca")
    with pytest.raises(CommandError, match="This account is a supplier"):
        call_command("grant_role", supplier.email, "program_admin")


def test_a_staff_account_cannot_get_the_supplier_role(program_admin):
    staff = StaffFactory(roles=[Role.BUYER])
    with pytest.raises(ValidationError, match="Staff accounts cannot also be suppliers"):
        services.role_grant(actor=program_admin, user=staff, role=Role.SUPPLIER)
    assert fresh(staff).granted_roles == {Role.BUYER}


def test_a_suspended_staff_account_on_a_personal_address_cannot_get_the_supplier_role(
    program_admin,
):
    staff = StaffFactory(email="ana@example.com", roles=[Role.EVALUATOR])
    with pytest.raises(ValidationError, match="Staff accounts cannot also be suppliers"):
        services.role_grant(actor=program_admin, user=staff, role=Role.SUPPLIER)


def test_an_account_with_a_verified_gc_address_cannot_get_the_supplier_role(program_admin):
    """Even when the government address is not the primary one."""
    person = StaffFactory(email="ana@example.com")
    EmailAddress.objects.create(user=person, email="ana@esdc-edsc.gc.ca", verified=True)
    with pytest.raises(ValidationError, match="Staff accounts cannot also be suppliers"):
        services.role_grant(actor=None, user=person, role=Role.SUPPLIER)


def test_the_role_page_offers_no_supplier_role_and_refuses_one_posted(client, program_admin):
    staff = StaffFactory(roles=[Role.BUYER])
    client.force_login(program_admin)
    response = client.post(f"/en/program/users/{staff.pk}/grant/", {"role": "supplier"})
    assert response.status_code == 400
    assert not RoleGrant.objects.filter(user=staff, role=Role.SUPPLIER).exists()


# --- Roles in force ---------------------------------------------------------------------------


def test_an_account_holding_supplier_and_staff_grants_has_only_supplier_powers(client):
    """Rows written before the rule: the staff grant gives nothing, at every request."""
    mixed = StaffFactory(roles=[Role.SUPPLIER, Role.EVALUATOR, Role.PROGRAM_ADMIN])
    assert fresh(mixed).roles == {Role.SUPPLIER}
    assert fresh(mixed).suspended_staff_roles == {Role.EVALUATOR, Role.PROGRAM_ADMIN}
    assert mixed not in users_with_role(Role.EVALUATOR)
    client.force_login(mixed)
    assert client.get("/en/program/users/").status_code == 403
    body = client.get("/en/dashboard/").content.decode()
    assert "Your staff roles are suspended" in body
    assert "this account is a supplier" in body


@pytest.mark.parametrize("status", [s for s, _label in Bid.Status.choices])
def test_staff_grants_of_an_account_with_a_bid_in_any_status_give_no_power(client, status):
    """Rows written around the rules (a grant from before them, the database): a bid anywhere,
    in any status, leaves the staff grants suspended at every request."""
    staff = StaffFactory(roles=[Role.PROGRAM_ADMIN, Role.EVALUATOR, Role.CARD_HOLDER])
    client.force_login(staff)
    assert client.get("/en/program/users/").status_code == 200
    BidFactory(supplier=staff, status=status)
    assert fresh(staff).roles == frozenset()
    assert fresh(staff).suspended_staff_roles == {
        Role.PROGRAM_ADMIN,
        Role.EVALUATOR,
        Role.CARD_HOLDER,
    }
    assert client.get("/en/program/users/").status_code == 403
    for role in (Role.PROGRAM_ADMIN, Role.EVALUATOR, Role.CARD_HOLDER):
        assert staff not in users_with_role(role)
    assert "Your staff roles are suspended" in client.get("/en/dashboard/").content.decode()


def test_staff_grants_of_an_account_with_a_supplier_profile_give_no_power(client):
    staff = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    SupplierProfileFactory(user=staff)
    assert fresh(staff).roles == frozenset()
    assert staff not in users_with_role(Role.PROGRAM_ADMIN)
    client.force_login(staff)
    assert client.get("/en/program/users/").status_code == 403


def test_staff_powers_read_outside_the_request_see_a_bid_as_well():
    """A user loaded without `with_roles()` reads the same rule, in one query."""
    staff = StaffFactory(roles=[Role.BUYER])
    BidFactory(supplier=staff)
    plain = User.objects.get(pk=staff.pk)
    assert plain.roles == frozenset()
    assert plain.has_supplier_stake and plain.has_verified_staff_primary_email


def test_staff_powers_need_the_verified_primary_address_at_every_request(client):
    """No signal needed: an address changed behind allauth's back (the technical admin, the
    database) takes the powers away on the next request, and giving it back restores them."""
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    client.force_login(admin)
    assert client.get("/en/program/users/").status_code == 200
    EmailAddress.objects.filter(user=admin).update(verified=False)
    assert client.get("/en/program/users/").status_code == 403
    assert admin not in users_with_role(Role.PROGRAM_ADMIN)
    EmailAddress.objects.filter(user=admin).update(verified=True)
    assert client.get("/en/program/users/").status_code == 200
    User.objects.filter(pk=admin.pk).update(email="admin@example.com")
    EmailAddress.objects.filter(user=admin).update(email="admin@example.com")
    assert client.get("/en/program/users/").status_code == 403


def test_a_look_alike_domain_is_not_a_staff_address():
    staff = StaffFactory(email="ana@esdc-edsc.gc.ca.evil.example", roles=[Role.BUYER])
    other = StaffFactory(email="ana@notgc.ca", roles=[Role.BUYER])
    assert fresh(staff).roles == frozenset() and fresh(other).roles == frozenset()
    assert not users_with_role(Role.BUYER).filter(pk__in=[staff.pk, other.pk]).exists()


def test_users_with_role_keeps_staff_in_force_and_every_supplier():
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    StaffFactory(roles=[Role.EVALUATOR], verified=False)
    StaffFactory(email="eva@example.com", roles=[Role.EVALUATOR])
    supplier = SupplierFactory()
    assert list(users_with_role(Role.EVALUATOR)) == [evaluator]
    assert list(users_with_role(Role.SUPPLIER)) == [supplier]


# --- Email changes through allauth's pages ---------------------------------------------------


@pytest.fixture
def seated(closed):
    """An evaluator on a panel who declared no conflict and can open the packets."""
    opportunity, _bids = closed
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    seat_panel(opportunity.evaluation, [evaluator])
    return opportunity, evaluator


def test_staff_who_makes_a_personal_address_primary_loses_evaluation_access_until_back(
    client, seated, program_admin, django_capture_on_commit_callbacks
):
    opportunity, evaluator = seated
    packets = f"/en/evaluation/{opportunity.pk}/packets/"
    client.force_login(evaluator)
    assert client.get(packets).status_code == 200
    assert "panel" in client.get("/en/dashboard/").content.decode().lower()

    add_and_verify_email(client, "eva.personal@example.com")
    assert client.get(packets).status_code == 200  # a second address changes nothing
    assert not AuditEvent.objects.filter(verb=SUSPENDED).exists()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        make_primary(client, "eva.personal@example.com")
    assert client.get(packets).status_code == 404
    packet = opportunity.evaluation.packets.first()
    assert client.get(f"/en/evaluation/{opportunity.pk}/packets/{packet.pk}/").status_code == 404
    dashboard = client.get("/en/dashboard/").content.decode()
    assert "Your staff roles are suspended" in dashboard
    assert "Evaluator" in dashboard
    event = AuditEvent.objects.get(verb=SUSPENDED)
    assert (event.actor, event.target_id) == (evaluator, str(evaluator.pk))
    assert event.data == {"roles": ["evaluator"], "reason": "no_verified_staff_email"}
    notice = Notification.objects.get(kind=SUSPENDED)
    assert notice.recipient == program_admin
    assert any(
        m.to == [program_admin.email] and "eva.personal@example.com" in m.subject
        for m in mail.outbox
    )

    make_primary(client, evaluator.email)  # the verified government address, again
    assert client.get(packets).status_code == 200
    assert AuditEvent.objects.filter(verb=RESTORED, target_id=str(evaluator.pk)).count() == 1
    assert Notification.objects.filter(kind=RESTORED, recipient=program_admin).exists()


def test_staff_who_removes_the_gc_address_stays_suspended_until_a_new_one_is_verified(
    client, seated
):
    opportunity, evaluator = seated
    packets = f"/en/evaluation/{opportunity.pk}/packets/"
    client.force_login(evaluator)
    add_and_verify_email(client, "eva.personal@example.com")
    make_primary(client, "eva.personal@example.com")
    remove_email(client, evaluator.email)
    assert client.get(packets).status_code == 404
    assert fresh(evaluator).roles == frozenset()
    assert fresh(evaluator).granted_roles == {Role.EVALUATOR}  # suspended, not revoked
    assert AuditEvent.objects.filter(verb=SUSPENDED).count() == 1  # once per change of state

    add_and_verify_email(client, "eva.new@hrsdc-rhdcc.gc.ca")
    assert client.get(packets).status_code == 404  # verified, but not primary yet
    make_primary(client, "eva.new@hrsdc-rhdcc.gc.ca")
    assert client.get(packets).status_code == 200
    assert list(
        AuditEvent.objects.filter(target_id=str(evaluator.pk), verb__in=[SUSPENDED, RESTORED])
        .order_by("pk")
        .values_list("verb", flat=True)
    ) == [SUSPENDED, RESTORED]


def test_suspended_staff_cannot_be_appointed_to_a_panel(client, closed):
    opportunity, _bids = closed
    suspended = StaffFactory(email="eva@example.com", roles=[Role.EVALUATOR])
    client.force_login(opportunity.buyer)
    overview = client.get(f"/en/evaluation/{opportunity.pk}/").content.decode()
    assert "eva@example.com" not in overview
    response = client.post(
        f"/en/evaluation/{opportunity.pk}/panel/", {"evaluator": suspended.pk}, follow=True
    )
    assert "Choose an evaluator from the list." in response.content.decode()
    assert not PanelMember.objects.filter(evaluator=suspended).exists()


def test_supplier_who_verifies_a_gc_address_keeps_bidding_and_records_nothing(client):
    supplier = SupplierProfileFactory().user
    client.force_login(supplier)
    add_and_verify_email(client, "mole@esdc-edsc.gc.ca")
    make_primary(client, "mole@esdc-edsc.gc.ca")
    assert fresh(supplier).roles == {Role.SUPPLIER}
    assert "Your staff roles are suspended" not in client.get("/en/dashboard/").content.decode()
    assert not AuditEvent.objects.filter(verb__in=[SUSPENDED, RESTORED]).exists()


def test_email_changes_of_a_supplier_holding_a_staff_grant_record_the_suspension():
    mixed = StaffFactory(roles=[Role.SUPPLIER, Role.BUYER])
    services.user_emails_changed(user=mixed)
    services.user_emails_changed(user=mixed)
    event = AuditEvent.objects.get(verb=SUSPENDED)
    assert event.data == {"roles": ["buyer"], "reason": "supplier"}


# --- The report for ops ------------------------------------------------------------------------


def _check(capsys) -> tuple[int, list[str]]:
    try:
        call_command("check_separation_of_duties")
    except CommandError as error:
        status = error.returncode
    else:
        status = 0
    return status, capsys.readouterr().out.splitlines()


def test_separation_report_is_clean_and_exits_zero_on_clean_data(capsys, seated):
    """A panel with packets, bidders and an evaluator: all as the rules want it."""
    SupplierProfileFactory()
    assert _check(capsys) == (0, ["No separation-of-duties finding."])


def test_separation_report_lists_each_broken_rule_once_and_exits_non_zero(capsys, seated):
    opportunity, evaluator = seated
    mixed = StaffFactory(email="mixed@esdc-edsc.gc.ca", roles=[Role.SUPPLIER, Role.EVALUATOR])
    personal = StaffFactory(email="personal@example.com", roles=[Role.BUYER])
    unverified = StaffFactory(email="unverified@esdc-edsc.gc.ca", roles=[Role.BUYER])
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    panel_bid = BidFactory(opportunity=opportunity, supplier=evaluator, status="withdrawn")
    PanelMember.objects.create(
        evaluation=opportunity.evaluation,
        evaluator=opportunity.buyer,
        appointed_by=opportunity.buyer,
    )
    other = OpportunityFactory()
    buyer_bid = BidFactory(opportunity=other, supplier=other.buyer)

    status, lines = _check(capsys)
    assert status == 1
    # The accounts first, in the order of their ids; then the rows.
    accounts = sorted(
        [
            (
                evaluator.pk,
                f"staff-with-bid: user {evaluator.pk} <{evaluator.email}> holds staff roles "
                f"(evaluator) and bid {panel_bid.pk} (withdrawn) on opportunity {opportunity.pk}",
            ),
            (
                mixed.pk,
                f"supplier-and-staff: user {mixed.pk} <mixed@esdc-edsc.gc.ca> holds the supplier "
                "role and a staff role (evaluator,supplier)",
            ),
            (
                personal.pk,
                f"staff-without-verified-staff-email: user {personal.pk} <personal@example.com> "
                "holds staff roles (buyer) without a verified staff-domain primary email",
            ),
            (
                unverified.pk,
                f"staff-without-verified-staff-email: user {unverified.pk} "
                "<unverified@esdc-edsc.gc.ca> holds staff roles (buyer) without a verified "
                "staff-domain primary email",
            ),
            (
                other.buyer_id,
                f"staff-with-bid: user {other.buyer_id} <{other.buyer.email}> holds staff roles "
                f"(buyer) and bid {buyer_bid.pk} (draft) on opportunity {other.pk}",
            ),
        ]
    )
    assert lines == [
        *(line for _pk, line in accounts),
        f"bidder-on-panel: opportunity {opportunity.pk}: panel member user {evaluator.pk} "
        f"<{evaluator.email}> has bid {panel_bid.pk} (withdrawn) on it",
        f"buyer-on-panel: opportunity {opportunity.pk}: its buyer, user "
        f"{opportunity.buyer_id} <{opportunity.buyer.email}>, sits on its panel",
        f"buyer-bid: opportunity {other.pk}: its buyer, user {other.buyer_id} "
        f"<{other.buyer.email}>, has bid {buyer_bid.pk} (draft) on it",
    ]


def test_separation_report_finds_a_former_supplier_given_staff_roles_around_the_rules(
    capsys, client, program_admin
):
    """The attack as found, with the grants written directly as the service now refuses them:
    the report names the account, its bid and its profile."""
    mole, opportunity = _former_supplier_with_a_live_bid(client, program_admin)
    for role in (Role.EVALUATOR, Role.PROGRAM_ADMIN, Role.CARD_HOLDER):
        RoleGrant.objects.create(user=mole, role=role)
    bid = mole.bids.get()
    status, lines = _check(capsys)
    assert status == 1
    assert lines == [
        f"staff-with-supplier-profile: user {mole.pk} <mole@esdc-edsc.gc.ca> holds staff roles "
        "(card_holder,evaluator,program_admin) and has a supplier profile",
        f"staff-with-bid: user {mole.pk} <mole@esdc-edsc.gc.ca> holds staff roles "
        f"(card_holder,evaluator,program_admin) and bid {bid.pk} (submitted) on opportunity "
        f"{opportunity.pk}",
    ]


def test_separation_report_lists_every_bid_of_a_staff_account_in_any_status(capsys):
    staff = StaffFactory(roles=[Role.BUYER])
    bids = [BidFactory(supplier=staff, status=status) for status in ("draft", "withdrawn")]
    _status, lines = _check(capsys)
    assert lines == [
        f"staff-with-bid: user {staff.pk} <{staff.email}> holds staff roles (buyer) and bid "
        f"{bid.pk} ({bid.status}) on opportunity {bid.opportunity_id}"
        for bid in bids
    ]


def test_separation_report_fails_the_command_line_for_cron(capsys):
    StaffFactory(email="personal@example.com", roles=[Role.BUYER])
    with pytest.raises(CommandError) as error:
        call_command("check_separation_of_duties")
    assert error.value.returncode == 1
    assert "1 separation-of-duties finding(s)" in str(error.value)
