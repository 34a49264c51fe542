import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from marketplace import services
from marketplace.celery import app
from marketplace.models import Role, RoleGrant
from marketplace.tasks import role_granted_notify
from tests.factories import StaffFactory


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_role_grant_email_is_delivered_by_a_real_worker_after_commit():
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory(preferred_language="fr")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        grant = services.role_grant(actor=admin, user=staff, role=Role.BUYER)
        assert _wait_for(
            lambda: RoleGrant.objects.filter(pk=grant.pk, notified_at__isnull=False).exists()
        ), "the worker should have delivered the notification"
    [message] = mail.outbox
    assert message.to == [staff.email]
    assert "Acheteur" in message.subject


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_no_task_is_enqueued_when_the_transaction_rolls_back():
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.role_grant(actor=admin, user=staff, role=Role.BUYER)
            raise RuntimeError("something later in the request failed")
        # A grant that did commit afterwards is delivered; the rolled-back one never was.
        other = StaffFactory()
        grant = services.role_grant(actor=admin, user=other, role=Role.EVALUATOR)
        assert _wait_for(
            lambda: RoleGrant.objects.filter(pk=grant.pk, notified_at__isnull=False).exists()
        )
    assert [m.to for m in mail.outbox] == [[other.email]]
    assert not RoleGrant.objects.filter(user=staff).exists()


@pytest.mark.django_db
def test_notification_task_is_idempotent(django_capture_on_commit_callbacks):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        grant = services.role_grant(actor=admin, user=staff, role=Role.BUYER)
    assert len(mail.outbox) == 1
    assert role_granted_notify(grant.pk) is False  # a redelivered message sends nothing
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_notification_task_for_a_revoked_grant_is_a_no_op():
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    staff = StaffFactory(roles=[Role.BUYER])
    grant = RoleGrant.objects.get(user=staff)
    services.role_revoke(actor=admin, user=staff, role=Role.BUYER)
    assert role_granted_notify(grant.pk) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_beat_schedule_names_registered_tasks():
    from django.conf import settings

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
