"""The outbox: writing, delivering, retrying, reading and unsubscribing from notifications."""

import datetime as dt
import re
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace import services
from marketplace.models import (
    AuditEvent,
    JobRun,
    Notification,
    NotificationOptOut,
    Role,
)
from marketplace.notifications import (
    CATALOGUE,
    link,
    translated,
    unsubscribe_read,
    unsubscribe_token,
)
from marketplace.tasks import notifications_deliver, notifications_sweep
from tests.factories import StaffFactory, SupplierFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status


def _send(recipients, *, kind="opportunity.published", key="event-1", **context):
    context = {
        "title": {"en": "Fix the date picker", "fr": "Corriger le sélecteur de date"},
        "question_deadline": {"datetime": "2026-12-01T17:00:00+00:00"},
        "closes_at": {"datetime": "2026-12-08T19:00:00+00:00"},
        "link": link("marketplace:dashboard"),
        **context,
    }
    return services.notification_send(
        kind=kind, recipients=recipients, event_key=key, context=context
    )


@pytest.fixture
def deliver_on_commit(django_capture_on_commit_callbacks):
    """Run the after-commit enqueue (eager tasks: the email goes out at once)."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def test_an_event_writes_one_notification_per_recipient_and_emails_after_commit(
    deliver_on_commit,
):
    first, second = SupplierFactory(), SupplierFactory(preferred_language="fr")
    deliver_on_commit(_send, [first, second])
    assert Notification.objects.filter(status=Status.SENT).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, second.email])


def test_nothing_is_emailed_when_the_event_rolls_back(django_capture_on_commit_callbacks):
    supplier = SupplierFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _send([supplier])
        raise RuntimeError("the event failed")
    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_the_same_event_twice_gives_one_notification(deliver_on_commit):
    supplier = SupplierFactory()
    deliver_on_commit(_send, [supplier], key="42")
    deliver_on_commit(_send, [supplier], key="42")
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_delivery_task_run_twice_sends_once(django_capture_on_commit_callbacks):
    supplier = SupplierFactory()
    with django_capture_on_commit_callbacks(execute=False):
        [pk] = _send([supplier])
    assert notifications_deliver([pk]) == 1
    assert notifications_deliver([pk]) == 0
    assert len(mail.outbox) == 1
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == (Status.SENT, 1)
    assert notification.sent_at is not None


def test_email_is_in_the_recipients_language_with_text_and_html(deliver_on_commit, settings):
    settings.SITE_URL = "https://marketplace.example"
    english = SupplierFactory(preferred_language="en", full_name="Ann Lee")
    french = SupplierFactory(preferred_language="fr", full_name="Zoé Roy")
    deliver_on_commit(_send, [english, french])
    by_recipient = {m.to[0]: m for m in mail.outbox}
    en, fr = by_recipient[english.email], by_recipient[french.email]
    assert en.subject == "Published: Fix the date picker"
    assert fr.subject == "Publiée\u00a0: Corriger le sélecteur de date"
    assert "Hello Ann," in en.body and "Bonjour Zoé," in fr.body
    assert "https://marketplace.example/en/dashboard/" in en.body
    assert "https://marketplace.example/fr/dashboard/" in fr.body
    html, mimetype = fr.alternatives[0]
    assert mimetype == "text/html" and '<html lang="fr">' in html
    assert "Corriger le sélecteur de date" in html


def test_inactive_recipients_get_nothing(deliver_on_commit):
    gone = SupplierFactory(is_active=False)
    assert deliver_on_commit(_send, [gone]) == []
    assert not Notification.objects.exists()


# --- Failures, backoff and the sweeper ----------------------------------------------------------


class FailingBackend:
    """A mail server that is down (the boundary we fake)."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise SMTPServerDisconnected("mail server went away")


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    supplier = SupplierFactory()
    with django_capture_on_commit_callbacks(execute=False):
        [pk] = _send([supplier])
    before = timezone.now()
    assert notifications_deliver([pk]) == 0
    notification = Notification.objects.get(pk=pk)
    assert notification.status == Status.FAILED
    assert notification.attempts == 1
    assert "mail server went away" in notification.last_error
    assert notification.next_attempt_at >= before + dt.timedelta(minutes=1)
    notifications_deliver([pk])
    notification.refresh_from_db()
    second_delay = notification.next_attempt_at - timezone.now()
    assert dt.timedelta(minutes=1, seconds=50) < second_delay <= dt.timedelta(minutes=2)
    notifications_deliver([pk])
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.GAVE_UP, 3)
    assert notifications_deliver([pk]) == 0  # given up: the sweeper leaves it to the admin


