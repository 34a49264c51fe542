"""The forms on a rendered page, read as a browser reads and fills them
(tests/test_form_round_trip.py, tests/test_issue21_attacks_forms.py).

A page's fields are GC Design System components with the same field, plain, in a <noscript>
beside each (tests/support/gcds.py). `form_on` reads a form as a browser running scripts does
(the components' values, the native dates, files and hidden inputs; the <noscript> content
ignored); `form_on(..., scripts=False)` as a browser without scripts does (the plain fields);
`form_read_both` reads it both ways and requires the two to agree: the same fields, the same
values read by the server (an empty text component sends nothing, which Django reads as the ""
a plain field sends), the same ones dropped and shown in error. That is what makes the fallback
faithful."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from marketplace.models import Role
from tests.factories import StaffFactory
from tests.support.gcds import FORM_COMPONENTS, component_value, plain, scripted, textarea_value

TOKENS = {"csrfmiddlewaretoken", "form_once"}  # fresh on every rendering


_DATE = re.compile(r"[0-9]{4,}-[0-9]{2}-[0-9]{2}")


_LOCAL_DATETIME = re.compile(r"([0-9]{4,}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}(?::[0-9]{2})?)")


_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,3})?)?")


_FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _real_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def browser_value(kind: str, value: str) -> str:
    """An input's value as a browser keeps it (the HTML standard's value sanitization): a value
    its type does not accept is dropped, silently, and the field is sent empty."""
    if kind in ("text", "search", "tel", "password"):
        return value.replace("\r", "").replace("\n", "")
    if kind in ("email", "url"):
        return value.replace("\r", "").replace("\n", "").strip(" \t\n\f\r")
    if kind == "date":
        return value if _DATE.fullmatch(value) and _real_date(value) else ""
    if kind == "datetime-local":
        found = _LOCAL_DATETIME.fullmatch(value)
        if not found or not _real_date(found.group(1)):
            return ""
        day, time = found.groups()
        return f"{day}T{time.removesuffix(':00') if len(time) == 8 else time}"
    if kind == "time":
        return value if _TIME.fullmatch(value) else ""
    if kind in ("number", "range"):
        return value if _FLOAT.fullmatch(value) else ""
    return value  # hidden, checkbox, radio, submit...


@dataclass
class PageForm:
    """One <form> of a page: what a browser would send, and what it would drop."""

    action: str | None
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    # Text components left empty: they send nothing, where a plain field sends "" (Django's
    # widgets read an absent text field as an empty one: Widget.value_from_datadict).
    unsent_empty: set[str] = field(default_factory=set)

    def values(self) -> dict[str, list[str]]:
        """Every value, by field, without the tokens made fresh on each rendering."""
        found: dict[str, list[str]] = {}
        for name, value in self.fields:
            if name not in TOKENS:
                found.setdefault(name, []).append(value)
        return found

    def values_read(self) -> dict[str, list[str]]:
        """The values as the server reads them: an empty text component, not sent, as ""."""
        found = self.values()
        for name in sorted(self.unsent_empty - set(found)):
            found[name] = [""]
        return found

    def submission(
        self, *, button: str | None = None, typed: dict[str, str] | None = None
    ) -> dict[str, list[str]]:
        data: dict[str, list[str]] = {}
        for name, value in self.fields:
            data.setdefault(name, []).append(value)
        for name, value in (typed or {}).items():
            data[name] = [value]
        pressed = [b for b in self.buttons if button is None or b[0] == button][:1]
        if button is not None:
            assert pressed, f"no button {button!r} in the form"
        for name, value in pressed:
            data.setdefault(name, []).append(value)
        return data


def _shown_in_error(attr: dict[str, str]) -> bool:
    """A plain control marked invalid (Django's aria-invalid, the pack's gc-invalid), or a
    component with its error message."""
    return (
        attr.get("aria-invalid") == "true"
        or "gc-invalid" in attr.get("class", "").split()
        or bool(attr.get("error-message"))
    )


def _no_choice(tag: str, attr: dict[str, str]) -> bool:
    """Radios or checkboxes with no option: no control at all, as the plain field has none."""
    return tag in ("gcds-radios", "gcds-checkboxes") and not json.loads(attr.get("options") or "[]")


class PageForms(HTMLParser):
    """The forms of a page as a browser sees them (html.parser, the standard library's). Feed
    it `scripted(page)` or `plain(page)` (tests/support/gcds.py): html.parser itself reads
    <noscript> content as markup, as a browser without scripts does."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: tuple[str, bool, bool, list[list[Any]]] | None = None
        self._textarea: tuple[str, bool, list[str]] | None = None
        self._component_select: tuple[dict[str, str], list[tuple[str, bool]]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value if value is not None else "" for key, value in attrs}
        if tag == "form":
            if self._form is None:  # a form within a form is ignored, as browsers do
                self._form = PageForm(attr.get("action"), (attr.get("method") or "get").lower())
                self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name, disabled = attr.get("name", ""), "disabled" in attr
        if name and _shown_in_error(attr) and name not in form.invalid:
            form.invalid.append(name)
        if name and not _no_choice(tag, attr):
            form.names.add(name)
        if tag in FORM_COMPONENTS:
            if tag == "gcds-select":
                self._component_select = (attr, [])
            else:
                self._component(form, tag, attr, [])
        elif tag == "option" and self._component_select is not None:
            self._component_select[1].append((attr.get("value", ""), "selected" in attr))
        elif tag == "input":
            kind = attr.get("type", "text").lower()
            if not name or disabled or kind in ("file", "reset", "image", "button"):
                return
            if kind == "submit":
                form.buttons.append((name, attr.get("value", "")))
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attr:
                    form.fields.append((name, attr.get("value", "on")))
                return
            value = attr.get("value", "")
            kept = browser_value(kind, value)
            if value and not kept:
                form.dropped.append(f"{name} ({kind}): {value!r}")
            form.fields.append((name, kept))
        elif tag == "button" and attr.get("type", "submit").lower() == "submit":
            if name and not disabled:
                form.buttons.append((name, attr.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, "multiple" in attr, disabled, [])
        elif tag == "option" and self._select is not None:
            self._select[3].append([attr.get("value"), "selected" in attr, []])
        elif tag == "textarea" and name:
            self._textarea = (name, disabled, [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[2].append(data)
        elif self._select is not None and self._select[3]:
            self._select[3][-1][2].append(data)

    def _component(
        self, form: PageForm, tag: str, attr: dict[str, str], options: list[tuple[str, bool]]
    ) -> None:
        name = attr.get("name", "")
        sent = component_value(tag, attr, options)
        if tag in ("gcds-input", "gcds-textarea") and not sent and "disabled" not in attr:
            form.unsent_empty.add(name)
        for value in sent:
            kept = browser_value(attr.get("type", "text").lower(), value)
            if tag == "gcds-input" and value and not kept:
                form.dropped.append(f"{name} ({tag} {attr.get('type', 'text')}): {value!r}")
            form.fields.append((name, kept if tag == "gcds-input" else value))

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if tag == "gcds-select" and self._component_select is not None:
            attr, options = self._component_select
            self._component_select = None
            if form is not None:
                self._component(form, tag, attr, options)
        elif tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            name, multiple, disabled, options = self._select
            self._select = None
            if form is None or disabled:
                return
            values = [
                (value if value is not None else "".join(text).strip(), selected)
                for value, selected, text in options
            ]
            chosen = [value for value, selected in values if selected]
            if not chosen and not multiple and values:
                chosen = [values[0][0]]
            if not multiple:
                chosen = chosen[-1:]
            form.fields.extend((name, value) for value in chosen)
        elif tag == "textarea" and self._textarea is not None:
            name, disabled, parts = self._textarea
            self._textarea = None
            if form is None or disabled:
                return
            # The page's line ends are read as LF, a first line end dropped; sent as CRLF.
            text = "".join(parts).replace("\r\n", "\n").replace("\r", "\n")
            form.fields.append((name, textarea_value(text.removeprefix("\n"))))


def form_on(html: str, field_name: str, *, scripts: bool = True) -> PageForm:
    """The form holding `field_name`, as a browser running scripts reads it (the components),
    or, `scripts=False`, as one without scripts does (the plain fields of the <noscript>)."""
    parser = PageForms()
    parser.feed(scripted(html) if scripts else plain(html))
    parser.close()
    for form in parser.forms:
        if field_name in form.names:
            return form
    raise AssertionError(f"no form with a field {field_name!r} on the page")


def form_read_both(html: str, field_name: str) -> PageForm:
    """The form holding `field_name` as a browser running scripts reads it, once checked that a
    browser without scripts reads the same form: the same fields and buttons, the same values
    sent, the same values dropped, the same fields shown in error."""
    with_scripts = form_on(html, field_name)
    without = form_on(html, field_name, scripts=False)
    assert (with_scripts.action, with_scripts.method) == (without.action, without.method)
    assert with_scripts.names == without.names, (
        f"fields only with scripts: {sorted(with_scripts.names - without.names)}; "
        f"only without: {sorted(without.names - with_scripts.names)}"
    )
    assert with_scripts.values_read() == without.values(), _difference(with_scripts, without)
    assert sorted(with_scripts.buttons) == sorted(without.buttons)
    assert sorted(with_scripts.invalid) == sorted(without.invalid)
    assert len(with_scripts.dropped) == len(without.dropped), (
        with_scripts.dropped,
        without.dropped,
    )
    return with_scripts


def _difference(with_scripts: PageForm, without: PageForm) -> str:
    a, b = with_scripts.values_read(), without.values()
    return "; ".join(
        f"{name}: {a.get(name)!r} with scripts, {b.get(name)!r} without"
        for name in sorted(set(a) | set(b))
        if a.get(name) != b.get(name)
    )


def _program_admins() -> tuple[Any, Any]:
    return (
        StaffFactory(roles=[Role.PROGRAM_ADMIN], full_name="Éloïse Lévesque-D\u2019Amour"),
        StaffFactory(roles=[Role.PROGRAM_ADMIN], full_name="Jean-François Côté"),
    )
