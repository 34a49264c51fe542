"""The audit trail's verbs, and the sentence people read for each, in their language.

An audit event stores a verb, a code such as "packet.viewed" (marketplace.services.
audit_event_record): codes stay in the database, in logs and in the technical admin, where they
are searched and filtered. Every page that shows an event to a person — the evaluation's "Who
saw what, and when", the recent activity on a person's page, a payment's history — shows the
sentence this registry gives for its verb instead, in the reader's language.

One entry per verb. A sentence is a lazy catalogue string that may name values of the
event's data, each made readable first (see `_values`):

    %(label)s     a packet's label as people read it ("Soumission K7Q"), from data "label" or
                  "packet" (the label on record, never anything that names the bidder)
    %(number)s    a number the event records: an attachment's, an addendum's, a receipt's
    %(role)s      a role's name, from data "role"
    %(approval)s  what an approval request is about, from data "kind"
    %(notice)s    the kind of email someone stopped, from data "kind"
    %(count)s     how many, from data "count"
    %(type)s      the type of a Stripe event (a code of Stripe's, shown as it is)

A value the event lacks reads "—": an old event never breaks a page.

A payment's history (payments.PaymentEvent) is read through the same registry: the event of
kind "recorded" is the verb "payment.recorded". Moves of a payment are also audit events with
that verb; notes (a Checkout page created, a Stripe notice kept) are in its history only.

Adding a verb: add its entry here, with its French in the catalogue.
tests/marketplace/test_audit_verbs.py fails for any verb the code writes that has none.

Code that *reads* the trail by verb (the metrics' stages, a count of deletions, the admin's
"ever a supplier") names its verbs through `verb("...")`: a verb renamed or dropped here then
fails when the module loads, instead of quietly counting nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .i18n import choice_label
from .labels import bid_label
from .models import Approval, Role
from .notifications import CATALOGUE

VERBS: dict[str, Promise] = {
    # People and their accounts (marketplace/services.py, marketplace/admin.py)
    "user.created": _("The account was created."),
    "user.signed_up": _("The person signed up."),
    "user.language_changed": _("The preferred language was changed."),
    "user.name_changed": _("The name was changed."),
    "user.created_in_admin": _("The account was created in the technical administration."),
    "user.password_set_in_admin": _("A password was set in the technical administration."),
    "user.changed_in_admin": _("The account was changed in the technical administration."),
    "user.is_active_changed_in_admin": _(
        "The account was activated or deactivated in the technical administration."
    ),
    "user.is_staff_changed_in_admin": _("Access to the technical administration was changed."),
    "user.is_superuser_changed_in_admin": _(
        "Superuser status was changed in the technical administration."
    ),
    "role.granted": _("The role “%(role)s” was granted."),
    "role.revoked": _("The role “%(role)s” was withdrawn."),
    "role.staff_suspended": _(
        "Staff roles were suspended: the primary email is no longer a verified Government of "
        "Canada address."
    ),
    "role.staff_restored": _("Staff roles are back in force."),
    "supplier_profile.created": _("The supplier profile was created."),
    "supplier_profile.updated": _("The supplier profile was updated."),
    "notifications.preferences_saved": _("The notification settings were saved."),
    "notifications.unsubscribed": _("Emails for “%(notice)s” were stopped from an email link."),
    "notification.retried": _("An email that could not be sent was sent again."),
    "notification.retried_all": _("Emails that could not be sent were sent again (%(count)s)."),
    # Decisions that need a second program administrator (marketplace/approvals.py)
    "approval.requested": _("A change was asked for, for a second approval: %(approval)s."),
    "approval.approved": _("The request was approved and the change made: %(approval)s."),
    "approval.rejected": _("The request was rejected: %(approval)s."),
    "approval.withdrawn": _("The request was withdrawn: %(approval)s."),
    # Opportunities (the flow modules of opportunities/: drafting.py, publishing.py …)
    "opportunity.created": _("The opportunity was created as a draft."),
    "opportunity.edited": _("The opportunity was edited."),
    "opportunity.submitted": _("The opportunity was submitted for review."),
    "opportunity.changes_requested": _("Changes to the opportunity were asked for."),
    "opportunity.recalled": _("The buyer took the opportunity back from review to the drafts."),
    "opportunity.discarded": _("The buyer discarded the draft opportunity."),
    "opportunity.published": _("The opportunity was published."),
    "opportunity.amended": _("Addendum %(number)s was published."),
    "opportunity.closed": _("The opportunity closed for bids."),
    "opportunity.evaluating": _("The evaluation of the bids started."),
    "opportunity.awarded": _("The opportunity was awarded."),
    "opportunity.in_delivery": _("The supplier accepted the contract: the work started."),
    "opportunity.completed": _("The opportunity was completed."),
    "opportunity.cancelled": _("The opportunity was cancelled."),
    "opportunity.unsuccessful": _("The opportunity ended without an award."),
    "question.asked": _("A supplier asked a question."),
    "question.answered": _("A question was answered."),
    "question.dismissed": _("A question was dismissed, and the reason told to its asker."),
    "alert.created": _("An alert was created."),
    "alert.updated": _("An alert was changed."),
    "alert.deleted": _("An alert was deleted."),
    "guardrails.updated": _("The program guardrails were changed."),
    # Bids (bids/services.py)
    "bid.started": _("A bid was started."),
    "bid.submitted": _("The bid was submitted (receipt %(number)s)."),
    "bid.resubmitted": _("The bid was submitted again (receipt %(number)s)."),
    "bid.confirmed": _("The bid was confirmed as it is after addendum %(number)s."),
    "bid.withdrawn": _("The bid was withdrawn."),
    "bid.discarded": _("The draft bid was discarded."),
    "bid.sealed": _("The bid was sealed at the close."),
    "bid.attachment_added": _("An attachment was added to the bid."),
    "bid.attachment_removed": _("An attachment was removed from the bid."),
    # Bids moved by evaluation (evaluation/services.py, evaluation/offers.py)
    "bid.qualified": _("The bid passed every mandatory criterion."),
    "bid.disqualified": _("The bid did not pass a mandatory criterion."),
    "bid.awarded": _("The award was offered to the bid."),
    "bid.not_awarded": _("The bid was not awarded."),
    "bid.terminated": _("The award to the bid ended (declined or default)."),
    # Blind evaluation (evaluation/packets.py, panel.py, marking.py, services.py)
    "evaluation.committed": _("Bids closed: a secret seed was drawn and its commitment published."),
    "evaluation.labels_bound": _(
        "The packets' labels were bound to the commitment, and their digest published."
    ),
    "evaluation.packets_ready": _("The anonymized packets are ready."),
    "evaluation.no_bids": _("Bids closed without any bid."),
    "evaluation.panel_complete": _("The panel is complete: individual scoring started."),
    "evaluation.consensus": _("Every evaluator submitted their marks: the consensus started."),
    "evaluation.selected": _("The consensus was locked and the selection made."),
    "evaluation.unsuccessful": _("The evaluation ended without an award."),
    "evaluation.revealed": _("Who bid was revealed."),
    "evaluation.offered": _("The award was offered to “%(label)s”."),
    "evaluation.offer_declined": _("The supplier of “%(label)s” declined the award."),
    "evaluation.offer_defaulted": _("The award to “%(label)s” ended for default."),
    "evaluation.offer_lapsed": _(
        "The supplier of “%(label)s” did not accept the award in time: it ended as declined."
    ),
    "evaluation.awarded": _("The work was awarded."),
    "panel.appointed": _("An evaluator was appointed to the panel."),
    "panel.chair_named": _("The panel's chair was named."),
    "panel.declared_no_conflict": _("An evaluator declared no conflict of interest."),
    "panel.recused": _("An evaluator declared a conflict of interest and stepped aside."),
    "marks.submitted": _("An evaluator submitted their marks."),
    "consensus.recorded": _("The consensus on “%(label)s” was recorded."),
    "packet.viewed": _("The packet “%(label)s” was opened."),
    "packet.attachment_viewed": _("Attachment %(number)s of “%(label)s” was downloaded."),
    "packet.attachment_withheld": _(
        "Attachment %(number)s of “%(label)s” was withheld: it named the bidder."
    ),
    # Delivery and acceptance (payments/contracts.py)
    "contract.created": _("The contract was drawn up."),
    "contract.accepted": _("The supplier accepted the contract."),
    "contract.declined": _("The supplier declined the contract."),
    "contract.lapsed": _(
        "The supplier did not accept the contract by its deadline: it ended as declined."
    ),
    "contract.delivered": _("The supplier delivered the work."),
    "contract.file_delivered": _("A file was delivered."),
    "contract.changes_requested": _("The buyer asked for changes to the delivery."),
    "contract.certified": _("The buyer accepted the work and certified it (section 34)."),
    "contract.defaulted": _("The contract ended for default."),
    "supplier.fiscal_year_threshold": _(
        "The supplier's awards this fiscal year passed the threshold."
    ),
    "card_limit.set": _("A card holder's limits were set."),
    "stripe.account_created": _("A Stripe account was opened for the supplier."),
    "stripe.event_refused": _("A notice said to come from Stripe was refused."),
    # Payments: audit verbs, and the kinds of a payment's history ("payment.<kind>")
    "payment.due": _("The invoice was issued: the payment is due."),
    "payment.recorded": _("A card holder recorded a payment made by card."),
    "payment.checkout_started": _("A card holder started paying through Stripe."),
    "payment.checkout_created": _("Stripe's payment page was ready."),
    "payment.checkout_refused": _("Stripe refused to make a payment page."),
    "payment.checkout_withdraw": _(
        "An earlier Stripe payment page was left behind: it is being closed."
    ),
    "payment.checkout_withdrawn": _("An earlier Stripe payment page was closed."),
    "payment.checkout_withdrawn_paid": _(
        "An earlier Stripe payment page, left behind, was paid: check it in Stripe."
    ),
    "payment.checkout_expired": _("Stripe's payment page expired without payment."),
    "payment.checkout_expired_ignored": _(
        "Stripe said a payment page expired, one nobody was waiting for: nothing changed."
    ),
    "payment.stripe_paid": _("Stripe confirmed the payment."),
    "payment.stripe_paid_again": _("Stripe confirmed the payment again: it was already paid."),
    "payment.stripe_paid_unexpected": _(
        "Stripe reported a payment the marketplace was not waiting for: check it in Stripe."
    ),
    "payment.stripe_failed": _("The payment through Stripe failed."),
    "payment.stripe_failed_ignored": _(
        "Stripe reported the failure of an earlier attempt: nothing changed."
    ),
    "payment.receipt_confirmed": _("The supplier confirmed receiving the payment."),
    "payment.receipt_confirmed_again": _(
        "The supplier confirmed receiving the payment again: it was already paid."
    ),
    "payment.disputed": _("The supplier did not confirm receiving the recorded payment."),
    "payment.webhook_mismatch": _(
        "Stripe reported money that does not match the payment: the payment was left as it was."
    ),
    "payment.reconcile_mismatch": _(
        "Checking with Stripe found money that does not match the payment."
    ),
    "payment.reconciled_paid": _("Checking with Stripe found the payment paid."),
    "payment.reconciled_paid_again": _(
        "Checking with Stripe found the payment paid again: it was already paid."
    ),
    "payment.reconciled_expired": _("Checking with Stripe found the payment page expired."),
    "payment.payout.paid": _("Stripe paid the money out to the supplier's bank account."),
    "payment.transfer.created": _("Stripe moved the money to the supplier's Stripe account."),
    "payment.transfer.reversed": _("Stripe took back a transfer to the supplier's Stripe account."),
    "payment.checkout.session.async_payment_succeeded": _(
        "Stripe said the delayed payment went through; the money is not confirmed yet."
    ),
    "payment.checkout.session.completed": _(
        "Stripe said the payment page was completed; the money is not confirmed yet."
    ),
    # Reports (reports/services.py)
    "self_identification.saved": _("A supplier's self-identification was saved."),
    "self_identification.deleted": _("A supplier's self-identification was deleted."),
    "metrics.snapshot_taken": _("The program metrics were recorded."),
    "diversity.snapshot_taken": _("The self-identification summary was recorded."),
}


def verb(code: str) -> str:
    """`code`, checked against the registry (see the module's docstring)."""
    if code not in VERBS:
        raise LookupError(f"{code!r} is not an audit verb (marketplace/audit_verbs.py)")
    return code


# A notice from Stripe the registry has no sentence for (Stripe adds types): its type is a
# code of Stripe's, named in the sentence as it is.
STRIPE_NOTICE = _("Stripe sent a notice (%(type)s).")
UNKNOWN = _("An event was recorded (%(type)s).")


class _Readable(dict):
    """The values a sentence names; "—" for any the event does not hold."""

    def __missing__(self, key: str) -> str:
        return "—"


def _values(verb: str, data: Mapping[str, Any]) -> _Readable:
    values = _Readable()
    label = data.get("label") or data.get("packet")
    if isinstance(label, str) and label:
        values["label"] = bid_label(label)
    for key in ("number", "receipt", "addendum", "offer"):
        if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
            values.setdefault("number", data[key])
    if isinstance(data.get("role"), str):
        values["role"] = choice_label(Role, data["role"])
    kind = data.get("kind")
    if isinstance(kind, str) and verb.startswith("approval."):
        values["approval"] = choice_label(Approval.Kind, kind)
    if isinstance(kind, str) and verb.startswith("notifications."):
        notice = CATALOGUE.get(kind)
        values["notice"] = str(notice.label) if notice else kind
    if isinstance(data.get("count"), int) and not isinstance(data["count"], bool):
        values["count"] = data["count"]
    return values


def sentence(verb: str, data: Mapping[str, Any] | None = None) -> str:
    """What happened, as one sentence in the current language."""
    data = data if isinstance(data, Mapping) else {}
    template = VERBS.get(verb)
    if template is None:
        stripe_type = verb.removeprefix("payment.")
        if stripe_type != verb and "." in stripe_type:
            return str(STRIPE_NOTICE) % {"type": stripe_type}
        return str(UNKNOWN) % {"type": verb}
    return str(template) % _values(verb, data)


def payment_event_sentence(kind: str, data: Mapping[str, Any] | None = None) -> str:
    """A line of a payment's history (payments.PaymentEvent of this kind) as a sentence."""
    return sentence(f"payment.{kind}", data)