def test_every_attempt_at_one_notification_carries_the_same_message_id(
    settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://marketplace.example.gc.ca"
    first, second = SupplierFactory(), SupplierFactory()
    with django_capture_on_commit_callbacks(execute=False):
        _send([first, second])
    pk = Notification.objects.get(recipient=first).pk
    other_pk = Notification.objects.get(recipient=second).pk
    notifications_deliver([pk, other_pk])
    sent = {m.to[0]: m.message()["Message-ID"] for m in mail.outbox}
    assert sent[first.email] == f"<notification.{pk}@marketplace.example.gc.ca>"
    assert sent[second.email] == f"<notification.{other_pk}@marketplace.example.gc.ca>"
    # Sent again (as after a crash before its row said so): the same message for mail systems.
    Notification.objects.filter(pk=pk).update(status=Status.PENDING)
    mail.outbox.clear()
    notifications_deliver([pk])
    [again] = mail.outbox
    assert again.message()["Message-ID"] == sent[first.email]


def _sweep(capture) -> int:
    """Beat runs the sweeper outside any transaction, where its after-commit enqueue is
    immediate; inside the test's transaction, run those callbacks explicitly."""
    with capture(execute=True):
        return notifications_sweep()


def test_the_sweeper_sends_what_is_due_and_a_second_run_does_nothing(
    django_capture_on_commit_callbacks,
):
    supplier = SupplierFactory()
    with django_capture_on_commit_callbacks(execute=False):
        [pk] = _send([supplier])  # as if the broker had lost the message
    assert _sweep(django_capture_on_commit_callbacks) == 0  # still within its grace period
    Notification.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
    assert _sweep(django_capture_on_commit_callbacks) == 1
    assert _sweep(django_capture_on_commit_callbacks) == 0
    assert len(mail.outbox) == 1
    run = JobRun.objects.get(name="marketplace.tasks.notifications_sweep")
    assert run.last_finished_at is not None and run.last_result == "0"


def test_the_sweeper_retries_a_failed_notification_once_its_backoff_has_passed(
    settings, django_capture_on_commit_callbacks
):
    supplier = SupplierFactory()
    with django_capture_on_commit_callbacks(execute=False):
        [pk] = _send([supplier])
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    notifications_deliver([pk])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _sweep(django_capture_on_commit_callbacks) == 0  # backoff not over
    Notification.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
    assert _sweep(django_capture_on_commit_callbacks) == 1
    assert Notification.objects.get(pk=pk).status == Status.SENT
    assert len(mail.outbox) == 1


# --- Preferences and unsubscribe ------------------------------------------------------------------


def test_an_opted_out_kind_is_kept_in_the_inbox_but_not_emailed(deliver_on_commit):
    supplier = SupplierFactory()
    NotificationOptOut.objects.create(user=supplier, kind="opportunity.published")
    assert deliver_on_commit(_send, [supplier]) == []
    assert Notification.objects.get().status == Status.SUPPRESSED
    assert mail.outbox == []


def test_mandatory_kinds_ignore_opt_outs_and_carry_no_unsubscribe_link(deliver_on_commit):
    staff = StaffFactory()
    NotificationOptOut.objects.create(user=staff, kind="role.granted")
    deliver_on_commit(
        services.notification_send,
        kind="role.granted",
        recipients=[staff],
        event_key="1",
        context={"role": translated(Role.BUYER.label), "link": link("marketplace:dashboard")},
    )
    [message] = mail.outbox
    assert "unsubscribe" not in message.body
    assert "List-Unsubscribe" not in message.extra_headers
    assert "always sent" in message.body


def _unsubscribe_url(message) -> str:
    return re.search(r"https?://\S+/notifications/unsubscribe/\S+/", message.body).group(0)


def test_unsubscribe_link_works_without_signing_in_and_only_for_its_kind(client, deliver_on_commit):
    supplier = SupplierFactory()
    deliver_on_commit(_send, [supplier])
    [message] = mail.outbox
    url = _unsubscribe_url(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<{url}>"
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200
    assert b"Stop emails for" in page.content
    assert not NotificationOptOut.objects.exists()  # a mail scanner following the link: no-op
    done = client.post(f"/{path}")
    assert done.status_code == 200
    assert list(NotificationOptOut.objects.values_list("user", "kind")) == [
        (supplier.pk, "opportunity.published")
    ]
    assert AuditEvent.objects.filter(verb="notifications.unsubscribed").count() == 1
    # Another kind still reaches them.
    deliver_on_commit(_send, [supplier], kind="opportunity.closed", key="2")
    assert len(mail.outbox) == 2


def test_one_click_unsubscribe_post_needs_no_csrf_token(deliver_on_commit):
    from django.test import Client

    supplier = SupplierFactory()
    token = unsubscribe_token(supplier.pk, "question.answered")
    response = Client(enforce_csrf_checks=True).post(
        reverse("marketplace:unsubscribe", args=[token]), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert NotificationOptOut.objects.filter(user=supplier, kind="question.answered").exists()


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        unsubscribe_token(1, "role.granted"),  # mandatory kinds cannot be stopped
        unsubscribe_token(1, "no.such.kind"),
    ],
)
def test_a_bad_or_tampered_unsubscribe_token_is_a_404(client, token):
    SupplierFactory()
    assert client.get(reverse("marketplace:unsubscribe", args=[token])).status_code == 404
    assert client.post(reverse("marketplace:unsubscribe", args=[token])).status_code == 404
    assert not NotificationOptOut.objects.exists()


def test_a_token_with_an_altered_payload_is_refused(client):
    victim = SupplierFactory()
    payload, signature = unsubscribe_token(victim.pk, "question.answered").split(":", 1)
    forged = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}:{signature}"
    assert client.post(reverse("marketplace:unsubscribe", args=[forged])).status_code == 404
    assert not NotificationOptOut.objects.exists()


