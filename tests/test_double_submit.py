"""Issue 19: no double click or replay breaks a step. Every state-changing POST of the site is
sent twice at once, from two threads, by the visitor entitled to it (two browsers' worth of
clients sharing one session): with the form's one-time key, as a double click sends it, and
without it, as a replay, a second tab or a site whose cache is down would. Either way: no 5xx,
both land on the same page, and the step happened once (one audit event, one row, one
notification) — on PostgreSQL's row locks and on SQLite's write lock alike.

Every POST address of the URL conf is either swept here or exempted below with its reason: a
new one fails `test_every_post_address_is_swept_or_exempted` until it is one or the other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import mail
from django.db import connections, transaction
from django.http import HttpRequest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.http import urlencode

from bids import services as bid_services
from bids.models import Answer, Attachment, Bid, Receipt
from evaluation import marking as evaluation_marking
from evaluation import panel as evaluation_panel
from evaluation import services as evaluation_services
from evaluation.models import ConsensusMark, Mark, Offer, PanelMember
from marketplace import approvals, once
from marketplace.models import (
    Approval,
    AuditEvent,
    Notification,
    NotificationOptOut,
    Role,
    RoleGrant,
    SupplierProfile,
)
from marketplace.notifications import unsubscribe_token
from marketplace.services import notification_send
from opportunities.addenda import opportunity_amend
from opportunities.alerts import alert_save
from opportunities.models import (
    Addendum,
    Alert,
    Criterion,
    Guardrails,
    Opportunity,
    Question,
    Watch,
)
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_ask
from payments import connect, contracts, paying
from payments.models import CardLimit, Contract, Payment, PaymentEvent, StripeAccount
from reports import services as report_services
from reports.models import SelfIdentification
from tests.builders import (
    awarded_without_test_transaction,
    close_with_bids,
    fill,
    labels,
    mark_all,
    mark_values,
    run_to_consensus,
    seat_panel,
)
from tests.factories import (
    OpportunityFactory,
    StaffFactory,
    SupplierFactory,
    SupplierProfileFactory,
)
from tests.support.attachments import make_pdf, upload
from tests.support.fake_stripe import FakeStripe
from tests.support.forms import _draft_form

# POST addresses a repeat may run again, on purpose.
EXEMPT = {
    "bids:autosave": "the bid form saves itself as the supplier types: each save is the text "
    "as it stands, records nothing, and the same text twice changes nothing",
    "reports:metrics_refresh": "recomputes derived figures from the audit trail: a second run "
    "finds them up to date and records nothing",
    "stripe_webhook": "Stripe's signed events, stored once by their event id and processed "
    "once (tests/payments/test_stripe.py)",
}
# Third-party views: allauth's sign-in, sign-up, email and MFA forms, Django's admin.
THIRD_PARTY_MODULES = ("allauth.", "django.contrib.admin.")


# --- What is swept ---------------------------------------------------------------------------


@dataclass
class Case:
    """One prepared step: who posts what where, and what must happen once."""

    user: Any  # None: an anonymous visitor
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    # The page the form is on: its fields (and one-time key) are read from it, as a browser
    # does; `data` then overrides them. None: the data alone (a key is made for it).
    page: str | None = None
    # label -> (count now, the change one step makes)
    effects: dict[str, tuple[Callable[[], int], int]] = field(default_factory=dict)
    files: Callable[[], dict[str, Any]] | None = None  # fresh uploads for each request
    # The two may land on different pages without a key, and why (the keyed pair may not).
    may_differ_unkeyed: str = ""


@dataclass
class Action:
    name: str
    url_name: str
    prepare: Callable[[Any], Case]


def audit(verb: str, delta: int = 1) -> tuple[Callable[[], int], int]:
    return (lambda: AuditEvent.objects.filter(verb=verb).count(), delta)


def rows(model, delta: int = 1, **filters) -> tuple[Callable[[], int], int]:
    return (lambda: model.objects.filter(**filters).count(), delta)


def notifications(kind: str, delta: int = 1) -> tuple[Callable[[], int], int]:
    """Events notified (one each, however many people were told): dedupe keys are
    "<kind>:<event>:<recipient id>"."""

    def events() -> int:
        keys = Notification.objects.filter(kind=kind).values_list("dedupe_key", flat=True)
        return len({key.rsplit(":", 1)[0] for key in keys})

    return (events, delta)


def _admin():
    return StaffFactory(roles=[Role.PROGRAM_ADMIN])


def _in_review(buyer=None) -> Opportunity:
    draft = OpportunityFactory(**({"buyer": buyer} if buyer else {}))
    return opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)


def _published(buyer=None) -> Opportunity:
    return opportunity_publish(actor=_admin(), opportunity=_in_review(buyer))


def _supplier():
    return SupplierProfileFactory().user


def _draft_bid(opportunity=None):
    supplier = _supplier()
    bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity or _published())
    return fill(bid, supplier), supplier


def _submitted_bid():
    bid, supplier = _draft_bid()
    bid_services.bid_submit(supplier=supplier, bid=bid)
    return bid, supplier


def _closed(count: int = 2):
    """(opportunity, evaluation): closed with `count` sealed bids, packets built."""
    opportunity, _bids = close_with_bids(
        _admin(), lambda execute=True: contextlib.nullcontext(), count=count
    )
    return opportunity, opportunity.evaluation


def _scores(evaluation):
    return dict(zip(labels(evaluation), [(True, 9), (True, 4), (True, 2)], strict=False))


def _at_consensus():
    """(opportunity, evaluation, chair): every mark submitted, the consensus not recorded."""
    opportunity, evaluation = _closed()
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    seat_panel(evaluation, evaluators)
    for evaluator in evaluators:
        mark_all(evaluation, evaluator, _scores(evaluation))
    evaluation.refresh_from_db()
    return opportunity, evaluation, evaluators[0]


def _locked():
    opportunity, evaluation = _closed()
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    run_to_consensus(evaluation, evaluators, _scores(evaluation))
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    return opportunity, evaluation


def _revealed():
    opportunity, evaluation = _locked()
    evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    return opportunity, evaluation


def _contract(*, until: str = "awaiting", bids: int = 1) -> tuple[Opportunity, Contract]:
    opportunity, contract = awarded_without_test_transaction(bids=bids)
    supplier, buyer = contract.supplier, opportunity.buyer
    if until in ("accepted", "delivered", "certified"):
        contract = contracts.contract_accept_terms(supplier=supplier, contract=contract)
    if until in ("delivered", "certified"):
        contract = contracts.contract_deliver(
            supplier=supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
        )
    if until == "certified":
        contract = contracts.contract_certify(buyer=buyer, contract=contract, confirmed=True)
    return opportunity, contract


def _card_holder():
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=2_500_000
    )
    return holder


def _recorded():
    _opportunity, contract = _contract(until="certified")
    payment = contract.payment
    paying.payment_start(
        payer=_card_holder(),
        payment=payment,
        provider=Payment.Provider.RECORDED_CARD,
        amount_cents=payment.total_cents,
        paid_on=timezone.localdate(),
        reference="AUTH-1",
        method=Payment.Method.CARD_TERMINAL,
    )
    return contract, payment


def _fake_stripe(ctx) -> FakeStripe:
    server = ctx.stack.enter_context(FakeStripe())
    ctx.settings.STRIPE_SECRET_KEY = "sk_test_marketplace"
    ctx.settings.STRIPE_API_BASE = server.url
    return server


def _notify(user, count: int = 1) -> list[Notification]:
    for number in range(count):
        with transaction.atomic():
            notification_send(
                kind="role.granted",
                recipients=[user],
                event_key=f"sweep-{user.pk}-{number}",
                context={"role": {"en": "Supplier", "fr": "Fournisseur"}},
            )
    return list(Notification.objects.filter(recipient=user))


# --- marketplace ---


def _preferred_language(ctx) -> Case:
    supplier = SupplierFactory()
    return Case(
        supplier,
        reverse("marketplace:preferred_language"),
        {"preferred_language": "fr"},
        page=reverse("marketplace:dashboard"),
        effects={"language changed": audit("user.language_changed")},
    )


def _full_name(ctx) -> Case:
    supplier = SupplierFactory(full_name="Old Name")
    return Case(
        supplier,
        reverse("marketplace:full_name"),
        {"full_name": "Marie Tremblay"},
        page=reverse("marketplace:dashboard"),
        effects={"name changed": audit("user.name_changed")},
    )


def _supplier_profile(ctx) -> Case:
    supplier = SupplierFactory()
    return Case(
        supplier,
        reverse("marketplace:supplier_profile"),
        {
            "kind": SupplierProfile.Kind.ORGANIZATION,
            "legal_name": "Maple Code Inc.",
            "contact_name": "Sam Smith",
            "email": supplier.email,
            "phone": "613-555-0100",
            "province": "ON",
            "postal_code": "K1A 0B1",
            "size": SupplierProfile.Size.ONE,
        },
        page=reverse("marketplace:supplier_profile"),
        effects={
            "profile": rows(SupplierProfile),
            "created": audit("supplier_profile.created"),
            "updated": audit("supplier_profile.updated", 0),
        },
    )


def _role_grant(ctx) -> Case:
    """Asks a second program admin (marketplace/approvals.py): one request, one notice."""
    staff = StaffFactory()
    _admin()  # the second program admin, who could approve it
    return Case(
        _admin(),
        reverse("marketplace:role_grant", args=[staff.pk]),
        {"role": Role.CARD_HOLDER},
        page=reverse("marketplace:role_user_detail", args=[staff.pk]),
        effects={
            "request": rows(Approval, status=Approval.Status.PENDING),
            "requested": audit("approval.requested"),
            "told": notifications("approval.requested"),
            "no grant yet": rows(RoleGrant, 0, role=Role.CARD_HOLDER),
        },
    )


def _pending_role_grant() -> Approval:
    staff = StaffFactory()
    _admin()  # the other program administrator, who could decide on it (none when run alone)
    return approvals.approval_request(
        actor=_admin(),
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": staff.pk, "role": Role.EVALUATOR},
    )


def _approval_approve(ctx) -> Case:
    approval = _pending_role_grant()
    return Case(
        _admin(),
        reverse("marketplace:approval_approve", args=[approval.pk]),
        page=reverse("marketplace:approval_detail", args=[approval.pk]),
        effects={
            "grant": rows(RoleGrant, role=Role.EVALUATOR),
            "granted": audit("role.granted"),
            "approved": audit("approval.approved"),
            "requester told": notifications("approval.approved"),
        },
    )


def _approval_reject(ctx) -> Case:
    approval = _pending_role_grant()
    return Case(
        _admin(),
        reverse("marketplace:approval_reject", args=[approval.pk]),
        {"reject-note": "Not for this person."},
        page=reverse("marketplace:approval_detail", args=[approval.pk]),
        effects={
            "rejected": audit("approval.rejected"),
            "requester told": notifications("approval.rejected"),
            "no grant": rows(RoleGrant, 0, role=Role.EVALUATOR),
        },
    )


def _approval_withdraw(ctx) -> Case:
    approval = _pending_role_grant()
    _admin()
    return Case(
        approval.requested_by,
        reverse("marketplace:approval_withdraw", args=[approval.pk]),
        page=reverse("marketplace:approval_detail", args=[approval.pk]),
        effects={"withdrawn": audit("approval.withdrawn")},
    )


def _role_revoke(ctx) -> Case:
    staff = StaffFactory(roles=[Role.EVALUATOR])
    admin = _admin()
    return Case(
        admin,
        reverse("marketplace:role_revoke", args=[staff.pk, Role.EVALUATOR]),
        page=reverse("marketplace:role_user_detail", args=[staff.pk]),
        effects={
            "grant": rows(RoleGrant, -1, role=Role.EVALUATOR),
            "revoked": audit("role.revoked"),
        },
    )


def _notification_open(ctx) -> Case:
    supplier = SupplierFactory()
    [notification] = _notify(supplier)
    return Case(
        supplier,
        reverse("marketplace:notification_open", args=[notification.pk]),
        page=reverse("marketplace:inbox"),
        effects={"unread": rows(Notification, -1, read_at__isnull=True)},
    )


def _notification_read(ctx) -> Case:
    supplier = SupplierFactory()
    [notification] = _notify(supplier)
    return Case(
        supplier,
        reverse("marketplace:notification_read", args=[notification.pk]),
        page=reverse("marketplace:inbox"),
        effects={"unread": rows(Notification, -1, read_at__isnull=True)},
    )


def _notifications_read_all(ctx) -> Case:
    supplier = SupplierFactory()
    _notify(supplier, count=2)
    return Case(
        supplier,
        reverse("marketplace:notifications_read_all"),
        page=reverse("marketplace:inbox"),
        effects={"unread": rows(Notification, -2, read_at__isnull=True)},
    )


def _notification_preferences(ctx) -> Case:
    supplier = SupplierFactory()
    return Case(
        supplier,
        reverse("marketplace:notification_preferences"),
        {"emailed": []},
        page=reverse("marketplace:notification_preferences"),
        effects={"saved": audit("notifications.preferences_saved")},
    )


def _unsubscribe(ctx) -> Case:
    supplier = SupplierFactory()
    token = unsubscribe_token(supplier.pk, "question.answered")
    return Case(
        None,
        reverse("marketplace:unsubscribe", args=[token]),
        effects={
            "opt-out": rows(NotificationOptOut),
            "unsubscribed": audit("notifications.unsubscribed"),
        },
    )


def _notification_retry(ctx) -> Case:
    supplier = SupplierFactory()
    [notification] = _notify(supplier)
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.GAVE_UP, attempts=8
    )
    return Case(
        _admin(),
        reverse("marketplace:notification_retry", args=[notification.pk]),
        page=reverse("marketplace:operations"),
        effects={"retried": audit("notification.retried"), "emails": (lambda: len(mail.outbox), 1)},
    )


def _notifications_retry_all(ctx) -> Case:
    supplier = SupplierFactory()
    _notify(supplier, count=2)
    Notification.objects.filter(recipient=supplier).update(
        status=Notification.Status.GAVE_UP, attempts=8
    )
    return Case(
        _admin(),
        reverse("marketplace:notifications_retry_all"),
        page=reverse("marketplace:operations"),
        effects={
            "retried": audit("notification.retried_all"),
            "emails": (lambda: len(mail.outbox), 2),
        },
    )


# --- opportunities ---


def _opportunity_create(ctx) -> Case:
    buyer = StaffFactory(roles=[Role.BUYER])
    return Case(
        buyer,
        reverse("opportunities:create"),
        _draft_form(),
        page=reverse("opportunities:create"),
        effects={"draft": rows(Opportunity), "created": audit("opportunity.created")},
    )


def _opportunity_edit(ctx) -> Case:
    draft = OpportunityFactory()
    count = draft.criteria.count()
    new = {
        f"criteria-{count}-kind": "mandatory",
        f"criteria-{count}-text_en": "Has tested with a screen reader.",
        f"criteria-{count}-text_fr": "A testé avec un lecteur d'écran.",
        f"criteria-{count}-word_limit": "200",
    }
    return Case(
        draft.buyer,
        reverse("opportunities:edit", args=[draft.pk]),
        {"title_en": "Fix the date picker, and its keyboard trap", **new},
        page=reverse("opportunities:edit", args=[draft.pk]),
        effects={"criterion": rows(Criterion, 1), "edited": audit("opportunity.edited")},
    )


def _opportunity_submit(ctx) -> Case:
    draft = OpportunityFactory()
    _admin()  # to be told
    return Case(
        draft.buyer,
        reverse("opportunities:submit", args=[draft.pk]),
        page=reverse("opportunities:edit", args=[draft.pk]),
        effects={
            "submitted": audit("opportunity.submitted"),
            "admins told": notifications("opportunity.submitted"),
        },
    )


def _opportunity_recall(ctx) -> Case:
    _admin()  # told of the submission, then of the recall
    opportunity = _in_review()
    return Case(
        opportunity.buyer,
        reverse("opportunities:recall", args=[opportunity.pk]),
        page=reverse("opportunities:recall", args=[opportunity.pk]),  # its confirmation
        effects={
            "recalled": audit("opportunity.recalled"),
            "admins told": notifications("opportunity.recalled"),
        },
    )


def _opportunity_discard(ctx) -> Case:
    draft = OpportunityFactory()
    return Case(
        draft.buyer,
        reverse("opportunities:discard", args=[draft.pk]),
        page=reverse("opportunities:discard", args=[draft.pk]),  # its confirmation
        effects={
            "discarded": audit("opportunity.discarded"),
            "draft gone": rows(Opportunity, -1, pk=draft.pk),
        },
    )


def _opportunity_amend(ctx) -> Case:
    opportunity = _published()
    return Case(
        opportunity.buyer,
        reverse("opportunities:amend", args=[opportunity.pk]),
        {
            "title_en": "Fix the date picker, and its keyboard trap",
            "note_en": "The title says more.",
            "note_fr": "Le titre en dit plus.",
        },
        page=reverse("opportunities:amend", args=[opportunity.pk]),
        effects={"addendum": rows(Addendum), "amended": audit("opportunity.amended")},
    )


def _question_ask(ctx) -> Case:
    opportunity = _published()
    return Case(
        _supplier(),
        reverse("opportunities:ask", args=[opportunity.pk]),
        {"text": "Which browsers must it support?"},
        page=reverse("opportunities:detail", args=[opportunity.pk]),
        effects={
            "question": rows(Question),
            "asked": audit("question.asked"),
            "buyer told": notifications("question.asked"),
        },
    )


def _question_answer(ctx) -> Case:
    opportunity = _published()
    question = question_ask(asker=_supplier(), opportunity=opportunity, text="Which browsers?")
    return Case(
        opportunity.buyer,
        reverse("opportunities:answer", args=[opportunity.pk, question.pk]),
        {"answer_en": "The last two of each.", "answer_fr": "Les deux dernières de chacun."},
        page=reverse("opportunities:detail", args=[opportunity.pk]),
        effects={
            "answered": audit("question.answered"),
            "told": notifications("question.answered"),
        },
    )


def _question_dismiss(ctx) -> Case:
    opportunity = _published()
    question = question_ask(asker=_supplier(), opportunity=opportunity, text="Any jobs?")
    return Case(
        opportunity.buyer,
        reverse("opportunities:dismiss_question", args=[opportunity.pk, question.pk]),
        {"dismissed_as": "out_of_scope", "reason": "This page is about one piece of work."},
        page=reverse("opportunities:detail", args=[opportunity.pk]),
        effects={
            "dismissed": audit("question.dismissed"),
            "told": notifications("question.dismissed"),
        },
    )


def _watch(ctx) -> Case:
    opportunity = _published()
    return Case(
        _supplier(),
        reverse("opportunities:watch", args=[opportunity.pk]),
        page=reverse("opportunities:detail", args=[opportunity.pk]),
        effects={"watch": rows(Watch)},
    )


def _opportunity_cancel(ctx) -> Case:
    opportunity = _published()
    return Case(
        opportunity.buyer,
        reverse("opportunities:cancel", args=[opportunity.pk]),
        {"reason": "The work was done in house."},
        page=reverse("opportunities:cancel", args=[opportunity.pk]),
        effects={"cancelled": audit("opportunity.cancelled")},
    )


def _opportunity_publish(ctx) -> Case:
    opportunity = _in_review()
    return Case(
        _admin(),
        reverse("opportunities:publish", args=[opportunity.pk]),
        page=reverse("opportunities:review", args=[opportunity.pk]),
        effects={
            "published": audit("opportunity.published"),
            "buyer told": notifications("opportunity.published"),
        },
    )


def _opportunity_request_changes(ctx) -> Case:
    opportunity = _in_review()
    return Case(
        _admin(),
        reverse("opportunities:request_changes", args=[opportunity.pk]),
        {"note": "Say which browsers."},
        page=reverse("opportunities:review", args=[opportunity.pk]),
        effects={"sent back": audit("opportunity.changes_requested")},
    )


def _guardrails(ctx) -> Case:
    cap = Guardrails.current().value_cap_cents // 100
    # One request for the guardrails waits at a time: the last step's is set aside.
    Approval.objects.filter(kind=Approval.Kind.GUARDRAILS, status=Approval.Status.PENDING).update(
        status=Approval.Status.WITHDRAWN
    )
    _admin()  # the second program admin, who could approve it
    return Case(
        _admin(),
        reverse("opportunities:guardrails"),
        {"value_cap_dollars": str(cap - 1000)},  # never above the legal ceiling
        page=reverse("opportunities:guardrails"),
        effects={
            "request": rows(Approval, kind=Approval.Kind.GUARDRAILS),
            "requested": audit("approval.requested"),
        },
    )


def _alert(ctx) -> Case:
    return Case(
        _supplier(),
        reverse("opportunities:alert"),
        {"frequency": Alert.Frequency.DAILY},
        page=reverse("opportunities:alert"),
        effects={"alert": rows(Alert), "created": audit("alert.created")},
    )


def _alert_delete(ctx) -> Case:
    supplier = _supplier()
    alert_save(user=supplier, skills=[], types=[], frequency=Alert.Frequency.DAILY)
    return Case(
        supplier,
        reverse("opportunities:alert_delete"),
        page=reverse("opportunities:alert"),
        effects={"alert": rows(Alert, -1), "deleted": audit("alert.deleted")},
    )


# --- bids ---


def _bid_start(ctx) -> Case:
    opportunity = _published()
    return Case(
        _supplier(),
        reverse("bids:start", args=[opportunity.pk]),
        page=reverse("opportunities:detail", args=[opportunity.pk]),
        effects={"bid": rows(Bid), "started": audit("bid.started")},
    )


def _bid_answers(bid) -> dict[str, str]:
    return {
        f"answer_{c.pk}": "We fixed the same keyboard trap last year."
        for c in bid.opportunity.criteria.all()
    }


def _bid_save(ctx) -> Case:
    supplier = _supplier()
    bid = bid_services.bid_start(supplier=supplier, opportunity=_published())
    return Case(
        supplier,
        reverse("bids:edit", args=[bid.pk]),
        {**_bid_answers(bid), "action_save": "Save draft"},
        page=reverse("bids:edit", args=[bid.pk]),
        effects={"answers": rows(Answer, bid.opportunity.criteria.count())},
    )


def _bid_edit_submit(ctx) -> Case:
    bid, supplier = _draft_bid()
    return Case(
        supplier,
        reverse("bids:edit", args=[bid.pk]),
        {"action_submit": "Submit bid"},
        page=reverse("bids:edit", args=[bid.pk]),
        effects={
            "receipt": rows(Receipt),
            "submitted": audit("bid.submitted"),
            "told": notifications("bid.submitted"),
        },
    )


def _bid_submit(ctx) -> Case:
    """'Submit anyway' from the identity warning (a page only a POST shows)."""
    bid, supplier = _draft_bid()
    return Case(
        supplier,
        reverse("bids:submit", args=[bid.pk]),
        effects={"receipt": rows(Receipt), "submitted": audit("bid.submitted")},
    )


def _bid_withdraw(ctx) -> Case:
    bid, supplier = _submitted_bid()
    return Case(
        supplier,
        reverse("bids:withdraw", args=[bid.pk]),
        page=reverse("bids:withdraw", args=[bid.pk]),
        effects={"withdrawn": audit("bid.withdrawn"), "told": notifications("bid.withdrawn")},
    )


def _bid_discard(ctx) -> Case:
    bid, supplier = _draft_bid()
    return Case(
        supplier,
        reverse("bids:discard", args=[bid.pk]),
        page=reverse("bids:discard", args=[bid.pk]),  # its confirmation
        effects={
            "discarded": audit("bid.discarded"),
            "draft gone": rows(Bid, -1, pk=bid.pk),
            "answers gone": rows(Answer, -bid.answers.count(), bid_id=bid.pk),
        },
    )


def _bid_confirm(ctx) -> Case:
    bid, supplier = _submitted_bid()
    opportunity = bid.opportunity
    opportunity_amend(
        actor=opportunity.buyer,
        opportunity=opportunity,
        note_en="A longer title.",
        note_fr="Un titre plus long.",
        title_en=opportunity.title_en + " (amended)",
    )
    return Case(
        supplier,
        reverse("bids:confirm", args=[bid.pk]),
        page=reverse("bids:detail", args=[bid.pk]),
        effects={"confirmed": audit("bid.confirmed")},
    )


def _attachment_add(ctx) -> Case:
    bid, supplier = _draft_bid()
    return Case(
        supplier,
        reverse("bids:attachment_add", args=[bid.pk]),
        page=reverse("bids:edit", args=[bid.pk]),
        files=lambda: {"file": upload(make_pdf())},
        effects={"attachment": rows(Attachment), "added": audit("bid.attachment_added")},
        may_differ_unkeyed="the second is refused while the first file is checked (one at a "
        "time per person), on the form with the refusal at the file box",
    )


def _attachment_remove(ctx) -> Case:
    bid, supplier = _draft_bid()
    attachment = bid_services.attachment_add(supplier=supplier, bid=bid, upload=upload(make_pdf()))
    return Case(
        supplier,
        reverse("bids:attachment_remove", args=[bid.pk, attachment.pk]),
        page=reverse("bids:edit", args=[bid.pk]),
        effects={
            "attached": rows(Attachment, -1, removed_at__isnull=True),
            "removed": audit("bid.attachment_removed"),
        },
    )


# --- evaluation ---


def _appoint(ctx) -> Case:
    opportunity, _evaluation = _closed()
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    return Case(
        opportunity.buyer,
        reverse("evaluation:appoint", args=[opportunity.pk]),
        {"evaluator": str(evaluator.pk), "is_chair": "on"},
        page=reverse("evaluation:overview", args=[opportunity.pk]),
        effects={
            "seat": rows(PanelMember),
            "appointed": audit("panel.appointed"),
            "told": notifications("evaluation.assigned"),
        },
    )


def _make_chair(ctx) -> Case:
    opportunity, evaluation = _closed()
    first, second = (StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2))
    buyer = opportunity.buyer
    evaluation_panel.panel_appoint(actor=buyer, evaluation=evaluation, evaluator=first)
    member = evaluation_panel.panel_appoint(actor=buyer, evaluation=evaluation, evaluator=second)
    return Case(
        buyer,
        reverse("evaluation:make_chair", args=[opportunity.pk, member.pk]),
        page=reverse("evaluation:overview", args=[opportunity.pk]),
        effects={"named": audit("panel.chair_named")},
    )


def _declare(ctx) -> Case:
    opportunity, evaluation = _closed()
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    evaluation_panel.panel_appoint(
        actor=opportunity.buyer, evaluation=evaluation, evaluator=evaluator
    )
    return Case(
        evaluator,
        reverse("evaluation:declare", args=[opportunity.pk]),
        {"conflict": "no"},
        page=reverse("evaluation:declare", args=[opportunity.pk]),
        effects={"declared": audit("panel.declared_no_conflict")},
    )


def _marks_form(opportunity, *, score: int = 7) -> dict[str, str]:
    data = {}
    for criterion in opportunity.criteria.all():
        if criterion.kind == Criterion.Kind.MANDATORY:
            data[f"passed_{criterion.pk}"] = "yes"
        else:
            data[f"score_{criterion.pk}"] = str(score)
        data[f"rationale_{criterion.pk}"] = "Shown in the answer."
    return data


def _marks_save(ctx) -> Case:
    opportunity, evaluation = _closed()
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    seat_panel(evaluation, evaluators)
    packet = evaluation.packets.first()
    return Case(
        evaluators[1],
        reverse("evaluation:packet", args=[opportunity.pk, packet.pk]),
        _marks_form(opportunity),
        page=reverse("evaluation:packet", args=[opportunity.pk, packet.pk]),
        effects={"marks": rows(Mark, opportunity.criteria.count())},
    )


def _marks_submit(ctx) -> Case:
    opportunity, evaluation = _closed()
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    seat_panel(evaluation, evaluators)
    for packet in evaluation.packets.all():
        evaluation_marking.marks_save(
            evaluator=evaluators[1],
            packet=packet,
            values=mark_values(opportunity, score=7, rationale="Clear."),
        )
    return Case(
        evaluators[1],
        reverse("evaluation:submit", args=[opportunity.pk]),
        page=reverse("evaluation:submit", args=[opportunity.pk]),  # its confirmation
        effects={"submitted": audit("marks.submitted")},
    )


def _consensus_save(ctx) -> Case:
    opportunity, evaluation, chair = _at_consensus()
    packet = evaluation.packets.first()
    return Case(
        chair,
        reverse("evaluation:consensus_packet", args=[opportunity.pk, packet.pk]),
        _marks_form(opportunity),
        page=reverse("evaluation:consensus_packet", args=[opportunity.pk, packet.pk]),
        effects={
            "marks": rows(ConsensusMark, opportunity.criteria.count()),
            "recorded": audit("consensus.recorded"),
        },
    )


def _lock(ctx) -> Case:
    opportunity, evaluation = _closed()
    evaluators = [StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2)]
    run_to_consensus(evaluation, evaluators, _scores(evaluation))
    return Case(
        evaluators[0],
        reverse("evaluation:lock", args=[opportunity.pk]),
        page=reverse("evaluation:lock", args=[opportunity.pk]),  # its confirmation
        effects={"selected": audit("evaluation.selected")},
    )


def _reveal(ctx) -> Case:
    opportunity, _evaluation = _locked()
    return Case(
        opportunity.buyer,
        reverse("evaluation:reveal", args=[opportunity.pk]),
        page=reverse("evaluation:reveal", args=[opportunity.pk]),  # its confirmation
        effects={"revealed": audit("evaluation.revealed")},
    )


def _award(ctx) -> Case:
    opportunity, _evaluation = _revealed()
    return Case(
        opportunity.buyer,
        reverse("evaluation:award", args=[opportunity.pk]),
        page=reverse("evaluation:award", args=[opportunity.pk]),  # its confirmation
        effects={
            "awarded": audit("evaluation.awarded"),
            "offer": rows(Offer),
            "contract": rows(Contract),
            "awardee told": notifications("bid.awarded"),
            "others told": notifications("bid.not_awarded"),
        },
    )


def _contract_decline(ctx) -> Case:
    _opportunity, contract = _contract(bids=2)
    return Case(
        contract.supplier,
        reverse("payments:decline", args=[contract.pk]),
        {"reason": "Booked elsewhere."},
        page=reverse("payments:decline", args=[contract.pk]),  # its confirmation
        effects={
            "declined": audit("contract.declined"),
            "offer ended": audit("evaluation.offer_declined"),
            "next offer": rows(Offer),
            "next told": notifications("bid.awarded"),
            "buyer told": notifications("contract.declined"),
        },
    )


# --- payments ---


def _accept_terms(ctx) -> Case:
    _opportunity, contract = _contract()
    return Case(
        contract.supplier,
        reverse("payments:accept_terms", args=[contract.pk]),
        page=reverse("payments:contract", args=[contract.pk]),
        effects={
            "accepted": audit("contract.accepted"),
            "told": notifications("contract.accepted"),
        },
    )


def _deliver(ctx) -> Case:
    _opportunity, contract = _contract(until="accepted")
    return Case(
        contract.supplier,
        reverse("payments:deliver", args=[contract.pk]),
        {"delivery_url": "https://github.com/x/y/pull/2", "notes": "Done."},
        page=reverse("payments:contract", args=[contract.pk]),
        effects={
            "delivered": audit("contract.delivered"),
            "told": notifications("contract.delivered"),
        },
    )


def _contract_request_changes(ctx) -> Case:
    opportunity, contract = _contract(until="delivered")
    return Case(
        opportunity.buyer,
        reverse("payments:request_changes", args=[contract.pk]),
        {"reasons": "The focus ring is missing."},
        page=reverse("payments:contract", args=[contract.pk]),
        effects={"asked": audit("contract.changes_requested")},
    )


def _certify(ctx) -> Case:
    opportunity, contract = _contract(until="delivered")
    return Case(
        opportunity.buyer,
        reverse("payments:certify", args=[contract.pk]),
        {"confirmed": "on"},
        page=reverse("payments:certify", args=[contract.pk]),  # its confirmation
        effects={
            "certified": audit("contract.certified"),
            "payment": rows(Payment),
            "supplier told": notifications("contract.certified"),
        },
    )


def _default(ctx) -> Case:
    opportunity, contract = _contract(until="accepted")
    Opportunity.objects.filter(pk=opportunity.pk).update(
        expected_delivery_date=timezone.localdate() - dt.timedelta(days=1)
    )
    return Case(
        opportunity.buyer,
        reverse("payments:default", args=[contract.pk]),
        {"reason": "Nothing was delivered."},
        page=reverse("payments:contract", args=[contract.pk]),
        effects={"defaulted": audit("contract.defaulted")},
    )


def _record(ctx) -> Case:
    _opportunity, contract = _contract(until="certified")
    payment = contract.payment
    return Case(
        _card_holder(),
        reverse("payments:record", args=[payment.pk]),
        # The confirmation of what the payment page's form sends (its values, hidden).
        page=reverse("payments:record", args=[payment.pk])
        + "?"
        + urlencode(
            {
                "amount": f"{payment.total_cents / 100:.2f}",
                "paid_on": timezone.localdate().isoformat(),
                "reference": "AUTH-123456",
                "method": Payment.Method.CARD_TERMINAL,
            }
        ),
        effects={
            "recorded": audit("payment.recorded"),
            "event": rows(PaymentEvent, kind="recorded"),
            "supplier told": notifications("payment.recorded"),
        },
    )


def _checkout(ctx) -> Case:
    server = _fake_stripe(ctx)
    _opportunity, contract = _contract(until="certified")
    account = connect.stripe_account_ensure(supplier=contract.supplier)
    server.complete_onboarding(account.account_id)
    connect.stripe_account_refresh(account)
    payment = contract.payment
    return Case(
        _card_holder(),
        reverse("payments:checkout", args=[payment.pk]),
        page=reverse("payments:detail", args=[payment.pk]),
        effects={
            "started": rows(PaymentEvent, kind="checkout_started"),
            "sessions": (lambda: server.count("checkout.session"), 1),
        },
        may_differ_unkeyed="the second learns the payment is under way on its page "
        "(tests/payments/test_stripe.py), the first goes on to Stripe's",
    )


def _payment_confirm(ctx) -> Case:
    contract, payment = _recorded()
    return Case(
        contract.supplier,
        reverse("payments:confirm", args=[payment.pk]),
        page=reverse("payments:detail", args=[payment.pk]),
        effects={"confirmed": audit("payment.receipt_confirmed")},
    )


def _report_missing(ctx) -> Case:
    contract, payment = _recorded()
    return Case(
        contract.supplier,
        reverse("payments:report_missing", args=[payment.pk]),
        {"reason": "Nothing reached my account."},
        page=reverse("payments:detail", args=[payment.pk]),
        effects={"disputed": audit("payment.disputed")},
    )


def _card_limit(ctx) -> Case:
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    _admin()  # the second program admin, who could approve it
    prefix = f"holder{holder.pk}"
    return Case(
        _admin(),
        reverse("payments:card_limit", args=[holder.pk]),
        {f"{prefix}-per_transaction": "5000", f"{prefix}-monthly": "20000"},
        page=reverse("payments:oversight"),
        effects={
            "request": rows(Approval, kind=Approval.Kind.CARD_LIMIT),
            "requested": audit("approval.requested"),
        },
    )


def _stripe_onboard(ctx) -> Case:
    server = _fake_stripe(ctx)
    return Case(
        _supplier(),
        reverse("payments:stripe_onboard"),
        page=reverse("marketplace:supplier_profile"),
        effects={
            "account": rows(StripeAccount),
            "created": audit("stripe.account_created"),
            "at Stripe": (lambda: server.count("account"), 1),
        },
        may_differ_unkeyed="each goes on to a fresh onboarding link of the one account",
    )


# --- reports ---


def _self_identification(ctx) -> Case:
    return Case(
        _supplier(),
        reverse("reports:self_identification"),
        {"groups": [SelfIdentification.Group.values[0]], "consent": "on"},
        page=reverse("reports:self_identification"),
        effects={"record": rows(SelfIdentification), "saved": audit("self_identification.saved")},
    )


def _self_identification_delete(ctx) -> Case:
    supplier = _supplier()
    report_services.self_identification_save(
        user=supplier, groups=[SelfIdentification.Group.values[0]], consent=True
    )
    return Case(
        supplier,
        reverse("reports:self_identification_delete"),
        page=reverse("reports:self_identification_delete"),
        effects={
            "record": rows(SelfIdentification, -1),
            "deleted": audit("self_identification.deleted"),
        },
    )


ACTIONS = [
    Action("language", "marketplace:preferred_language", _preferred_language),
    Action("name", "marketplace:full_name", _full_name),
    Action("supplier profile", "marketplace:supplier_profile", _supplier_profile),
    Action("grant a role", "marketplace:role_grant", _role_grant),
    Action("revoke a role", "marketplace:role_revoke", _role_revoke),
    Action("approve a request", "marketplace:approval_approve", _approval_approve),
    Action("reject a request", "marketplace:approval_reject", _approval_reject),
    Action("withdraw a request", "marketplace:approval_withdraw", _approval_withdraw),
    Action("open a notification", "marketplace:notification_open", _notification_open),
    Action("mark one read", "marketplace:notification_read", _notification_read),
    Action("mark all read", "marketplace:notifications_read_all", _notifications_read_all),
    Action("email choices", "marketplace:notification_preferences", _notification_preferences),
    Action("unsubscribe", "marketplace:unsubscribe", _unsubscribe),
    Action("send one again", "marketplace:notification_retry", _notification_retry),
    Action("send all again", "marketplace:notifications_retry_all", _notifications_retry_all),
    Action("create a draft", "opportunities:create", _opportunity_create),
    Action("save a draft", "opportunities:edit", _opportunity_edit),
    Action("submit for review", "opportunities:submit", _opportunity_submit),
    Action("take back from review", "opportunities:recall", _opportunity_recall),
    Action("discard a draft", "opportunities:discard", _opportunity_discard),
    Action("addendum", "opportunities:amend", _opportunity_amend),
    Action("ask a question", "opportunities:ask", _question_ask),
    Action("answer a question", "opportunities:answer", _question_answer),
    Action("dismiss a question", "opportunities:dismiss_question", _question_dismiss),
    Action("watch", "opportunities:watch", _watch),
    Action("cancel", "opportunities:cancel", _opportunity_cancel),
    Action("publish", "opportunities:publish", _opportunity_publish),
    Action("request changes", "opportunities:request_changes", _opportunity_request_changes),
    Action("guardrails", "opportunities:guardrails", _guardrails),
    Action("create an alert", "opportunities:alert", _alert),
    Action("delete the alert", "opportunities:alert_delete", _alert_delete),
    Action("start a bid", "bids:start", _bid_start),
    Action("save a bid", "bids:edit", _bid_save),
    Action("submit a bid", "bids:edit", _bid_edit_submit),
    Action("submit anyway", "bids:submit", _bid_submit),
    Action("withdraw", "bids:withdraw", _bid_withdraw),
    Action("discard a draft bid", "bids:discard", _bid_discard),
    Action("confirm a bid", "bids:confirm", _bid_confirm),
    Action("attach a file", "bids:attachment_add", _attachment_add),
    Action("remove a file", "bids:attachment_remove", _attachment_remove),
    Action("appoint", "evaluation:appoint", _appoint),
    Action("make chair", "evaluation:make_chair", _make_chair),
    Action("declare", "evaluation:declare", _declare),
    Action("save marks", "evaluation:packet", _marks_save),
    Action("submit final marks", "evaluation:submit", _marks_submit),
    Action("record consensus", "evaluation:consensus_packet", _consensus_save),
    Action("lock consensus", "evaluation:lock", _lock),
    Action("reveal", "evaluation:reveal", _reveal),
    Action("award", "evaluation:award", _award),
    Action("decline the contract", "payments:decline", _contract_decline),
    Action("accept the contract", "payments:accept_terms", _accept_terms),
    Action("deliver", "payments:deliver", _deliver),
    Action("ask for changes", "payments:request_changes", _contract_request_changes),
    Action("certify", "payments:certify", _certify),
    Action("declare a default", "payments:default", _default),
    Action("record a payment", "payments:record", _record),
    Action("pay by Stripe", "payments:checkout", _checkout),
    Action("confirm receipt", "payments:confirm", _payment_confirm),
    Action("report a missing payment", "payments:report_missing", _report_missing),
    Action("card limits", "payments:card_limit", _card_limit),
    Action("Stripe onboarding", "payments:stripe_onboard", _stripe_onboard),
    Action("self-identify", "reports:self_identification", _self_identification),
    Action(
        "delete self-identification",
        "reports:self_identification_delete",
        _self_identification_delete,
    ),
]


# --- Posting twice at once -------------------------------------------------------------------


class _Forms(HTMLParser):
    """The POST forms of a page, each as (action, [(name, value)]), as a browser would send
    them with their first submit button."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._select: tuple[str, bool, list[tuple[str, bool]]] | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._submitted = False
        # Buttons that send their form elsewhere (`formaction`, maybe outside it: `form="…"`),
        # as (form id or index, button name, value); the bid form's "Upload" and "Remove".
        self.form_ids: dict[str, int] = {}
        self.formactions: dict[str, tuple[str | int, str, str]] = {}

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if tag in ("button", "input") and attr.get("formaction"):
            owner = attr.get("form") or len(self.forms) - 1
            self.formactions[attr["formaction"]] = (
                owner,
                attr.get("name", ""),
                attr.get("value", ""),
            )
            return
        if tag == "form" and attr.get("method", "get").lower() == "post":
            self.forms.append((attr.get("action", ""), []))
            if attr.get("id"):
                self.form_ids[attr["id"]] = len(self.forms) - 1
            self._fields, self._submitted = self.forms[-1][1], False
        elif self._fields is None or attr.get("disabled") is not None:
            return
        elif tag == "input":
            kind, name = attr.get("type", "text").lower(), attr.get("name")
            if not name or kind in ("file", "reset", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            if kind == "submit":
                if self._submitted:
                    return
                self._submitted = True
            self._fields.append((name, attr.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "button" and attr.get("name") and not self._submitted:
            if attr.get("type", "submit") == "submit":
                self._submitted = True
                self._fields.append((attr["name"], attr.get("value", "")))
        elif tag == "select" and attr.get("name"):
            self._select = (attr["name"], "multiple" in attr, [])
        elif tag == "option" and self._select is not None:
            self._select[2].append((attr.get("value", ""), "selected" in attr))
        elif tag == "textarea" and attr.get("name"):
            self._textarea = (attr["name"], [])

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select" and self._select is not None and self._fields is not None:
            name, multiple, options = self._select
            chosen = [value for value, selected in options if selected]
            if not chosen and not multiple and options:
                chosen = [options[0][0]]
            self._fields.extend((name, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._fields is not None:
            name, parts = self._textarea
            text = "".join(parts)
            self._fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def _form_on_page(client: Client, page: str, url: str) -> dict[str, list[str]]:
    response = client.get(page)
    assert response.status_code == 200, f"{page}: {response.status_code}"
    parser = _Forms()
    parser.feed(response.content.decode())
    for action, fields in parser.forms:
        if (action or page) == url:
            data: dict[str, list[str]] = {}
            for name, value in fields:
                data.setdefault(name, []).append(value)
            return data
    if url in parser.formactions:
        owner, button, value = parser.formactions[url]
        index = parser.form_ids[owner] if isinstance(owner, str) else owner
        data = {}
        for name, field_value in [*parser.forms[index][1], (button, value)]:
            data.setdefault(name, []).append(field_value)
        return data
    raise AssertionError(f"no form posting to {url} on {page}")


def _at_once(*posts: Callable[[], Any]) -> list[Any]:
    """Run the posts at the same moment, each on its own thread and database connection."""
    start = threading.Barrier(len(posts))
    results: list[Any] = [None] * len(posts)

    def run(index: int, post: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=30)
            results[index] = post()
        except Exception:  # reported by the test, with its traceback
            results[index] = traceback.format_exc()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _landing(response) -> str:
    """Where the visitor ends up: the redirect's address, or the page's status."""
    if response.status_code in once.REDIRECTS:
        return response["Location"]
    return f"page {response.status_code}"


def _said(response) -> list[tuple[int, str]]:
    """The messages the response leaves for the next page."""
    cookie = response.cookies.get(CookieStorage.cookie_name)
    if cookie is None or not cookie.value:
        return []
    stored = CookieStorage(HttpRequest())._decode(cookie.value) or []
    return [(message.level, str(message.message)) for message in stored]


@dataclass
class Context:
    settings: Any
    stack: contextlib.ExitStack


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """The test database as the site has it: every write committed, seen by the two threads'
    own connections. Emptied once when the module is done (a flush per test, as transactional
    tests have, costs PostgreSQL over a second each); each step builds its own objects and
    measures what it changes, so the steps do not meet."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        ours = None
        if connection.settings_dict["NAME"] != connection.creation._get_test_db_name():
            # Only these tests were chosen, and none of them asks pytest-django for the test
            # database (its `db` fixtures would hold every write in one transaction): make it
            # here, never write to the configured one.
            ours = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            yield
            call_command("flush", interactive=False, verbosity=0)
        finally:
            if ours is not None:
                teardown_databases(ours, verbosity=0)


@pytest.fixture
def ctx(committed, settings):
    with contextlib.ExitStack() as stack:
        yield Context(settings=settings, stack=stack)


@pytest.mark.parametrize("keyed", [True, False], ids=["same key", "no key"])
@pytest.mark.parametrize("action", ACTIONS, ids=[action.name for action in ACTIONS])
def test_a_step_posted_twice_at_once_happens_once(ctx, action, keyed):
    case = action.prepare(ctx)
    first, second = (Client(raise_request_exception=False) for _ in range(2))
    if case.user is not None:
        first.force_login(case.user)
        session = first.cookies[django_settings.SESSION_COOKIE_NAME].value
        second.cookies[django_settings.SESSION_COOKIE_NAME] = session
    data: dict[str, Any] = {}
    key = once.new_key()
    if case.page is not None:
        data = _form_on_page(first, case.page, case.url)
        assert once.FIELD in data, f"the form on {case.page} carries no one-time key"
        [key] = data.pop(once.FIELD)
    data.update(case.data)
    if keyed:
        data[once.FIELD] = key
    before = {label: count() for label, (count, _delta) in case.effects.items()}

    def post(client: Client):
        return lambda: client.post(case.url, {**data, **(case.files() if case.files else {})})

    responses = _at_once(post(first), post(second))

    for response in responses:
        assert not isinstance(response, str), response  # an exception in the test client
        assert response.status_code < 500, (
            response.status_code,
            "".join(traceback.format_exception(*response.exc_info)) if response.exc_info else "",
        )
    landings = [_landing(response) for response in responses]
    if keyed or not case.may_differ_unkeyed:
        assert landings[0] == landings[1]
    if keyed:
        assert _said(responses[0]) == _said(responses[1])
    changed = {label: count() - before[label] for label, (count, _delta) in case.effects.items()}
    assert changed == {label: delta for label, (_count, delta) in case.effects.items()}


# --- Nothing left out ------------------------------------------------------------------------


def _views(resolver: URLResolver, namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _views(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry.callback


def _takes_post(view) -> bool:
    """Whether the view does something with a POST: a class view with `post`, a function
    behind `require_POST`/`require_http_methods` that allows it, or one that reads the method."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return hasattr(view_class, "post")
    layer = view
    while layer is not None:
        with contextlib.suppress(TypeError):
            methods = inspect.getclosurevars(layer).nonlocals.get("request_method_list")
            if methods is not None:
                return "POST" in methods
        layer = getattr(layer, "__wrapped__", None)
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (OSError, TypeError):
        return False
    return "request.method" in source and '"POST"' in source


def post_addresses() -> set[str]:
    return {
        name
        for name, view in _views(get_resolver())
        if not (getattr(view, "view_class", None) or inspect.unwrap(view)).__module__.startswith(
            THIRD_PARTY_MODULES
        )
        and _takes_post(view)
    }


def test_every_post_address_is_swept_or_exempted():
    swept = {action.url_name for action in ACTIONS}
    found = post_addresses()
    assert found - swept - set(EXEMPT) == set(), "sweep them here, or exempt them with a reason"
    assert (swept | set(EXEMPT)) - found == set(), "no such POST address any more"
    assert swept.isdisjoint(EXEMPT)
