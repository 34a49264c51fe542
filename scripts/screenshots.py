"""Take the README's screenshots from a running demo (`make demo` in another terminal).

.venv/bin/python scripts/screenshots.py [http://127.0.0.1:8000]
"""

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{BASE}/en/")
        page.screenshot(path=OUT / "home.png")
        page.goto(f"{BASE}/en/accounts/login/")
        page.fill("#id_login", "supplier1@demo.example")
        page.fill("#id_password", "demo-pass-2026!")
        page.click("form.allauth-form button[type=submit]")
        page.wait_for_url("**/dashboard/")
        page.goto(f"{BASE}/fr/profile/")
        page.screenshot(path=OUT / "supplier-profile-fr.png", full_page=True)
        browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
