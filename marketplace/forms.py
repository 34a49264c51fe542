from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse_lazy
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import STAFF_ROLES, Role, SupplierProfile
from .once import FormOnce
from .services import SUPPLIER_PROFILE_FIELDS


class DateInput(forms.DateInput):
    """The browser's date picker. Its value is always written as the HTML standard has it
    (2026-12-21), whatever the page's language: a French date (21/12/2026) is not a value the
    picker takes, and the field would reopen empty and be saved empty."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    """The browser's date-and-time picker, its value written as the standard has it
    (2026-12-21T14:00) whatever the language (see DateInput)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def form_row(*fields: str, widths: tuple[int, ...] | None = None) -> Div:
    """Fields side by side in a Bootstrap row: equal widths unless given (out of 12)."""
    widths = widths or (12 // len(fields),) * len(fields)
    return Div(
        *(
            Div(name, css_class=f"col-md-{width}")
            for name, width in zip(fields, widths, strict=True)
        ),
        css_class="row",
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on the field it names when the form has it, at
    the top of the form otherwise."""
    if hasattr(error, "error_dict"):
        for key, messages in error.message_dict.items():
            form.add_error(key if key in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def https_url_fields(model_field, **kwargs):
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


# The largest key an integer column holds. Django checks the range of one posted key (a
# ModelChoiceField), but asks the database about a list of them with `pk__in`, and a bigger
# one makes the database fail (a 500) instead of "not a valid value".
_LARGEST_KEY = 2**63 - 1


def _key_out_of_range(field: forms.ModelMultipleChoiceField, value) -> bool:
    meta = field.queryset.model._meta
    key = meta.get_field(field.to_field_name) if field.to_field_name else meta.pk
    if not isinstance(key, models.IntegerField | models.AutoField):
        return False
    try:
        return abs(int(str(value).strip())) > _LARGEST_KEY
    except ValueError:
        return False  # not a number: Django refuses it itself


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, refusing a key too large for the database as an invalid value."""

    def _check_values(self, value):
        for pk in value:
            if _key_out_of_range(self, pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class SupplierProfileForm(forms.ModelForm):
    class Meta:
        model = SupplierProfile
        fields = SUPPLIER_PROFILE_FIELDS
        widgets = {"kind": forms.RadioSelect}
        formfield_callback = https_url_fields

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autocomplete = {
            "legal_name": "organization",
            "contact_name": "name",
            "email": "email",
            "phone": "tel",
            "website": "url",
            "postal_code": "postal-code",
        }
        for name, token in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["province"].choices = [("", _("Choose…")), *self.fields["province"].choices[1:]]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(
                _("Who you are"),
                "kind",
                "legal_name",
                "trading_name",
                "size",
                "contact_name",
            ),
            Fieldset(
                _("How to reach you"),
                form_row("email", "phone"),
                "website",
                "github_handle",
            ),
            Fieldset(
                _("Where you are"),
                form_row("province", "postal_code"),
                "gst_hst_number",
            ),
            HTML(
                format_html(
                    '<p class="small text-body-secondary">{}</p>',
                    _("Evaluators never see these details: bids are anonymized before evaluation."),
                )
            ),
            FormOnce(),
            Submit("save", _("Save profile")),
        )


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role to grant"),
        choices=[(value, label) for value, label in Role.choices if value in STAFF_ROLES],
    )

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = action
        self.helper.layout = Layout(
            "role", FormOnce(), Submit("grant", _("Ask a second administrator to grant it"))
        )


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Search by email or name"), required=False, max_length=200)


class PreferredLanguageForm(forms.Form):
    preferred_language = forms.ChoiceField(label=_("Send my emails in"), choices=settings.LANGUAGES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse_lazy("marketplace:preferred_language")
        self.helper.layout = Layout("preferred_language", FormOnce(), Submit("save", _("Save")))


class NotificationPreferencesForm(forms.Form):
    emailed = forms.MultipleChoiceField(
        label=_("Email me when…"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Clear a box to stop that kind of email. You still see it in your inbox."),
    )

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["emailed"].choices = [(kind.code, kind.label) for kind in kinds]
        self.helper = FormHelper()
        self.helper.layout = Layout("emailed", FormOnce(), Submit("save", _("Save my choices")))


class ApprovalNoteForm(forms.Form):
    """The second program administrator's decision on a request, with a note the requester
    reads (required to reject: the service says so)."""

    note = forms.CharField(
        label=_("Note to the requester"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, action: str = "", submit: str = "", button_class: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = action
        # Approve and reject share a page: each button its own id (the prefix), not two alike.
        button = Submit("decide", submit, css_id=f"{self.prefix}-decide")
        # Its own colours only: on top of crispy's btn-primary, an outline class would draw the
        # label in its colour on the primary blue, unreadable.
        button.field_classes = f"btn {button_class or 'btn-primary'}"
        self.helper.layout = Layout("note", FormOnce(), button)
