from __future__ import annotations

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.widgets import ChoiceWidget
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from marketplace import formats
from marketplace.forms import (
    DateField,
    DateInput,
    DateTimeField,
    DateTimeInput,
    ModelMultipleChoiceField,
    MoneyField,
    form_row,
    https_url_fields,
)
from marketplace.once import FormOnce
from marketplace.public_text import length_hint, public_text_clean, too_long

from .addenda import AMENDABLE_FIELDS
from .drafting import EDITABLE_FIELDS
from .models import Alert, Criterion, Opportunity, OpportunityType, Question, Skill
from .selectors import SORTS, OpportunityFilters


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    skill = forms.ChoiceField(label=_("Skill"), required=False)
    type = forms.ChoiceField(
        label=_("Type of work"),
        required=False,
        choices=[("", _("Any type")), *OpportunityType.choices],
    )
    value_min = MoneyField(label=_("Value from ($)"), required=False, min_value=0)
    value_max = MoneyField(label=_("Value to ($)"), required=False, min_value=0)
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
            form_row(
                "skill",
                "type",
                "value_min",
                "value_max",
                "status",
                "closing_within",
                widths=(6, 6, 6, 6, 6, 6),
            ),
            "sort",
            Submit("", _("Search")),
        )

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("value_min"), cleaned.get("value_max")
        if low is not None and high is not None and low > high:
            self.add_error("value_max", _("The upper value must be at least the lower value."))
        return cleaned

    def to_filters(self) -> OpportunityFilters:
        # A value that is not valid is shown as an error and ignored; the others still apply.
        # The language toggle carries the query over: "2 500,50" is refused on the English
        # page, and the search words must not be dropped with it.
        data = {}
        if self.is_bound:
            self.is_valid()
            data = self.cleaned_data

        def cents(name: str) -> int | None:
            value = data.get(name)
            return None if value is None else int(value * 100)

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


class OpportunityForm(forms.ModelForm):
    """The buyer's draft. The value is typed in dollars and stored in cents."""

    value_dollars = MoneyField(label=_("Fixed value in dollars, tax included"), min_value=1)
    skills = ModelMultipleChoiceField(
        label=_("Skills"),
        queryset=Skill.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Opportunity
        fields = [f for f in EDITABLE_FIELDS if f != "value_cents"] + ["skills"]
        widgets = {
            "question_deadline": DateTimeInput(),
            "closes_at": DateTimeInput(),
            "expected_delivery_date": DateInput(),
            "summary_en": forms.Textarea(attrs={"rows": 2}),
            "summary_fr": forms.Textarea(attrs={"rows": 2}),
            "deliverables_en": forms.Textarea(attrs={"rows": 3}),
            "deliverables_fr": forms.Textarea(attrs={"rows": 3}),
            "acceptance_criteria_en": forms.Textarea(attrs={"rows": 3}),
            "acceptance_criteria_fr": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = {
            "question_deadline": DateTimeField,
            "closes_at": DateTimeField,
            "expected_delivery_date": DateField,
        }
        formfield_callback = https_url_fields

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["value_dollars"].initial = Decimal(self.instance.value_cents) / 100
        for name in ("question_deadline", "closes_at"):
            self.fields[name].help_text = _("Eastern time.")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                _("The work, in English and French"),
                form_row("title_en", "title_fr"),
                form_row("summary_en", "summary_fr"),
                form_row("description_en", "description_fr"),
                form_row("deliverables_en", "deliverables_fr"),
                form_row("acceptance_criteria_en", "acceptance_criteria_fr"),
            ),
            Fieldset(
                _("Terms"),
                form_row("type", "value_dollars"),
                "skills",
                form_row("licence", "repository_url"),
                form_row("question_deadline", "closes_at", "expected_delivery_date"),
                "remote_unclassified_only",
            ),
            Fieldset(
                _("Evaluation"),
                form_row(
                    "selection_method", "draw_margin_points", "evaluator_count", widths=(6, 3, 3)
                ),
            ),
            Fieldset(
                _("Attestations"),
                "attest_standalone",
                "attest_no_internal_capacity",
                "attest_not_split",
            ),
        )

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["value_cents"] = int(self.cleaned_data["value_dollars"] * 100)
        return data


