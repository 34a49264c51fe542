from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from marketplace.forms import DateField, MoneyField
from marketplace.once import FormOnce

from .models import Payment


def _helper(action: str, *fields, label) -> FormHelper:
    helper = FormHelper()
    helper.form_action = action
    helper.layout = Layout(*fields, FormOnce(), Submit("submit", label))
    return helper


class DeliveryForm(forms.Form):
    delivery_url = forms.URLField(
        label=_("Link to the pull request or repository"), assume_scheme="https", max_length=500
    )
    notes = forms.CharField(
        label=_("Notes for the buyer"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    file = forms.FileField(
        label=_("A document (PDF, optional)"),
        required=False,
        help_text=_("A report or guide that goes with the work. Its metadata is removed."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "delivery_url", "notes", "file", label=_("Deliver the work"))


class ChangesForm(forms.Form):
    reasons = forms.CharField(
        label=_("What must change, and why"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "reasons", label=_("Ask for changes"))


class CertifyForm(forms.Form):
    """The section 34 statement, to tick. The form carries the SHA-256 of the statement it
    shows: when the one to record is no longer that text (a new wording deployed meanwhile, a
    form posted to the other language's address), the buyer reads it again before certifying,
    and nothing is recorded that they did not see. A post without it is judged by the
    statement alone."""

    confirmed = forms.BooleanField(required=True)
    statement_shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, action: str, statement: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].label = statement
        self.digest = hashlib.sha256(statement.encode()).hexdigest()
        self.posted_digest = ""
        if self.is_bound:
            # The page shown again carries the digest of the statement it shows now.
            self.posted_digest = str(self.data.get(self.add_prefix("statement_shown"), ""))
            self.data = self.data.copy()
            self.data[self.add_prefix("statement_shown")] = self.digest
        else:
            self.initial["statement_shown"] = self.digest
        self.helper = _helper(
            action, "confirmed", "statement_shown", label=_("Accept and certify the work")
        )

    def clean(self):
        cleaned = super().clean()
        if self.posted_digest and self.posted_digest != self.digest:
            self.add_error(
                "confirmed",
                _(
                    "The statement to certify is not the one on the page you certified from: "
                    "read it as it is now, then certify."
                ),
            )
        return cleaned


class DefaultForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "reason", label=_("Declare a default"))


def _cents(dollars: Decimal) -> int:
    return int((dollars * 100).to_integral_value())


class RecordPaymentForm(forms.Form):
    amount = MoneyField(label=_("Amount paid (CAD, tax included)"), min_value=0)
    paid_on = DateField(label=_("Date paid"))
    method = forms.ChoiceField(label=_("How you paid"), choices=Payment.Method.choices)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        help_text=_("The authorization number on the card slip, or the transfer's reference."),
    )

    FIELDS = ("amount", "paid_on", "method", "reference")
    REVIEWED = "reviewed"

    def __init__(self, *args, action: str, reviewer: str = "", **kwargs):
        """On the payment's page the form asks for the details and sends them, by GET, to the
        confirmation page (`action`), which shows them and posts them back (hidden) with the
        `reviewed` digest of what it showed. `reviewer` ("<payment>:<card holder>") keys that
        digest: when a post carries one, the details must be the ones shown."""
        super().__init__(*args, **kwargs)
        self.reviewer = reviewer
        self.helper = FormHelper()
        self.helper.form_action = action
        self.helper.form_method = "get"
        self.helper.layout = Layout(*self.FIELDS, Submit("review", _("Review the payment")))

    def clean_amount(self) -> int:
        return _cents(self.cleaned_data["amount"])

    def review_digest(self) -> str:
        """HMAC (the site's secret) of the cleaned details, for this payment and card holder."""
        data = self.cleaned_data
        shown = [
            self.reviewer,
            data["amount"],
            data["paid_on"].isoformat(),
            data["method"],
            data["reference"].strip(),
        ]
        return salted_hmac("payments.record.review", json.dumps(shown)).hexdigest()

    def clean(self):
        cleaned = super().clean()
        posted = str(self.data.get(self.REVIEWED, "")) if self.is_bound else ""
        if posted and not self.errors and not constant_time_compare(posted, self.review_digest()):
            raise forms.ValidationError(
                _(
                    "These details are not the ones you reviewed. Check them, then review the "
                    "payment again: nothing was recorded."
                ),
                code="reviewed_changed",
            )
        return cleaned


class MissingPaymentForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong (amount, nothing received…)"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "reason", label=_("Report a problem with this payment"))


class CardLimitForm(forms.Form):
    per_transaction = MoneyField(label=_("Single-purchase limit (CAD)"), max_digits=10, min_value=0)
    monthly = MoneyField(label=_("Monthly limit (CAD)"), max_digits=10, min_value=0)

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            action, "per_transaction", "monthly", label=_("Ask for approval of these limits")
        )

    def clean_per_transaction(self) -> int:
        return _cents(self.cleaned_data["per_transaction"])

    def clean_monthly(self) -> int:
        return _cents(self.cleaned_data["monthly"])


class DeclineForm(forms.Form):
    """The awardee's decline: the reason is optional (rendered by the confirmation page)."""

    reason = forms.CharField(
        label=_("Why you decline (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        help_text=_("The buyer reads it. 2,000 characters at most."),
    )
