"""What waits for the signed-in person: the dashboard's "Waiting for you" (issue 23).

Each kind of task follows the rule of the step it leads to, read from the rows as they are now,
so an item appears when the journey reaches the person and disappears once the step is done:

| role | task | shown while |
|---|---|---|
| supplier | submit a draft bid | the draft's opportunity is open |
| supplier | confirm a bid after an addendum | submitted before the latest addendum, still open |
| supplier | accept the contract | the contract waits for the terms, until `accept_by` |
| supplier | deliver the work (again) | the contract is in progress, or changes were requested |
| supplier | confirm receipt of the payment | a card payment was recorded, not yet confirmed |
| buyer | make the changes the review asked for | the draft came back from review |
| buyer | answer questions | a question neither answered nor dismissed, on an open posting |
| buyer | appoint the panel | the panel lacks evaluators or a chair |
| buyer | reveal who bid / award the contract | the consensus is locked / the bidders revealed |
| buyer | certify delivered work | the work is delivered |
| buyer | follow up a late delivery | a default may be declared (`can_declare_default`) |
| evaluator | declare conflicts / score the bids | their seat's declaration / marks are pending |
| evaluator (chair) | record the consensus and lock it | the evaluation is at consensus |
| program admin | review a posting | another buyer's posting is in review |
| program admin | decide a two-person request | `marketplace.approvals.waiting_for` |
| card holder | pay an invoice | due or failed, and they did not certify it |
| card holder | correct a payment they recorded | the supplier did not confirm it |

The read is a fixed number of queries whatever the number of rows (one or two per role), each
kept to `LIMIT` rows: it sits on every visit to the dashboard. It lives in `reports`, the layer
above every app whose rows it reads (docs/DESIGN.md, "Layers").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bids.models import Bid
from evaluation.models import Evaluation, PanelMember
from marketplace import approvals, formats
from marketplace.calendar import add_business_days
from marketplace.models import Role, User
from marketplace.permissions import has_role
from opportunities.models import Opportunity, Question
from payments.contracts import answer_deadline_passed, can_declare_default
from payments.models import Contract, Payment

from .stages import evaluation_of, payment_of

# At most this many tasks of one kind: the dashboard is a list of what to do next, not a
# register (each kind's own page lists them all).
LIMIT = 20

OStatus = Opportunity.Status
EStatus = Evaluation.Status
CStatus = Contract.Status
PStatus = Payment.Status
Declaration = PanelMember.Declaration


@dataclass(frozen=True)
class Task:
    """One step the person must take: what (`action`), on what (`subject`), where it is done
    (`url`), by when (`due`, a moment or a day, named by `due_label`) or since when it waits
    (`since`), and what happens once it is done (`next_step`). Sentences in the current
    language."""

    role: str
    action: str
    subject: str
    url: str
    next_step: str
    due: dt.datetime | dt.date | None = None
    due_label: str = ""
    since: dt.datetime | None = None

    @property
    def due_text(self) -> str:
        """The due date written out, with what it is: "Bids close: December 21, 2026, 2:00 p.m."."""
        if self.due is None:
            return ""
        written = (
            formats.datetime(self.due)
            if isinstance(self.due, dt.datetime)
            else formats.date(self.due)
        )
        return _("%(what)s: %(when)s") % {"what": self.due_label, "when": written}

    @property
    def since_text(self) -> str:
        if self.since is None:
            return ""
        return _("Waiting since %(date)s") % {"date": formats.date(self.since)}

    @property
    def overdue(self) -> bool:
        if self.due is None:
            return False
        if isinstance(self.due, dt.datetime):
            return self.due <= timezone.now()
        return self.due < timezone.localdate()

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    def sort_key(self) -> tuple:
        """Soonest due first (a day counts from its start), then the longest waiting."""
        due = self.due
        if due is not None and not isinstance(due, dt.datetime):
            due = dt.datetime.combine(due, dt.time.min, tzinfo=timezone.get_current_timezone())
        return (due is None, due or _EPOCH, self.since is None, self.since or _EPOCH)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def waiting_for(user: User, *, now: dt.datetime | None = None) -> list[Task]:
    """Everything `user` must do now, soonest due first. Only roles in force count (a
    suspended staff role gives no task, as it gives no access)."""
    now = now or timezone.now()
    tasks: list[Task] = []
    if has_role(user, Role.SUPPLIER):
        tasks += _supplier_bid_tasks(user, now)
        tasks += _supplier_contract_tasks(user, now)
    if has_role(user, Role.BUYER):
        tasks += _buyer_opportunity_tasks(user, now)
        tasks += _buyer_contract_tasks(user)
    if has_role(user, Role.EVALUATOR):
        tasks += _evaluator_tasks(user)
    if has_role(user, Role.PROGRAM_ADMIN):
        tasks += _program_admin_tasks(user)
    if has_role(user, Role.CARD_HOLDER):
        tasks += _card_holder_tasks(user)
    return sorted(tasks, key=Task.sort_key)


# --- Supplier ------------------------------------------------------------------------------------


def _supplier_bid_tasks(user: User, now: dt.datetime) -> list[Task]:
    bids = (
        Bid.objects.of(user)
        .filter(
            status__in=(Bid.Status.DRAFT, Bid.Status.SUBMITTED),
            opportunity__status=OStatus.PUBLISHED,
            opportunity__closes_at__gt=now,
        )
        .annotate(latest_addendum=Coalesce(Max("opportunity__addenda__number"), 0))
        .filter(Q(status=Bid.Status.DRAFT) | Q(latest_addendum__gt=F("confirmed_addendum")))
        .select_related("opportunity")
        .order_by("opportunity__closes_at", "pk")[:LIMIT]
    )
    tasks = []
    for bid in bids:
        opportunity = bid.opportunity
        if bid.status == Bid.Status.DRAFT:
            tasks.append(
                Task(
                    role=Role.SUPPLIER,
                    action=_("Submit your bid"),
                    subject=opportunity.title,
                    url=reverse("bids:edit", args=[bid.pk]),
                    next_step=_(
                        "At the deadline your bid is sealed, then evaluated without your name. "
                        "A draft is not evaluated."
                    ),
                    due=opportunity.closes_at,
                    due_label=_("Bids close"),
                )
            )
        else:
            tasks.append(
                Task(
                    role=Role.SUPPLIER,
                    action=_("Read addendum %(number)s and confirm your bid")
                    % {"number": bid.latest_addendum},
                    subject=opportunity.title,
                    url=reverse("bids:detail", args=[bid.pk]),
                    next_step=_(
                        "Confirm your bid as it is, or change it and submit it again; either "
                        "way it is sealed at the deadline."
                    ),
                    due=opportunity.closes_at,
                    due_label=_("Bids close"),
                )
            )
    return tasks


def _supplier_contract_tasks(user: User, now: dt.datetime) -> list[Task]:
    contracts = (
        Contract.objects.filter(supplier=user)
        .filter(
            Q(
                status__in=(
                    CStatus.AWAITING_ACCEPTANCE,
                    CStatus.IN_PROGRESS,
                    CStatus.CHANGES_REQUESTED,
                )
            )
            | Q(
                status=CStatus.ACCEPTED,
                payment__status=PStatus.RECORDED,
                payment__provider=Payment.Provider.RECORDED_CARD,
            )
        )
        .select_related("opportunity", "payment")
        .order_by("created_at", "pk")[:LIMIT]
    )
    tasks = []
    for contract in contracts:
        opportunity = contract.opportunity
        link = reverse("payments:contract", args=[contract.pk])
        if contract.status == CStatus.AWAITING_ACCEPTANCE:
            if answer_deadline_passed(contract, now=now):
                continue  # too late to answer: the award passes on
            tasks.append(
                Task(
                    role=Role.SUPPLIER,
                    action=_("Accept the contract, or decline it"),
                    subject=opportunity.title,
                    url=link,
                    next_step=_(
                        "Once you accept the terms, the work begins. If you decline, or do not "
                        "answer in time, the award passes to the next bid in rank."
                    ),
                    due=contract.accept_by,
                    due_label=_("Accept or decline by"),
                    since=contract.created_at,
                )
            )
        elif contract.status == CStatus.IN_PROGRESS:
            tasks.append(
                Task(
                    role=Role.SUPPLIER,
                    action=_("Deliver the work"),
                    subject=opportunity.title,
                    url=link,
                    next_step=_(
                        "The buyer reviews the delivery, then certifies it or asks for changes. "
                        "Certified work is paid."
                    ),
                    due=opportunity.expected_delivery_date,
                    due_label=_("Delivery expected by"),
                    since=contract.terms_accepted_at,
                )
            )
        elif contract.status == CStatus.CHANGES_REQUESTED:
            tasks.append(
                Task(
                    role=Role.SUPPLIER,
                    action=_("Make the changes the buyer asked for and deliver again"),
                    subject=opportunity.title,
                    url=link,
                    next_step=_("The buyer reviews the new delivery, then certifies it."),
                    due=contract.cure_deadline,
                    due_label=_("Changes due by"),
                )
            )
        else:
            payment = payment_of(contract)
            if payment is None or payment.recorded_at is None:
                continue
            tasks.append(
                Task(
                    role=Role.SUPPLIER,
                    action=_("Confirm that you received the payment"),
                    subject=opportunity.title,
                    url=reverse("payments:detail", args=[payment.pk]),
                    next_step=_(
                        "Confirming completes the contract. If the money did not arrive, say "
                        "so on the same page: the program team looks into it."
                    ),
                    due=add_business_days(
                        payment.recorded_at, settings.PAYMENT_CONFIRMATION_BUSINESS_DAYS
                    ),
                    due_label=_("Confirm by"),
                    since=payment.recorded_at,
                )
            )
    return tasks


# --- Buyer ---------------------------------------------------------------------------------------


def _unanswered_questions() -> Coalesce:
    count = (
        Question.objects.awaiting_answer()
        .filter(opportunity=OuterRef("pk"))
        .order_by()
        .values("opportunity")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(count, output_field=IntegerField()), 0)


def _buyer_opportunity_tasks(user: User, now: dt.datetime) -> list[Task]:
    opportunities = list(
        Opportunity.objects.filter(buyer=user)
        .annotate(unanswered=_unanswered_questions())
        .filter(
            Q(status=OStatus.DRAFT, review_note__gt="")
            | Q(status=OStatus.PUBLISHED, unanswered__gt=0)
            | Q(
                status=OStatus.EVALUATING,
                evaluation__status__in=(EStatus.PANEL, EStatus.SELECTED, EStatus.REVEALED),
            )
        )
        .select_related("evaluation")
        .prefetch_related("evaluation__panel")
        .order_by("closes_at", "pk")[:LIMIT]
    )
    tasks = []
    for opportunity in opportunities:
        title = opportunity.title
        if opportunity.status == OStatus.DRAFT:
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=_("Make the changes the program team asked for"),
                    subject=title,
                    url=reverse("opportunities:edit", args=[opportunity.pk]),
                    next_step=_("Submit it again for review; the program team then publishes it."),
                )
            )
            continue
        if opportunity.status == OStatus.PUBLISHED:
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=ngettext(
                        "Answer %(count)s question",
                        "Answer %(count)s questions",
                        opportunity.unanswered,
                    )
                    % {"count": opportunity.unanswered},
                    subject=title,
                    url=reverse("opportunities:detail", args=[opportunity.pk]) + "#qa-heading",
                    next_step=_(
                        "Your answer is published on the posting, in both languages, and sent "
                        "to the suppliers who follow it."
                    ),
                    due=opportunity.closes_at,
                    due_label=_("Bids close"),
                )
            )
            continue
        evaluation = evaluation_of(opportunity)
        if evaluation is None:
            continue
        overview = reverse("evaluation:overview", args=[opportunity.pk])
        if evaluation.status == EStatus.PANEL:
            if _panel_filled(evaluation, opportunity):
                continue  # the evaluators' turn: they declare
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=_("Appoint the evaluation panel and its chair"),
                    subject=title,
                    url=overview,
                    next_step=_(
                        "Each evaluator declares any conflict of interest, then scores the "
                        "anonymized bids."
                    ),
                    since=evaluation.status_changed_at,
                )
            )
        elif evaluation.status == EStatus.SELECTED:
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=_("Reveal who bid"),
                    subject=title,
                    url=overview,
                    next_step=_(
                        "You see which supplier sent each ranked bid; then you award the "
                        "contract to the first in rank."
                    ),
                    since=evaluation.locked_at,
                )
            )
        else:
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=_("Award the contract"),
                    subject=title,
                    url=overview,
                    next_step=_(
                        "The first in rank is offered the contract, and every bidder receives "
                        "their debrief."
                    ),
                    since=evaluation.revealed_at,
                )
            )
    return tasks


def _panel_filled(evaluation: Evaluation, opportunity: Opportunity) -> bool:
    """Enough evaluators not recused, and one chair among them: the buyer has appointed what
    the panel needs (`evaluation.panel.panel_is_complete` also waits for the declarations)."""
    active = [member for member in evaluation.panel.all() if member.active]
    return (
        len(active) >= opportunity.evaluator_count
        and sum(member.is_chair for member in active) == 1
    )


def _buyer_contract_tasks(user: User) -> list[Task]:
    today = timezone.localdate()
    contracts = (
        Contract.objects.filter(opportunity__buyer=user)
        .filter(
            Q(status=CStatus.DELIVERED)
            | Q(
                status__in=(CStatus.AWAITING_ACCEPTANCE, CStatus.IN_PROGRESS),
                opportunity__expected_delivery_date__lt=today,
            )
            | Q(status=CStatus.CHANGES_REQUESTED, cure_deadline__lt=today)
        )
        .select_related("opportunity")
        .order_by("delivered_at", "created_at", "pk")[:LIMIT]
    )
    tasks = []
    for contract in contracts:
        link = reverse("payments:contract", args=[contract.pk])
        title = contract.opportunity.title
        if contract.status == CStatus.DELIVERED:
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=_("Review the delivered work, then certify it or ask for changes"),
                    subject=title,
                    url=link,
                    next_step=_(
                        "Certifying the work (section 34) issues the payment; a card holder "
                        "then pays the supplier."
                    ),
                    since=contract.delivered_at,
                )
            )
        elif can_declare_default(contract, today=today):
            tasks.append(
                Task(
                    role=Role.BUYER,
                    action=_("The delivery is late: contact the supplier, or declare a default"),
                    subject=title,
                    url=link,
                    next_step=_(
                        "A default ends the contract and passes the award to the next bid in rank."
                    ),
                    due=(
                        contract.cure_deadline
                        if contract.status == CStatus.CHANGES_REQUESTED
                        else contract.opportunity.expected_delivery_date
                    ),
                    due_label=_("Delivery was due by"),
                )
            )
    return tasks


# --- Evaluator -----------------------------------------------------------------------------------


def _evaluator_tasks(user: User) -> list[Task]:
    bid = Bid.objects.filter(opportunity=OuterRef("evaluation__opportunity"), supplier=user)
    seats = (
        PanelMember.objects.filter(
            evaluator=user,
            evaluation__status__in=(EStatus.PANEL, EStatus.SCORING, EStatus.CONSENSUS),
        )
        .exclude(declaration=Declaration.RECUSED)
        .annotate(has_bid=Exists(bid))
        .select_related("evaluation__opportunity")
        .order_by("appointed_at", "pk")[:LIMIT]
    )
    tasks = []
    for seat in seats:
        evaluation = seat.evaluation
        opportunity = evaluation.opportunity
        pk = opportunity.pk
        if seat.declaration == Declaration.PENDING:
            tasks.append(
                Task(
                    role=Role.EVALUATOR,
                    action=_("Declare any conflict of interest"),
                    subject=opportunity.title,
                    url=reverse("evaluation:declare", args=[pk]),
                    next_step=_(
                        "With no conflict, you read and score the anonymized bids; with one, "
                        "you step aside and the buyer appoints someone else."
                    ),
                    since=seat.appointed_at,
                )
            )
            continue
        # A seat held by someone with a stake opens no packet (evaluation.permissions).
        if seat.has_bid or opportunity.buyer_id == user.pk:
            continue
        if evaluation.status in (EStatus.PANEL, EStatus.SCORING) and not seat.marks_submitted_at:
            tasks.append(
                Task(
                    role=Role.EVALUATOR,
                    action=_("Score the bids, then submit your marks"),
                    subject=opportunity.title,
                    url=reverse("evaluation:packets", args=[pk]),
                    next_step=_(
                        "Once every evaluator has submitted, the chair records the consensus."
                    ),
                    since=seat.declared_at,
                )
            )
        elif evaluation.status == EStatus.CONSENSUS and seat.is_chair:
            tasks.append(
                Task(
                    role=Role.EVALUATOR,
                    action=_("Record the consensus and lock it"),
                    subject=opportunity.title,
                    url=reverse("evaluation:consensus", args=[pk]),
                    next_step=_(
                        "Locking makes the selection (with the draw where the method calls for "
                        "it); the buyer then reveals who bid and awards the contract."
                    ),
                    since=evaluation.status_changed_at,
                )
            )
    return tasks


# --- Program administrator -----------------------------------------------------------------------


def _program_admin_tasks(user: User) -> list[Task]:
    tasks = [
        Task(
            role=Role.PROGRAM_ADMIN,
            action=_("Review the posting"),
            subject=opportunity.title,
            url=reverse("opportunities:review", args=[opportunity.pk]),
            next_step=_("Publish it, or send it back to the buyer with the changes to make."),
            since=opportunity.submitted_at,
        )
        # Never one's own: another program administrator publishes it.
        for opportunity in Opportunity.objects.filter(status=OStatus.IN_REVIEW)
        .exclude(buyer=user)
        .order_by("submitted_at", "pk")[:LIMIT]
    ]
    tasks += [
        Task(
            role=Role.PROGRAM_ADMIN,
            action=_("Approve or reject a request"),
            subject=approvals.describe(approval),
            url=reverse("marketplace:approval_detail", args=[approval.pk]),
            next_step=_(
                "Approving carries the change out at once; rejecting leaves everything as it "
                "is. Either way the person who asked is told."
            ),
            since=approval.requested_at,
        )
        for approval in approvals.waiting_for(user).order_by("requested_at", "pk")[:LIMIT]
    ]
    return tasks


# --- Card holder ---------------------------------------------------------------------------------


def _card_holder_tasks(user: User) -> list[Task]:
    payable = Q(status__in=Payment.OPEN)
    if settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER:
        # The buyer who certified the work does not pay it (payments.paying.card_holders_for).
        payable &= ~Q(contract__certified_by=user)
    payments = (
        Payment.objects.filter(payable | Q(status=PStatus.DISPUTED, payer=user))
        .select_related("contract__opportunity")
        .order_by("due_since", "pk")[:LIMIT]
    )
    tasks = []
    for payment in payments:
        link = reverse("payments:detail", args=[payment.pk])
        title = payment.contract.opportunity.title
        if payment.status == PStatus.DISPUTED:
            tasks.append(
                Task(
                    role=Role.CARD_HOLDER,
                    action=_("Check the payment %(invoice)s: the supplier did not confirm it")
                    % {"invoice": payment.invoice_number},
                    subject=title,
                    url=link,
                    next_step=_(
                        "Correct the record if it was wrong; the contract completes once the "
                        "supplier confirms receipt."
                    ),
                    since=payment.disputed_at,
                )
            )
            continue
        tasks.append(
            Task(
                role=Role.CARD_HOLDER,
                action=_("Pay invoice %(invoice)s (%(amount)s)")
                % {"invoice": payment.invoice_number, "amount": formats.money(payment.total_cents)},
                subject=title,
                url=link,
                next_step=_(
                    "Pay by acquisition card and record it, or pay through Stripe; the supplier "
                    "then confirms receipt."
                ),
                since=payment.due_since,
            )
        )
    return tasks
