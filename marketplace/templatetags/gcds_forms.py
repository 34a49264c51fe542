"""The GC Design System's form controls for Django's fields: the heart of the project's
crispy-forms template pack (templates/gcds/, `CRISPY_TEMPLATE_PACK = "gcds"`).

`{% gcds_control field %}` draws a bound field as the GCDS component made for it — `gcds-input`,
`gcds-textarea`, `gcds-select`, `gcds-radios`, `gcds-checkboxes` — with its label (or legend),
its hint (the field's help text) and its error message at the field, all as the component's
attributes. The values come from the widget's own context, so a component shows exactly what the
plain widget would: the same formatted value, the same selected choices, the same limits.

Components are form-associated custom elements: they submit under the field's name, like the
plain widget. They need JavaScript; templates/gcds/field.html therefore puts the plain field
(label, hint, error, widget) in a `<noscript>` beside each one, so every form still works
without it, and a browser running scripts never sees two controls of one name.

Dates, times and files have no component here: GCDS's date input is three boxes (day, month,
year), meant for dates people know by heart, and its file uploader keeps files inside the
component, out of reach of the bid form's upload step. They stay native controls, drawn with the
GCDS tokens (static/css/forms.css), and `gcds_control` returns "" for them (the template then
shows the plain field). So it does for a field whose label or help text holds a link or a list
(a component draws them as text) and for a group of checkboxes with a single choice (GCDS then
draws a lone box without the question).

Two things differ from plain controls. An emptied gcds-input or gcds-textarea sends nothing at
all, where a plain one sends "": Django reads both as empty in `cleaned_data`, but a ModelForm's
save() keeps the stored value of an omitted field that has a default — read cleaned_data, as
every view here does. And if scripts run but the components' module fails to load, the fields
show nothing (the <noscript> copy is not drawn either): the module is served by the site itself
(static/vendor/gcds), under the same Content-Security-Policy as the rest.

Each component is told `validate-on="other"`: the server checks every value and says what is
wrong in the page's error summary and at the field; the component's own checks in the browser
would add a second, differently worded, set of messages.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from django import forms, template
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.safestring import SafeData, SafeString
from django.utils.translation import get_language

register = template.Library()

ASCII_SPACES = re.compile(r"[ \t\n\r\f\v]+")
INPUT_TYPES = frozenset({"text", "email", "number", "password", "search", "tel", "url"})

# Attributes of the plain widget that mean the same on the component.
SHARED_ATTRIBUTES = (
    "autocomplete",
    "inputmode",
    "maxlength",
    "minlength",
    "min",
    "max",
    "step",
    "pattern",
    "size",
    "rows",
    "cols",
)
FLAGS = ("required", "disabled", "readonly", "autofocus")


def _text(value: object) -> str:
    """Text for an attribute. Words written by people (a name in a list of choices) are kept as
    they are and escaped; a label or help text the code marked safe as HTML loses its tags
    rather than showing them."""
    value = str(value)  # a lazy translation becomes its words (and SafeString if it was one)
    text = html.unescape(strip_tags(value)) if isinstance(value, SafeData) else value
    # Only ASCII spaces fold: French keeps its no-break spaces ("2 000,00 $", "« x »").
    return ASCII_SPACES.sub(" ", text).strip(" ")


def _widget_context(bound: forms.BoundField) -> dict[str, Any]:
    """The widget's own template context, built as BoundField.as_widget builds it."""
    widget = bound.field.widget
    attrs: dict[str, Any] = {}
    if bound.auto_id and "id" not in widget.attrs:
        attrs["id"] = bound.auto_id
    attrs = bound.build_widget_attrs(attrs, widget)
    context: dict[str, Any] = widget.get_context(bound.html_name, bound.value(), attrs)["widget"]
    return context


def _common(bound: forms.BoundField, attrs: dict[str, Any]) -> dict[str, Any]:
    common: dict[str, Any] = {
        "name": bound.html_name,
        "lang": (get_language() or "en")[:2],
        "validate-on": "other",
        # The field's id, for the error summary's links and the tests: the component's inner
        # control carries it in its own shadow tree, where the page's getElementById cannot
        # reach (static/js/site.js looks for data-field-id).
        "data-field-id": attrs.get("id", ""),
    }
    if attrs.get("form"):  # a control placed outside its form (the bid form's upload step)
        common["form"] = attrs["form"]
    if bound.help_text:
        common["hint"] = _text(bound.help_text)
    if bound.errors:
        common["error-message"] = " ".join(_text(error) for error in bound.errors)
    for flag in FLAGS:
        if attrs.get(flag):
            common[flag] = True
    # The project's scripts read data-* attributes (static/js/bid-form.js's word count).
    for key, value in attrs.items():
        if key.startswith("data-") and key not in common:
            common[key] = True if value == "" else value  # data-counter="" is a flag
    return common


