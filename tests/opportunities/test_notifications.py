"""The catalogue entries that opportunities send, and the scheduled jobs behind them."""

import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lifecycle import closing
from marketplace.models import Notification, Role, User
from marketplace.tasks import notifications_deliver
from opportunities import tasks
from opportunities.addenda import opportunity_amend
from opportunities.cancellation import opportunity_cancel
from opportunities.models import Alert, Opportunity, Watch
from opportunities.publishing import (
    opportunity_publish,
    opportunity_request_changes,
    opportunity_submit_for_review,
)
from opportunities.questions import question_answer, question_ask
from tests.factories import (
    PASSWORD_HASH,
    OpportunityFactory,
    SkillFactory,
    StaffFactory,
    SupplierFactory,
)

pytestmark = pytest.mark.django_db

Status = Opportunity.Status


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def _kinds_for(user: User) -> list[str]:
    return sorted(user.notifications.values_list("kind", flat=True))


def _emails_to(user: User):
    return [m for m in mail.outbox if m.to == [user.email]]


def _published(run_on_commit, program_admin, **kwargs) -> Opportunity:
    opportunity = OpportunityFactory(**kwargs)
    run_on_commit(opportunity_submit_for_review, actor=opportunity.buyer, opportunity=opportunity)
    return run_on_commit(opportunity_publish, actor=program_admin, opportunity=opportunity)


def test_submission_notifies_every_program_admin(run_on_commit, draft, program_admin):
    other_admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    run_on_commit(opportunity_submit_for_review, actor=draft.buyer, opportunity=draft)
    for admin in (program_admin, other_admin):
        [message] = _emails_to(admin)
        assert message.subject == f"For review: {draft.title_en}"
        assert f"/en/opportunities/{draft.pk}/review/" in message.body
    assert _emails_to(draft.buyer) == []


def test_changes_requested_notifies_the_buyer_with_the_note(run_on_commit, draft, program_admin):
    draft.buyer.preferred_language = "fr"
    draft.buyer.save()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    run_on_commit(
        opportunity_request_changes,
        actor=program_admin,
        opportunity=draft,
        note="Split the deliverables into two lines.",
    )
    [message] = _emails_to(draft.buyer)
    assert message.subject == f"Modifications demandées\u00a0: {draft.title_fr}"
    assert "Split the deliverables into two lines." in message.body
    assert f"/fr/opportunities/{draft.pk}/edit/" in message.body


def test_publication_notifies_the_buyer(run_on_commit, program_admin):
    opportunity = _published(run_on_commit, program_admin)
    [message] = _emails_to(opportunity.buyer)
    assert message.subject == f"Published: {opportunity.title_en}"
    assert "(Eastern time)" in message.body


def test_immediate_alert_reaches_matching_suppliers_only(run_on_commit, program_admin):
    python, design = SkillFactory(slug="python"), SkillFactory(slug="design")
    wants_python = SupplierFactory()
    Alert.objects.create(user=wants_python, frequency=Alert.Frequency.IMMEDIATE).skills.set(
        [python]
    )
    wants_design = SupplierFactory()
    Alert.objects.create(user=wants_design, frequency=Alert.Frequency.IMMEDIATE).skills.set(
        [design]
    )
    wants_anything = SupplierFactory(preferred_language="fr")
    Alert.objects.create(user=wants_anything, frequency=Alert.Frequency.IMMEDIATE)
    wants_other_type = SupplierFactory()
    Alert.objects.create(
        user=wants_other_type, frequency=Alert.Frequency.IMMEDIATE, types=["prototype"]
    )
    daily = SupplierFactory()
    Alert.objects.create(user=daily, frequency=Alert.Frequency.DAILY)

    opportunity = _published(run_on_commit, program_admin, skills=[python], type="bug_fix")

    assert [m.subject for m in _emails_to(wants_python)] == [
        f"New opportunity: {opportunity.title_en}"
    ]
    assert [m.subject for m in _emails_to(wants_anything)] == [
        f"Nouvelle occasion\u00a0: {opportunity.title_fr}"
    ]
    for nobody in (wants_design, wants_other_type, daily):
        assert _emails_to(nobody) == []
    opportunity.refresh_from_db()
    assert opportunity.alerts_sent_at is not None
    # Fan-out run again (a redelivered message, the sweeper): nobody is alerted twice.
    assert tasks.opportunity_alerts_fanout(opportunity.pk) == 0
    assert tasks.opportunities_alerts_due() == 0
    assert len(_emails_to(wants_python)) == 1


