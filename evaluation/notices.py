"""What evaluation's notifications share: the context of every email about an evaluation, and
the one telling every bidder that the opportunity ended without an award."""

from __future__ import annotations

from typing import Any

from marketplace import notifications as notices
from marketplace.models import User
from marketplace.services import notification_send
from opportunities import notices as opportunity_notices

from .models import Evaluation


def notice_context(evaluation: Evaluation, **extra: Any) -> dict[str, Any]:
    extra.setdefault("link", notices.link("evaluation:overview", pk=evaluation.opportunity_id))
    return opportunity_notices.notice_context(evaluation.opportunity, **extra)


def tell_bidders_unsuccessful(evaluation: Evaluation) -> None:
    notification_send(
        kind="opportunity.unsuccessful",
        recipients=User.objects.filter(bids__packet__evaluation=evaluation),
        event_key=str(evaluation.pk),
        context=notice_context(
            evaluation, link=notices.link("opportunities:detail", pk=evaluation.opportunity_id)
        ),
    )