def _element(tag: str, attributes: dict[str, Any], children: SafeString | str = "") -> SafeString:
    # Identity tests: `0 in (False,)` is true in Python, and min="0" must stay.
    given = {
        key: value
        for key, value in attributes.items()
        if value is not None and value is not False and value != ""
    }
    flags = format_html_join("", " {}", ((key,) for key, value in given.items() if value is True))
    values = format_html_join(
        "", ' {}="{}"', ((key, value) for key, value in given.items() if value is not True)
    )
    return format_html(
        "<{tag}{values}{flags}>{children}</{tag}>",
        tag=tag,
        values=values,
        flags=flags,
        children=children,
    )


def _label(bound: forms.BoundField) -> str:
    return _text(bound.label or bound.name)


def _choices(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The widget's options, flat (radios and checkboxes have no groups in this project)."""
    return [option for _group, options, _index in context["optgroups"] for option in options]


def _input(bound: forms.BoundField, context: dict[str, Any]) -> SafeString:
    attrs = context["attrs"]
    attributes = {
        "input-id": attrs.get("id", ""),
        "label": _label(bound),
        # crispy's Field("q", type="search") puts the type among the attributes.
        "type": attrs["type"] if attrs.get("type") in INPUT_TYPES else context["type"],
        "value": "" if context["value"] is None else context["value"],
        **{key: attrs.get(key) for key in SHARED_ATTRIBUTES if key not in ("rows", "cols")},
        **_common(bound, attrs),
    }
    return _element("gcds-input", attributes)


def _textarea(bound: forms.BoundField, context: dict[str, Any]) -> SafeString:
    attrs = context["attrs"]
    attributes = {
        "textarea-id": attrs.get("id", ""),
        "label": _label(bound),
        "value": "" if context["value"] is None else context["value"],
        **{key: attrs.get(key) for key in ("maxlength", "minlength", "rows", "cols")},
        # The project's counter (static/js/counter.js: "1,950 characters left", « 1 950
        # caractères restants », digits grouped as the house writes numbers) replaces GCDS's.
        "hide-limit": "data-counter" in attrs,
        **_common(bound, attrs),
    }
    return _element("gcds-textarea", attributes)


def _select(bound: forms.BoundField, context: dict[str, Any]) -> SafeString:
    attrs = context["attrs"]
    options: list[SafeString] = []
    chosen = ""
    first = next((str(o["value"]) for o in _choices(context)), None)
    for group, members, _index in context["optgroups"]:
        drawn = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (
                    option["value"],
                    format_html(" {}", "selected") if option["selected"] else "",
                    _text(option["label"]),
                )
                for option in members
            ),
        )
        chosen = chosen or next((str(o["value"]) for o in members if o["selected"]), "")
        if group:
            options.append(format_html('<optgroup label="{}">{}</optgroup>', _text(group), drawn))
        else:
            options.append(drawn)
    if not chosen and first is not None:
        # A browser sends a plain select's first option when none is selected; the component
        # sends only a value it is given.
        chosen = first
    attributes = {
        "select-id": attrs.get("id", ""),
        "label": _label(bound),
        "value": chosen,
        "autocomplete": attrs.get("autocomplete"),
        **_common(bound, attrs),
    }
    return _element("gcds-select", attributes, format_html_join("", "{}", ((o,) for o in options)))


def _options_json(context: dict[str, Any], *, checked_key: str = "checked") -> str:
    return json.dumps(
        [
            {
                "id": option["attrs"].get("id") or f"{context['attrs'].get('id', '')}_{i}",
                "label": _text(option["label"]),
                "value": str(option["value"]),
                checked_key: bool(option["selected"]),
            }
            for i, option in enumerate(_choices(context))
        ],
        ensure_ascii=False,
    )


def _radios(bound: forms.BoundField, context: dict[str, Any]) -> SafeString:
    attrs = context["attrs"]
    # The choice is told by the options' "checked" only: given a `value` too, gcds-radios 1.3
    # sends nothing until the person clicks (an untouched group would be missing from the POST).
    attributes = {
        "legend": _label(bound),
        "options": _options_json(context),
        **_common(bound, attrs),
    }
    return _element("gcds-radios", attributes)


