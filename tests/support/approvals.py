"""Helpers for the two-person rule's tests (tests/marketplace/test_approvals.py and its attacks):
what a page said, and an opportunity at the point where cancelling it needs a second admin."""

from __future__ import annotations

from django.contrib.messages import get_messages

from opportunities.models import Opportunity
from tests import builders


def said(response) -> str:
    """The page's text and its queued messages."""
    text = response.content.decode() if response.content else ""
    return text + " ".join(str(m) for m in get_messages(response.wsgi_request))


def revealed(program_admin) -> Opportunity:
    """An opportunity whose buyer has seen who bid, not awarded yet: three sealed bids, all
    qualified with the same score, the consensus locked and revealed."""
    evaluation, _panel = builders.locked_evaluation(
        admin=program_admin, marks=[(True, 7)] * 3, reveal=True
    )
    return Opportunity.objects.get(pk=evaluation.opportunity_id)
