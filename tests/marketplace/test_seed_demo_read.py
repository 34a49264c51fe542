"""The demo as seeded (`seed_demo`), read by tests that change nothing: seeded once for the
module (`seeded_demo`, tests/conftest.py) instead of once per test. The tests that seed twice,
sign in, or need what runs on commit are in tests/marketplace/test_seed_demo.py."""

import pytest
from allauth.account.models import EmailAddress

from bids.models import Answer, Bid
from demo.evaluation import AWARDED_TITLE, DELIVERED_TITLE, PAID_TITLE
from evaluation.models import Evaluation, PanelMember
from marketplace.models import Role, SupplierProfile, User
from opportunities.models import Addendum, Opportunity, Question
from payments.models import CardLimit, Contract, Payment
from tests.support.demo import DEMO_PASSWORD, LIVE_BUYER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_demo")]


def test_seed_demo_creates_the_documented_accounts():
    expected_roles = {
        "admin@demo.gc.ca": {Role.PROGRAM_ADMIN},
        "admin2@demo.gc.ca": {Role.PROGRAM_ADMIN},  # the second, for two-person approvals
        "buyer@demo.gc.ca": {Role.BUYER},
        "evaluator1@demo.gc.ca": {Role.EVALUATOR},
        "evaluator2@demo.gc.ca": {Role.EVALUATOR},
        "cardholder@demo.gc.ca": {Role.CARD_HOLDER},
        "ops@demo.gc.ca": frozenset(),  # the technical admin site, no marketplace role
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
    # The admin site is the technical team's, not the program administrators' daily tool.
    staff_flags = dict(User.objects.filter(is_staff=True).values_list("email", "is_superuser"))
    assert staff_flags == {"ops@demo.gc.ca": True}
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


def test_seed_demo_posts_varied_opportunities():
    from datetime import timedelta

    from django.utils import timezone

    Status = Opportunity.Status
    live = Opportunity.objects.filter(buyer__email=LIVE_BUYER)
    assert live.count() == 14
    published = Opportunity.objects.filter(status=Status.PUBLISHED)
    assert not published.exclude(buyer__email=LIVE_BUYER).exists()
    assert published.count() >= 6
    assert all(o.title_fr and o.description_fr for o in published)
    assert len({o.value_cents for o in published}) >= 4
    assert published.filter(closes_at__lte=timezone.now() + timedelta(hours=24)).count() == 1
    for status in (Status.DRAFT, Status.IN_REVIEW, Status.CANCELLED):
        assert live.filter(status=status).count() == 1
    assert (
        not Opportunity.objects.exclude(buyer__email=LIVE_BUYER)
        .filter(status__in=(Status.DRAFT, Status.IN_REVIEW))
        .exists()
    )
    assert Question.objects.filter(answered_at__isnull=False).exists()
    assert Addendum.objects.exists()


def test_seed_demo_has_sealed_bids_that_name_their_authors_and_a_draft():
    sealed = Bid.objects.filter(status=Bid.Status.SEALED).select_related("opportunity")
    assert sorted(b.supplier.email for b in sealed) == [
        "supplier1@demo.example",
        "supplier2@demo.example",
        "supplier3@demo.example",
    ]
    assert {b.opportunity.status for b in sealed} == {Opportunity.Status.EVALUATING}
    texts = " ".join(a.text for a in Answer.objects.filter(bid__in=sealed))
    for identity in ("mlcw-dev", "Jamal Okafor", "nlac11y.example", "praman-codes"):
        assert identity in texts
    draft = Bid.objects.get(status=Bid.Status.DRAFT)
    assert draft.supplier.email == "supplier1@demo.example"
    assert draft.opportunity.status == Opportunity.Status.PUBLISHED
    # Supplier 4 wins the three awarded live works; none of suppliers 1-3 wins any of them.
    live = Bid.objects.filter(opportunity__buyer__email=LIVE_BUYER)
    won = live.filter(supplier__email="supplier4@demo.example")
    assert {b.status for b in won} == {Bid.Status.AWARDED}
    assert not live.filter(status=Bid.Status.AWARDED).exclude(supplier__email=(
        "supplier4@demo.example"
    )).exists()  # fmt: skip


def test_seed_demo_has_work_in_progress_delivered_and_paid():
    contracts = {
        c.opportunity.title_en: c
        for c in Contract.objects.filter(
            supplier__email="supplier4@demo.example", opportunity__buyer__email=LIVE_BUYER
        )
    }
    assert {title: c.status for title, c in contracts.items()} == {
        AWARDED_TITLE: Contract.Status.IN_PROGRESS,
        DELIVERED_TITLE: Contract.Status.DELIVERED,
        PAID_TITLE: Contract.Status.ACCEPTED,
    }
    paid = contracts[PAID_TITLE]
    assert paid.payment.status == Payment.Status.PAID
    assert paid.payment.provider == Payment.Provider.RECORDED_CARD
    assert paid.payment.payer.email == "cardholder@demo.gc.ca"
    assert paid.opportunity.status == Opportunity.Status.COMPLETED
    assert contracts[AWARDED_TITLE].opportunity.status == Opportunity.Status.IN_DELIVERY
    assert CardLimit.objects.filter(card_holder__email="cardholder@demo.gc.ca").exists()


def test_seed_demo_has_an_evaluation_ready_to_walk_through():
    evaluation = Evaluation.objects.get(status=Evaluation.Status.PANEL)
    assert evaluation.packets.count() == 3
    texts = " ".join(a["text"] for p in evaluation.packets.all() for a in p.answers)
    for identity in ("mlcw-dev", "Jamal Okafor", "nlac11y.example", "praman-codes", "Tremblay"):
        assert identity not in texts
    panel = {m.evaluator.email: m for m in evaluation.panel.all()}
    assert panel["evaluator2@demo.gc.ca"].is_chair
    assert not panel["evaluator1@demo.gc.ca"].is_chair
    assert {m.declaration for m in panel.values()} == {PanelMember.Declaration.PENDING}
