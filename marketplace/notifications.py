"""The notification catalogue, and how one notification becomes a subject, a link and an email.

A notification's context is stored language-neutral (both languages of a text, a moment rather
than a formatted date) so that the same row renders in the recipient's language in the email and
in whatever language the inbox is read in.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from . import account_emails, formats
from .models import Role

if TYPE_CHECKING:
    from .models import Notification

UNSUBSCRIBE_SALT = "marketplace.notifications.unsubscribe"


@dataclass(frozen=True)
class Kind:
    """One entry of the catalogue.

    `subject` and `body` are translatable %-format strings over the context; `quote` names a
    context entry written by a person (a review note, an answer) shown as a quotation.
    """

    code: str
    label: Promise
    subject: Promise
    body: Promise
    roles: frozenset[str]
    mandatory: bool = False
    quote: str = ""
    action: Promise = field(default=_("Open it on the marketplace"))


_SUPPLIER = frozenset({Role.SUPPLIER})
_BUYER = frozenset({Role.BUYER})
_ADMIN = frozenset({Role.PROGRAM_ADMIN})
_CARD_HOLDER = frozenset({Role.CARD_HOLDER})
_STAFF = frozenset({Role.BUYER, Role.EVALUATOR, Role.CARD_HOLDER, Role.PROGRAM_ADMIN})

CATALOGUE: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            code="role.granted",
            label=_("A role is given to you"),
            subject=_("You have a new role: %(role)s"),
            body=_(
                "A program administrator gave you the role “%(role)s” on the Micro-acquisitions "
                "marketplace. If you did not expect this, contact the program team."
            ),
            roles=_STAFF,
            mandatory=True,
            action=_("See your dashboard"),
        ),
        Kind(
            code="role.staff_suspended",
            label=_("A staff member's roles are suspended after an email change"),
            subject=_("Staff roles suspended: %(email)s"),
            body=_(
                "The account %(email)s no longer has a verified Government of Canada address as "
                "its primary email, or it is also a supplier. Its staff roles (%(roles)s) give "
                "no access until that is fixed. If the change was not expected, find out why."
            ),
            roles=_ADMIN,
            mandatory=True,
            action=_("See the account"),
        ),
        Kind(
            code="role.staff_restored",
            label=_("A staff member's suspended roles are back in force"),
            subject=_("Staff roles back in force: %(email)s"),
            body=_(
                "The account %(email)s has a verified Government of Canada address as its "
                "primary email again: its staff roles (%(roles)s) are back in force."
            ),
            roles=_ADMIN,
            mandatory=True,
            action=_("See the account"),
        ),
        Kind(
            code="approval.requested",
            label=_("A change waits for your approval as second program administrator"),
            subject=_("Waiting for your approval: %(kind_label)s"),
            body=_(
                "%(requester)s asks for a change that needs a second program administrator: "
                "%(what)s. It is made only when another program administrator approves it."
            ),
            roles=_ADMIN,
            mandatory=True,
            action=_("Approve or reject it"),
        ),
        Kind(
            code="approval.approved",
            label=_("A change you asked for is approved"),
            subject=_("Approved: %(kind_label)s"),
            body=_("%(decider)s approved your request, and the change is made: %(what)s."),
            roles=_ADMIN | _BUYER,
            mandatory=True,
            quote="note",
            action=_("See the request"),
        ),
        Kind(
            code="approval.rejected",
            label=_("A change you asked for is rejected"),
            subject=_("Rejected: %(kind_label)s"),
            body=_(
                "%(decider)s rejected your request, and nothing is changed: %(what)s. Their reason:"
            ),
            roles=_ADMIN | _BUYER,
            mandatory=True,
            quote="note",
            action=_("See the request"),
        ),
        Kind(
            code="opportunity.submitted",
            label=_("An opportunity is waiting for review"),
            subject=_("For review: %(title)s"),
            body=_(
                "A buyer submitted “%(title)s” (%(value)s including tax) for review. It waits in "
                "the review queue until a program administrator publishes it or asks for changes."
            ),
            roles=_ADMIN,
            action=_("Review it"),
        ),
        Kind(
            code="opportunity.recalled",
            label=_("An opportunity is taken back from review"),
            subject=_("No longer waiting for review: %(title)s"),
            body=_(
                "The buyer took “%(title)s” back to their drafts before it was reviewed. It is "
                "no longer in the review queue: there is nothing to do until they submit it again."
            ),
            roles=_ADMIN,
            action=_("Open the review queue"),
        ),
        Kind(
            code="opportunity.changes_requested",
            label=_("Changes are requested to your opportunity"),
            subject=_("Changes requested: %(title)s"),
            body=_(
                "A program administrator asked for changes to “%(title)s” before it can be "
                "published. Their note:"
            ),
            roles=_BUYER,
            quote="note",
            action=_("Edit the opportunity"),
        ),
        Kind(
            code="opportunity.published",
            label=_("Your opportunity is published"),
            subject=_("Published: %(title)s"),
            body=_(
                "“%(title)s” is published. Suppliers can ask questions until "
                "%(question_deadline)s and bid until %(closes_at)s (Eastern time)."
            ),
            roles=_BUYER,
        ),
        Kind(
            code="opportunity.alert",
            label=_("A new opportunity matches your alert (as soon as it is published)"),
            subject=_("New opportunity: %(title)s"),
            body=_(
                "A new opportunity matches your alert: “%(title)s”, %(value)s including tax, "
                "closing %(closes_at)s (Eastern time)."
            ),
            roles=_SUPPLIER,
            quote="summary",
            action=_("Read the opportunity"),
        ),
        Kind(
            code="opportunity.alert_digest",
            label=_("New opportunities match your alert (daily digest)"),
            subject=ngettext_lazy(
                "%(count)s new opportunity matches your alert",
                "%(count)s new opportunities match your alert",
                "count",
            ),
            body=_("These opportunities were published in the last day and match your alert:"),
            roles=_SUPPLIER,
            action=_("See all open opportunities"),
        ),
        Kind(
            code="opportunity.amended",
            label=_("An opportunity you follow is changed (addendum)"),
            subject=_("Addendum %(number)s: %(title)s"),
            body=_("“%(title)s” was changed. Read addendum %(number)s before you bid:"),
            roles=_SUPPLIER,
            quote="note",
            action=_("Read the opportunity"),
        ),
        Kind(
            code="question.asked",
            label=_("A supplier asks a question about your opportunity"),
            subject=_("New question: %(title)s"),
            body=_(
                "A supplier asked a question about “%(title)s”. Answer it in English and French "
                "so that every supplier sees the answer:"
            ),
            roles=_BUYER,
            quote="question",
            action=_("Answer it"),
        ),
        Kind(
            code="question.answered",
            label=_("A question about an opportunity you follow is answered"),
            subject=_("Question answered: %(title)s"),
            body=_("A question about “%(title)s” has been answered. The answer:"),
            roles=_SUPPLIER,
            quote="answer",
            action=_("Read all questions and answers"),
        ),
        Kind(
            code="question.dismissed",
            label=_("The buyer does not publish a question you asked, and says why"),
            subject=_("Your question was not published: %(title)s"),
            body=_(
                "The buyer of “%(title)s” will not answer or publish your question "
                "“%(question)s”. %(dismissed_as)s. The reason given:"
            ),
            roles=_SUPPLIER,
            quote="reason",
            action=_("Read the opportunity"),
        ),
        Kind(
            code="opportunity.closing_soon",
            label=_("An opportunity you follow closes soon (48 and 24 hours before)"),
            subject=ngettext_lazy(
                "Closes in %(hours)s hour: %(title)s",
                "Closes in %(hours)s hours: %(title)s",
                "hours",
            ),
            body=_(
                "“%(title)s” closes at %(closes_at)s (Eastern time). No bid can be submitted "
                "or changed after that moment."
            ),
            roles=_SUPPLIER,
        ),
        Kind(
            code="bid.submitted",
            label=_("Receipt for a bid you submit"),
            subject=_("Bid received: %(title)s"),
            body=_(
                "We received your bid for “%(title)s” on %(submitted_at)s (Eastern time). Its "
                "SHA-256 digest is %(digest)s. Keep this email: the same digest appears on your "
                "bid's page and proves what you sent. You can change or withdraw your bid until "
                "%(closes_at)s."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("See your bid"),
        ),
        Kind(
            code="bid.withdrawn",
            label=_("Receipt for a bid you withdraw"),
            subject=_("Bid withdrawn: %(title)s"),
            body=_(
                "You withdrew your bid for “%(title)s” on %(withdrawn_at)s (Eastern time). It "
                "will not be evaluated unless you submit it again before %(closes_at)s."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("See your bid"),
        ),
        Kind(
            code="bid.addendum",
            label=_("An opportunity you bid on is changed: confirm or revise your bid"),
            subject=_("Addendum %(number)s — confirm or revise your bid: %(title)s"),
            body=_(
                "“%(title)s” was changed after you submitted your bid. Read addendum "
                "%(number)s, then confirm your bid as it is or revise and resubmit it before "
                "%(closes_at)s (Eastern time):"
            ),
            roles=_SUPPLIER,
            mandatory=True,
            quote="note",
            action=_("Read the opportunity"),
        ),
        Kind(
            code="opportunity.closed",
            label=_("An opportunity you posted or bid on closes for bids"),
            subject=_("Closed for bids: %(title)s"),
            body=_(
                "“%(title)s” closed for bids at %(closes_at)s (Eastern time). Bids are now sealed; "
                "evaluation comes next."
            ),
            roles=_BUYER | _SUPPLIER,
        ),
        Kind(
            code="evaluation.ready",
            label=_("The bids on your opportunity are ready for evaluation"),
            subject=_("Ready for evaluation: %(title)s"),
            body=_(
                "“%(title)s” closed. Bids received: %(count)s. Their anonymized packets are "
                "ready: appoint the evaluation panel and its chair."
            ),
            roles=_BUYER,
            action=_("Appoint the panel"),
        ),
        Kind(
            code="evaluation.no_bids",
            label=_("Your opportunity closes without any bid"),
            subject=_("No bids: %(title)s"),
            body=_("“%(title)s” closed without any bid. It is marked unsuccessful."),
            roles=_BUYER,
        ),
        Kind(
            code="evaluation.assigned",
            label=_("You are appointed to an evaluation panel"),
            subject=_("Evaluation panel: %(title)s"),
            body=_(
                "You are appointed to evaluate the bids on “%(title)s”. First declare whether "
                "you have a conflict of interest; then score each anonymized bid on your own."
            ),
            roles=frozenset({Role.EVALUATOR}),
            mandatory=True,
            action=_("Declare and start"),
        ),
        Kind(
            code="evaluation.recused",
            label=_("An evaluator recuses themselves"),
            subject=_("An evaluator recused: %(title)s"),
            body=_(
                "An evaluator on the panel for “%(title)s” declared a conflict of interest. "
                "Appoint another evaluator."
            ),
            roles=_BUYER,
            action=_("Appoint the panel"),
        ),
        Kind(
            code="evaluation.reminder",
            label=_("An evaluation is waiting for you (reminder)"),
            subject=_("Waiting for you: %(title)s"),
            body=_("The evaluation of “%(title)s” has been waiting for you for a while:"),
            roles=frozenset({Role.EVALUATOR, Role.BUYER}),
            quote="task",
            action=_("Open the evaluation"),
        ),
        Kind(
            code="evaluation.consensus_ready",
            label=_("Every evaluator has submitted: consensus can start"),
            subject=_("Ready for consensus: %(title)s"),
            body=_(
                "Every evaluator on “%(title)s” has submitted their marks. As chair, record the "
                "consensus on each criterion, then lock it."
            ),
            roles=frozenset({Role.EVALUATOR}),
            action=_("Open the consensus"),
        ),
        Kind(
            code="evaluation.selected",
            label=_("The selection on your opportunity is locked"),
            subject=_("Selection locked: %(title)s"),
            body=_(
                "The panel locked its consensus on “%(title)s” and the selection is made. You "
                "can now reveal who bid, and award."
            ),
            roles=_BUYER,
            action=_("Reveal and award"),
        ),
        Kind(
            code="bid.awarded",
            label=_("You are awarded an opportunity"),
            subject=_("You are awarded: %(title)s"),
            body=_(
                "Your bid on “%(title)s” is selected and the work is awarded to you. Open your "
                "bid's page for the next steps."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("See your bid"),
        ),
        Kind(
            code="bid.not_awarded",
            label=_("An opportunity you bid on is awarded to someone else (with your debrief)"),
            subject=_("Not awarded: %(title)s"),
            body=_(
                "“%(title)s” was awarded to another bid. Here is your debrief: the panel's "
                "consensus marks on your bid, with their reasons."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            quote="debrief",
            action=_("See your debrief and the draw"),
        ),
        Kind(
            code="opportunity.unsuccessful",
            label=_("An opportunity you bid on ends without an award"),
            subject=_("No award: %(title)s"),
            body=_(
                "“%(title)s” ends without an award: no bid met every mandatory criterion, or "
                "every ranked bid declined or defaulted."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("Read the opportunity"),
        ),
        Kind(
            code="contract.accepted",
            label=_("The supplier accepts the contract"),
            subject=_("Contract accepted: %(title)s"),
            body=_("The supplier accepted the terms for “%(title)s”: the work is in progress."),
            roles=_BUYER,
            action=_("See the contract"),
        ),
        Kind(
            code="contract.declined",
            label=_("The supplier declines the contract"),
            subject=_("Contract declined: %(title)s"),
            body=_(
                "The supplier declined the contract for “%(title)s” before accepting it. The "
                "award passes to the next qualified bid in rank; if none is left, the "
                "opportunity ends without an award. Their reason:"
            ),
            roles=_BUYER,
            mandatory=True,
            quote="reason",
            action=_("See the contract"),
        ),
        Kind(
            code="contract.lapsed",
            label=_("An award is not accepted by its deadline"),
            subject=_("Award not accepted in time: %(title)s"),
            body=_(
                "The contract for “%(title)s” was not accepted by %(due)s, so it ended as "
                "declined. The award passes to the next qualified bid in rank; if none is left, "
                "the opportunity ends without an award."
            ),
            roles=frozenset({Role.SUPPLIER, Role.BUYER}),
            mandatory=True,
            action=_("See the contract"),
        ),
        Kind(
            code="contract.delivered",
            label=_("The supplier delivers the work"),
            subject=_("Work delivered: %(title)s"),
            body=_(
                "The supplier delivered the work for “%(title)s”. Review it, then accept and "
                "certify it, or ask for changes."
            ),
            roles=_BUYER,
            action=_("Review the delivery"),
        ),
        Kind(
            code="contract.changes_requested",
            label=_("The buyer asks for changes to your delivery"),
            subject=_("Changes requested: %(title)s"),
            body=_("The buyer asked for changes to your delivery for “%(title)s”. Their reasons:"),
            roles=_SUPPLIER,
            mandatory=True,
            quote="reasons",
            action=_("See the contract"),
        ),
        Kind(
            code="contract.certified",
            label=_("The buyer accepts your work"),
            subject=_("Work accepted: %(title)s"),
            body=_(
                "The buyer accepted and certified your work for “%(title)s”. Payment is the next "
                "step."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("See the contract"),
        ),
        Kind(
            code="contract.overdue",
            label=_("A delivery is past its date"),
            subject=_("Delivery overdue: %(title)s"),
            body=_(
                "The delivery for “%(title)s” was due on %(due)s. Supplier: deliver, or talk to "
                "the buyer now. Buyer: you can declare a default from the contract page, which "
                "passes the award to the next bid in rank."
            ),
            roles=frozenset({Role.SUPPLIER, Role.BUYER}),
            mandatory=True,
            action=_("See the contract"),
        ),
        Kind(
            code="payment.due",
            label=_("Certified work waits for payment"),
            subject=_("Payment due: %(title)s"),
            body=_(
                "The buyer certified the work for “%(title)s”. %(amount)s is due to the "
                "supplier: pay it by card and record it, or pay through Stripe."
            ),
            roles=_CARD_HOLDER,
            mandatory=True,
            action=_("Pay the supplier"),
        ),
        Kind(
            code="payment.reminder",
            label=_("A payment is still due (daily reminder)"),
            subject=_("Reminder, payment due: %(title)s"),
            body=_(
                "%(amount)s for “%(title)s” has been due since %(since)s. Suppliers count on "
                "being paid within days."
            ),
            roles=_CARD_HOLDER,
            mandatory=True,
            action=_("Pay the supplier"),
        ),
        Kind(
            code="payment.recorded",
            label=_("A card holder records a payment to you"),
            subject=_("Payment recorded: %(title)s"),
            body=_(
                "A card holder recorded a payment of %(amount)s for “%(title)s”, made on "
                "%(paid_on)s (reference %(reference)s). Confirm that you received it, or say "
                "what is wrong."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("Confirm the payment"),
        ),
        Kind(
            code="payment.sent",
            label=_("You are paid through Stripe"),
            subject=_("Payment sent: %(title)s"),
            body=_(
                "%(amount)s for “%(title)s” was paid to your Stripe account. Stripe pays it "
                "out to your bank account on its usual schedule."
            ),
            roles=_SUPPLIER,
            mandatory=True,
            action=_("See the payment"),
        ),
        Kind(
            code="payment.received",
            label=_("A payment reaches the supplier"),
            subject=_("Paid: %(title)s"),
            body=_("%(amount)s for “%(title)s” reached the supplier. The work is complete."),
            roles=frozenset({Role.BUYER, Role.CARD_HOLDER}),
            mandatory=True,
            action=_("See the payment"),
        ),
        Kind(
            code="payment.failed",
            label=_("A Stripe payment you started fails"),
            subject=_("Payment failed: %(title)s"),
            body=_("The payment of %(amount)s for “%(title)s” did not go through. Stripe said:"),
            roles=_CARD_HOLDER,
            mandatory=True,
            quote="reason",
            action=_("Try again"),
        ),
        Kind(
            code="payment.disputed",
            label=_("A recorded payment is not confirmed by the supplier"),
            subject=_("Payment not confirmed: %(title)s"),
            body=_(
                "The recorded payment of %(amount)s for “%(title)s” is not confirmed by the "
                "supplier. The reason:"
            ),
            roles=frozenset({Role.CARD_HOLDER, Role.PROGRAM_ADMIN}),
            mandatory=True,
            quote="reason",
            action=_("See the payment"),
        ),
        Kind(
            code="payment.webhook_mismatch",
            label=_("Stripe reports money that does not match a payment"),
            subject=_("Payment not matched: %(title)s"),
            body=_(
                "Stripe reported a payment for “%(title)s” that does not match the payment of "
                "%(amount)s (differs: %(differences)s). The payment was left as it was: check "
                "it in Stripe."
            ),
            roles=frozenset({Role.CARD_HOLDER, Role.PROGRAM_ADMIN}),
            mandatory=True,
            action=_("See the payment"),
        ),
        Kind(
            code="supplier.fiscal_year_threshold",
            label=_("A supplier's awards this fiscal year pass the threshold"),
            subject=_("Over the threshold: %(supplier)s"),
            body=_(
                "With “%(title)s”, awards to %(supplier)s in fiscal year %(fiscal_year)s total "
                "%(total)s, over the %(threshold)s threshold. Check that work is not being "
                "split or steered."
            ),
            roles=_ADMIN,
            action=_("See payments oversight"),
        ),
        Kind(
            code="opportunity.cancelled",
            label=_("An opportunity you follow or posted is cancelled"),
            subject=_("Cancelled: %(title)s"),
            body=_("“%(title)s” was cancelled. The reason given:"),
            roles=_SUPPLIER | _BUYER,
            quote="reason",
        ),
    )
}


def kinds_for(roles: frozenset[str]) -> list[Kind]:
    """The catalogue entries a person with these roles can receive, in catalogue order."""
    return [kind for kind in CATALOGUE.values() if kind.roles & roles]


# --- Building a context: language-neutral values ----------------------------------------------


def bilingual(english: str, french: str) -> dict[str, str]:
    return {"en": english, "fr": french or english}


def translated(text: Promise | str) -> dict[str, str]:
    """A translatable string, resolved now in every language."""
    values = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            values[code] = str(text)
    return values


def moment(value: dt.datetime | None) -> dict[str, str] | None:
    return None if value is None else {"datetime": value.isoformat()}


def day(value: dt.date | None) -> dict[str, str] | None:
    return None if value is None else {"date": value.isoformat()}


def money(cents: int) -> dict[str, int]:
    return {"cents": cents}


def link(name: str, **kwargs: Any) -> dict[str, Any]:
    return {"name": name, "kwargs": kwargs}


def _resolve(value: Any, language: str) -> Any:
    if isinstance(value, dict):
        # Written in the recipient's language, as every page writes them (marketplace/formats).
        if "datetime" in value:
            return formats.datetime(dt.datetime.fromisoformat(value["datetime"]), language=language)
        if "date" in value:
            return formats.date(dt.date.fromisoformat(value["date"]), language=language)
        if "cents" in value:
            return formats.money(value["cents"], language=language)
        if language in value:
            return value[language]
    if value is None:
        return "—"
    return value


def _values(notification: Notification, language: str) -> dict[str, Any]:
    return {
        key: _resolve(value, language)
        for key, value in notification.context.items()
        if key not in {"link", "items"}
    }


def render_subject(notification: Notification, language: str) -> str:
    with translation.override(language):
        return str(CATALOGUE[notification.kind].subject % _values(notification, language))


def render_link(notification: Notification, language: str) -> str:
    try:
        return _reverse_in(notification.context.get("link") or link("marketplace:inbox"), language)
    except NoReverseMatch:
        return _reverse_in(link("marketplace:inbox"), language)


def unsubscribe_token(user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """The (user id, kind) a token was made for, or None when it was tampered with."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in CATALOGUE:
        return None
    if not isinstance(data.get("u"), int):
        return None
    return data["u"], data["k"]


