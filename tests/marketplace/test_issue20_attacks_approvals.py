"""Issue 20, point 2, attacked: an insider with one privileged role, and two program admins
racing each other, try every way around the two-person rule. Each attack is replayed through the
pages where there is one; a refusal says why, and writes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from marketplace import approvals, services
from marketplace.models import Approval, AuditEvent, Role, RoleGrant
from opportunities.cancellation import opportunity_cancel
from opportunities.guardrails import guardrails_update
from opportunities.models import Guardrails, Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from payments import limits
from payments.models import CardLimit
from tests.factories import StaffFactory
from tests.support.approvals import revealed, said

pytestmark = pytest.mark.django_db

Kind = Approval.Kind
Status = Approval.Status


@pytest.fixture
def third_admin(db):
    return StaffFactory(email="third@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])


def _approve(client, approval):
    return client.post(reverse("marketplace:approval_approve", args=[approval.pk]))


def _limits(holder) -> tuple[int, int]:
    limit = CardLimit.objects.get(card_holder=holder)
    return limit.per_transaction_cents, limit.monthly_cents


GUARDRAILS_ASKED = {
    "value_cap_cents": 750_000,
    "min_open_business_days": 7,
    "allowed_types": [],
    "split_window_days": 30,
}


# --- Self-approval by any path --------------------------------------------------------------


def test_the_requester_cannot_approve_from_another_tab_or_by_replay(
    client, program_admin, second_admin
):
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    client.force_login(program_admin)
    for _attempt in range(2):  # the page, then the same POST replayed
        response = _approve(client, approval)
        assert response.status_code == 302
        assert "a second program administrator must decide it" in said(response)
    # Nor through the service with a hand-made "approved" row.
    Approval.objects.filter(pk=approval.pk).update(status=Status.APPROVED, decided_by=second_admin)
    approval.refresh_from_db()
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        services.role_grant(actor=program_admin, user=staff, role=Role.BUYER, approval=approval)
    assert not RoleGrant.objects.filter(user=staff).exists()


def test_the_person_a_grant_makes_program_admin_cannot_approve_it(
    client, program_admin, second_admin
):
    """The grantee already holds another staff role; they are asked to become program admin."""
    grantee = StaffFactory(roles=[Role.BUYER])
    approval = approvals.approval_request(
        actor=program_admin,
        kind=Kind.ROLE_GRANT,
        payload={"user": grantee.pk, "role": Role.PROGRAM_ADMIN},
    )
    client.force_login(grantee)
    assert client.get(reverse("marketplace:approval_detail", args=[approval.pk])).status_code == 404
    assert _approve(client, approval).status_code == 404
    # Even once a program admin by another path, the request about them is not theirs to decide.
    RoleGrant.objects.create(user=grantee, role=Role.PROGRAM_ADMIN)
    response = _approve(client, approval)
    assert "This request concerns you" in said(response)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_a_buyer_who_is_program_admin_cannot_approve_the_cancellation_of_their_own(
    client, program_admin, second_admin
):
    opportunity = revealed(program_admin)
    buyer = opportunity.buyer
    RoleGrant.objects.create(user=buyer, role=Role.PROGRAM_ADMIN)
    client.force_login(program_admin)
    client.post(reverse("opportunities:cancel", args=[opportunity.pk]), {"reason": "No budget."})
    approval = Approval.objects.get(kind=Kind.OPPORTUNITY_CANCEL)
    assert approval.subject_user == buyer
    client.force_login(buyer)
    response = _approve(client, approval)
    assert "This request concerns you" in said(response)
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.EVALUATING
    # The buyer's own path after the reveal is a request too, never the cancellation itself.
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        opportunity_cancel(actor=buyer, opportunity=opportunity, reason="No budget.")


def test_a_request_lapses_when_its_requester_is_no_longer_a_program_admin(
    client, program_admin, second_admin, third_admin
):
    """Removed (or suspended: a personal email, a supplier profile) after asking: what they
    asked for is not carried out on their word any more."""
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    services.role_revoke(actor=second_admin, user=program_admin, role=Role.PROGRAM_ADMIN)
    client.force_login(third_admin)
    response = _approve(client, approval)
    assert response.status_code == 302
    assert "no longer" in said(response)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING
    assert not RoleGrant.objects.filter(user=staff).exists()


# --- The subject changes between the request and the approval -----------------------------


def test_a_grantee_who_switched_to_a_personal_email_is_not_granted(
    client, program_admin, second_admin
):
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    staff.email = "someone@gmail.com"
    staff.save(update_fields=["email"])
    client.force_login(second_admin)
    response = _approve(client, approval)
    assert response.status_code == 302
    assert "Government of Canada domain" in said(response)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING
    assert not RoleGrant.objects.filter(user=staff).exists()


def test_a_card_holder_who_lost_the_role_gets_no_limit(
    client, program_admin, second_admin, card_holder
):
    approval = approvals.approval_request(
        actor=program_admin,
        kind=Kind.CARD_LIMIT,
        payload={
            "card_holder": card_holder.pk,
            "per_transaction_cents": 900_000,
            "monthly_cents": 9_000_000,
        },
    )
    RoleGrant.objects.filter(user=card_holder, role=Role.CARD_HOLDER).delete()
    client.force_login(second_admin)
    response = _approve(client, approval)
    assert "Limits are set only for card holders" in said(response)
    assert _limits(card_holder) == (500_000, 2_000_000)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_guardrails_changed_since_the_request_are_not_overwritten_on_a_stale_before(
    client, program_admin, second_admin
):
    """The decider compared the change with what was in force when it was asked; if that
    moved meanwhile (a system change), they must see the new picture before deciding."""
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.GUARDRAILS, payload=dict(GUARDRAILS_ASKED)
    )
    guardrails_update(actor=None, value_cap_cents=900_000)
    client.force_login(second_admin)
    response = _approve(client, approval)
    assert "changed since" in said(response)
    assert Guardrails.current().value_cap_cents == 900_000
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_card_limits_changed_since_the_request_are_not_overwritten_on_a_stale_before(
    client, program_admin, second_admin, card_holder
):
    approval = approvals.approval_request(
        actor=program_admin,
        kind=Kind.CARD_LIMIT,
        payload={
            "card_holder": card_holder.pk,
            "per_transaction_cents": 900_000,
            "monthly_cents": 9_000_000,
        },
    )
    limits.card_limit_set(
        actor=None, card_holder=card_holder, per_transaction_cents=100, monthly_cents=200
    )
    client.force_login(second_admin)
    response = _approve(client, approval)
    assert "changed since" in said(response)
    assert _limits(card_holder) == (100, 200)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_a_cancellation_of_an_opportunity_that_moved_on_is_refused_clearly(
    client, program_admin, second_admin
):
    opportunity = revealed(program_admin)
    client.force_login(opportunity.buyer)
    client.post(reverse("opportunities:cancel", args=[opportunity.pk]), {"reason": "No budget."})
    approval = Approval.objects.get(kind=Kind.OPPORTUNITY_CANCEL)
    # Awarded meanwhile: a cancellation is no longer possible.
    Opportunity.objects.filter(pk=opportunity.pk).update(status=Opportunity.Status.AWARDED)
    client.force_login(second_admin)
    response = _approve(client, approval)
    assert response.status_code == 302  # a message, not a 403
    assert "can no longer be cancelled" in said(response)
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.AWARDED
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


# --- Replays, decided requests, two deciders --------------------------------------------------


def test_an_approval_is_used_once(client, program_admin, second_admin, card_holder):
    approval = approvals.approval_request(
        actor=program_admin,
        kind=Kind.CARD_LIMIT,
        payload={
            "card_holder": card_holder.pk,
            "per_transaction_cents": 900_000,
            "monthly_cents": 9_000_000,
        },
    )
    client.force_login(second_admin)
    _approve(client, approval)
    assert _limits(card_holder) == (900_000, 9_000_000)
    # Set back by the system, then the approved request replayed into the effect.
    limits.card_limit_set(
        actor=None, card_holder=card_holder, per_transaction_cents=1, monthly_cents=1
    )
    approval.refresh_from_db()
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        limits.card_limit_set(
            actor=second_admin,
            card_holder=card_holder,
            per_transaction_cents=900_000,
            monthly_cents=9_000_000,
            approval=approval,
        )
    assert _limits(card_holder) == (1, 1)
    # A third admin approving it again is told it was decided.
    response = _approve(client, approval)
    assert "no longer waiting" in said(response)
    assert AuditEvent.objects.filter(verb="card_limit.set", actor=second_admin).count() == 1


@pytest.mark.parametrize("end", ["reject", "withdraw"])
def test_a_rejected_or_withdrawn_request_cannot_be_approved(
    client, program_admin, second_admin, third_admin, end
):
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    if end == "reject":
        approvals.approval_reject(actor=second_admin, approval=approval, note="No.")
    else:
        approvals.approval_withdraw(actor=program_admin, approval=approval)
    client.force_login(third_admin)
    response = _approve(client, approval)
    assert "no longer waiting" in said(response)
    assert not RoleGrant.objects.filter(user=staff).exists()
    approval.refresh_from_db()
    assert approval.decided_by != third_admin


def test_two_admins_approving_the_same_request_make_one_change(
    client, program_admin, second_admin, third_admin
):
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    client.force_login(second_admin)
    _approve(client, approval)
    _approve(client, approval)  # the double click
    client.force_login(third_admin)
    assert "no longer waiting" in said(_approve(client, approval))
    assert RoleGrant.objects.filter(user=staff, role=Role.BUYER).count() == 1
    assert AuditEvent.objects.filter(verb="role.granted", target_id=str(staff.pk)).count() == 1
    assert AuditEvent.objects.filter(verb="approval.approved").count() == 1


# --- Tampered forms -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPPLIER, "superuser", "", "program_admin'--"])
def test_a_tampered_role_is_refused(client, program_admin, second_admin, role):
    staff = StaffFactory()
    client.force_login(program_admin)
    response = client.post(reverse("marketplace:role_grant", args=[staff.pk]), {"role": role})
    assert response.status_code == 400
    assert not Approval.objects.exists()
    assert not RoleGrant.objects.filter(user=staff).exists()


@pytest.mark.parametrize(
    "per_transaction,monthly",
    [("-1", "100"), ("500", "100"), ("1000", "99999999.99"), ("9999999.99", "99999999.99")],
)
def test_tampered_card_limits_are_refused_at_the_request(
    client, program_admin, second_admin, card_holder, per_transaction, monthly
):
    """Past the monthly limit, negative, or past what a limit can be (PostgreSQL would fail
    at the approval with a server error, SQLite would store it)."""
    prefix = f"holder{card_holder.pk}"
    client.force_login(program_admin)
    response = client.post(
        reverse("payments:card_limit", args=[card_holder.pk]),
        {f"{prefix}-per_transaction": per_transaction, f"{prefix}-monthly": monthly},
    )
    assert response.status_code == 400
    assert not Approval.objects.exists()
    assert _limits(card_holder) == (500_000, 2_000_000)


def test_an_enormous_card_limit_is_refused_with_a_clear_message(
    client, program_admin, second_admin, card_holder
):
    prefix = f"holder{card_holder.pk}"
    client.force_login(program_admin)
    response = client.post(
        reverse("payments:card_limit", args=[card_holder.pk]),
        {f"{prefix}-per_transaction": "1000", f"{prefix}-monthly": "99999999.99"},
    )
    assert "A limit cannot be above" in said(response)
    with pytest.raises(ValidationError, match="A limit cannot be above"):
        approvals.approval_request(
            actor=program_admin,
            kind=Kind.CARD_LIMIT,
            payload={
                "card_holder": card_holder.pk,
                "per_transaction_cents": 100,
                "monthly_cents": 10**12,
            },
        )


@pytest.mark.parametrize(
    "change",
    [
        {"value_cap_dollars": "1000000"},
        {"value_cap_dollars": "0"},
        {"value_cap_dollars": "-5"},
        {"min_open_business_days": "0"},
        {"min_open_business_days": "1"},
        {"min_open_business_days": "99999"},
        {"split_window_days": "0"},
        {"split_window_days": "100000"},
        {"allowed_types": ["weapons"]},
        {"value_cap_dollars": "1e9"},
    ],
)
def test_tampered_guardrails_are_refused(client, program_admin, second_admin, change):
    data = {"value_cap_dollars": "7500", "min_open_business_days": "5", "split_window_days": "30"}
    client.force_login(program_admin)
    response = client.post(reverse("opportunities:guardrails"), {**data, **change})
    assert response.status_code == 200  # the form again, with the error
    assert not Approval.objects.exists()
    assert Guardrails.current().value_cap_cents == 1_000_000


def test_extra_payload_keys_do_not_reach_the_change(program_admin, second_admin):
    """A payload with more than the guardrails is refused, not stored to be carried out."""
    with pytest.raises(ValidationError, match="Give every guardrail"):
        approvals.approval_request(
            actor=program_admin,
            kind=Kind.GUARDRAILS,
            payload={**GUARDRAILS_ASKED, "updated_by": program_admin.pk},
        )
    with pytest.raises(ValidationError, match="Unknown kind"):
        approvals.approval_request(actor=program_admin, kind="delete_everything", payload={})
    assert not Approval.objects.exists()


# --- Who sees what ----------------------------------------------------------------------------


def test_a_buyer_who_did_not_ask_sees_nothing_of_a_request(client, program_admin, second_admin):
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    for outsider in (StaffFactory(roles=[Role.BUYER]), staff):
        client.force_login(outsider)
        assert (
            client.get(reverse("marketplace:approval_detail", args=[approval.pk])).status_code
            == 404
        )
        for name in ("approval_approve", "approval_reject", "approval_withdraw"):
            url = reverse(f"marketplace:{name}", args=[approval.pk])
            assert client.post(url).status_code == 404
        assert client.get(reverse("marketplace:approval_list")).status_code == 403
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_the_publishing_admin_is_never_the_buyer_on_replay(client, second_admin):
    from tests.factories import OpportunityFactory

    both = StaffFactory(roles=[Role.BUYER, Role.PROGRAM_ADMIN])
    draft = OpportunityFactory(buyer=both)
    opportunity_submit_for_review(actor=both, opportunity=draft)
    client.force_login(both)
    for _attempt in range(2):
        client.post(reverse("opportunities:publish", args=[draft.pk]), {"acknowledge_split": "on"})
    assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.IN_REVIEW
    with pytest.raises(ValidationError, match="You are the buyer"):
        opportunity_publish(actor=both, opportunity=draft, acknowledge_split=True)


def test_a_cancellation_request_reads_in_french_with_the_french_title(
    client, program_admin, second_admin
):
    opportunity = revealed(program_admin)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        title_en="Plain language review", title_fr="Révision en langage clair"
    )
    client.force_login(opportunity.buyer)
    client.post(reverse("opportunities:cancel", args=[opportunity.pk]), {"reason": "No budget."})
    approval = Approval.objects.get(kind=Kind.OPPORTUNITY_CANCEL)
    client.force_login(second_admin)
    page = client.get(f"/fr/program/approvals/{approval.pk}/").content.decode()
    assert "Révision en langage clair" in page
    assert "Plain language review" not in page
    notice = second_admin.notifications.get(kind="approval.requested")
    assert "Révision en langage clair" in str(notice.context["what"]["fr"])
