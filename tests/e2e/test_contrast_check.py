"""The crawl's own checks can fail (tests/support/page_checks.js): a page with an invisible
button (its text the colour of its background, the issue 23 bug axe-core missed), a faint link,
a link without text and an element too wide for a phone is flagged for exactly those; the fine
controls around them, hidden ones and disabled ones are not."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.support.page_checks import (
    NARROW,
    WIDE,
    control_findings,
    control_problems,
    overflow_finding,
    overflow_problem,
    settle,
)

STYLE = """
body { margin: 0; font: 16px sans-serif; color: #212529; background: #fff; }
.btn { padding: .5rem 1rem; border: 1px solid #0d6efd; }
.btn-primary { color: #fff; background-color: #0d6efd; }
/* The bug: the outline variant's text colour over the primary variant's background. */
.btn-primary.btn-outline-primary { color: #0d6efd; }
.faint { color: #aaa; }
.band { background: #26374a; padding: 1rem; }
.band a { color: #fff; }
.veil { background: rgba(0, 0, 0, 0.5); }
.veil a { color: #fff; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
                   clip: rect(0, 0, 0, 0); white-space: nowrap; }
.wide { width: 600px; height: 2rem; }
.scroller { overflow-x: auto; }
.scroller div { width: 900px; }
.big { font-size: 24px; color: #888; }
"""

PAGE = f"""<!doctype html><html lang="en"><head><title>Checks</title>
<style>{STYLE}</style></head><body>
<main>
  <h1>Checks</h1>
  <p><button type="submit" class="btn btn-primary btn-outline-primary" id="invisible">
       Save draft</button></p>
  <p><button type="submit" class="btn btn-primary" id="fine">Submit bid</button></p>
  <p><a href="/faint" class="faint" id="faint">Read the terms</a></p>
  <p><a href="/fine">Back to the opportunity</a></p>
  <p><a href="/empty" id="empty"><span aria-hidden="true">→</span></a></p>
  <p><a href="/icon" aria-label="Notifications"><span aria-hidden="true">🔔</span></a></p>
  <p><a href="/hidden-text">Edit<span class="visually-hidden"> the bid for Kiosk</span></a></p>
  <div class="band"><a href="/on-navy">Dashboard</a></div>
  <div class="band"><div class="veil"><a href="/on-veil">Sign out</a></div></div>
  <p><input type="submit" value="Upload" class="btn btn-primary btn-outline-primary"
            id="invisible-input"></p>
  <p><span role="button" tabindex="0" class="faint" id="faint-role">Dismiss</span></p>
  <p><button class="faint" disabled>Not yet</button></p>
  <p><a href="/big" class="big">Large grey text passes at 3:1</a></p>
  <p hidden><a href="/not-shown" class="faint">Not shown</a></p>
  <p class="visually-hidden"><a href="/skip" class="faint">Skip to main content</a></p>
  <div class="scroller"><div>A table that scrolls inside its own box</div></div>
  <p><custom-button id="shadowed">Upload</custom-button></p>
  <div class="wide" id="wide"></div>
</main></body></html>"""

# A custom element with an open shadow root, as the GC Design System's buttons are: its text is
# slotted from the page, its colours are the shadow's.
SHADOW = """() => {
  customElements.define('custom-button', class extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({mode: 'open'}).innerHTML =
        '<style>button { color: #0d6efd; background: #0d6efd; }</style>' +
        '<button class="inner"><slot></slot></button>';
    }
  });
}"""


def _open(page: Page) -> None:
    page.set_viewport_size(WIDE)
    page.set_content(PAGE)
    page.evaluate(SHADOW)
    assert settle(page) is None


def test_the_contrast_check_flags_exactly_the_unreadable_controls(page: Page):
    _open(page)
    found = control_findings(page)
    flagged = {(item["kind"], item["selector"], item["text"]) for item in found}
    assert flagged == {
        ("contrast", "button#invisible.btn.btn-primary.btn-outline-primary", "Save draft"),
        ("contrast", "a#faint.faint", "Read the terms"),
        ("no text", "a#empty", ""),
        ("contrast", "input#invisible-input.btn.btn-primary.btn-outline-primary", "Upload"),
        ("contrast", "span#faint-role.faint", "Dismiss"),
        ("contrast", "custom-button#shadowed >>> button.inner", "Upload"),
    }, found
    invisible = next(item for item in found if item["text"] == "Save draft")
    assert invisible["ratio"] == 1
    assert invisible["colour"] == invisible["background"] == "#0d6efd"
    faint = next(item for item in found if item["text"] == "Read the terms")
    assert (faint["colour"], faint["background"], faint["needed"]) == ("#aaaaaa", "#ffffff", 4.5)

    problems = control_problems(page)
    assert (
        "text contrast 1.00:1 (needs 4.5:1), #0d6efd on #0d6efd: "
        "button#invisible.btn.btn-primary.btn-outline-primary “Save draft”"
    ) in problems
    assert "a visible button or link without accessible text: a#empty" in problems
    assert len(problems) == 6, problems


def test_the_same_checks_pass_a_page_without_those_controls(page: Page):
    _open(page)
    page.evaluate(
        """() => {
        for (const id of ['invisible', 'faint', 'empty', 'invisible-input', 'faint-role',
                          'shadowed', 'wide']) document.getElementById(id).remove();
    }"""
    )
    assert control_problems(page) == []
    page.set_viewport_size(NARROW)
    assert overflow_problem(page) is None


def test_the_overflow_check_names_what_sticks_out_at_390_px(page: Page):
    _open(page)
    assert overflow_problem(page) is None  # 600 px fits in 1280
    page.set_viewport_size(NARROW)
    found = overflow_finding(page)
    assert found is not None
    assert (found["width"], found["pageWidth"], found["right"]) == (390, 600, 600)
    assert found["widest"] == "div#wide.wide"
    assert found["outermost"] == "div#wide.wide"  # main and body fit: the div sticks out
    assert overflow_problem(page) == (
        "scrolls sideways: 600 px wide in a 390 px window; widest: div#wide.wide "
        "(ends at 600 px), sticking out from: div#wide.wide"
    )


def test_the_overflow_check_names_an_unbroken_word(page: Page):
    """A long word overflows its paragraph's box without making the box wider: the text is
    named, with the paragraph holding it."""
    page.set_viewport_size(NARROW)
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Word</title></head><body><main>'
        '<h1>Question</h1><div class="card"><p id="question">' + "x" * 300 + "</p></div>"
        "</main></body></html>"
    )
    found = overflow_finding(page)
    assert found is not None and found["pageWidth"] > 1000
    assert found["widest"].startswith("p#question (text “xxxx")
    assert found["outermost"] == "p#question"


def test_the_overflow_check_finds_what_escapes_a_scrolling_table(page: Page):
    """A table scrolls in its own box, but a visually hidden span in its last column is
    positioned against the page, not the box: the page scrolls, and the span is named."""
    page.set_viewport_size(NARROW)
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Table</title><style>'
        ".scroller { overflow-x: auto; } td { white-space: nowrap; padding: 0 2rem; }"
        ".visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;"
        " clip: rect(0, 0, 0, 0); white-space: nowrap; }"
        "</style></head><body><main><h1>Purchases</h1><div class=scroller><table><tr>"
        + "<td>Some cell text here</td>"
        * 6
        + '<td><a href="/work">Delivered work<span class="visually-hidden" id="escapee">'
        ": the kiosk</span></a></td></tr></table></div></main></body></html>"
    )
    found = overflow_finding(page)
    assert found is not None
    assert found["widest"] == "span#escapee.visually-hidden (text “: the kiosk”)"
    # Positioned against the scrolling box, it is clipped with the rest: the page fits.
    page.add_style_tag(content=".scroller { position: relative; }")
    assert overflow_finding(page) is None
