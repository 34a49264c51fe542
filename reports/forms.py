"""Forms of the reports app."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.forms import DateField, form_row
from marketplace.once import FormOnce
from opportunities.models import OpportunityType

from . import selectors
from .dashboard import Period
from .models import SelfIdentification


class SelfIdentificationForm(forms.Form):
    groups = forms.MultipleChoiceField(
        label=_("I identify as (tick any that apply)"),
        choices=SelfIdentification.Group.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick none if you prefer not to say: then nothing is kept."),
    )
    consent = forms.BooleanField(
        label=_(
            "I agree that the marketplace keeps these answers to report on who takes part, "
            "only in aggregate, until I delete them."
        ),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(_("Your answers (optional)"), "groups", "consent"),
            FormOnce(),
            Submit("save", _("Save my answers")),
        )

    def clean(self):
        cleaned = super().clean()
        # The service refuses the same; checked here too so the error sits on the box.
        if cleaned.get("groups") and not cleaned.get("consent"):
            self.add_error(
                "consent",
                _("Tick the consent box to save your answers, or choose no group."),
            )
        return cleaned


class PeriodForm(forms.Form):
    """The dashboard's period: opportunities published from `start` to `end`, inclusive."""

    start = DateField(label=_("Published from"))
    end = DateField(label=_("to"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.attrs = {"aria-label": _("Period")}
        self.helper.layout = Layout(form_row("start", "end"), Submit("", _("Show")))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end of the period must not be before its start."))
        return cleaned

    def period(self, default: Period) -> Period:
        """The period asked for, or `default` when nothing valid was asked."""
        if not self.is_bound or not self.is_valid():
            return default
        return Period(start=self.cleaned_data["start"], end=self.cleaned_data["end"])


class PurchaseFilterForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Fiscal year"), required=False, coerce=int)
    type = forms.ChoiceField(
        label=_("Type of work"),
        required=False,
        choices=[("", _("Any type")), *OpportunityType.choices],
    )

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("Any fiscal year"))] + [
            (str(year), f"{year}-{year + 1}") for year in years
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.attrs = {"role": "search", "aria-label": _("Filter the purchases")}
        self.helper.layout = Layout(form_row("year", "type"), Submit("", _("Filter")))

    def to_filters(self) -> selectors.PurchaseFilters:
        """The valid filters; a value that is not valid is shown as an error and ignored."""
        if not self.is_bound:
            return selectors.PurchaseFilters()
        self.is_valid()
        data = self.cleaned_data
        return selectors.PurchaseFilters(
            fiscal_year=data.get("year") or None, type=data.get("type") or ""
        )
