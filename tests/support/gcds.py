"""A page's forms as the two kinds of browser read them, now that every text field, textarea,
select, radio group and checkbox is a GC Design System component (templates/gcds/field.html,
marketplace/templatetags/gcds_forms.py) with the same field, plain, in a <noscript> beside it.

- `scripted(page)`: as a browser running scripts reads it. The <noscript> blocks are raw text
  to it (the HTML standard's "scripting flag"): they are removed; the components stay.
- `plain(page)`: as a browser without scripts reads it. The <noscript> content is ordinary
  markup; the form components (`gcds-input`, `gcds-textarea`, `gcds-select`, `gcds-radios`,
  `gcds-checkboxes`) are removed with what they hold, since they neither show nor send anything
  without their script. The page's other components (header, footer) are kept as they are.
- `component_values(page)`: what the components of a page send, by name, untouched, as the
  components of @gcds-core/components 1.3.1 set their form value on load
  (ElementInternals.setFormValue in their componentWillLoad; checked in Chromium on a page of
  each kind, December 2026):
  `gcds-input` and `gcds-textarea` their `value`, and nothing at all when it is empty (a plain
  field sends ""); `gcds-select` the option whose value is its `value`, or else its last
  selected option, or else nothing (a plain select sends its first option); `gcds-radios` the
  value of its checked option from `options`, and only when it has no `value` attribute (with
  one, it sends nothing until a choice is clicked); `gcds-checkboxes` each value of its `value`
  (a JSON list; its formdata listener appends them one by one); a single box ticked sends
  ["on"], as a plain one does. A disabled component sends nothing.

Python's html.parser always reads <noscript> content as markup; these functions say which
reading a test makes.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

FORM_COMPONENTS = ("gcds-input", "gcds-textarea", "gcds-select", "gcds-radios", "gcds-checkboxes")

_NOSCRIPT = re.compile(r"<noscript\b[^>]*>.*?</noscript\s*>", re.S | re.I)
_NOSCRIPT_TAGS = re.compile(r"</?noscript\b[^>]*>", re.I)
# Attribute values are escaped by the pack (format_html): no raw ">" inside a tag.
_COMPONENTS = re.compile(
    r"<(gcds-(?:input|textarea|select|radios|checkboxes))\b[^>]*>.*?</\1\s*>", re.S | re.I
)


def scripted(page: str) -> str:
    """The page as a browser running scripts reads it: no <noscript> content."""
    return _NOSCRIPT.sub("", page)


def plain(page: str) -> str:
    """The page as a browser without scripts reads it: the <noscript> content kept, the form
    components gone."""
    return _COMPONENTS.sub("", _NOSCRIPT_TAGS.sub("", page))


def textarea_value(text: str) -> str:
    """A textarea's value as it is sent: line ends read as LF, sent as CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def component_value(tag: str, attr: dict[str, str], options: list[tuple[str, bool]]) -> list[str]:
    """What one form component sends, untouched, by its attributes (and, for a select, its
    options as (value, selected) pairs, in order)."""
    if "disabled" in attr or not attr.get("name"):
        return []
    value = attr.get("value", "")
    if tag == "gcds-input":
        return [value] if value else []
    if tag == "gcds-textarea":
        return [textarea_value(value)] if value else []
    if tag == "gcds-select":
        # gcds-select's componentWillLoad (checkValueOrSelected), option by option.
        current: str | None = attr.get("value")
        sent: str | None = None
        for option, selected in options:
            if current == option:
                sent = option
            elif selected:
                current = sent = option
        return [] if sent is None else [sent]
    if tag == "gcds-radios":
        if value:  # its validateOptions only reads `checked` when no value was given
            return []
        checked = [
            str(option.get("value"))
            for option in json.loads(attr.get("options") or "[]")
            if option.get("checked") in (True, "true")
        ]
        return checked[-1:]
    if tag == "gcds-checkboxes":
        chosen = json.loads(value or "[]")
        assert isinstance(chosen, list), (attr.get("name"), value)
        return [str(item) for item in chosen]
    raise AssertionError(f"not a form component: {tag}")


class _Components(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = {}
        self.errors: dict[str, str] = {}
        self._select: tuple[dict[str, str], list[tuple[str, bool]]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value if value is not None else "" for key, value in attrs}
        if tag == "gcds-select":
            self._select = (attr, [])
        elif tag == "option" and self._select is not None:
            self._select[1].append((attr.get("value", ""), "selected" in attr))
        elif tag in FORM_COMPONENTS:
            self._add(tag, attr, [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "gcds-select" and self._select is not None:
            attr, options = self._select
            self._select = None
            self._add(tag, attr, options)

    def _add(self, tag: str, attr: dict[str, str], options: list[tuple[str, bool]]) -> None:
        if attr.get("error-message"):
            self.errors[attr.get("data-field-id") or attr.get("name", "")] = attr["error-message"]
        sent = component_value(tag, attr, options)
        if attr.get("name"):
            self.values.setdefault(attr["name"], []).extend(sent)


def _components(page: str) -> _Components:
    parser = _Components()
    parser.feed(scripted(page))
    parser.close()
    return parser


def component_values(page: str) -> dict[str, list[str]]:
    """What the page's form components send, by name (a component that sends nothing is listed
    with no value)."""
    return _components(page).values


def component_errors(page: str) -> dict[str, str]:
    """The error message each form component shows at its field, by the id of its control
    (data-field-id); components without one are left out."""
    return _components(page).errors
