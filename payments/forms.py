from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _


def _helper(action: str, *fields, label) -> FormHelper:
    helper = FormHelper()
    helper.form_action = action
    helper.layout = Layout(*fields, Submit("submit", label))
    return helper


class DeliveryForm(forms.Form):
    delivery_url = forms.URLField(
        label=_("Link to the pull request or repository"), assume_scheme="https", max_length=500
    )
    notes = forms.CharField(
        label=_("Notes for the buyer"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "delivery_url", "notes", label=_("Deliver the work"))


class ChangesForm(forms.Form):
    reasons = forms.CharField(
        label=_("What must change, and why"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "reasons", label=_("Ask for changes"))


class CertifyForm(forms.Form):
    confirmed = forms.BooleanField(required=True)

    def __init__(self, *args, action: str, statement: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].label = statement
        self.helper = _helper(action, "confirmed", label=_("Accept and certify the work"))


class DefaultForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(action, "reason", label=_("Declare a default"))
