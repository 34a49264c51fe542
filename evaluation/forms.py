from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.models import Role, User
from marketplace.once import FormOnce
from marketplace.selectors import users_with_role
from opportunities.models import Criterion

from .marking import MarkInput
from .models import Evaluation


class AppointForm(forms.Form):
    evaluator = forms.ModelChoiceField(label=_("Evaluator"), queryset=User.objects.none())
    is_chair = forms.BooleanField(label=_("Chair of the panel"), required=False)

    def __init__(self, *args, evaluation: Evaluation, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluator"].queryset = (
            users_with_role(Role.EVALUATOR)
            .exclude(pk=evaluation.opportunity.buyer_id)
            .exclude(panel_seats__evaluation=evaluation)
            .order_by("email")
        )
        self.fields["evaluator"].label_from_instance = lambda user: (
            f"{user.get_full_name()} <{user.email}>"
        )
        self.helper = FormHelper()
        self.helper.form_action = action
        self.helper.layout = Layout(
            "evaluator", "is_chair", FormOnce(), Submit("appoint", _("Appoint"))
        )


class DeclarationForm(forms.Form):
    conflict = forms.TypedChoiceField(
        label=_("Conflict of interest"),
        choices=[
            ("no", _("I have no conflict of interest with this opportunity or its bidders.")),
            ("yes", _("I have a conflict of interest: I recuse myself.")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("If you recuse yourself, say briefly why (kept in the audit trail)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout("conflict", "note", FormOnce(), Submit("declare", _("Declare")))


class MarksForm(forms.Form):
    """One mark (pass/fail or a score) and its rationale per criterion."""

    def __init__(self, *args, criteria: list[Criterion], submit_label, disabled=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            if criterion.kind == Criterion.Kind.MANDATORY:
                self.fields[f"passed_{criterion.pk}"] = forms.TypedChoiceField(
                    label=criterion.text,
                    choices=[("yes", _("Pass")), ("no", _("Fail"))],
                    coerce=lambda value: value == "yes",
                    empty_value=None,
                    required=False,
                    widget=forms.RadioSelect,
                )
            else:
                self.fields[f"score_{criterion.pk}"] = forms.IntegerField(
                    label=_("%(criterion)s — score from 0 to %(max)s")
                    % {"criterion": criterion.text, "max": criterion.max_score},
                    min_value=0,
                    max_value=criterion.max_score,
                    required=False,
                )
            self.fields[f"rationale_{criterion.pk}"] = forms.CharField(
                label=_("Rationale"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                max_length=4000,
            )
        if disabled:
            for field in self.fields.values():
                field.disabled = True
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(*self.fields)
        self.submit_label = submit_label

    def values(self) -> dict[int, MarkInput]:
        data = self.cleaned_data
        return {
            c.pk: MarkInput(
                passed=data.get(f"passed_{c.pk}"),
                score=data.get(f"score_{c.pk}"),
                rationale=data.get(f"rationale_{c.pk}", ""),
            )
            for c in self.criteria
        }

    @staticmethod
    def initial_from(marks) -> dict:
        initial = {}
        for mark in marks:
            if mark.passed is not None:
                initial[f"passed_{mark.criterion_id}"] = "yes" if mark.passed else "no"
            if mark.score is not None:
                initial[f"score_{mark.criterion_id}"] = mark.score
            initial[f"rationale_{mark.criterion_id}"] = mark.rationale
        return initial