def _checkboxes(bound: forms.BoundField, context: dict[str, Any]) -> SafeString:
    attrs = context["attrs"]
    chosen = [str(o["value"]) for o in _choices(context) if o["selected"]]
    attributes = {
        "legend": _label(bound),
        "options": _options_json(context),
        "value": json.dumps(chosen, ensure_ascii=False),
        **_common(bound, attrs),
    }
    return _element("gcds-checkboxes", attributes)


def _checkbox(bound: forms.BoundField, context: dict[str, Any]) -> SafeString:
    """One box, as GCDS draws a single checkbox: the label beside it, no legend."""
    attrs = context["attrs"]
    checked = bool(attrs.get("checked"))
    value = "on"  # what Django's CheckboxInput reads as ticked, as a plain box sends it
    option = {"id": attrs.get("id", ""), "label": _label(bound), "value": value}
    if checked:
        option["checked"] = True
    attributes = {
        "options": json.dumps([option], ensure_ascii=False),
        "value": json.dumps([value] if checked else []),
        **_common(bound, attrs),
    }
    return _element("gcds-checkboxes", attributes)


# Markup a component's label or hint cannot hold: a link (allauth's "Forgot your password?"),
# a list (the password rules). A field whose label or help text has any stays a plain control,
# where the markup keeps its meaning (gcds_control returns "").
RICH_MARKUP = re.compile(r"<(a|ul|ol|li|p|br)\b", re.IGNORECASE)


def _has_rich_markup(value: object) -> bool:
    value = str(value or "")
    return isinstance(value, SafeData) and bool(RICH_MARKUP.search(value))


# Widget classes and the component for each, a subclass before its parent (RadioSelect and
# SelectMultiple are Selects). A multiple select has none: it stays plain.
KINDS: tuple[tuple[type[forms.Widget], str], ...] = (
    (forms.CheckboxSelectMultiple, "checkboxes"),
    (forms.RadioSelect, "radios"),
    (forms.CheckboxInput, "checkbox"),
    (forms.SelectMultiple, ""),
    (forms.Select, "select"),
    (forms.Textarea, "textarea"),
)


def control_kind(bound: forms.BoundField) -> str:
    """Which GCDS component draws this field; "" when none does (it stays a plain control)."""
    widget = bound.field.widget
    if widget.is_hidden:
        return ""
    for widget_class, kind in KINDS:
        if isinstance(widget, widget_class):
            return kind
    if isinstance(widget, forms.widgets.Input) and getattr(widget, "input_type", "") in INPUT_TYPES:
        return "input"
    return ""


DRAW = {
    "input": _input,
    "textarea": _textarea,
    "select": _select,
    "radios": _radios,
    "checkboxes": _checkboxes,
    "checkbox": _checkbox,
}


@register.simple_tag
def gcds_control(bound: forms.BoundField) -> SafeString:
    """The GCDS component for `bound`, or "" when the field stays a plain control."""
    kind = control_kind(bound)
    if not kind or _has_rich_markup(bound.help_text) or _has_rich_markup(bound.label):
        return format_html("{}", "")
    context = _widget_context(bound)
    if kind == "checkboxes" and len(_choices(context)) < 2:
        # One choice: gcds-checkboxes would draw a lone box and drop the question (its legend).
        return format_html("{}", "")
    return DRAW[kind](bound, context)


@register.filter
def gcds_kind(bound: forms.BoundField) -> str:
    return control_kind(bound)


# crispy-forms' own button classes (Submit's "btn btn-primary") and the project's, as the GC
# Design System's buttons drawn by static/css/site.css.
BUTTON_CLASSES = {
    "btn": "gc-btn",
    "btn-primary": "gc-btn-primary",
    "btn-secondary": "gc-btn-secondary",
    "btn-outline-primary": "gc-btn-secondary",
    "btn-outline-secondary": "gc-btn-secondary",
    "btn-danger": "gc-btn-danger",
    "btn-outline-danger": "gc-btn-danger",
    "btn-sm": "gc-btn-small",
}


@register.filter
def gcds_button_classes(classes: str) -> str:
    """`classes` with crispy's Bootstrap button names replaced by the GCDS ones; the rest kept."""
    seen: list[str] = []
    for name in str(classes or "").split():
        mapped = BUTTON_CLASSES.get(name, name)
        if mapped not in seen:
            seen.append(mapped)
    if "gc-btn" not in seen:
        seen.insert(0, "gc-btn")
    # One tone: a button given its own (crispy's Submit always starts as primary) keeps that.
    if "gc-btn-secondary" in seen or "gc-btn-danger" in seen:
        seen = [name for name in seen if name != "gc-btn-primary"]
    elif "gc-btn-primary" not in seen:
        seen.append("gc-btn-primary")
    return " ".join(seen)
