"""Reading the error summary (templates/includes/error_summary.html) out of a page."""

import re
from html import unescape

SUMMARY = re.compile(r'<div class="gc-error-summary"[^>]*>(.*?)</div>', re.S)
LINK = re.compile(r'<a href="#([^"]+)" data-error-target="\1">(.*?)</a>', re.S)


def summary_links(page: str) -> list[tuple[str, str]]:
    found = SUMMARY.findall(page)
    assert len(found) == 1, "one error summary"
    return [(target, unescape(text).strip()) for target, text in LINK.findall(found[0])]


def ids_in(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def assert_every_link_reaches_a_field(page: str, links: list[tuple[str, str]]) -> None:
    ids = ids_in(page)
    for target, text in links:
        assert target in ids, (target, text)
        # the control itself (not a label or a wrapper): the link moves focus there
        assert re.search(rf'<(input|textarea|select)[^>]*\bid="{re.escape(target)}"', page)
    texts = [text for _target, text in links]
    assert len(texts) == len(set(texts)), "each problem once"
