"""The close of an opportunity: what happens when its deadline has passed.

In one transaction, in this order:

1. the opportunity closes (`opportunities.progress.opportunity_mark_closed`): refused before
   the deadline; its exclusive lock waits for any bid still being written, and from then on no
   bid changes (bids hold the row shared while they write: `opportunity_hold_shared`);
2. the submitted bids are sealed (`bids.services.bids_seal`): their last receipt is what the
   evaluation will read; drafts and withdrawn bids stay out;
3. the evaluation opens (`evaluation.packets.evaluation_open`): the commitment to the draw's
   seed is recorded before anyone can see a bid, and the packets are built after the commit;
4. the buyer and the sealed bids' suppliers are told (`opportunity_closed_notify`).

The worker runs it at `Opportunity.seals_at` (`opportunities.tasks.opportunity_close_at_deadline`,
and the beat sweeper `opportunities_close_due` for a lost message).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from bids.services import bids_seal
from evaluation.packets import evaluation_open
from opportunities.models import Opportunity
from opportunities.progress import opportunity_closed_notify, opportunity_mark_closed


@transaction.atomic
def opportunity_close(*, opportunity: Opportunity, now: dt.datetime | None = None) -> Opportunity:
    """Close `opportunity` (the system acts): seal its submitted bids, open its evaluation, tell
    the people concerned. Raises `ValidationError` before the deadline or when it is not open
    (closed already: a second run changes nothing)."""
    now = now or timezone.now()
    opportunity, event = opportunity_mark_closed(opportunity=opportunity, now=now)
    sealed_for = bids_seal(opportunity=opportunity, now=now)
    evaluation_open(opportunity=opportunity)
    opportunity_closed_notify(opportunity=opportunity, event=event, bidders=sealed_for)
    return opportunity
