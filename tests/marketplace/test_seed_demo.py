import pytest
from allauth.account.models import EmailAddress
from django.core import serializers
from django.core.management import call_command

from bids.models import Answer, Bid, Receipt
from evaluation.models import ConsensusMark, Evaluation, Mark, Offer, Packet, PanelMember
from marketplace.models import AuditEvent, Notification, RoleGrant, SupplierProfile, User
from opportunities.models import Addendum, Alert, Criterion, Opportunity, Question, Skill, Watch
from payments.models import CardLimit, Contract, Payment, PaymentEvent
from reports.models import DiversitySnapshot, SelfIdentification
from tests.support.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

# The tests that only read the demo share one seeding: tests/marketplace/test_seed_demo_read.py.


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
        Alert,
        Watch,
        Notification,
        Bid,
        Answer,
        Receipt,
        Evaluation,
        Packet,
        PanelMember,
        Mark,
        ConsensusMark,
        Offer,
        Contract,
        Payment,
        PaymentEvent,
        CardLimit,
        SelfIdentification,
        DiversitySnapshot,
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


def test_demo_accounts_sign_in_without_mfa(client, settings):
    settings.STAFF_MFA_REQUIRED = False
    call_command("seed_demo", verbosity=0)
    response = client.post(
        "/en/accounts/login/", {"login": "buyer@demo.gc.ca", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/en/dashboard/").status_code == 200


def test_seed_demo_gives_the_demo_inboxes_something_to_show(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    kinds = set(Notification.objects.values_list("kind", "recipient__email"))
    assert ("opportunity.submitted", "admin@demo.gc.ca") in kinds
    assert ("question.asked", "buyer@demo.gc.ca") in kinds
    assert ("opportunity.alert", "supplier3@demo.example") in kinds
    assert ("opportunity.amended", "supplier1@demo.example") in kinds
    assert ("question.answered", "supplier2@demo.example") in kinds
    assert not Notification.objects.exclude(status=Notification.Status.SENT).exists()
