"""Evaluation reminders: daily, once per person and step, only after the step has waited."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from evaluation import panel as evaluation_panel
from evaluation import services as evaluation_services
from evaluation.models import Evaluation, PanelMember
from evaluation.tasks import evaluations_remind
from lifecycle import award
from marketplace.models import JobRun
from tests.builders import consensus_all, labels, mark_all, seat_panel

pytestmark = pytest.mark.django_db


def _later(days: float) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


def _on_day(days: int, hour: int) -> str:
    """`hour` o'clock (Eastern) on the day `days` after today: reminders go once per local day,
    so "the same day" must not depend on the time the suite runs."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + dt.timedelta(days=days, hours=hour)).isoformat()


def _run(run_on_commit, when):
    with run_on_commit(execute=True):
        return evaluations_remind(now=when)


def test_evaluators_are_reminded_to_declare_then_to_score_once_a_day(
    closed, evaluators, django_capture_on_commit_callbacks
):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    buyer = opportunity.buyer
    member = evaluation_panel.panel_appoint(
        actor=buyer, evaluation=evaluation, evaluator=evaluators[0], is_chair=True
    )
    assert _run(django_capture_on_commit_callbacks, _later(1)) == 0  # not waiting long enough
    mail.outbox.clear()
    # Two days on: the evaluator (declare) and the buyer (the panel lacks a member) are nudged.
    assert _run(django_capture_on_commit_callbacks, _on_day(3, 8)) == 2
    assert _run(django_capture_on_commit_callbacks, _on_day(3, 20)) == 0  # same day: nothing more
    by_person = {m.to[0]: m.body for m in mail.outbox}
    assert "declare any conflict of interest" in by_person[evaluators[0].email]
    assert "appoint the evaluators" in by_person[buyer.email]
    evaluation_panel.panel_declare(evaluator=evaluators[0], member=member, conflict=False)
    mail.outbox.clear()
    assert _run(django_capture_on_commit_callbacks, _on_day(4, 8)) == 2  # the next day
    assert "score every bid" in {m.to[0]: m.body for m in mail.outbox}[evaluators[0].email]
    assert JobRun.objects.filter(name="evaluation.tasks.evaluations_remind").exists()


def test_the_chair_then_the_buyer_are_reminded(
    closed, evaluators, django_capture_on_commit_callbacks
):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    scores = {label: (True, 6) for label in labels(evaluation)}
    seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    mail.outbox.clear()
    assert _run(django_capture_on_commit_callbacks, _later(2.5)) == 1
    [reminder] = mail.outbox
    assert reminder.to == [evaluators[0].email] and "record the consensus" in reminder.body
    consensus_all(evaluation, evaluators[0], scores)
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    mail.outbox.clear()
    assert _run(django_capture_on_commit_callbacks, _later(1)) == 0
    assert _run(django_capture_on_commit_callbacks, _later(2.5)) == 1
    [nag] = mail.outbox
    assert nag.to == [opportunity.buyer.email] and "award the work" in nag.body
    evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    award.evaluation_award(actor=opportunity.buyer, evaluation=evaluation)
    assert _run(django_capture_on_commit_callbacks, _later(5)) == 0  # awarded: nobody waits
    assert Evaluation.objects.get(pk=evaluation.pk).status == Evaluation.Status.AWARDED
    assert PanelMember.objects.filter(marks_submitted_at__isnull=True).count() == 0
