"""The crispy-forms template pack for the GC Design System (templates/gcds/,
marketplace/templatetags/gcds_forms.py): each kind of field drawn as its GCDS component, with the
same value, hint and error as the plain field kept beside it for browsers without scripts."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from crispy_forms.utils import render_crispy_form
from django import forms
from django.utils import translation

from marketplace.templatetags.gcds_forms import control_kind, gcds_button_classes
from tests.support.gcds import scripted

HOSTILE = '"><script>alert(1)</script>\u202e'


class Everything(forms.Form):
    title = forms.CharField(max_length=80, help_text="Short & plain.")
    email = forms.EmailField(required=False)
    amount = forms.IntegerField(min_value=1, max_value=10)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=500)
    kind = forms.ChoiceField(choices=[("", "---------"), ("a", "Alpha"), ("b", "Beta")])
    size = forms.ChoiceField(choices=[("s", "Small"), ("l", "Large")], widget=forms.RadioSelect)
    skills = forms.MultipleChoiceField(
        choices=[("py", "Python"), ("js", "JavaScript")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    agree = forms.BooleanField()
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    upload = forms.FileField(required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(*self.fields, Submit("go", "Go"))


def element(page: str, tag: str, name: str) -> str:
    found = re.findall(rf'<{tag}\b[^>]*\bname="{name}"[^>]*>', scripted(page))
    assert len(found) == 1, (tag, name, found)
    return found[0]


def attribute(markup: str, name: str) -> str | None:
    found = re.search(rf'\s{name}(?:="([^"]*)")?[\s>]', markup)
    if not found:
        return None
    return unescape(found.group(1) or "")


def render(form: forms.Form) -> str:
    return str(render_crispy_form(form))


VALID = {
    "title": "Fix the date picker",
    "email": "a@example.com",
    "amount": "3",
    "notes": "Line one\nLine two",
    "kind": "b",
    "size": "l",
    "skills": ["js"],
    "agree": "on",
    "start": "2027-01-15",
}


def test_each_kind_of_field_has_its_component():
    form = Everything()
    kinds = {name: control_kind(form[name]) for name in form.fields}
    assert kinds == {
        "title": "input",
        "email": "input",
        "amount": "input",
        "notes": "textarea",
        "kind": "select",
        "size": "radios",
        "skills": "checkboxes",
        "agree": "checkbox",
        "start": "",
        "upload": "",
        "secret": "",
    }


def test_the_components_carry_the_bound_values():
    page = render(Everything(data=VALID))
    title = element(page, "gcds-input", "title")
    assert attribute(title, "value") == "Fix the date picker"
    assert attribute(title, "input-id") == "id_title"
    assert attribute(title, "data-field-id") == "id_title"
    assert attribute(title, "maxlength") == "80"
    assert attribute(title, "hint") == "Short & plain."
    assert attribute(title, "validate-on") == "other"
    assert attribute(element(page, "gcds-input", "amount"), "type") == "number"
    assert attribute(element(page, "gcds-input", "amount"), "min") == "1"
    assert attribute(element(page, "gcds-input", "email"), "type") == "email"
    assert attribute(element(page, "gcds-textarea", "notes"), "value") == "Line one\nLine two"
    assert re.search(r'<option value="b" selected>Beta</option>', scripted(page))
    size = element(page, "gcds-radios", "size")
    assert attribute(size, "value") is None  # gcds-radios would then send nothing untouched
    assert [o["value"] for o in json.loads(attribute(size, "options")) if o["checked"]] == ["l"]
    assert [o["id"] for o in json.loads(attribute(size, "options"))] == ["id_size_0", "id_size_1"]
    skills = element(page, "gcds-checkboxes", "skills")
    assert json.loads(attribute(skills, "value")) == ["js"]
    agree = element(page, "gcds-checkboxes", "agree")
    assert json.loads(attribute(agree, "value")) == ["on"]
    assert json.loads(attribute(agree, "options"))[0] == {
        "id": "id_agree",
        "label": "Agree",
        "value": "on",
        "checked": True,
    }
    # Dates and files stay native controls, outside <noscript>.
    assert re.search(r'<input type="date" name="start" value="2027-01-15"', scripted(page))
    assert re.search(r'<input type="file" name="upload"', scripted(page))
    assert re.search(r'<input type="hidden" name="secret"', scripted(page))


def test_an_unticked_box_sends_nothing():
    data = {**VALID}
    del data["agree"]
    agree = element(render(Everything(data=data)), "gcds-checkboxes", "agree")
    assert json.loads(attribute(agree, "value")) == []
    assert "checked" not in json.loads(attribute(agree, "options"))[0]


def test_errors_are_at_the_component_and_at_the_plain_field():
    page = render(Everything(data={"title": "", "amount": "99"}))
    title = element(page, "gcds-input", "title")
    assert attribute(title, "error-message") == "This field is required."
    assert "Ensure this value is less than or equal to 10." in attribute(
        element(page, "gcds-input", "amount"), "error-message"
    )
    fallback = re.search(r"<noscript>(.*?)</noscript>", page[page.index('name="title"') :], re.S)
    plain = fallback.group(1)
    assert '<p class="gc-error" id="id_title_error">' in plain
    assert re.search(r'<input[^>]*name="title"[^>]*aria-invalid="true"', plain)
    # The plain date field shows its own error outside <noscript>.
    assert 'id="id_start_error"' in scripted(page)


def test_every_component_has_its_plain_twin_in_noscript():
    page = render(Everything(data=VALID))
    for name in ("title", "email", "amount", "notes", "kind", "size", "skills", "agree"):
        twins = re.findall(r"<noscript>(.*?)</noscript>", page, re.S)
        assert sum(f'name="{name}"' in twin for twin in twins) == 1, name
    assert page.count("<noscript>") == 8


def test_hostile_text_stays_text():
    form = Everything(data={**VALID, "title": HOSTILE, "notes": HOSTILE})
    form.fields["title"].label = HOSTILE  # labels of choices and names come from people
    form.fields["kind"].choices = [("x", HOSTILE)]
    page = render(form)
    assert "<script>alert(1)" not in page
    title = element(page, "gcds-input", "title")
    assert attribute(title, "value") == HOSTILE
    assert attribute(element(page, "gcds-textarea", "notes"), "value") == HOSTILE
    assert attribute(title, "label") == " ".join(HOSTILE.split())  # shown as typed, as text
    assert re.search(r'<option value="x">&quot;&gt;&lt;script&gt;', scripted(page))


def test_the_component_speaks_the_page_language():
    with translation.override("fr"):
        page = render(Everything())
    assert attribute(element(page, "gcds-input", "title"), "lang") == "fr"
    assert "(obligatoire)" in page


def test_required_follows_the_form():
    form = Everything()
    form.use_required_attribute = False
    page = render(form)
    assert attribute(element(page, "gcds-input", "title"), "required") is None
    page = render(Everything())
    assert attribute(element(page, "gcds-input", "title"), "required") == ""


def test_a_search_field_keeps_its_type():
    class Search(forms.Form):
        q = forms.CharField(required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            from crispy_forms.layout import Field

            self.helper = FormHelper()
            self.helper.layout = Layout(Field("q", type="search"))

    assert attribute(element(render(Search()), "gcds-input", "q"), "type") == "search"


@pytest.mark.parametrize(
    ("given", "drawn"),
    [
        ("btn btn-primary", "gc-btn gc-btn-primary"),
        ("btn btn-primary gc-btn-danger", "gc-btn gc-btn-danger"),
        ("gc-btn gc-btn-secondary", "gc-btn gc-btn-secondary"),
        ("", "gc-btn gc-btn-primary"),
        ("btn btn-outline-primary", "gc-btn gc-btn-secondary"),
    ],
)
def test_buttons_are_gcds_buttons(given, drawn):
    assert gcds_button_classes(given) == drawn


def test_submit_buttons_are_native_and_styled():
    page = render(Everything())
    button = r'<input type="submit" name="go" value="Go" class="gc-btn gc-btn-primary"'
    assert re.search(button, page)


def test_a_select_with_nothing_chosen_sends_its_first_option_as_a_plain_one_does():
    class Method(forms.Form):
        method = forms.ChoiceField(choices=[("terminal", "Card terminal"), ("link", "Link")])
        helper = FormHelper()
        helper.form_tag = False

    select = element(render(Method()), "gcds-select", "method")
    assert attribute(select, "value") == "terminal"
    select = element(render(Method(data={"method": "link"})), "gcds-select", "method")
    assert attribute(select, "value") == "link"


def test_the_project_data_attributes_reach_the_component():
    class Answer(forms.Form):
        answer = forms.CharField(
            widget=forms.Textarea(attrs={"data-word-limit": 150, "maxlength": 900})
        )
        helper = FormHelper()
        helper.form_tag = False

    answer = element(render(Answer()), "gcds-textarea", "answer")
    assert attribute(answer, "data-word-limit") == "150"
    assert attribute(answer, "maxlength") == "900"


def test_a_label_written_as_html_is_shown_as_its_words():
    from django.utils.html import format_html

    class Terms(forms.Form):
        agree = forms.BooleanField()
        helper = FormHelper()
        helper.form_tag = False

    form = Terms()
    form.fields["agree"].label = format_html("{} <b>{}</b>", "The firm's", "terms & rules")
    options = json.loads(attribute(element(render(form), "gcds-checkboxes", "agree"), "options"))
    assert options[0]["label"] == "The firm's terms & rules"


def test_french_no_break_spaces_are_kept():
    class Amount(forms.Form):
        amount = forms.CharField(help_text="Au plus 2\u00a0000,00\u00a0$, «\u00a0net\u00a0».")
        helper = FormHelper()
        helper.form_tag = False

    hint = attribute(element(render(Amount()), "gcds-input", "amount"), "hint")
    assert hint == "Au plus 2\u00a0000,00\u00a0$, «\u00a0net\u00a0»."


def test_a_help_text_with_a_link_or_a_list_keeps_the_plain_control():
    """allauth's password hint is a link, the password rules a list: a component would show the
    markup as text and lose the link, so those fields stay plain (and the link works)."""
    from django.contrib.auth.password_validation import password_validators_help_text_html
    from django.urls import reverse_lazy
    from django.utils.functional import lazy
    from django.utils.html import format_html

    def forgot():
        return format_html('<a href="{}">{}</a>', reverse_lazy("account_reset_password"), "Forgot?")

    class Login(forms.Form):
        password = forms.CharField(widget=forms.PasswordInput, help_text=lazy(forgot, str)())
        password1 = forms.CharField(
            widget=forms.PasswordInput,
            help_text=lazy(password_validators_help_text_html, str)(),
        )
        helper = FormHelper()
        helper.form_tag = False

    page = render(Login())
    assert "<gcds-input" not in page
    assert re.search(r'<a href="/en/accounts/password/reset/">Forgot\?</a>', scripted(page))
    assert "<ul><li>" in scripted(page)  # the rules as a list, once, outside <noscript>
    assert "&lt;" not in page


def test_a_group_of_one_checkbox_keeps_its_question():
    class One(forms.Form):
        kinds = forms.MultipleChoiceField(
            choices=[("bug", "Bug fix")], widget=forms.CheckboxSelectMultiple, label="Kinds"
        )
        helper = FormHelper()
        helper.form_tag = False

    page = render(One())
    assert "<gcds-checkboxes" not in page
    assert re.search(r"<legend[^>]*>Kinds", scripted(page))


def test_a_counted_text_area_hides_the_component_count_for_the_project_one():
    class Question(forms.Form):
        text = forms.CharField(widget=forms.Textarea(attrs={"maxlength": 2000, "data-counter": ""}))
        other = forms.CharField(widget=forms.Textarea(attrs={"maxlength": 50}))
        helper = FormHelper()
        helper.form_tag = False

    page = render(Question())
    assert attribute(element(page, "gcds-textarea", "text"), "hide-limit") == ""
    assert attribute(element(page, "gcds-textarea", "text"), "data-counter") == ""
    assert attribute(element(page, "gcds-textarea", "other"), "hide-limit") is None


def test_a_zero_limit_is_kept():
    class Score(forms.Form):
        score = forms.IntegerField(min_value=0, max_value=10)
        helper = FormHelper()
        helper.form_tag = False

    score = element(render(Score()), "gcds-input", "score")
    assert (attribute(score, "min"), attribute(score, "max")) == ("0", "10")


def test_every_form_leaves_checking_to_the_server():
    """The browser's own checks (required, min, max) would stop a post with a bubble in the
    browser's language, before the page's error summary could say what is wrong in the page's:
    every form of the site is `novalidate`, the pack's and those written by hand."""
    from pathlib import Path

    from django.conf import settings

    assert re.search(r"<form novalidate\b", render(Everything()))
    missing = [
        f"{path.relative_to(settings.BASE_DIR)}: {tag}"
        for path in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
        for tag in re.findall(r"<form\b[^>]*>", path.read_text())
        if "novalidate" not in tag
    ]
    assert missing == []
