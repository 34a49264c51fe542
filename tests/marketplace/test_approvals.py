"""Two people for what matters (issue 20, DESIGN.md §4): the attacks of one program admin acting
alone, replayed through the pages, are refused with a clear message and write nothing; each kind
of request goes through when a second program admin approves it."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from marketplace import approvals, services
from marketplace.models import Approval, AuditEvent, Notification, Role, RoleGrant
from opportunities.cancellation import opportunity_cancel
from opportunities.guardrails import guardrails_update
from opportunities.models import Guardrails, Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from payments import limits
from payments.models import CardLimit
from tests.factories import OpportunityFactory, StaffFactory
from tests.support.approvals import revealed, said

pytestmark = pytest.mark.django_db

Kind = Approval.Kind


def _nothing_written(before: int) -> None:
    assert Approval.objects.count() == 0
    assert AuditEvent.objects.count() == before


def _request_role(requester, staff, role=Role.EVALUATOR) -> Approval:
    return approvals.approval_request(
        actor=requester, kind=Kind.ROLE_GRANT, payload={"user": staff.pk, "role": role}
    )


# --- The attacks of one person acting alone --------------------------------------------------


@pytest.mark.parametrize("role", [Role.BUYER, Role.CARD_HOLDER])
def test_an_admin_cannot_grant_themselves_a_role(client, program_admin, second_admin, role):
    before = AuditEvent.objects.count()
    client.force_login(program_admin)
    response = client.post(
        reverse("marketplace:role_grant", args=[program_admin.pk]), {"role": role}
    )
    assert response.status_code == 400
    assert "Nobody grants themselves a role" in said(response)
    _nothing_written(before)
    assert set(program_admin.role_grants.values_list("role", flat=True)) == {Role.PROGRAM_ADMIN}
    # The service refuses it too, however it is called.
    with pytest.raises(ValidationError, match="Nobody grants themselves a role"):
        services.role_grant(actor=program_admin, user=program_admin, role=role)
    with pytest.raises(ValidationError, match="Nobody grants themselves a role"):
        _request_role(program_admin, program_admin, role)
    page = client.get(reverse("marketplace:role_user_detail", args=[program_admin.pk]))
    assert "This is your own account: nobody grants themselves a role." in page.content.decode()


def test_a_program_admin_alone_cannot_grant_a_staff_role(program_admin, second_admin):
    staff = StaffFactory()
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        services.role_grant(actor=program_admin, user=staff, role=Role.BUYER)
    assert not RoleGrant.objects.filter(user=staff).exists()
    # Nor with a request nobody approved, or with an approval given to someone else.
    approval = _request_role(second_admin, staff, Role.BUYER)
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        services.role_grant(actor=program_admin, user=staff, role=Role.BUYER, approval=approval)
    assert not RoleGrant.objects.filter(user=staff).exists()
    # The system (manage.py grant_role, the demo seed) still grants alone.
    services.role_grant(actor=None, user=staff, role=Role.BUYER)
    assert RoleGrant.objects.filter(user=staff, role=Role.BUYER).exists()


def test_an_admin_cannot_set_their_own_card_limit(client, program_admin, second_admin):
    RoleGrant.objects.create(user=program_admin, role=Role.CARD_HOLDER)
    CardLimit.objects.create(
        card_holder=program_admin, per_transaction_cents=100_000, monthly_cents=500_000
    )
    before = AuditEvent.objects.count()
    client.force_login(program_admin)
    prefix = f"holder{program_admin.pk}"
    response = client.post(
        reverse("payments:card_limit", args=[program_admin.pk]),
        {f"{prefix}-per_transaction": "1000000", f"{prefix}-monthly": "1000000"},
    )
    assert response.status_code == 400
    assert "Nobody sets their own card limits" in said(response)
    _nothing_written(before)
    limit = CardLimit.objects.get(card_holder=program_admin)
    assert (limit.per_transaction_cents, limit.monthly_cents) == (100_000, 500_000)
    with pytest.raises(ValidationError, match="Nobody sets their own card limits"):
        limits.card_limit_set(
            actor=program_admin,
            card_holder=program_admin,
            per_transaction_cents=100_000_000,
            monthly_cents=100_000_000,
        )
    page = client.get(reverse("payments:oversight")).content.decode()
    assert "These are your own limits" in page


def test_a_program_admin_alone_cannot_change_a_card_limit(program_admin, card_holder):
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        limits.card_limit_set(
            actor=program_admin,
            card_holder=card_holder,
            per_transaction_cents=100_000_000,
            monthly_cents=100_000_000,
        )
    assert CardLimit.objects.get(card_holder=card_holder).monthly_cents == 2_000_000


def test_the_card_holder_who_is_an_admin_cannot_approve_their_own_limits(
    client, program_admin, second_admin
):
    RoleGrant.objects.create(user=second_admin, role=Role.CARD_HOLDER)
    StaffFactory(roles=[Role.PROGRAM_ADMIN])  # a third, who could decide
    approval = approvals.approval_request(
        actor=program_admin,
        kind=Kind.CARD_LIMIT,
        payload={
            "card_holder": second_admin.pk,
            "per_transaction_cents": 100_000_000,
            "monthly_cents": 100_000_000,
        },
    )
    client.force_login(second_admin)
    response = client.post(reverse("marketplace:approval_approve", args=[approval.pk]))
    assert "This request concerns you" in said(client.get(response["Location"]))
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not CardLimit.objects.filter(card_holder=second_admin).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value_cap_dollars": "1000000"}, "The value cap cannot be above $10,000.00"),
        ({"min_open_business_days": "0"}, "An opportunity stays open at least 2 business days"),
    ],
)
def test_guardrails_past_the_hard_limits_are_refused_on_the_page(
    client, program_admin, second_admin, fields, message
):
    before = AuditEvent.objects.count()
    client.force_login(program_admin)
    data = {"value_cap_dollars": "9000", "min_open_business_days": "5", "split_window_days": "60"}
    response = client.post(reverse("opportunities:guardrails"), {**data, **fields})
    assert response.status_code == 200
    assert message in response.content.decode()
    _nothing_written(before)
    guardrails = Guardrails.current()
    assert (guardrails.value_cap_cents, guardrails.min_open_business_days) == (1_000_000, 5)


def test_the_value_ceiling_holds_even_with_an_approval(program_admin, second_admin):
    fields = {
        "value_cap_cents": 100_000_000,
        "min_open_business_days": 0,
        "allowed_types": [],
        "split_window_days": 60,
    }
    with pytest.raises(ValidationError, match="legal limit"):
        approvals.approval_request(actor=program_admin, kind=Kind.GUARDRAILS, payload=fields)
    assert not Approval.objects.exists()
    # An approval written behind the services' back (a bug, a shell) still cannot pass it.
    forged = Approval.objects.create(
        kind=Kind.GUARDRAILS,
        payload=fields,
        subject_key="guardrails",
        requested_by=program_admin,
        decided_by=second_admin,
        status=Approval.Status.APPROVED,
    )
    with pytest.raises(ValidationError, match="legal limit"):
        guardrails_update(actor=second_admin, approval=forged, **fields)
    with pytest.raises(ValidationError, match="legal limit"):
        guardrails_update(actor=None, **fields)  # not even the system
    assert Guardrails.current().value_cap_cents == 1_000_000
    assert not AuditEvent.objects.filter(verb="guardrails.updated").exists()


def test_a_program_admin_alone_cannot_change_the_guardrails(program_admin):
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        guardrails_update(actor=program_admin, value_cap_cents=500_000)
    assert Guardrails.current().value_cap_cents == 1_000_000


def test_an_admin_cannot_publish_their_own_opportunity(client, second_admin):
    both = StaffFactory(roles=[Role.PROGRAM_ADMIN, Role.BUYER])
    draft = OpportunityFactory(buyer=both)
    opportunity_submit_for_review(actor=both, opportunity=draft)
    before = AuditEvent.objects.count()
    client.force_login(both)
    response = client.post(reverse("opportunities:publish", args=[draft.pk]), follow=True)
    assert "You are the buyer of this opportunity" in response.content.decode()
    assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.IN_REVIEW
    assert AuditEvent.objects.count() == before
    # Another program admin publishes it.
    opportunity_publish(actor=second_admin, opportunity=draft)
    assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.PUBLISHED


def test_cancelling_after_the_reveal_alone_is_refused(client, program_admin, second_admin):
    opportunity = revealed(program_admin)
    buyer = opportunity.buyer
    for actor in (buyer, program_admin):
        with pytest.raises(ValidationError, match="A second program administrator must approve"):
            opportunity_cancel(actor=actor, opportunity=opportunity, reason="Changed our minds.")
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.EVALUATING
    # On the page, the buyer's cancellation becomes a request.
    client.force_login(buyer)
    page = client.get(reverse("opportunities:cancel", args=[opportunity.pk])).content.decode()
    assert "cancelling now instead of awarding needs a second program administrator" in page
    response = client.post(
        reverse("opportunities:cancel", args=[opportunity.pk]), {"reason": "Changed our minds."}
    )
    approval = Approval.objects.get(kind=Kind.OPPORTUNITY_CANCEL)
    assert response["Location"] == reverse("marketplace:approval_detail", args=[approval.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for a second program administrator" in page
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.EVALUATING
    assert not AuditEvent.objects.filter(verb="opportunity.cancelled").exists()


def test_cancelling_before_the_reveal_stays_the_buyers_own(client, program_admin):
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=program_admin, opportunity=draft)
    client.force_login(opportunity.buyer)
    client.post(reverse("opportunities:cancel", args=[opportunity.pk]), {"reason": "Not needed."})
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.CANCELLED
    assert not Approval.objects.exists()


def test_an_admin_cannot_approve_their_own_request(client, program_admin, second_admin):
    staff = StaffFactory()
    client.force_login(program_admin)
    client.post(reverse("marketplace:role_grant", args=[staff.pk]), {"role": Role.BUYER})
    approval = Approval.objects.get()
    response = client.post(reverse("marketplace:approval_approve", args=[approval.pk]))
    assert "You asked for this change: a second program administrator must decide it" in said(
        client.get(response["Location"])
    )
    response = client.post(
        reverse("marketplace:approval_reject", args=[approval.pk]), {"reject-note": "No."}
    )
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not RoleGrant.objects.filter(user=staff).exists()
    assert not AuditEvent.objects.filter(verb__in=["approval.approved", "role.granted"]).exists()
    with pytest.raises(ValidationError, match="You asked for this change"):
        approvals.approval_approve(actor=program_admin, approval=approval)


def test_approving_twice_makes_one_change(client, program_admin, second_admin):
    staff = StaffFactory()
    approval = _request_role(program_admin, staff)
    client.force_login(second_admin)
    url = reverse("marketplace:approval_approve", args=[approval.pk])
    client.post(url)
    again = client.post(url, follow=True)
    assert "This request is no longer waiting: it was approved and carried out." in said(again)
    assert RoleGrant.objects.filter(user=staff, role=Role.EVALUATOR).count() == 1
    assert AuditEvent.objects.filter(verb="role.granted").count() == 1
    assert AuditEvent.objects.filter(verb="approval.approved").count() == 1
    # An approval is used once: calling the service with it again grants nothing more.
    RoleGrant.objects.filter(user=staff).delete()
    with pytest.raises(ValidationError, match="A second program administrator must approve"):
        services.role_grant(actor=second_admin, user=staff, role=Role.EVALUATOR, approval=approval)


def test_a_double_request_makes_one_and_another_waits(program_admin, second_admin):
    staff = StaffFactory()
    first = _request_role(program_admin, staff)
    assert _request_role(program_admin, staff) == first
    with pytest.raises(ValidationError, match="already waiting for approval"):
        _request_role(second_admin, staff)
    assert Approval.objects.count() == 1


def test_only_program_admins_decide(client, program_admin, second_admin, buyer):
    approval = _request_role(program_admin, StaffFactory())
    with pytest.raises(PermissionDenied):
        approvals.approval_approve(actor=buyer, approval=approval)
    client.force_login(buyer)
    assert client.get(reverse("marketplace:approval_detail", args=[approval.pk])).status_code == 404
    assert client.post(reverse("marketplace:approval_approve", args=[approval.pk])).status_code == (
        404
    )
    assert client.get(reverse("marketplace:approval_list")).status_code == 403


# --- The two-person flows --------------------------------------------------------------------


def test_role_grant_flow(client, program_admin, second_admin, django_capture_on_commit_callbacks):
    staff = StaffFactory()
    client.force_login(program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketplace:role_grant", args=[staff.pk]), {"role": Role.BUYER})
    approval = Approval.objects.get()
    told = Notification.objects.get(kind="approval.requested")
    assert told.recipient == second_admin  # never the requester
    assert AuditEvent.objects.get(verb="approval.requested").actor == program_admin
    client.force_login(second_admin)
    assert approvals.waiting_for(second_admin).get() == approval
    dashboard = client.get(reverse("marketplace:dashboard")).content.decode()
    assert "1 request is waiting for a second program administrator." in dashboard
    page = client.get(reverse("marketplace:approval_detail", args=[approval.pk])).content.decode()
    assert "Approve and carry it out" in page
    assert f"Grant the role “Buyer” to {staff.email}" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("marketplace:approval_approve", args=[approval.pk]),
            {"approve-note": "Confirmed with the director."},
        )
    grant = RoleGrant.objects.get(user=staff, role=Role.BUYER)
    assert grant.granted_by == second_admin
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == (Approval.Status.APPROVED, second_admin)
    decided = Notification.objects.get(kind="approval.approved")
    assert decided.recipient == program_admin
    assert any("Approved: Grant a staff role" in m.subject for m in mail.outbox)


def test_card_limit_flow(client, program_admin, second_admin, card_holder):
    client.force_login(program_admin)
    prefix = f"holder{card_holder.pk}"
    client.post(
        reverse("payments:card_limit", args=[card_holder.pk]),
        {f"{prefix}-per_transaction": "4000", f"{prefix}-monthly": "15000"},
    )
    approval = Approval.objects.get(kind=Kind.CARD_LIMIT)
    assert approval.payload["before"] == {
        "per_transaction_cents": 500_000,
        "monthly_cents": 2_000_000,
    }
    client.force_login(second_admin)
    detail = client.get(reverse("marketplace:approval_detail", args=[approval.pk])).content.decode()
    assert "$5,000.00 per purchase and $20,000.00 a month" in detail  # what is in force
    assert "$4,000.00 per purchase and $15,000.00 a month" in detail  # what is asked
    client.force_login(program_admin)
    oversight = client.get(reverse("payments:oversight")).content.decode()
    assert "A change of these limits is waiting for approval." in oversight
    assert CardLimit.objects.get(card_holder=card_holder).monthly_cents == 2_000_000
    client.force_login(second_admin)
    client.post(reverse("marketplace:approval_approve", args=[approval.pk]))
    limit = CardLimit.objects.get(card_holder=card_holder)
    assert (limit.per_transaction_cents, limit.monthly_cents, limit.updated_by) == (
        400_000,
        1_500_000,
        second_admin,
    )
    event = AuditEvent.objects.get(verb="card_limit.set")
    assert (event.actor, event.data["requested_by"]) == (second_admin, program_admin.pk)


def test_guardrails_flow_and_rejection(client, program_admin, second_admin):
    client.force_login(program_admin)
    data = {"value_cap_dollars": "7500", "min_open_business_days": "4", "split_window_days": "30"}
    client.post(reverse("opportunities:guardrails"), data)
    first = Approval.objects.get()
    page = client.get(reverse("opportunities:guardrails")).content.decode()
    assert "A change of the guardrails is waiting for approval." in page
    client.force_login(second_admin)
    response = client.post(reverse("marketplace:approval_reject", args=[first.pk]), {})
    assert "Say why you reject it" in said(client.get(response["Location"]))
    client.post(
        reverse("marketplace:approval_reject", args=[first.pk]),
        {"reject-note": "Too short for accessibility work."},
    )
    first.refresh_from_db()
    assert (first.status, first.decision_note) == (
        Approval.Status.REJECTED,
        "Too short for accessibility work.",
    )
    assert Guardrails.current().value_cap_cents == 1_000_000
    assert Notification.objects.get(kind="approval.rejected").recipient == program_admin
    # Asked again, approved this time.
    client.force_login(program_admin)
    client.post(reverse("opportunities:guardrails"), {**data, "min_open_business_days": "7"})
    second = Approval.objects.get(status=Approval.Status.PENDING)
    client.force_login(second_admin)
    client.post(reverse("marketplace:approval_approve", args=[second.pk]))
    guardrails = Guardrails.current()
    assert (guardrails.value_cap_cents, guardrails.min_open_business_days) == (750_000, 7)
    assert guardrails.split_window_days == 30


def test_cancel_after_reveal_flow(client, program_admin, second_admin):
    opportunity = revealed(program_admin)
    buyer = opportunity.buyer
    client.force_login(buyer)
    client.post(
        reverse("opportunities:cancel", args=[opportunity.pk]), {"reason": "Budget withdrawn."}
    )
    approval = Approval.objects.get()
    assert approval.subject_user == buyer and approval.reason == "Budget withdrawn."
    # Both program admins are told, and either may decide (neither asked, neither is the buyer).
    told = set(
        Notification.objects.filter(kind="approval.requested").values_list("recipient", flat=True)
    )
    assert told == {program_admin.pk, second_admin.pk}
    client.force_login(second_admin)
    client.post(reverse("marketplace:approval_approve", args=[approval.pk]))
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.cancel_reason) == (
        Opportunity.Status.CANCELLED,
        "Budget withdrawn.",
    )
    event = AuditEvent.objects.get(verb="opportunity.cancelled")
    assert (event.actor, event.data["requested_by"]) == (second_admin, buyer.pk)
    assert Notification.objects.get(kind="approval.approved").recipient == buyer
    # The buyer sees how their request ended.
    client.force_login(buyer)
    page = client.get(reverse("marketplace:approval_detail", args=[approval.pk])).content.decode()
    assert "Approved and carried out" in page


def test_the_requester_withdraws_and_nobody_else(client, program_admin, second_admin):
    approval = _request_role(program_admin, StaffFactory())
    client.force_login(second_admin)
    assert client.post(
        reverse("marketplace:approval_withdraw", args=[approval.pk])
    ).status_code == (403)
    client.force_login(program_admin)
    client.post(reverse("marketplace:approval_withdraw", args=[approval.pk]))
    approval.refresh_from_db()
    assert approval.status == Approval.Status.WITHDRAWN
    with pytest.raises(ValidationError, match="no longer waiting"):
        approvals.approval_approve(actor=second_admin, approval=approval)


def test_a_refused_change_approves_nothing(program_admin, second_admin):
    """The change is made in the decision's transaction: if it is refused, nothing is
    approved."""
    staff = StaffFactory()
    approval = _request_role(program_admin, staff)
    RoleGrant.objects.create(user=staff, role=Role.SUPPLIER)  # became a supplier meanwhile
    with pytest.raises(ValidationError, match="supplier"):
        approvals.approval_approve(actor=second_admin, approval=approval)
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not AuditEvent.objects.filter(verb="approval.approved").exists()


# --- One program admin: what cannot happen, said plainly ----------------------------------------


def test_a_single_admin_is_told_what_needs_a_second(client, program_admin):
    staff = StaffFactory()
    client.force_login(program_admin)
    explanation = "None of these can happen until a second program administrator is appointed"
    for name, args in (
        ("marketplace:role_user_detail", [staff.pk]),
        ("opportunities:guardrails", []),
        ("payments:oversight", []),
        ("marketplace:approval_list", []),
        ("marketplace:dashboard", []),
    ):
        page = client.get(reverse(name, args=args)).content.decode()
        assert explanation in page, name
        assert "manage.py grant_role" in page, name
    before = AuditEvent.objects.count()
    response = client.post(reverse("marketplace:role_grant", args=[staff.pk]), {"role": "buyer"})
    assert response.status_code == 400
    assert "No other program administrator can approve this yet" in said(response)
    _nothing_written(before)


def test_with_two_admins_the_explanation_is_gone(client, program_admin, second_admin):
    client.force_login(program_admin)
    page = client.get(reverse("opportunities:guardrails")).content.decode()
    assert "until a second program administrator is appointed" not in page


# --- Both languages --------------------------------------------------------------------------


def test_approval_pages_in_english_and_french(client, program_admin, second_admin):
    staff = StaffFactory()
    approval = _request_role(program_admin, staff, Role.BUYER)
    client.force_login(second_admin)
    english = client.get(f"/en/program/approvals/{approval.pk}/").content.decode()
    assert "Approve and carry it out" in english and "Grant a staff role" in english
    french = client.get(f"/fr/program/approvals/{approval.pk}/").content.decode()
    assert "Approuver et effectuer le changement" in french
    assert "Attribuer un rôle réservé au personnel" in french
    assert f"Attribuer le rôle «\u00a0Acheteur\u00a0» à {staff.email}" in french
    listing = client.get("/fr/program/approvals/").content.decode()
    assert "En attente d’approbation" in listing  # noqa: RUF001 - French typography
    client.force_login(program_admin)
    waiting = client.get(f"/fr/program/approvals/{approval.pk}/").content.decode()
    waiting_fr = "En attente d’un deuxième administrateur du programme."  # noqa: RUF001
    assert waiting_fr in waiting


def test_approving_asks_the_approver_to_prove_who_they_are_again(
    client, program_admin, second_admin
):
    """Approving makes the change: like reveal, award and payment, it needs a password (or the
    code) given within the re-authentication window, not a session alone."""
    from tests.support.sessions import record_sign_in

    staff = StaffFactory()
    approval = _request_role(program_admin, staff)
    client.force_login(second_admin)
    record_sign_in(client, second_admin, seconds_ago=600)
    address = reverse("marketplace:approval_approve", args=[approval.pk])
    answer = client.post(address, {"approve-note": ""})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/en/accounts/reauthenticate/")
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not RoleGrant.objects.filter(user=staff, role=Role.EVALUATOR).exists()
    record_sign_in(client, second_admin, seconds_ago=10)
    assert client.post(address, {"approve-note": ""}).status_code == 302
    approval.refresh_from_db()
    assert approval.status == Approval.Status.APPROVED
    assert RoleGrant.objects.filter(user=staff, role=Role.EVALUATOR).exists()


def test_every_kind_is_registered_by_the_app_that_owns_its_change():
    """The core asks; each app registers what it changes (AppConfig.ready), so the core never
    imports the apps above it: a kind without its app's handlers could never be carried out."""
    import ast
    from pathlib import Path

    assert set(approvals._KINDS) == set(Approval.Kind.values)
    tree = ast.parse(Path(approvals.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not imported & {"opportunities", "bids", "evaluation", "payments", "reports"}


def test_the_decision_buttons_have_readable_colours(client, program_admin, second_admin):
    """Reject is the GCDS danger button, approve the primary one: one tone each, never two
    (crispy's primary blue under another tone once hid a label)."""
    approval = _request_role(program_admin, StaffFactory())
    client.force_login(second_admin)
    page = client.get(reverse("marketplace:approval_detail", args=[approval.pk])).content.decode()
    buttons = re.findall(r'<input type="submit"[^>]*class="([^"]*)"', page)
    assert sorted(buttons) == ["gc-btn gc-btn-danger", "gc-btn gc-btn-primary"]
    assert "btn-" not in " ".join(buttons).replace("gc-btn-", "")