def test_alerts_lost_at_publication_are_sent_by_the_beat_job(
    run_on_commit, program_admin, django_capture_on_commit_callbacks
):
    supplier = SupplierFactory()
    Alert.objects.create(user=supplier, frequency=Alert.Frequency.IMMEDIATE)
    opportunity = OpportunityFactory()
    opportunity_submit_for_review(actor=opportunity.buyer, opportunity=opportunity)
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost every message
        opportunity_publish(actor=program_admin, opportunity=opportunity)
    assert tasks.opportunities_alerts_due() == 0  # give the fan-out a minute first
    Opportunity.objects.filter(pk=opportunity.pk).update(
        published_at=timezone.now() - dt.timedelta(minutes=2)
    )
    run_on_commit(tasks.opportunities_alerts_due)
    assert len(_emails_to(supplier)) == 1
    assert tasks.opportunities_alerts_due() == 0


def test_daily_digest_lists_the_days_matches_once(run_on_commit, program_admin, settings):
    python = SkillFactory(slug="python")
    supplier = SupplierFactory()
    Alert.objects.create(user=supplier, frequency=Alert.Frequency.DAILY).skills.set([python])
    uninterested = SupplierFactory()
    Alert.objects.create(user=uninterested, frequency=Alert.Frequency.DAILY, types=["analysis"])
    first = _published(run_on_commit, program_admin, skills=[python])
    second = _published(run_on_commit, program_admin, skills=[python])
    unrelated = _published(run_on_commit, program_admin, type="prototype")
    assert _emails_to(supplier) == []  # daily, not immediate

    # The next digest after now, whatever time of day the test runs.
    now = timezone.localtime()
    at_digest_hour = now.replace(hour=settings.ALERT_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if at_digest_hour <= now:
        at_digest_hour += dt.timedelta(days=1)
    run_on_commit(tasks.alerts_daily_digest, now=at_digest_hour.isoformat())
    run_on_commit(tasks.alerts_daily_digest, now=at_digest_hour.isoformat())  # run twice

    [message] = _emails_to(supplier)
    assert message.subject == "2 new opportunities match your alert"
    assert first.title_en in message.body and second.title_en in message.body
    assert unrelated.title_en not in message.body
    assert _emails_to(uninterested) == []


@pytest.mark.parametrize(
    ("sent_at", "covers_from", "covers_to"),
    [
        ("2026-11-23T07:00", "2026-11-22T07:00", "2026-11-23T07:00"),  # on the hour
        ("2026-11-23T06:59", "2026-11-21T07:00", "2026-11-22T07:00"),  # just before it
        ("2026-11-23T23:30", "2026-11-22T07:00", "2026-11-23T07:00"),  # late in the day
        ("2026-11-23T00:10", "2026-11-21T07:00", "2026-11-22T07:00"),  # after midnight
    ],
)
def test_digest_window_is_the_24_hours_up_to_the_last_digest_hour(
    settings, sent_at, covers_from, covers_to
):
    settings.ALERT_DIGEST_HOUR = 7
    zone = timezone.get_current_timezone()

    def local(text):
        return dt.datetime.fromisoformat(text).replace(tzinfo=zone)

    assert tasks.digest_window(local(sent_at)) == (local(covers_from), local(covers_to))


def test_digest_with_nothing_new_sends_nothing(run_on_commit):
    Alert.objects.create(user=SupplierFactory(), frequency=Alert.Frequency.DAILY)
    assert run_on_commit(tasks.alerts_daily_digest) == 0
    assert mail.outbox == []


def test_addendum_notifies_watchers_in_their_language(run_on_commit, program_admin):
    opportunity = _published(run_on_commit, program_admin)
    watcher = SupplierFactory(preferred_language="fr")
    Watch.objects.create(user=watcher, opportunity=opportunity)
    bystander = SupplierFactory()
    mail.outbox.clear()
    run_on_commit(
        opportunity_amend,
        actor=opportunity.buyer,
        opportunity=opportunity,
        note_en="The deadline moves by a week.",
        note_fr="La date limite est reportée de sept jours.",
        closes_at=opportunity.closes_at + dt.timedelta(days=7),
    )
    [message] = _emails_to(watcher)
    assert message.subject == f"Addenda 1\u00a0: {opportunity.title_fr}"
    assert "La date limite est reportée de sept jours." in message.body
    assert _emails_to(bystander) == []


def test_question_notifies_the_buyer_and_the_answer_the_asker_and_watchers(
    run_on_commit, program_admin
):
    opportunity = _published(run_on_commit, program_admin)
    asker, watcher = SupplierFactory(), SupplierFactory()
    Watch.objects.create(user=watcher, opportunity=opportunity)
    Watch.objects.create(user=asker, opportunity=opportunity)  # both: still one email
    mail.outbox.clear()
    question = run_on_commit(
        question_ask, asker=asker, opportunity=opportunity, text="Is Python 3.12 ok?"
    )
    [asked] = _emails_to(opportunity.buyer)
    assert "Is Python 3.12 ok?" in asked.body
    assert asker.email not in asked.body  # the asker stays anonymous, even to the buyer
    run_on_commit(
        question_answer,
        actor=opportunity.buyer,
        question=question,
        answer_en="Yes, 3.11 or later.",
        answer_fr="Oui, 3.11 ou plus récent.",
    )
    for person in (asker, watcher):
        [answered] = _emails_to(person)
        assert answered.subject == f"Question answered: {opportunity.title_en}"
        assert "Yes, 3.11 or later." in answered.body


def test_cancellation_notifies_watchers_and_the_buyer_when_someone_else_cancels(
    run_on_commit, program_admin
):
    opportunity = _published(run_on_commit, program_admin)
    watcher = SupplierFactory()
    Watch.objects.create(user=watcher, opportunity=opportunity)
    mail.outbox.clear()
    run_on_commit(
        opportunity_cancel,
        actor=program_admin,
        opportunity=opportunity,
        reason="The team fixed it internally.",
    )
    for person in (watcher, opportunity.buyer):
        [message] = _emails_to(person)
        assert "The team fixed it internally." in message.body


def test_closing_notifies_the_buyer(run_on_commit, program_admin):
    opportunity = _published(run_on_commit, program_admin)
    mail.outbox.clear()
    later = opportunity.closes_at + dt.timedelta(seconds=1)
    run_on_commit(closing.opportunity_close, opportunity=opportunity, now=later)
    subjects = [m.subject for m in _emails_to(opportunity.buyer)]
    assert f"Closed for bids: {opportunity.title_en}" in subjects
    assert f"No bids: {opportunity.title_en}" in subjects  # and so, nothing to evaluate


def test_closing_reminders_48_and_24_hours_before_once_each(run_on_commit, program_admin):
    opportunity = _published(run_on_commit, program_admin)
    watcher = SupplierFactory()
    Watch.objects.create(user=watcher, opportunity=opportunity)
    closes = opportunity.closes_at
    three_days_before = (closes - dt.timedelta(days=3)).isoformat()
    at_47h = (closes - dt.timedelta(hours=47)).isoformat()
    at_30h = (closes - dt.timedelta(hours=30)).isoformat()
    at_23h = (closes - dt.timedelta(hours=23)).isoformat()

    assert run_on_commit(tasks.opportunities_closing_reminders, now=three_days_before) == 0
    assert run_on_commit(tasks.opportunities_closing_reminders, now=at_47h) == 1
    assert run_on_commit(tasks.opportunities_closing_reminders, now=at_30h) == 0  # once
    assert run_on_commit(tasks.opportunities_closing_reminders, now=at_23h) == 1
    assert run_on_commit(tasks.opportunities_closing_reminders, now=at_23h) == 0
    assert [m.subject for m in _emails_to(watcher)] == [
        f"Closes in 48 hours: {opportunity.title_en}",
        f"Closes in 24 hours: {opportunity.title_en}",
    ]


def test_a_moved_deadline_gets_its_own_reminders(run_on_commit, program_admin):
    opportunity = _published(run_on_commit, program_admin)
    watcher = SupplierFactory()
    Watch.objects.create(user=watcher, opportunity=opportunity)
    at_23h = opportunity.closes_at - dt.timedelta(hours=23)
    run_on_commit(tasks.opportunities_closing_reminders, now=at_23h.isoformat())
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=opportunity.closes_at + dt.timedelta(days=2)
    )
    run_on_commit(
        tasks.opportunities_closing_reminders,
        now=(at_23h + dt.timedelta(days=2)).isoformat(),
    )
    assert len(_emails_to(watcher)) == 2


