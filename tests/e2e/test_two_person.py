"""Two people for what matters, in a real browser: one program admin asks for a staff role on the
people page, a second sees it on their dashboard, opens it and approves it; the role is granted
then, and the first is told."""

import pytest
from playwright.sync_api import Page, expect

from marketplace.models import Approval, Notification, Role, RoleGrant
from tests.factories import PASSWORD, StaffFactory
from tests.support.browser import sign_in


@pytest.mark.django_db(transaction=True)
def test_a_role_is_granted_when_a_second_admin_approves(live_server, browser, axe_violations):
    asker = StaffFactory(email="asker@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])
    approver = StaffFactory(email="approver@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory(email="new.buyer@esdc-edsc.gc.ca")

    def new_page() -> Page:
        return browser.new_context(bypass_csp=True).new_page()

    # The first program admin asks for the role: nothing is granted yet.
    page = new_page()
    sign_in(page, live_server.url, asker.email, PASSWORD)
    page.goto(f"{live_server.url}/en/program/users/{staff.pk}/")
    page.get_by_label("Role to grant").select_option(Role.BUYER)
    page.get_by_role("button", name="Ask a second administrator to grant it").click()
    expect(page.locator(".gc-notice-success")).to_contain_text(
        "is waiting for a second program administrator"
    )
    expect(page.get_by_text("Waiting for a second program administrator. Nothing")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and carry it out")).to_have_count(0)
    assert axe_violations(page) == []
    approval = Approval.objects.get()
    assert not RoleGrant.objects.filter(user=staff).exists()

    # The second sees it waiting on their dashboard, and approves it with a note.
    page = new_page()
    sign_in(page, live_server.url, approver.email, PASSWORD)
    page.get_by_role(
        "link", name="1 request is waiting for a second program administrator."
    ).click()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Grant a staff role").click()
    expect(page.get_by_text(f"Grant the role “Buyer” to {staff.email}")).to_be_visible()
    assert axe_violations(page) == []
    page.locator("#id_approve-note").fill("Confirmed with the director.")
    page.get_by_role("button", name="Approve and carry it out").click()
    expect(page.get_by_text("Approved: the change is made.")).to_be_visible()
    expect(page.get_by_text("Approved and carried out")).to_be_visible()

    grant = RoleGrant.objects.get(user=staff, role=Role.BUYER)
    assert grant.granted_by == approver
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == (Approval.Status.APPROVED, approver)
    assert Notification.objects.filter(kind="approval.approved", recipient=asker).exists()

    # The first, back on the request, reads how it ended; it cannot be decided again.
    page = new_page()
    sign_in(page, live_server.url, asker.email, PASSWORD)
    page.goto(f"{live_server.url}/en/program/approvals/{approval.pk}/")
    expect(page.get_by_text("Confirmed with the director.")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw my request")).to_have_count(0)
