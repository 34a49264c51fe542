"""The approval page, as a second program admin uses it without a mouse and on a phone: every
control reached with Tab and labelled, the decision made with the keyboard, no sideways scroll at
390 px, and the French page in French."""

import pytest
from playwright.sync_api import expect

from marketplace import approvals
from marketplace.models import Approval, Role, RoleGrant
from tests.factories import PASSWORD, StaffFactory
from tests.support.browser import sign_in

NARROW = {"width": 390, "height": 844}


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 390 px"


@pytest.mark.django_db(transaction=True)
def test_the_approval_page_by_keyboard_on_a_phone_in_both_languages(
    live_server, browser, axe_violations
):
    asker = StaffFactory(email="asker@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])
    approver = StaffFactory(email="approver@esdc-edsc.gc.ca", roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory(email="a.rather.long.address.for.a.new.buyer@esdc-edsc.gc.ca")
    approval = approvals.approval_request(
        actor=asker, kind=Approval.Kind.ROLE_GRANT, payload={"user": staff.pk, "role": Role.BUYER}
    )
    page = browser.new_context(bypass_csp=True, viewport=NARROW).new_page()
    sign_in(page, live_server.url, approver.email, PASSWORD, language="fr")

    for path in ("/fr/program/approvals/", f"/fr/program/approvals/{approval.pk}/"):
        page.goto(f"{live_server.url}{path}")
        _no_sideways_scroll(page)
        assert axe_violations(page) == []
    body = page.locator("main").inner_text()
    for english in ("Approve", "Reject", "Waiting for", "Note to the requester", "Grant the role"):
        assert english not in body, f"English left on the French page: {english!r}"

    # Tab from the top of the page reaches the note and the approve button, both labelled.
    page.goto(f"{live_server.url}/en/program/approvals/{approval.pk}/")
    _no_sideways_scroll(page)
    expect(page.get_by_label("Note to the requester").first).to_be_visible()
    reached = []
    for _step in range(60):
        page.keyboard.press("Tab")
        # The control itself, inside a GC Design System component too (its shadow tree).
        focused = page.evaluate(
            "() => { let a = document.activeElement;"
            " while (a.shadowRoot && a.shadowRoot.activeElement) {"
            " a = a.shadowRoot.activeElement; }"
            " return [a.id, (a.value || a.textContent).trim()]; }"
        )
        reached.append(focused)
        if focused[1] == "Approve and carry it out":
            break
    assert "id_approve-note" in [element_id for element_id, _text in reached], reached
    assert reached[-1] == ["approve-decide", "Approve and carry it out"], reached
    # Approve and reject each have their own button id (they shared one).
    assert page.locator("#reject-decide").get_attribute("value") == "Reject"
    page.keyboard.press("Enter")
    expect(page.get_by_text("Approved: the change is made.")).to_be_visible()
    assert RoleGrant.objects.filter(user=staff, role=Role.BUYER).exists()