# Stand-ins for what differs between the recipients of one event (mail merge): the shared part
# of their emails is rendered once, then each gets their greeting and unsubscribe link. A
# random part makes them impossible to guess, so no text of a posting can contain one.
_MERGE = secrets.token_hex(8)
RECIPIENT_GREETING = f"[recipient-greeting-{_MERGE}]"
UNSUBSCRIBE_URL = f"[unsubscribe-url-{_MERGE}]"


@dataclass(frozen=True)
class SharedEmail:
    """An email as every recipient of one event in one language gets it, but for the merge."""

    subject: str
    text: str
    html: str
    personal_unsubscribe: bool


def _shared_email(notification: Notification) -> SharedEmail:
    kind = CATALOGUE[notification.kind]
    language = notification.language
    values = _values(notification, language)
    site = settings.SITE_URL
    with translation.override(language):
        context: dict[str, Any] = {
            "greeting": RECIPIENT_GREETING,
            "subject": str(kind.subject % values),
            "body": str(kind.body % values),
            "quote": values.get(kind.quote, "") if kind.quote else "",
            "items": [
                {
                    "title": _resolve(item["title"], language),
                    "url": site + _reverse_in(item["link"], language),
                }
                for item in notification.context.get("items", [])
            ],
            "action": str(kind.action),
            "url": site + render_link(notification, language),
            "kind_label": str(kind.label),
            "mandatory": kind.mandatory,
            "preferences_url": site + reverse("marketplace:notification_preferences"),
            "site_url": site,
            "unsubscribe_url": "" if kind.mandatory else UNSUBSCRIBE_URL,
        }
        return SharedEmail(
            subject=" ".join(context["subject"].splitlines()),
            text=render_to_string("marketplace/email/notification.txt", context),
            html=render_to_string("marketplace/email/notification.html", context),
            personal_unsubscribe=not kind.mandatory,
        )


