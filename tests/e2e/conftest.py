import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def chromium_executable() -> str:
    """Playwright cannot download browsers here: drive Debian's Chromium (DESIGN.md §9)."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_executable(),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def axe_violations():
    """Run axe-core (from npm) on the page; return its violations at WCAG 2.1 A/AA."""

    def run(page):
        # Once per loaded page: the crawl runs it again on the same page at another width.
        if not page.evaluate("() => typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            """async () => await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                resultTypes: ['violations']
            })"""
        )
        return [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]
        ]

    return run


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The site's CSP forbids inline scripts; axe-core is injected by the test, not the site.
    return {**browser_context_args, "bypass_csp": True, "locale": "en-CA"}


@pytest.fixture(autouse=True)
def _site_url_is_the_live_server(request, settings):
    """Emails link to the site's address (SITE_URL), never to the request's host: in a browser
    test, the site is the live server."""
    if "live_server" in request.fixturenames:
        settings.SITE_URL = request.getfixturevalue("live_server").url
