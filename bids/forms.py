from __future__ import annotations

import datetime as dt

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from marketplace import formats
from marketplace.forms import DateField
from marketplace.once import FormOnce

from .models import Bid, answer_max_length
from .services import ANSWER_FIELD, answer_too_long

ANSWER_PREFIX = "answer_"


class SecondarySubmit(Submit):
    """A button of lesser weight: the GC Design System's secondary button (its own classes only;
    crispy's primary ones underneath once drew blue text on a blue button)."""

    field_classes = "gc-btn gc-btn-secondary"


class BidForm(forms.Form):
    """The working copy of a bid. Every field is optional here: a draft may be incomplete;
    what a submission needs is checked by bids.services.submission_problems."""

    proposed_start_date = DateField(
        label=_("Proposed start date"),
        required=False,
        help_text=_("The first day you could start the work."),
    )
    attest_can_work_in_canada = forms.BooleanField(
        label=Bid._meta.get_field("attest_can_work_in_canada").verbose_name, required=False
    )
    attest_can_be_paid_by_card = forms.BooleanField(
        label=Bid._meta.get_field("attest_can_be_paid_by_card").verbose_name, required=False
    )
    attest_no_conflict = forms.BooleanField(
        label=Bid._meta.get_field("attest_no_conflict").verbose_name, required=False
    )
    accept_terms = forms.BooleanField(required=False)
    # A file to attach, sent with the whole form (its "Upload" button posts everything to
    # bids:attachment_add, which saves the typed text first): nothing typed is lost. Rendered
    # in the attachments section after the form (templates/bids/bid_form.html), tied to the
    # form by its `form` attribute, so that pressing Enter in a field still saves the draft.
    attachment = forms.FileField(
        label=_("Attach a PDF"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,.pdf", "form": "bid-form"}
        ),
    )

    def __init__(self, *args, bid: Bid, **kwargs):
        super().__init__(*args, **kwargs)
        self.bid = bid
        self.criteria = list(bid.opportunity.criteria.all())
        if settings.BID_ATTACHMENTS_ENABLED:
            self.fields["attachment"].help_text = attachment_help()
        else:
            del self.fields["attachment"]
        answer_fields = []
        for number, criterion in enumerate(self.criteria, start=1):
            name = f"{ANSWER_PREFIX}{criterion.pk}"
            kind = (
                _("Mandatory (pass/fail)")
                if criterion.kind == criterion.Kind.MANDATORY
                else _("Rated")
            )
            self.fields[name] = forms.CharField(
                # Plain words: the GCDS component draws its label as text. The kind of
                # criterion opens the hint instead of a badge in the label.
                label=f"{number}. {criterion.text}",
                required=False,
                # The character limit is checked in clean() (and by the service), with a
                # sentence that names the criterion; `maxlength` stops the typing before it,
                # and static/js/counter.js counts down to it (data-counter), under the GCDS
                # textarea (its own count hidden) or the plain one.
                widget=forms.Textarea(
                    attrs={
                        "rows": 6,
                        "data-word-limit": criterion.word_limit,
                        "maxlength": answer_max_length(criterion),
                        "data-counter": "",
                    }
                ),
                help_text=f"{kind}. "
                + _("At most %(limit)s words and %(characters)s characters.")
                % {
                    "limit": formats.number(criterion.word_limit),
                    "characters": formats.number(answer_max_length(criterion)),
                },
            )
            answer_fields.append(name)
        # The answers first, as the page shows them: the error summary follows this order.
        self.order_fields(answer_fields)
        # Plain words (a component's label cannot hold a link): the link to the terms is a
        # paragraph just before the box (the layout below).
        self.fields["accept_terms"].label = _(
            "I accept the bid terms (intellectual property and the opportunity's open-source "
            "licence, %(licence)s)."
        ) % {"licence": bid.opportunity.licence or "—"}
        self.helper = FormHelper()
        self.helper.form_id = "bid-form"
        self.helper.attrs = {
            "data-autosave": reverse("bids:autosave", args=[bid.pk]),
            # What static/js/bid-form.js writes, from the catalogue: the word count's singular
            # and plural (picked with the language's plural rules), and the draft's status.
            "data-words-one": ngettext(
                "%(count)s word of %(limit)s", "%(count)s words of %(limit)s", 1
            ),
            "data-words-other": ngettext(
                "%(count)s word of %(limit)s", "%(count)s words of %(limit)s", 2
            ),
            "data-over": _("over the limit"),
            "data-saving": _("Saving…"),
            "data-failed": _("Could not save the draft. Use “Save draft”."),
        }
        self.helper.layout = Layout(
            Fieldset(_("Your answers"), *answer_fields),
            Fieldset(_("Availability"), "proposed_start_date"),
            Fieldset(
                _("Eligibility"),
                "attest_can_work_in_canada",
                "attest_can_be_paid_by_card",
                "attest_no_conflict",
                HTML(
                    format_html(
                        '<p class="gc-terms-link"><a href="{}">{}</a></p>',
                        reverse("bids:terms"),
                        _("Read the bid terms"),
                    )
                ),
                "accept_terms",
            ),
            HTML('<p class="gc-muted" id="autosave-status" role="status" aria-live="polite"></p>'),
            FormOnce(),
            Div(
                SecondarySubmit("action_save", _("Save draft")),
                Submit("action_submit", _("Submit bid")),
                css_class="gc-form-actions",
            ),
        )

    def clean(self):
        cleaned = super().clean()
        for number, criterion in enumerate(self.criteria, start=1):
            name = ANSWER_FIELD.format(criterion.pk)
            too_long = answer_too_long(criterion, number, cleaned.get(name) or "")
            if too_long:
                self.add_error(name, too_long)
        return cleaned

    def answers(self) -> dict[int, str]:
        return {c.pk: self.cleaned_data.get(f"{ANSWER_PREFIX}{c.pk}", "") for c in self.criteria}

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        """A submission's problems (bids.services.submission_problems), each at its field: the
        attachments' at the file box."""
        for field, messages in problems.items():
            name = PROBLEM_FIELDS.get(field, field)
            self.add_error(name if name in self.fields else None, messages)

    @classmethod
    def saved_data(cls, bid: Bid) -> dict[str, str]:
        """The saved working copy as the form would post it: to show a refusal on the form
        when the request did not carry the form itself."""
        data = {}
        for name, value in cls.initial_for(bid).items():
            if value is True:
                data[name] = "on"
            elif isinstance(value, dt.date):
                data[name] = value.isoformat()
            elif isinstance(value, str):
                data[name] = value
        return data

    @classmethod
    def initial_for(cls, bid: Bid) -> dict:
        initial = {f"{ANSWER_PREFIX}{a.criterion_id}": a.text for a in bid.answers.all()}
        initial.update(
            proposed_start_date=bid.proposed_start_date,
            attest_can_work_in_canada=bid.attest_can_work_in_canada,
            attest_can_be_paid_by_card=bid.attest_can_be_paid_by_card,
            attest_no_conflict=bid.attest_no_conflict,
            accept_terms=bid.terms_version == settings.BID_TERMS_VERSION,
        )
        return initial


# A submission's problem keys that are not the form's field names.
PROBLEM_FIELDS = {"attachments": "attachment"}


def attachment_help() -> str:
    return _("PDF only, at most %(size)s MB, %(pages)s pages each and %(count)s files.") % {
        "size": settings.BID_ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "pages": settings.BID_ATTACHMENT_MAX_PAGES,
        "count": settings.BID_ATTACHMENT_MAX_COUNT,
    }
