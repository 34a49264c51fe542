from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from allauth.account.forms import SignupForm as AllauthSignupForm
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import formats, names
from .i18n import sorted_choices
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


# The days a date field takes. Python's own limits are no limits here: 9999-12-31 23:59 in
# Toronto is in the year 10000 in UTC, which the database keeps, and a period ending on
# 9999-12-31 ends the day after: crashes, not errors.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def _in_range(day: dt.date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            _("Enter a date from %(first)s to %(last)s.")
            % {"first": formats.date(FIRST_DAY), "last": formats.date(LAST_DAY)},
            code="invalid",
        )


class DateField(forms.DateField):
    """Django's, with the browser's picker (DateInput) and the days it may take."""

    widget = DateInput

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "min": FIRST_DAY, "max": LAST_DAY}

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None:
            _in_range(day)
        return day


class DateTimeField(forms.DateTimeField):
    """Django's, with the browser's picker (DateTimeInput) and the days it may take.

    The picker holds minutes, not seconds: a stored moment with seconds (the demo's, one a
    service set) is shown, and sent back, to the minute. Sent back unchanged, it is read as the
    stored moment itself, not as a change of a few seconds (an amendment would publish
    "closing date changed" when nothing was)."""

    widget = DateTimeInput

    def widget_attrs(self, widget):
        return {
            **super().widget_attrs(widget),
            "min": f"{FIRST_DAY}T00:00",
            "max": f"{LAST_DAY}T23:59",
        }

    def _clean_bound_field(self, bf):  # Django's hook (5.0+) that sees the form's initial
        moment = super()._clean_bound_field(bf)
        stored = self._stored(bf)
        return stored if stored is not None and moment == _on_the_minute(stored) else moment

    def _stored(self, bf) -> dt.datetime | None:
        stored = bf.form.initial.get(bf.name, self.initial)
        stored = stored() if callable(stored) else stored
        return stored if isinstance(stored, dt.datetime) and timezone.is_aware(stored) else None

    def has_changed(self, initial, data):
        if isinstance(initial, dt.datetime) and timezone.is_aware(initial):
            try:
                return self.to_python(data) != _on_the_minute(initial)
            except ValidationError:
                return True
        return super().has_changed(initial, data)

    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except ValidationError as error:
            if getattr(error, "code", None) == "ambiguous_timezone":
                _in_range(error.params["datetime"].date())
                raise _clock_change_error(error.params["datetime"]) from error
            raise
        if moment is not None:
            try:
                day = timezone.localtime(moment).date()
            except OverflowError:  # 9999-12-31T23:59-05:00 passes the year 10000 in UTC
                day = dt.date.max if moment.year > 1 else dt.date.min
            _in_range(day)
        return moment


def _on_the_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _clock_change_error(naive: dt.datetime) -> ValidationError:
    """Django's "2027-03-14 02:30:00 could not be interpreted in time zone America/Toronto" in
    words: a time skipped or repeated when the clocks change, written as the page writes
    times."""
    zone = timezone.get_current_timezone()
    skipped = (
        timezone.make_aware(naive, zone).astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        != naive
    )
    if skipped:
        message = _(
            "In Eastern time, %(moment)s does not exist: the clocks go forward an hour that "
            "night. Choose another time."
        )
    else:
        message = _(
            "In Eastern time, %(moment)s happens twice: the clocks go back an hour that "
            "night. Choose another time."
        )
    return ValidationError(message % {"moment": formats.datetime(naive)}, code="invalid")


# An amount as people type it. French: "2 500,50" (a space, often a non-breaking one, between
# thousands; a comma before the cents) and often "2500.50"; English: "2,500.50" or "2500.50".
# Thousands are grouped by threes or not at all, so "2,50" is not read as 250 in English, and
# a group never follows a zero: "0,500" is a French half-dollar typed on the English page, not
# five hundred dollars. Only ASCII digits: Python would read other scripts' digits as numbers,
# which nobody types here.
_SPACES = " \u00a0\u202f\u2009"
_AMOUNT = {
    "fr": re.compile(rf"([1-9][0-9]{{0,2}}(?:[{_SPACES}][0-9]{{3}})+|[0-9]*)(?:[,.]([0-9]*))?"),
    "en": re.compile(rf"([1-9][0-9]{{0,2}}(?:[,{_SPACES}][0-9]{{3}})+|[0-9]*)(?:\.([0-9]*))?"),
}
_LONGEST_AMOUNT = 40


