"""The crawl's checks of a loaded page besides axe-core (tests/e2e/test_crawl.py): visible
buttons and links have text that contrasts with their own background, and nothing makes the page
scroll sideways on a phone. The checks are one JavaScript function, page_checks.js, run with
page.evaluate (the site serves no script of the tests); this module turns what it finds into
one line per problem, the same for every role that sees it.

axe-core does not replace the contrast check: it skipped a `btn btn-primary btn-outline-primary`
button whose text colour was its background colour (issue 23); this check reads each piece of
text's colour against the first opaque background from the text up, the control's own included.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHECKS_JS = (Path(__file__).with_name("page_checks.js")).read_text(encoding="utf-8")
WIDE = {"width": 1280, "height": 720}  # Playwright's default window, the crawl's first look
NARROW = {"width": 390, "height": 844}  # a phone
SETTLED_TIMEOUT_MS = 5_000
TEXTS_SHOWN = 3  # examples of a problem's texts, per line


def settle(page) -> str | None:
    """Wait for the page's custom elements (GC Design System components) to be defined and
    hydrated: until then they are hidden and have no shadow content. A problem when they never
    are."""
    try:
        page.wait_for_function(
            f"() => ({CHECKS_JS})('settled')", polling="raf", timeout=SETTLED_TIMEOUT_MS
        )
    except PlaywrightTimeoutError:
        return f"custom elements still undefined or not hydrated after {SETTLED_TIMEOUT_MS} ms"
    return None


def next_frame(page) -> None:
    """Let the page lay itself out and run its resize handlers after set_viewport_size."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => setTimeout(done)))")


def control_findings(page) -> list[dict]:
    """What the JavaScript check finds: one dict per control and piece of text."""
    return page.evaluate(CHECKS_JS, "controls")


def control_problems(page) -> list[str]:
    """Visible buttons and links without accessible text, or whose text does not contrast with
    its background: one line per kind of control and colours, with some of their texts."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for found in control_findings(page):
        if found["kind"] == "no text":
            key = f"a visible button or link without accessible text: {found['selector']}"
        else:
            key = (
                f"text contrast {found['ratio']:.2f}:1 (needs {found['needed']:g}:1), "
                f"{found['colour']} on {found['background']}: {found['selector']}"
            )
        texts = grouped[key]
        if found["text"] and found["text"] not in texts:
            texts.append(found["text"])
    problems = []
    for key, texts in grouped.items():
        shown = ", ".join(f"“{text}”" for text in texts[:TEXTS_SHOWN])
        more = f" and {len(texts) - TEXTS_SHOWN} more" if len(texts) > TEXTS_SHOWN else ""
        problems.append(f"{key} {shown}{more}".rstrip())
    return problems


def overflow_finding(page) -> dict | None:
    return page.evaluate(CHECKS_JS, "overflow")


def overflow_problem(page) -> str | None:
    """None when the page does not scroll sideways; else how wide it is and what sticks out."""
    found = overflow_finding(page)
    if found is None:
        return None
    where = (
        f"widest: {found['widest']} (ends at {found['right']} px), "
        f"sticking out from: {found['outermost']}"
        if found["widest"]
        else "no element found past the edge"
    )
    return (
        f"scrolls sideways: {found['pageWidth']} px wide in a {found['width']} px window; {where}"
    )
