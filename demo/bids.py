"""Demo bids (seed_demo): three sealed bids on a closed opportunity, one draft on an open one."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bids import services
from bids.models import Bid
from lifecycle.closing import opportunity_close
from marketplace.models import User
from opportunities.models import Opportunity

CLOSED_TITLE = "Add automated accessibility checks to the forms library"
DRAFT_TITLE = "Make the Employment Insurance estimator accessible"

# Each answer gives its author away on purpose: blind evaluation has something to redact.
ANSWERS = {
    "supplier1@demo.example": (
        "Yes. At Maple Leaf Code Works (MLCW) Aurélie Tremblay has run axe-core in CI for three "
        "federal form libraries.",
        "See github.com/mlcw-dev/forms-a11y and https://mapleleaf-code.example/cases: we added "
        "axe checks to 140 components in two weeks.",
    ),
    "supplier2@demo.example": (
        "Yes. Northern Lights Accessibility Co-op audits forms every week; call Jamal Okafor at "
        "204-555-0123 for references.",
        "Our nlac11y/axe-ci action (https://nlac11y.example) is used by four provinces; we would "
        "reuse it here.",
    ),
    "supplier3@demo.example": (
        "Yes, I have contributed accessibility fixes to two open-source form libraries.",
        "As a student (Priya Raman, github.com/praman-codes) I wrote the axe integration of a "
        "design system used by my university.",
    ),
}


def _fill_and_submit(bid: Bid, answers: tuple[str, str]) -> None:
    criteria = list(bid.opportunity.criteria.all())
    services.bid_save_draft(
        supplier=bid.supplier,
        bid=bid,
        answers={c.pk: answers[min(i, len(answers) - 1)] for i, c in enumerate(criteria)},
        proposed_start_date=timezone.localdate() + dt.timedelta(days=10),
        attest_can_work_in_canada=True,
        attest_can_be_paid_by_card=True,
        attest_no_conflict=True,
        accept_terms=True,
    )
    services.bid_submit(supplier=bid.supplier, bid=bid)


def seed_bids() -> None:
    closed = Opportunity.objects.filter(title_en=CLOSED_TITLE).first()
    if closed is not None and closed.status == Opportunity.Status.PUBLISHED:
        for email, answers in ANSWERS.items():
            supplier = User.objects.get(email=email)
            bid = services.bid_start(supplier=supplier, opportunity=closed)
            _fill_and_submit(bid, answers)
        # Demo history: it closed yesterday, so its bids are sealed.
        now = timezone.now()
        Opportunity.objects.filter(pk=closed.pk).update(
            published_at=now - dt.timedelta(days=14),
            question_deadline=now - dt.timedelta(days=3),
            closes_at=now - dt.timedelta(days=1),
        )
        closed.refresh_from_db()
        opportunity_close(opportunity=closed)
    draft_on = Opportunity.objects.filter(title_en=DRAFT_TITLE).first()
    supplier1 = User.objects.get(email="supplier1@demo.example")
    if draft_on is not None and not Bid.objects.filter(opportunity=draft_on).exists():
        bid = services.bid_start(supplier=supplier1, opportunity=draft_on)
        first = draft_on.criteria.first()
        services.bid_save_draft(
            supplier=supplier1,
            bid=bid,
            answers={first.pk: "Yes: we have made two React estimators WCAG 2.1 AA compliant."},
            accept_terms=True,
        )
