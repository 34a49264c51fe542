"""Reading the error summary (templates/includes/error_summary.html) out of a page."""

import re
from html import unescape

from tests.support.gcds import plain, scripted

SUMMARY = re.compile(r'<div class="gc-error-summary"[^>]*>(.*?)</div>', re.S)
LINK = re.compile(r'<a href="#([^"]+)" data-error-target="\1">(.*?)</a>', re.S)


def summary_links(page: str) -> list[tuple[str, str]]:
    found = SUMMARY.findall(page)
    assert len(found) == 1, "one error summary"
    return [(target, unescape(text).strip()) for target, text in LINK.findall(found[0])]


def ids_in(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def _control(page: str, target: str) -> bool:
    """A native control with the id `target` (not a label or a wrapper)."""
    return bool(re.search(rf'<(input|textarea|select)\b[^>]*\bid="{re.escape(target)}"', page))


def _component(page: str, target: str) -> bool:
    """A GCDS form component whose control has the id `target` (its data-field-id: the control
    itself is in the component's shadow tree, where static/js/site.js finds it)."""
    return bool(re.search(rf'<gcds-[a-z-]+\b[^>]*\bdata-field-id="{re.escape(target)}"', page))


def assert_every_link_reaches_a_field(page: str, links: list[tuple[str, str]]) -> None:
    """Each link of the summary reaches the control of its field, the link moving focus there:
    with scripts, the native control or the component drawing the field; without, the native
    control (the plain field of the <noscript>)."""
    with_scripts, without = scripted(page), plain(page)
    for target, text in links:
        assert _control(with_scripts, target) or _component(with_scripts, target), (target, text)
        assert target in ids_in(without), (target, text)
        assert _control(without, target), (target, text)
    texts = [text for _target, text in links]
    assert len(texts) == len(set(texts)), "each problem once"


def error_at_field(page: str, target: str) -> str:
    """The error message said at the field of the control `target`, as a browser without scripts
    shows it (p.gc-error, id "<target>_error"); "" when there is none."""
    found = re.search(
        rf'<p class="gc-error" id="{re.escape(target)}_error">(.*?)</p>', plain(page), re.S
    )
    if not found:
        return ""
    # Spaces between the tags; a no-break space (French punctuation) stays as it is.
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", found.group(1)))).strip()


def assert_said_in_summary_and_at_its_field(page: str, target: str, message: str) -> None:
    """`message` is said twice to a browser running scripts, in the summary and at its field (the
    component's error-message, or a plain field's error), and at the field without scripts."""
    assert unescape(scripted(page)).count(message) == 2, message
    assert message in error_at_field(page, target), (target, message)
