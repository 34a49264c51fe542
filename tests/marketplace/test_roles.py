import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from marketplace import approvals, services
from marketplace.models import Approval, AuditEvent, Role, RoleGrant
from marketplace.staff_domains import is_staff_email
from tests.factories import StaffFactory, SupplierFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ana@gc.ca", True),
        ("ana@esdc-edsc.gc.ca", True),
        ("ANA@HRSDC-RHDCC.GC.CA", True),
        ("ana@gc.ca.evil.example", False),
        ("ana@notgc.ca", False),
        ("ana@example.com", False),
        ("gc.ca", False),
    ],
)
def test_staff_email_domain_rule(settings, email, expected):
    settings.STAFF_EMAIL_DOMAINS = ["gc.ca"]
    assert is_staff_email(email) is expected


def test_staff_email_domains_come_from_settings(settings):
    settings.STAFF_EMAIL_DOMAINS = ["canada.ca"]
    assert is_staff_email("ana@canada.ca")
    assert not is_staff_email("ana@gc.ca")


def test_program_admin_grants_staff_role_to_verified_gc_email(
    program_admin, django_capture_on_commit_callbacks
):
    """Asked by one program admin, granted when a second approves (marketplace/approvals.py)."""
    second = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory(preferred_language="fr")
    approval = approvals.approval_request(
        actor=second,
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": staff.pk, "role": Role.EVALUATOR},
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approvals.approval_approve(actor=program_admin, approval=approval)
    grant = RoleGrant.objects.get(user=staff, role=Role.EVALUATOR)
    assert grant.granted_by == program_admin
    message = next(m for m in mail.outbox if m.to == [staff.email])
    assert "Évaluateur" in message.subject
    event = AuditEvent.objects.get(verb="role.granted")
    assert (event.actor, event.target_id, event.data) == (
        program_admin,
        str(staff.pk),
        {"role": "evaluator", "approval": approval.pk, "requested_by": second.pk},
    )
    mail.outbox[:] = [message]
    [message] = mail.outbox
    assert message.to == [staff.email]
    assert "Évaluateur" in message.subject  # in the recipient's language


def test_staff_role_refused_for_non_government_email(program_admin):
    outsider = UserFactory(email="ana@example.com")
    with pytest.raises(ValidationError) as error:
        services.role_grant(actor=program_admin, user=outsider, role=Role.BUYER)
    assert "Government of Canada" in str(error.value)
    assert not RoleGrant.objects.filter(user=outsider).exists()
    assert not AuditEvent.objects.filter(verb="role.granted").exists()


def test_staff_role_refused_for_unverified_gc_email(program_admin):
    unverified = StaffFactory(verified=False)
    with pytest.raises(ValidationError):
        services.role_grant(actor=program_admin, user=unverified, role=Role.BUYER)
    assert not RoleGrant.objects.filter(user=unverified).exists()


def test_only_program_admins_grant_roles(buyer):
    staff = StaffFactory()
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=buyer, user=staff, role=Role.BUYER)
    assert not RoleGrant.objects.filter(user=staff).exists()


def test_supplier_cannot_be_given_a_staff_role_even_by_admin(program_admin):
    supplier = SupplierFactory()
    with pytest.raises(ValidationError):
        services.role_grant(actor=program_admin, user=supplier, role=Role.CARD_HOLDER)


def test_granting_a_role_twice_is_a_clear_error(program_admin):
    staff = StaffFactory(roles=[Role.BUYER])
    with pytest.raises(ValidationError, match="already has that role"):
        services.role_grant(actor=program_admin, user=staff, role=Role.BUYER)


def test_last_program_admin_cannot_be_revoked(program_admin):
    with pytest.raises(ValidationError, match="last program administrator"):
        services.role_revoke(actor=program_admin, user=program_admin, role=Role.PROGRAM_ADMIN)
    second = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    services.role_revoke(actor=program_admin, user=second, role=Role.PROGRAM_ADMIN)
    assert not RoleGrant.objects.filter(user=second).exists()
    assert AuditEvent.objects.filter(verb="role.revoked", target_id=str(second.pk)).exists()


# --- The page --------------------------------------------------------------------------------


def test_role_page_grants_a_role(client, program_admin, django_capture_on_commit_callbacks):
    """The page asks; a second program admin's approval grants (marketplace/approvals.py)."""
    second = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory()
    client.force_login(program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/en/program/users/{staff.pk}/grant/", {"role": "card_holder"})
    assert response.status_code == 302
    approval = Approval.objects.get()
    assert response["Location"] == f"/en/program/approvals/{approval.pk}/"
    page = client.get(response["Location"])
    assert "waiting for a second program administrator" in page.content.decode()
    assert not RoleGrant.objects.filter(user=staff, role=Role.CARD_HOLDER).exists()
    client.force_login(second)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/en/program/approvals/{approval.pk}/approve/")
    assert RoleGrant.objects.filter(user=staff, role=Role.CARD_HOLDER).exists()
    assert [m.to for m in mail.outbox if "Card holder" in m.subject] == [[staff.email]]


def test_role_page_shows_domain_error_and_changes_nothing(client, program_admin):
    outsider = UserFactory(email="ana@example.com")
    client.force_login(program_admin)
    response = client.post(f"/en/program/users/{outsider.pk}/grant/", {"role": "buyer"})
    assert response.status_code == 400
    assert "verified email address on a Government of Canada domain" in response.content.decode()
    assert not RoleGrant.objects.filter(user=outsider).exists()


def test_role_page_refuses_unknown_role_without_error_page(client, program_admin):
    staff = StaffFactory()
    client.force_login(program_admin)
    response = client.post(f"/en/program/users/{staff.pk}/grant/", {"role": "emperor"})
    assert response.status_code == 400
    response = client.post(f"/en/program/users/{staff.pk}/revoke/emperor/")
    assert response.status_code == 302
    assert "does not have that role" in client.get(response["Location"]).content.decode()


def test_role_page_on_unknown_user_is_404(client, program_admin):
    client.force_login(program_admin)
    assert client.get("/en/program/users/999999/").status_code == 404
    assert client.post("/en/program/users/999999/grant/", {"role": "buyer"}).status_code == 404


def test_role_user_list_searches_and_paginates(
    client, program_admin, django_assert_max_num_queries
):
    for n in range(30):
        StaffFactory(email=f"staff-{n:02d}@esdc-edsc.gc.ca", roles=[Role.EVALUATOR])
    client.force_login(program_admin)
    with django_assert_max_num_queries(8):
        page1 = client.get("/en/program/users/")
    body = page1.content.decode()
    assert "Page 1 of 2" in body
    assert body.count("Evaluator") >= 24
    found = client.get("/en/program/users/", {"q": "staff-07"}).content.decode()
    assert "staff-07@esdc-edsc.gc.ca" in found
    assert "staff-08@esdc-edsc.gc.ca" not in found


def test_grant_role_command_appoints_first_program_admin():
    from django.core.management import call_command

    staff = StaffFactory()
    call_command("grant_role", staff.email, "program_admin")
    assert Role.PROGRAM_ADMIN in type(staff).objects.get(pk=staff.pk).roles
    event = AuditEvent.objects.get(verb="role.granted")
    assert event.actor is None