def test_preferences_page_lists_the_kinds_for_the_users_roles_and_saves(client):
    supplier = SupplierFactory()
    client.force_login(supplier)
    page = client.get(reverse("marketplace:notification_preferences"))
    assert page.status_code == 200
    optional = [k.code for k in CATALOGUE.values() if Role.SUPPLIER in k.roles and not k.mandatory]
    for code in optional:
        assert f'value="{code}"' in page.content.decode()
    assert 'value="opportunity.submitted"' not in page.content.decode()  # an admin's kind
    keep = [code for code in optional if code != "opportunity.closing_soon"]
    response = client.post(reverse("marketplace:notification_preferences"), {"emailed": keep})
    assert response.status_code == 302
    assert list(supplier.notification_opt_outs.values_list("kind", flat=True)) == [
        "opportunity.closing_soon"
    ]
    client.post(reverse("marketplace:notification_preferences"), {"emailed": optional})
    assert not supplier.notification_opt_outs.exists()


def test_preferences_refuse_an_unknown_kind_with_a_form_error(client):
    supplier = SupplierFactory()
    client.force_login(supplier)
    response = client.post(
        reverse("marketplace:notification_preferences"), {"emailed": ["<script>"]}
    )
    assert response.status_code == 200
    assert "is not one of the available choices" in response.content.decode()
    assert not supplier.notification_opt_outs.exists()


# --- The inbox --------------------------------------------------------------------------------


