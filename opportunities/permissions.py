"""Who may do what with opportunities: pure predicates."""

from __future__ import annotations

from django.utils import timezone

from marketplace.models import Role, User
from marketplace.permissions import has_role

from .models import Opportunity


def can_create_opportunity(user: User) -> bool:
    return has_role(user, Role.BUYER)


def is_owning_buyer(user: User, opportunity: Opportunity) -> bool:
    return has_role(user, Role.BUYER) and opportunity.buyer_id == user.pk


def can_edit_draft(user: User, opportunity: Opportunity) -> bool:
    return is_owning_buyer(user, opportunity) and opportunity.status == Opportunity.Status.DRAFT


def can_recall(user: User, opportunity: Opportunity) -> bool:
    """The buyer takes their posting back from review, until a program admin acts on it."""
    return is_owning_buyer(user, opportunity) and opportunity.status == Opportunity.Status.IN_REVIEW


def can_discard(user: User, opportunity: Opportunity) -> bool:
    """Only a draft is discarded: it never left its buyer (or came back to them)."""
    return can_edit_draft(user, opportunity)


def can_review(user: User) -> bool:
    return has_role(user, Role.PROGRAM_ADMIN)


def is_canceller(user: User, opportunity: Opportunity) -> bool:
    """Whose decision a cancellation is, whatever the status: its buyer, a program admin."""
    return is_owning_buyer(user, opportunity) or has_role(user, Role.PROGRAM_ADMIN)


def can_cancel(user: User, opportunity: Opportunity) -> bool:
    return is_canceller(user, opportunity) and opportunity.can_transition_to(
        Opportunity.Status.CANCELLED
    )


def can_amend(user: User, opportunity: Opportunity, *, now=None) -> bool:
    """The buyer changes a published opportunity until its deadline, not after (the bids are
    judged by then, though the close seals them a grace later: DESIGN.md §3)."""
    return (
        is_owning_buyer(user, opportunity)
        and opportunity.status == Opportunity.Status.PUBLISHED
        and opportunity.accepts_bids_at(now or timezone.now())
    )


def can_ask_question(user: User, opportunity: Opportunity, *, now) -> bool:
    return (
        has_role(user, Role.SUPPLIER)
        and opportunity.status == Opportunity.Status.PUBLISHED
        and opportunity.question_deadline is not None
        and now < opportunity.question_deadline
    )


def can_answer_questions(user: User, opportunity: Opportunity) -> bool:
    return is_owning_buyer(user, opportunity)


def can_moderate_questions(user: User, opportunity: Opportunity) -> bool:
    """Dismissing a question is the decision of whoever answers them."""
    return can_answer_questions(user, opportunity)


def can_watch(user: User, opportunity: Opportunity) -> bool:
    return has_role(user, Role.SUPPLIER) and opportunity.status not in (
        Opportunity.Status.DRAFT,
        Opportunity.Status.IN_REVIEW,
    )


def can_subscribe_to_alerts(user: User) -> bool:
    return has_role(user, Role.SUPPLIER)
