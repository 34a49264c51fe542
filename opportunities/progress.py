"""How a published opportunity moves on, each move a `transition` (docs/DESIGN.md,
"Lifecycles"): its close scheduled at the deadline and then marked (`lifecycle.closing`
sequences the close, which spans apps: bids sealed, evaluation opened), and the statuses
that the apps above set as their own steps end — evaluating (evaluation.packets), awarded
(lifecycle.award), in delivery and completed (payments), unsuccessful. Each changes what the
public pages show: each calls `public_pages_changed_on_commit()`."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.caching import public_pages_changed_on_commit
from marketplace.jobs import enqueue_on_commit
from marketplace.models import AuditEvent, User
from marketplace.services import notification_send
from marketplace.transitions import transition

from .models import Opportunity
from .notices import notice_context

Status = Opportunity.Status


def opportunity_close_schedule(opportunity: Opportunity) -> None:
    """After commit, have a worker close the opportunity once its deadline has passed and the
    requests that arrived before it are answered (`Opportunity.seals_at`).

    A task scheduled for an earlier deadline finds it still open and does nothing; the beat
    sweeper covers a message the broker lost.
    """
    enqueue_on_commit(
        "opportunities.tasks.opportunity_close_at_deadline",
        opportunity.pk,
        eta=opportunity.seals_at,
    )


def opportunity_mark_closed(
    *, opportunity: Opportunity, now: dt.datetime | None = None
) -> tuple[Opportunity, AuditEvent]:
    """The opportunity's own step of the close (the system acts; `lifecycle.closing` sequences
    the rest), inside the close's transaction: refused before the deadline, then published →
    closed. Returns the closed opportunity and the event, whose id keys the notification.

    The scheduler closes at `seals_at`, a grace after the deadline, so that a bid which arrived
    in time but was still being answered is in; the lock taken here waits for any bid still
    being written (they hold the row shared, this takes it exclusively)."""
    now = now or timezone.now()
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if locked.closes_at is None or now < locked.closes_at:
        raise ValidationError(_("This opportunity has not reached its closing time."))
    closed, event = transition(
        locked, Status.CLOSED, actor=None, verb="opportunity.closed", fields={"closed_at": now}
    )
    public_pages_changed_on_commit()
    return closed, event


def opportunity_closed_notify(
    *, opportunity: Opportunity, event: AuditEvent, bidders: list[int]
) -> None:
    """Tell the buyer and the suppliers whose bids were sealed (`bidders`, their ids) that the
    opportunity closed."""
    notification_send(
        kind="opportunity.closed",
        recipients=User.objects.filter(Q(pk=opportunity.buyer_id) | Q(pk__in=bidders)),
        event_key=str(event.pk),
        context=notice_context(opportunity),
    )


def opportunity_start_evaluation(*, opportunity: Opportunity) -> Opportunity:
    """closed → evaluating, once the packets exist (evaluation.packets; the system acts)."""
    opportunity, _event = transition(
        opportunity, Status.EVALUATING, actor=None, verb="opportunity.evaluating"
    )
    public_pages_changed_on_commit()  # the public page says the bids are being evaluated
    return opportunity


def opportunity_mark_unsuccessful(
    *, opportunity: Opportunity, actor: User | None, reason: str
) -> Opportunity:
    """No qualified bid (or every ranked bid declined or defaulted): nobody is awarded."""
    opportunity, _event = transition(
        opportunity,
        Status.UNSUCCESSFUL,
        actor=actor,
        verb="opportunity.unsuccessful",
        data={"reason": reason},
    )
    public_pages_changed_on_commit()
    return opportunity


def opportunity_mark_awarded(*, opportunity: Opportunity, actor: User) -> Opportunity:
    opportunity, _event = transition(
        opportunity,
        Status.AWARDED,
        actor=actor,
        verb="opportunity.awarded",
        fields={"awarded_at": timezone.now()},
    )
    public_pages_changed_on_commit()
    return opportunity


def opportunity_start_delivery(*, opportunity: Opportunity, actor: User) -> Opportunity:
    """awarded → in delivery, when the supplier accepts the contract (payments.contracts)."""
    opportunity, _event = transition(
        opportunity, Status.IN_DELIVERY, actor=actor, verb="opportunity.in_delivery"
    )
    public_pages_changed_on_commit()  # the public page shows the status
    return opportunity


def opportunity_complete(*, opportunity: Opportunity, actor: User | None) -> Opportunity:
    """in delivery → completed, when the supplier is paid (payments.outcomes)."""
    opportunity, _event = transition(
        opportunity, Status.COMPLETED, actor=actor, verb="opportunity.completed"
    )
    public_pages_changed_on_commit()  # the public page shows the status
    return opportunity