CRITERION_FIELDS = ("kind", "text_en", "text_fr", "weight", "max_score", "word_limit")


class CriterionForm(forms.ModelForm):
    class Meta:
        model = Criterion
        fields = CRITERION_FIELDS
        widgets = {
            "text_en": forms.Textarea(attrs={"rows": 2}),
            "text_fr": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Criterion.Kind.RATED:
            for name in ("weight", "max_score"):
                if not cleaned.get(name):
                    self.add_error(name, _("A rated criterion needs this."))
        return cleaned


class BaseCriterionFormSet(forms.BaseInlineFormSet):
    def add_problems(self, messages: list[str]) -> None:
        """Problems of the criteria as a whole (none is mandatory): at the empty row's kind,
        where one is added, or, without an empty row, of the formset itself."""
        blank = next((f for f in self.forms if not f.instance.pk and "kind" in f.fields), None)
        if blank is not None:
            blank.add_error("kind", messages)
        else:
            self.non_form_errors().extend(messages)


CriterionFormSet = forms.inlineformset_factory(
    Opportunity,
    Criterion,
    form=CriterionForm,
    formset=BaseCriterionFormSet,
    extra=1,
    can_delete=True,
)


def as_posted(*forms_: forms.BaseForm | forms.BaseFormSet) -> dict[str, str | list[str]]:
    """The data these unbound forms (and formsets) would post as they stand, their initial
    values in their boxes: to show what is saved again as a bound form, with errors at its
    fields (a refusal of what was saved, when the request did not carry the form)."""
    data: dict[str, str | list[str]] = {}
    for item in forms_:
        if isinstance(item, forms.BaseFormSet):
            data.update(as_posted(item.management_form, *item.forms))
            continue
        for bound in item:
            widget, value = bound.field.widget, bound.value()
            if isinstance(widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif getattr(widget, "allow_multiple_selected", False):
                data[bound.html_name] = [str(v) for v in value or []]
            elif isinstance(widget, ChoiceWidget):
                data[bound.html_name] = "" if value is None else str(value)
            else:
                shown = widget.format_value(value)
                data[bound.html_name] = "" if shown is None else str(shown)
    return data


class RequestChangesForm(forms.Form):
    note = forms.CharField(
        label=_("What needs to change"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class PublishForm(forms.Form):
    acknowledge_split = forms.BooleanField(
        label=_("I have read the split warning and the posting may go ahead."), required=False
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the cancellation (shown publicly)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "reason",
            FormOnce(),
            Submit("cancel", _("Cancel the opportunity"), css_class="gc-btn-danger"),
        )


class PublicTextField(forms.CharField):
    """Text others read (marketplace.public_text): cleaned as the service cleans it before its
    length is checked, a line break counting one character as in the browser; the limit in
    the hint, and a live counter: the GCDS textarea's own, from `maxlength`
    (static/js/counter.js counts for the plain textarea, from `data-counter`)."""

    def __init__(self, *, max_length: int, help_text="", rows: int = 3, **kwargs):
        hint = length_hint(max_length)
        super().__init__(
            widget=forms.Textarea(
                attrs={"rows": rows, "maxlength": str(max_length), "data-counter": ""}
            ),
            help_text=format_lazy("{} {}", help_text, hint) if help_text else hint,
            **kwargs,
        )
        self.max_length = max_length  # checked in `validate`, saying by how much

    def to_python(self, value):
        return public_text_clean(super().to_python(value))

    def validate(self, value):
        super().validate(value)
        if error := too_long(value, self.max_length):
            raise error


class QuestionForm(forms.Form):
    text = PublicTextField(
        label=_("Your question"),
        max_length=Question.TEXT_MAX_LENGTH,
        help_text=_("Questions and answers are public; your name is never shown."),
        error_messages={"required": _("Write your question.")},
    )


class AnswerForm(forms.Form):
    answer_en = PublicTextField(
        label=_("Answer (English)"),
        max_length=Question.ANSWER_MAX_LENGTH,
        error_messages={"required": _("Write the answer in English.")},
    )
    answer_fr = PublicTextField(
        label=_("Answer (French)"),
        max_length=Question.ANSWER_MAX_LENGTH,
        error_messages={"required": _("Write the answer in French.")},
    )
    as_addendum = forms.BooleanField(label=_("Also publish it as an addendum"), required=False)


class DismissForm(forms.Form):
    dismissed_as = forms.ChoiceField(
        label=_("Why it will not be answered"),
        choices=Question.Dismissal.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether it repeats another question or is off topic.")},
    )
    reason = PublicTextField(
        label=_("Your reason, for the supplier who asked"),
        max_length=Question.REASON_MAX_LENGTH,
        help_text=_("Only the supplier who asked reads it; the question is not published."),
        error_messages={"required": _("Explain to the supplier why it is not answered.")},
    )


class AmendForm(OpportunityForm):
    note_en = forms.CharField(
        label=_("What changed (English)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    note_fr = forms.CharField(
        label=_("What changed (French)"), widget=forms.Textarea(attrs={"rows": 2})
    )

    class Meta(OpportunityForm.Meta):
        fields = [f for f in OpportunityForm.Meta.fields if f in (*AMENDABLE_FIELDS, "skills")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def service_fields(self) -> dict:
        data = super().service_fields()
        return {k: v for k, v in data.items() if k in (*AMENDABLE_FIELDS, "skills")}


class AlertForm(forms.Form):
    skills = ModelMultipleChoiceField(
        label=_("Skills"),
        queryset=Skill.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means every skill."),
    )
    types = forms.MultipleChoiceField(
        label=_("Types of work"),
        choices=OpportunityType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means every type."),
    )
    frequency = forms.ChoiceField(
        label=_("How often"), choices=Alert.Frequency.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "skills", "types", "frequency", FormOnce(), Submit("save", _("Save my alert"))
        )


class GuardrailsForm(forms.Form):
    """The guardrails a program administrator asks to change; a second one approves. The hard
    limits of the settings (the legal value ceiling, the shortest open period) are checked here
    for a clear message, and again by the service, which no approval passes."""

    value_cap_dollars = MoneyField(
        label=_("Value cap per opportunity ($, tax included)"), min_value=1
    )
    min_open_business_days = forms.IntegerField(
        label=_("Minimum open period (business days)"), max_value=60
    )
    allowed_types = forms.MultipleChoiceField(
        label=_("Types of work allowed"),
        choices=OpportunityType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means every type is allowed."),
    )
    split_window_days = forms.IntegerField(
        label=_("Split detection window (days)"), min_value=1, max_value=365
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "value_cap_dollars",
            "min_open_business_days",
            "allowed_types",
            "split_window_days",
            FormOnce(),
            Submit("save", _("Save the guardrails")),
        )

    def clean_value_cap_dollars(self) -> Decimal:
        dollars = self.cleaned_data["value_cap_dollars"]
        ceiling = settings.OPPORTUNITY_VALUE_CEILING_CENTS
        if dollars * 100 > ceiling:
            raise ValidationError(
                _(
                    "The value cap cannot be above %(ceiling)s, tax included: the legal limit "
                    "of a micro-acquisition, which no approval can raise."
                )
                % {"ceiling": formats.money(ceiling)}
            )
        return dollars

    def clean_min_open_business_days(self) -> int:
        days = self.cleaned_data["min_open_business_days"]
        floor = settings.OPPORTUNITY_MIN_OPEN_BUSINESS_DAYS_FLOOR
        if days < floor:
            raise ValidationError(
                _(
                    "An opportunity stays open at least %(floor)s business days: suppliers need "
                    "the time to answer."
                )
                % {"floor": floor}
            )
        return days

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["value_cap_cents"] = int(data.pop("value_cap_dollars") * 100)
        return data
