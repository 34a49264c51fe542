import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lifecycle import closing
from marketplace import calendar, formats
from marketplace.models import AuditEvent
from marketplace.transitions import transition
from opportunities.cancellation import opportunity_cancel
from opportunities.drafting import opportunity_update_draft
from opportunities.models import Criterion, Guardrails, Opportunity
from opportunities.publishing import (
    opportunity_publish,
    opportunity_request_changes,
    opportunity_submit_for_review,
    possible_splits,
    publication_problems,
)
from tests.factories import OpportunityFactory, SkillFactory, SupplierFactory

pytestmark = pytest.mark.django_db
Status = Opportunity.Status


def _published(draft, program_admin):
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    return opportunity_publish(actor=program_admin, opportunity=draft)


def test_draft_goes_to_review_then_published(draft, program_admin):
    reviewed = opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    assert reviewed.status == Status.IN_REVIEW
    assert reviewed.submitted_at is not None
    published = opportunity_publish(actor=program_admin, opportunity=reviewed)
    assert published.status == Status.PUBLISHED
    assert published.published_at is not None
    verbs = list(
        AuditEvent.objects.for_target(draft)
        .order_by("created_at", "id")
        .values_list("verb", flat=True)
    )
    assert verbs == ["opportunity.submitted", "opportunity.published"]


def test_admin_requests_changes_with_a_note(draft, program_admin):
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    with pytest.raises(ValidationError):
        opportunity_request_changes(actor=program_admin, opportunity=draft, note="  ")
    back = opportunity_request_changes(
        actor=program_admin, opportunity=draft, note="Add the repository link."
    )
    assert back.status == Status.DRAFT
    assert back.review_note == "Add the repository link."


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Status.DRAFT, Status.PUBLISHED),
        (Status.DRAFT, Status.CLOSED),
        (Status.PUBLISHED, Status.DRAFT),
        (Status.CLOSED, Status.PUBLISHED),
        (Status.CANCELLED, Status.PUBLISHED),
        (Status.COMPLETED, Status.CANCELLED),
    ],
)
def test_refused_transitions(start, target, buyer):
    opportunity = OpportunityFactory(buyer=buyer, status=start)
    assert not opportunity.can_transition_to(target)
    with pytest.raises(ValidationError, match="cannot become"):
        transition(opportunity, target, actor=None, verb="x")
    opportunity.refresh_from_db()
    assert opportunity.status == start


def test_publishing_a_draft_directly_is_refused(draft, program_admin):
    with pytest.raises(ValidationError, match="cannot become"):
        opportunity_publish(actor=program_admin, opportunity=draft)


def test_only_the_owning_buyer_submits_and_only_admins_publish(draft, program_admin):
    other_buyer = OpportunityFactory().buyer
    with pytest.raises(PermissionDenied):
        opportunity_submit_for_review(actor=other_buyer, opportunity=draft)
    with pytest.raises(PermissionDenied):
        opportunity_update_draft(actor=other_buyer, opportunity=draft, title_en="Mine")
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    with pytest.raises(PermissionDenied):
        opportunity_publish(actor=draft.buyer, opportunity=draft)
    with pytest.raises(PermissionDenied):
        opportunity_publish(actor=SupplierFactory(), opportunity=draft)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title_fr": ""}, "Enter the title in French."),
        ({"description_en": ""}, "Enter the description in English."),
        ({"attest_not_split": False}, "Confirm that this work is not split"),
        ({"value_cents": 1_000_001}, "Enter a value of $10,000.00 or less"),
        ({"closes_at": None}, "Enter the closing date and time."),
        ({"question_deadline": None}, "Enter the deadline for questions."),
    ],
)
def test_publish_gate_explains_each_missing_condition(buyer, change, message):
    opportunity = OpportunityFactory(buyer=buyer, **change)
    with pytest.raises(ValidationError) as error:
        opportunity_submit_for_review(actor=buyer, opportunity=opportunity)
    assert any(message in m for m in error.value.messages), error.value.messages
    opportunity.refresh_from_db()
    assert opportunity.status == Status.DRAFT


def test_publish_gate_needs_five_business_days(buyer):
    soon = calendar.add_business_days(timezone.now(), 4)
    opportunity = OpportunityFactory(
        buyer=buyer, closes_at=soon, question_deadline=soon - dt.timedelta(days=1)
    )
    now = timezone.now()
    problems = publication_problems(opportunity, now=now)
    earliest = formats.datetime(calendar.add_business_days(now, 5))
    assert problems == [
        f"Enter a closing date at least 5 business days from now: {earliest} or later."
    ]


def test_question_deadline_must_come_before_closing(buyer):
    opportunity = OpportunityFactory(buyer=buyer)
    opportunity.question_deadline = opportunity.closes_at
    assert "Enter a deadline for questions before the closing date." in (
        publication_problems(opportunity)
    )


def test_publish_gate_needs_criteria(buyer):
    opportunity = OpportunityFactory(buyer=buyer, criteria=[])
    problems = publication_problems(opportunity)
    assert "Add at least one mandatory criterion." in problems
    assert "Add at least one rated criterion: selection by score needs one." in problems