def email_message(
    notification: Notification, *, shared: dict[tuple, SharedEmail] | None = None
) -> EmailMultiAlternatives:
    """The email for one notification, in the language it was written for.

    `shared` keeps the rendered shared part across the notifications of one delivery batch:
    the recipients of one event (an alert to thousands of suppliers) cost one rendering per
    language, not one each."""
    key = (
        notification.kind,
        notification.language,
        json.dumps(notification.context, sort_keys=True, default=str),
    )
    email = shared.get(key) if shared is not None else None
    if email is None:
        email = _shared_email(notification)
        if shared is not None:
            shared[key] = email
    recipient = notification.recipient
    with translation.override(notification.language):
        # "Hello Marie," or, for an account without a name, "Hello," (never the address).
        greeting = account_emails.greeting(recipient)
    unsubscribe_url = ""
    # One Message-ID per notification, whatever the attempt: should a crash between sending and
    # recording it ever send one twice, mail systems see the same message, not a new one.
    headers = {"Message-ID": f"<notification.{notification.pk}@{_message_id_domain()}>"}
    if email.personal_unsubscribe:
        with translation.override(notification.language):
            unsubscribe_url = settings.SITE_URL + reverse(
                "marketplace:unsubscribe",
                kwargs={"token": unsubscribe_token(recipient.pk, notification.kind)},
            )
        # One-click unsubscribe (RFC 8058): mail clients POST to the link without a session.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = email.text.replace(RECIPIENT_GREETING, greeting).replace(
        UNSUBSCRIBE_URL, unsubscribe_url
    )
    html = email.html.replace(RECIPIENT_GREETING, escape(greeting)).replace(
        UNSUBSCRIBE_URL, escape(unsubscribe_url)
    )
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def _message_id_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _reverse_in(target: dict[str, Any], language: str) -> str:
    with translation.override(language):
        return reverse(target["name"], kwargs=target["kwargs"])
