"""Markdown written by buyers, rendered to HTML that cannot carry scripts or styles."""

from __future__ import annotations

import functools

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "a",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


@functools.lru_cache(maxsize=1024)
def render_markdown(text: str) -> str:
    """The same text always gives the same HTML, so each process keeps the latest renderings:
    the feed and the detail pages would otherwise parse every description on every request."""
    html = markdown_lib.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    # Headings start at h2: the page's own title is the only h1.
    for level in (3, 2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