def test_inbox_lists_own_notifications_in_the_page_language_with_unread_count(
    client, deliver_on_commit
):
    supplier, other = SupplierFactory(preferred_language="en"), SupplierFactory()
    deliver_on_commit(_send, [supplier, other])
    client.force_login(supplier)
    page = client.get("/fr/notifications/")
    content = page.content.decode()
    assert "Publiée\u00a0: Corriger le sélecteur de date" in content
    assert '<span class="gc-badge">1<' in content
    assert content.count("notification-unread") == 1


def test_opening_a_notification_marks_it_read_and_goes_to_the_object(client, deliver_on_commit):
    supplier = SupplierFactory()
    deliver_on_commit(_send, [supplier])
    notification = Notification.objects.get()
    client.force_login(supplier)
    response = client.post(reverse("marketplace:notification_open", args=[notification.pk]))
    assert response.status_code == 302 and response.url == "/en/dashboard/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    inbox = client.get(reverse("marketplace:inbox")).content.decode()
    assert '<span class="gc-badge">' not in inbox  # no unread count left


def test_another_users_notification_is_a_404(client, deliver_on_commit):
    owner, intruder = SupplierFactory(), SupplierFactory()
    deliver_on_commit(_send, [owner])
    notification = Notification.objects.get()
    client.force_login(intruder)
    for name in ("marketplace:notification_open", "marketplace:notification_read"):
        assert client.post(reverse(name, args=[notification.pk])).status_code == 404
    assert Notification.objects.get().read_at is None


def test_mark_all_read_only_touches_own_notifications(client, deliver_on_commit):
    owner, other = SupplierFactory(), SupplierFactory()
    deliver_on_commit(_send, [owner, other])
    deliver_on_commit(_send, [owner], key="event-2")
    client.force_login(owner)
    client.post(reverse("marketplace:notifications_read_all"))
    assert not owner.notifications.filter(read_at__isnull=True).exists()
    assert other.notifications.get().read_at is None


def test_inbox_is_empty_state_and_signed_in_only(client):
    assert client.get(reverse("marketplace:inbox")).status_code == 302
    client.force_login(SupplierFactory())
    assert (
        "You have no notifications yet" in client.get(reverse("marketplace:inbox")).content.decode()
    )


def test_inbox_paginates(client, deliver_on_commit):
    supplier = SupplierFactory()
    for number in range(30):
        deliver_on_commit(_send, [supplier], key=f"event-{number}")
    client.force_login(supplier)
    first = client.get(reverse("marketplace:inbox"))
    assert len(first.context["notifications"]) == 25
    second = client.get(reverse("marketplace:inbox"), {"page": 2})
    assert len(second.context["notifications"]) == 5


# --- Operations ---------------------------------------------------------------------------------


def test_operations_page_is_for_program_admins_only(client):
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert client.get(reverse("marketplace:operations")).status_code == 403
    client.force_login(SupplierFactory())
    assert client.get(reverse("marketplace:operations")).status_code == 403


def test_operations_lists_given_up_notifications_and_jobs_and_retries(
    client, settings, django_capture_on_commit_callbacks
):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    supplier = SupplierFactory()
    with django_capture_on_commit_callbacks(execute=False):
        [pk] = _send([supplier])
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    notifications_deliver([pk])
    _sweep(django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(admin)
    page = client.get(reverse("marketplace:operations")).content.decode()
    assert supplier.email in page and "mail server went away" in page
    sweep_row = page.split("<code>send-outbox</code>")[1].split("</tr>")[0]
    assert "every minute" in sweep_row and "never" not in sweep_row
    assert "never" in page.split("<code>daily-alert-digest</code>")[1].split("</tr>")[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("marketplace:notification_retry", args=[pk]))
    assert response.status_code == 302
    assert Notification.objects.get(pk=pk).status == Status.SENT
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(verb="notification.retried", actor=admin).exists()
    # Already sent: a second retry is refused with a message, nothing resent.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketplace:notification_retry", args=[pk]))
    assert len(mail.outbox) == 1


def test_retry_all_given_up(client, settings, django_capture_on_commit_callbacks):
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    suppliers = SupplierFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=False):
        ids = _send(suppliers)
    Notification.objects.filter(pk__in=ids).update(status=Status.GAVE_UP, attempts=8)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketplace:notifications_retry_all"))
    assert Notification.objects.filter(status=Status.SENT).count() == 3
    client.force_login(suppliers[0])
    assert client.post(reverse("marketplace:notifications_retry_all")).status_code == 403


