"""What every notification about an opportunity says, and who follows it: the context
(both languages) that the app's notices, and those of the apps above it, build on."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from marketplace import notifications as notices
from marketplace.models import User

from .models import Opportunity


def notice_context(opportunity: Opportunity, **extra: Any) -> dict[str, Any]:
    """What every notification about an opportunity can say, in both languages."""
    return {
        "title": notices.bilingual(opportunity.title_en, opportunity.title_fr),
        "value": notices.money(opportunity.value_cents),
        "closes_at": notices.moment(opportunity.closes_at),
        "question_deadline": notices.moment(opportunity.question_deadline),
        "link": notices.link("opportunities:detail", pk=opportunity.pk),
        **extra,
    }


def followers(opportunity: Opportunity):
    """Suppliers who watch the opportunity or hold a bid on it (draft, submitted, withdrawn).
    A person may appear twice; notification_send writes one notification each."""
    return User.objects.filter(
        Q(watches__opportunity=opportunity) | Q(bids__opportunity=opportunity)
    )
