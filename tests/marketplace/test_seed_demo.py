import pytest
from allauth.account.models import EmailAddress
from django.core import serializers
from django.core.management import call_command

from marketplace.models import AuditEvent, Role, RoleGrant, SupplierProfile, User
from opportunities.models import Addendum, Criterion, Opportunity, Question, Skill

pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "demo-pass-2026!"


def _snapshot() -> str:
    models = [
        User,
        RoleGrant,
        SupplierProfile,
        EmailAddress,
        AuditEvent,
        Skill,
        Opportunity,
        Criterion,
        Question,
        Addendum,
    ]
    rows = []
    for model in models:
        rows.append(serializers.serialize("json", model.objects.order_by("pk")))
    return "\n".join(rows)


def test_seed_demo_twice_leaves_the_same_data(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    first = _snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert _snapshot() == first


def test_seed_demo_creates_the_documented_accounts():
    call_command("seed_demo", verbosity=0)
    expected_roles = {
        "admin@demo.gc.ca": {Role.PROGRAM_ADMIN},
        "buyer@demo.gc.ca": {Role.BUYER},
        "evaluator1@demo.gc.ca": {Role.EVALUATOR},
        "evaluator2@demo.gc.ca": {Role.EVALUATOR},
        "cardholder@demo.gc.ca": {Role.CARD_HOLDER},
        "supplier1@demo.example": {Role.SUPPLIER},
        "supplier2@demo.example": {Role.SUPPLIER},
        "supplier3@demo.example": {Role.SUPPLIER},
        "supplier4@demo.example": {Role.SUPPLIER},
    }
    for email, roles in expected_roles.items():
        user = User.objects.get(email=email)
        assert user.roles == roles, email
        assert user.check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.get(user=user).verified
    mlcw = SupplierProfile.objects.get(user__email="supplier1@demo.example")
    assert (mlcw.legal_name, mlcw.trading_name, mlcw.contact_name) == (
        "Maple Leaf Code Works Inc.",
        "MLCW",
        "Aurélie Tremblay",
    )
    assert (mlcw.github_handle, mlcw.website, mlcw.phone, mlcw.province) == (
        "mlcw-dev",
        "https://mapleleaf-code.example",
        "613-555-0142",
        "ON",
    )
    priya = SupplierProfile.objects.get(user__email="supplier3@demo.example")
    assert (priya.kind, priya.legal_name, priya.github_handle, priya.province) == (
        "individual",
        "Priya Raman",
        "praman-codes",
        "BC",
    )
    assert SupplierProfile.objects.get(user__email="supplier2@demo.example").province == "MB"
    assert SupplierProfile.objects.get(user__email="supplier4@demo.example").province == "QC"
    assert all(profile.is_complete for profile in SupplierProfile.objects.all())


def test_demo_accounts_sign_in_without_mfa(client, settings):
    settings.STAFF_MFA_REQUIRED = False
    call_command("seed_demo", verbosity=0)
    response = client.post(
        "/en/accounts/login/", {"login": "buyer@demo.gc.ca", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/en/dashboard/").status_code == 200


def test_seed_demo_posts_varied_opportunities():
    from datetime import timedelta

    from django.utils import timezone

    call_command("seed_demo", verbosity=0)
    Status = Opportunity.Status
    published = Opportunity.objects.filter(status=Status.PUBLISHED)
    assert published.count() >= 6
    assert all(o.title_fr and o.description_fr for o in published)
    assert len({o.value_cents for o in published}) >= 4
    assert published.filter(closes_at__lte=timezone.now() + timedelta(hours=24)).count() == 1
    for status in (Status.DRAFT, Status.IN_REVIEW, Status.CANCELLED):
        assert Opportunity.objects.filter(status=status).count() == 1
    assert Question.objects.filter(answered_at__isnull=False).exists()
    assert Addendum.objects.exists()
