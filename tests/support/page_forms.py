"""The forms on a rendered page, read as a browser reads and fills them
(tests/test_form_round_trip.py, tests/test_issue21_attacks_forms.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from marketplace.models import Role
from tests.factories import StaffFactory

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

    def values(self) -> dict[str, list[str]]:
        """Every value, by field, without the tokens made fresh on each rendering."""
        found: dict[str, list[str]] = {}
        for name, value in self.fields:
            if name not in TOKENS:
                found.setdefault(name, []).append(value)
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


class PageForms(HTMLParser):
    """The forms of a page as a browser sees them (html.parser, the standard library's)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: tuple[str, bool, bool, list[list[Any]]] | None = None
        self._textarea: tuple[str, bool, list[str]] | None = None

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
        if "is-invalid" in attr.get("class", "").split():
            form.invalid.append(name)
        if name:
            form.names.add(name)
        if tag == "input":
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

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if tag == "form":
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
            form.fields.append((name, text.removeprefix("\n").replace("\n", "\r\n")))


def form_on(html: str, field_name: str) -> PageForm:
    parser = PageForms()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        if field_name in form.names:
            return form
    raise AssertionError(f"no form with a field {field_name!r} on the page")


def _program_admins() -> tuple[Any, Any]:
    return (
        StaffFactory(roles=[Role.PROGRAM_ADMIN], full_name="Éloïse Lévesque-D\u2019Amour"),
        StaffFactory(roles=[Role.PROGRAM_ADMIN], full_name="Jean-François Côté"),
    )