def parse_amount(text: str, *, language: str | None = None) -> Decimal | None:
    """An amount typed in `language` (the active one unless given) as a Decimal, or None when
    it is not one: "2 500,50 $" and "2500.50" in French, "$2,500.50" in English → 2500.50."""
    text = text.strip()
    if len(text) > _LONGEST_AMOUNT:
        return None
    text = text.removesuffix("$").rstrip()
    negative = text[:1] in ("-", "\u2212")
    if negative:
        text = text[1:].lstrip()
    text = text.removeprefix("$").lstrip()
    french = formats.locale_for(language).startswith("fr")
    found = _AMOUNT["fr" if french else "en"].fullmatch(text)
    if found is None:
        return None
    whole, cents = found.group(1), found.group(2) or ""
    if not whole and not cents:
        return None
    digits = re.sub(r"[^0-9]", "", whole) or "0"
    amount = Decimal(f"{digits}.{cents}" if cents else digits)
    return -amount if negative else amount


class MoneyInput(forms.TextInput):
    """A text box for an amount, not the browser's number box: that one refuses "2 500,50",
    and drops what it cannot read without a word. Phones show a keypad with the separators."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class MoneyField(forms.DecimalField):
    """An amount of dollars, typed as people write it in the page's language (parse_amount)
    and shown back that way ("2 500,50" / "2,500.50"), so that it is read back as it was.
    Cleans to a Decimal of at most `decimal_places` digits after the point; refuses what is not
    an amount ("12abc", "1e9", "NaN", other scripts' digits) and what is past the limits, in
    words and in the reader's language."""

    widget = MoneyInput

    def __init__(self, *, max_digits=9, decimal_places=2, min_value=None, max_value=None, **kw):
        if max_value is None:
            max_value = Decimal(10) ** (max_digits - decimal_places) - Decimal(1).scaleb(
                -decimal_places
            )
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kw)
        # Checked in `validate`, with the amounts written for people (Django's validators write
        # "2500.5" on a French page).
        self.money_min, self.money_max = min_value, Decimal(max_value)

    def prepare_value(self, value):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return value  # what the person typed, shown again as typed
        return formats.number(Decimal(str(value)), decimals=self.decimal_places)

    def to_python(self, value):
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None  # a space, or a no-break one pasted, is an empty box
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return Decimal(value)
        amount = parse_amount(str(value))
        if amount is None:
            raise ValidationError(
                _("Enter an amount in dollars, such as %(example)s.")
                % {"example": formats.number(Decimal("2500.5"), decimals=self.decimal_places)},
                code="invalid",
            )
        return amount

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if self.money_min is not None and value < self.money_min:
            raise ValidationError(
                _("Enter an amount of at least %(amount)s.")
                % {"amount": formats.money(int(Decimal(self.money_min) * 100))},
                code="min_value",
            )
        if value > self.money_max:
            raise ValidationError(
                _("Enter an amount of at most %(amount)s.")
                % {"amount": formats.money(int(self.money_max * 100))},
                code="max_value",
            )


def form_row(*fields: str, widths: tuple[int, ...] | None = None) -> Div:
    """Fields side by side in a row (static/css/site.css): equal widths unless given (out of 12)."""
    widths = widths or (12 // len(fields),) * len(fields)
    return Div(
        *(
            Div(name, css_class=f"gc-col-md-{width}")
            for name, width in zip(fields, widths, strict=True)
        ),
        css_class="gc-row",
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
        # In the reader's alphabetical order: "Île-du-Prince-Édouard" among the I's in French.
        provinces = sorted_choices(self.fields["province"].choices[1:])
        self.fields["province"].choices = [("", _("Choose…")), *provinces]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(
                _("Who you are"),
                "kind",
                "legal_name",
                "trading_name",
                # What an award publishes of these names, to whom and for how long.
                HTML('{% include "includes/supplier_privacy_notice.html" %}'),
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
                    '<p class="gc-small gc-muted">{}</p>',
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


class PersonNameField(forms.CharField):
    """A person's full name: required, trimmed, one line, at most 200 characters, no invisible
    or control characters, no web or email address (`names.person_name_clean`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Full name"))
        kwargs.setdefault("max_length", names.MAX_LENGTH)
        kwargs.setdefault("error_messages", {"required": _("Enter your full name.")})
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "name"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return names.person_name_clean(super().clean(value))


class SignupForm(AllauthSignupForm):
    """allauth's sign-up, asking first for the name every email greets the person by."""

    field_order = ["full_name", "email", "password1", "password2"]

    full_name = PersonNameField(help_text=_("We greet you by this name in our emails."))


class FullNameForm(forms.Form):
    full_name = PersonNameField(help_text=_("We greet you by this name in our emails."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse_lazy("marketplace:full_name")
        self.helper.layout = Layout("full_name", FormOnce(), Submit("save", _("Save my name")))


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
        # Its own colours only (crispy's primary classes underneath would mix two looks).
        button.field_classes = f"gc-btn {button_class or 'gc-btn-primary'}"
        self.helper.layout = Layout("note", FormOnce(), button)
