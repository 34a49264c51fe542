from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import OpportunityType, Skill
from .selectors import SORTS, OpportunityFilters


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    skill = forms.ChoiceField(label=_("Skill"), required=False)
    type = forms.ChoiceField(
        label=_("Type of work"),
        required=False,
        choices=[("", _("Any type")), *OpportunityType.choices],
    )
    value_min = forms.IntegerField(label=_("Value from ($)"), required=False, min_value=0)
    value_max = forms.IntegerField(label=_("Value to ($)"), required=False, min_value=0)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("open", _("Open")), ("closed", _("Closed or awarded")), ("all", _("All"))],
    )
    closing_within = forms.IntegerField(
        label=_("Closing within (days)"), required=False, min_value=1, max_value=365
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("closing", _("Closing soonest")),
            ("newest", _("Newest")),
            ("value_high", _("Highest value")),
            ("value_low", _("Lowest value")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skill"].choices = [("", _("Any skill"))] + [
            (skill.slug, skill.name) for skill in Skill.objects.all()
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.form_tag = True
        self.helper.attrs = {"role": "search"}
        self.helper.layout = Layout(
            Field("q", type="search"),
            Div(
                Div("skill", css_class="col-md-6"),
                Div("type", css_class="col-md-6"),
                Div("value_min", css_class="col-md-6"),
                Div("value_max", css_class="col-md-6"),
                Div("status", css_class="col-md-6"),
                Div("closing_within", css_class="col-md-6"),
                css_class="row",
            ),
            "sort",
            Submit("", _("Search"), css_class="btn-primary"),
        )

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("value_min"), cleaned.get("value_max")
        if low is not None and high is not None and low > high:
            self.add_error("value_max", _("The upper value must be at least the lower value."))
        return cleaned

    def to_filters(self) -> OpportunityFilters:
        data = self.cleaned_data if self.is_valid() else {}

        def cents(name: str) -> int | None:
            value = data.get(name)
            return None if value is None else value * 100

        sort = data.get("sort") or "closing"
        return OpportunityFilters(
            query=data.get("q", ""),
            skill=data.get("skill", ""),
            type=data.get("type", ""),
            value_min_cents=cents("value_min"),
            value_max_cents=cents("value_max"),
            status=data.get("status") or "open",
            closing_within_days=data.get("closing_within"),
            sort=sort if sort in SORTS else "closing",
        )
