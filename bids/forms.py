from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from marketplace.forms import DateField
from marketplace.once import FormOnce

from .models import Bid

ANSWER_PREFIX = "answer_"


class SecondarySubmit(Submit):
    """A button of lesser weight. Submit's own "btn-primary" with an outline class on top drew
    blue text on a blue button: the label could not be read."""

    field_classes = "btn btn-outline-primary"


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

    def __init__(self, *args, bid: Bid, **kwargs):
        super().__init__(*args, **kwargs)
        self.bid = bid
        self.criteria = list(bid.opportunity.criteria.all())
        answer_fields = []
        for number, criterion in enumerate(self.criteria, start=1):
            name = f"{ANSWER_PREFIX}{criterion.pk}"
            kind = (
                _("Mandatory (pass/fail)")
                if criterion.kind == criterion.Kind.MANDATORY
                else _("Rated")
            )
            self.fields[name] = forms.CharField(
                label=format_html(
                    "{}. {} <span class='badge text-bg-light'>{}</span>",
                    number,
                    criterion.text,
                    kind,
                ),
                required=False,
                widget=forms.Textarea(attrs={"rows": 6, "data-word-limit": criterion.word_limit}),
                help_text=_("At most %(limit)s words.") % {"limit": criterion.word_limit},
            )
            answer_fields.append(name)
        self.fields["accept_terms"].label = format_html(
            "{} <a href='{}'>{}</a>",
            _(
                "I accept the bid terms (intellectual property and the opportunity's open-source "
                "licence, %(licence)s)."
            )
            % {"licence": bid.opportunity.licence or "—"},
            reverse("bids:terms"),
            _("Read the terms"),
        )
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
                "accept_terms",
            ),
            HTML(
                '<p class="text-body-secondary" id="autosave-status" role="status" '
                'aria-live="polite"></p>'
            ),
            FormOnce(),
            Div(
                SecondarySubmit("action_save", _("Save draft"), css_class="me-2"),
                Submit("action_submit", _("Submit bid")),
                css_class="mb-3",
            ),
        )

    def answers(self) -> dict[int, str]:
        return {c.pk: self.cleaned_data.get(f"{ANSWER_PREFIX}{c.pk}", "") for c in self.criteria}

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        for field, messages in problems.items():
            self.add_error(field if field in self.fields else None, messages)

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


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Attach a PDF"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def __init__(self, *args, bid: Bid, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "PDF only, at most %(size)s MB, %(pages)s pages each and %(count)s files."
        ) % {
            "size": settings.BID_ATTACHMENT_MAX_BYTES // (1024 * 1024),
            "pages": settings.BID_ATTACHMENT_MAX_PAGES,
            "count": settings.BID_ATTACHMENT_MAX_COUNT,
        }
        self.helper = FormHelper()
        self.helper.form_action = reverse("bids:attachment_add", args=[bid.pk])
        self.helper.layout = Layout("file", FormOnce(), SecondarySubmit("upload", _("Upload")))