def test_draw_among_passing_needs_no_rated_criterion(buyer):
    opportunity = OpportunityFactory(
        buyer=buyer,
        selection_method="draw_passing",
        criteria=[Criterion(kind="mandatory", text_en="Can code.", text_fr="Sait coder.")],
    )
    assert publication_problems(opportunity) == []


def test_value_cap_and_types_come_from_guardrails(buyer):
    guardrails = Guardrails.current()
    guardrails.value_cap_cents = 500_000
    guardrails.allowed_types = ["accessibility"]
    guardrails.save()
    opportunity = OpportunityFactory(buyer=buyer, value_cents=600_000, type="bug_fix")
    problems = publication_problems(opportunity)
    assert "Enter a value of $5,000.00 or less, tax included: that is the program cap." in (
        problems
    )
    assert (
        "Choose another type of work: the program does not accept \u201cBug fix\u201d at the "
        "moment." in problems
    )


def test_split_warning_must_be_acknowledged(buyer, program_admin):
    skill = SkillFactory(slug="react")
    earlier = OpportunityFactory(buyer=buyer, value_cents=600_000, skills=[skill])
    opportunity_submit_for_review(actor=buyer, opportunity=earlier)
    opportunity_publish(actor=program_admin, opportunity=earlier)
    later = OpportunityFactory(buyer=buyer, value_cents=500_000, skills=[skill])
    opportunity_submit_for_review(actor=buyer, opportunity=later)
    assert possible_splits(later) == [earlier]
    with pytest.raises(ValidationError, match="may be split"):
        opportunity_publish(actor=program_admin, opportunity=later)
    published = opportunity_publish(actor=program_admin, opportunity=later, acknowledge_split=True)
    assert published.split_warning_acknowledged_by == program_admin
    event = AuditEvent.objects.get(verb="opportunity.published", target_id=str(later.pk))
    assert event.data["split_warning"] == [earlier.pk]


def test_no_split_warning_for_unrelated_work_or_under_the_cap(buyer, program_admin):
    earlier = OpportunityFactory(buyer=buyer, value_cents=300_000, skills=[SkillFactory()])
    opportunity_submit_for_review(actor=buyer, opportunity=earlier)
    similar_small = OpportunityFactory(buyer=buyer, value_cents=300_000)
    assert possible_splits(similar_small) == []  # similar title, total under the cap
    # Unrelated in every text and both languages (the similarity reads them all).
    unrelated = OpportunityFactory(
        buyer=buyer,
        value_cents=900_000,
        title_en="Accessibility audit",
        title_fr="Audit d\u2019accessibilité",
        summary_en="Audit the forms of the benefits portal.",
        summary_fr="Auditer les formulaires du portail des prestations.",
        description_en="Check the portal against WCAG 2.1 AA.",
        description_fr="Vérifier le portail selon les WCAG 2.1 AA.",
        deliverables_en="An audit report.",
        deliverables_fr="Un rapport d\u2019audit.",
        acceptance_criteria_en="Every finding has a WCAG reference.",
        acceptance_criteria_fr="Chaque constat renvoie aux WCAG.",
        skills=[SkillFactory()],
    )
    assert possible_splits(unrelated) == []


def test_cancel_needs_a_reason_and_is_audited(draft, program_admin):
    published = _published(draft, program_admin)
    with pytest.raises(ValidationError):
        opportunity_cancel(actor=draft.buyer, opportunity=published, reason="")
    cancelled = opportunity_cancel(
        actor=draft.buyer, opportunity=published, reason="The need went away."
    )
    assert cancelled.status == Status.CANCELLED
    assert AuditEvent.objects.get(verb="opportunity.cancelled").data["reason"] == (
        "The need went away."
    )


def test_cancel_refused_for_drafts_and_other_buyers(draft, program_admin):
    with pytest.raises(PermissionDenied):
        opportunity_cancel(actor=draft.buyer, opportunity=draft, reason="x")
    published = _published(draft, program_admin)
    with pytest.raises(PermissionDenied):
        opportunity_cancel(actor=OpportunityFactory().buyer, opportunity=published, reason="x")


def test_close_refused_before_the_deadline(draft, program_admin):
    published = _published(draft, program_admin)
    with pytest.raises(ValidationError):
        closing.opportunity_close(
            opportunity=published, now=published.closes_at - dt.timedelta(microseconds=1)
        )
    closed = closing.opportunity_close(opportunity=published, now=published.closes_at)
    assert closed.status == Status.CLOSED
    assert closed.closed_at == published.closes_at


def test_bids_refused_a_moment_after_the_deadline_even_before_the_close_task(draft, program_admin):
    published = _published(draft, program_admin)
    assert published.status == Status.PUBLISHED  # the closing task has not run
    assert published.accepts_bids_at(published.closes_at - dt.timedelta(milliseconds=1))
    assert not published.accepts_bids_at(published.closes_at)
    assert not published.accepts_bids_at(published.closes_at + dt.timedelta(milliseconds=1))


def test_business_days_skip_weekends():
    friday = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    assert calendar.add_business_days(friday, 1).weekday() == 0  # Monday
    assert calendar.add_business_days(friday, 5) == friday + dt.timedelta(days=7)