def test_role_granted_uses_the_outbox(program_admin_and_staff, deliver_on_commit):
    _admin, staff = program_admin_and_staff
    # The command line's grant (a program admin's needs a second one's approval).
    deliver_on_commit(services.role_grant, actor=None, user=staff, role=Role.CARD_HOLDER)
    notification = Notification.objects.get(recipient=staff)
    assert notification.kind == "role.granted" and notification.status == Status.SENT
    assert "Card holder" in mail.outbox[0].subject


@pytest.fixture
def program_admin_and_staff():
    return StaffFactory(roles=[Role.PROGRAM_ADMIN]), StaffFactory()


def test_run_scheduled_jobs_runs_each_beat_job_once_and_records_it():
    from io import StringIO

    from django.conf import settings
    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("run_scheduled_jobs", stdout=out)
    for name in settings.CELERY_BEAT_SCHEDULE:
        assert f"{name}: " in out.getvalue()
    assert JobRun.objects.count() == len(settings.CELERY_BEAT_SCHEDULE)
    with pytest.raises(CommandError, match="Unknown jobs: nope"):
        call_command("run_scheduled_jobs", "nope")


@pytest.mark.django_db(transaction=True)
def test_deliveries_racing_for_the_same_batch_send_each_email_once(settings):
    """Two workers handed the same batch (a redelivered message, a sweep) at the same time."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (run by `make test` with DATABASE_URL set)")
    recipients = [StaffFactory(roles=[Role.BUYER]) for _ in range(20)]
    with transaction.atomic():
        ids = _send(recipients)
    # As if the task enqueued at commit had been lost: the rows wait, and two workers (the
    # task redelivered, the sweeper's) take the same batch at the same moment.
    Notification.objects.filter(pk__in=ids).update(status=Status.PENDING, attempts=0)
    mail.outbox.clear()
    start = threading.Barrier(3)
    sent = []

    def deliver():
        start.wait()
        try:
            sent.append(services.notifications_deliver(notification_ids=ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(sent) == 20
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in recipients)
    rows = Notification.objects.filter(pk__in=ids)
    assert {(n.status, n.attempts) for n in rows} == {(Status.SENT, 1)}


def test_one_batch_renders_an_event_once_per_language_and_each_email_is_personal(
    deliver_on_commit, monkeypatch
):
    from marketplace import notifications

    renders = []
    real = notifications._shared_email
    monkeypatch.setattr(
        notifications, "_shared_email", lambda n: renders.append(n.language) or real(n)
    )
    people = [
        SupplierFactory(full_name="<Ada> Lovelace", preferred_language="en"),
        SupplierFactory(full_name="Grace Hopper", preferred_language="en"),
        SupplierFactory(full_name="Émilie Châtelet", preferred_language="fr"),
    ]
    deliver_on_commit(_send, people)
    assert sorted(renders) == ["en", "fr"]  # three emails, two renderings
    by_address = {m.to[0]: m for m in mail.outbox}
    for person in people:
        message = by_address[person.email]
        html = message.alternatives[0][0]
        first_name = person.greeting_name
        assert first_name in message.body
        assert "recipient-greeting" not in message.body + html
        assert "unsubscribe-url" not in message.body + html
        token = _unsubscribe_url(message).rstrip("/").rsplit("/", 1)[1]
        assert unsubscribe_read(token) == (person.pk, "opportunity.published")
        assert message.extra_headers["List-Unsubscribe"] == f"<{_unsubscribe_url(message)}>"
        assert _unsubscribe_url(message) in html
    ada = by_address[people[0].email]
    assert "Hello <Ada>," in ada.body  # plain text: as typed
    assert "Hello &lt;Ada&gt;," in ada.alternatives[0][0]  # HTML: escaped
    assert "Bonjour" in by_address[people[2].email].body