def test_the_beat_schedule_names_registered_tasks_with_run_records():
    from django.conf import settings

    from marketplace.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


# --- Fan-out at scale -------------------------------------------------------------------------


def test_alert_fan_out_to_50000_suppliers_grows_in_batches_not_per_recipient(
    program_admin, settings, django_capture_on_commit_callbacks
):
    """50,000 subscribers: queries and tasks are counted per chunk of 1,000 (alerts) and per
    batch of 100 (emails), never per supplier."""
    total = 50_000
    users = User.objects.bulk_create(
        User(email=f"fan{n}@example.com", password=PASSWORD_HASH, preferred_language="en")
        for n in range(total)
    )
    Alert.objects.bulk_create(
        Alert(user=user, frequency=Alert.Frequency.IMMEDIATE) for user in users
    )
    opportunity = OpportunityFactory()
    opportunity_submit_for_review(actor=opportunity.buyer, opportunity=opportunity)
    with django_capture_on_commit_callbacks(execute=False):
        opportunity_publish(actor=program_admin, opportunity=opportunity)

    chunk_calls = []
    with (
        mock.patch.object(
            tasks.opportunity_alerts_chunk,
            "apply_async",
            side_effect=lambda args, **options: chunk_calls.append(args),
        ),
        CaptureQueriesContext(connection) as fanout_queries,
    ):
        assert tasks.opportunity_alerts_fanout(opportunity.pk) == total // 1000
    assert len(chunk_calls) == 50
    assert len(fanout_queries) <= 6

    delivery_batches = []
    with (
        mock.patch.object(
            notifications_deliver,
            "apply_async",
            side_effect=lambda args, **options: delivery_batches.append(args[0]),
        ),
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as chunk_queries,
    ):
        for call in chunk_calls:
            tasks.opportunity_alerts_chunk(*call)
    assert Notification.objects.filter(kind="opportunity.alert").count() == total
    # Per chunk of 1,000: the opportunity, its skills, the alerts, their skills, the opt-outs,
    # the insert and the pending ids, plus savepoints: about ten queries on PostgreSQL (SQLite
    # splits the insert into statements of ~80 rows), never one per supplier.
    assert len(chunk_queries) <= 50 * 25
    assert len(delivery_batches) == total // settings.NOTIFICATIONS_BATCH_SIZE
    assert sorted(pk for batch in delivery_batches for pk in batch) == sorted(
        Notification.objects.filter(kind="opportunity.alert").values_list("pk", flat=True)
    )
    assert mail.outbox == []  # delivery is the batches' job, measured in bench/
