"""Take the README's screenshots of the main pages, from a demo of their own.

    make screenshots            (or: .venv/bin/python scripts/screenshots.py)

A throw-away demo — a SQLite file in a temporary folder, migrated and seeded with
`seed_demo` exactly as `make demo` does — is served by `runserver` on a free port and
photographed with Playwright in Debian's Chromium (DESIGN.md §9). The pictures are written to
docs/screenshots/, the ones the README shows: run it again after changing a page.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM_ARGS, chromium_executable  # noqa: E402
from tests.support.browser import sign_in, tick  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "demo-pass-2026!"  # the demo's published password  # noqa: S105


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 (our interpreter, our manage.py)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("The demo server did not start within 60 s.")


def _ids() -> dict[str, int]:
    """The demo objects the pictures show (their numbers differ from one seeding to another)."""
    import django

    django.setup()
    from bids.models import Bid
    from demo.bids import CLOSED_TITLE
    from demo.evaluation import DELIVERED_TITLE, PAID_TITLE
    from opportunities.models import Opportunity
    from payments.models import Contract, Payment

    soonest = (
        Opportunity.objects.filter(status=Opportunity.Status.PUBLISHED)
        .order_by("closes_at")
        .first()
    )
    return {
        "open": soonest.pk,
        "closed": Opportunity.objects.get(title_en=CLOSED_TITLE).pk,
        "paid": Opportunity.objects.get(title_en=PAID_TITLE).pk,
        "draft_bid": Bid.objects.get(
            supplier__email="supplier1@demo.example", status=Bid.Status.DRAFT
        ).pk,
        "delivered_contract": Contract.objects.get(opportunity__title_en=DELIVERED_TITLE).pk,
        "paid_payment": Payment.objects.get(contract__opportunity__title_en=PAID_TITLE).pk,
    }


def _shots(base: str, ids: dict[str, int]) -> list[str]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)

        def person(email: str | None, language: str = "en"):
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            if email:
                sign_in(page, base, email, PASSWORD, language=language)
            return page

        def shoot(page, path: str, name: str, *, full_page: bool = False) -> None:
            page.goto(base + path)
            page.screenshot(path=OUT / name, full_page=full_page)
            written.append(name)

        visitor = person(None)
        shoot(visitor, "/en/", "home.png")
        shoot(visitor, "/fr/opportunities/", "opportunities-fr.png")
        shoot(visitor, f"/en/opportunities/{ids['open']}/", "opportunity.png", full_page=True)
        shoot(visitor, f"/en/evaluation/{ids['paid']}/draw/", "draw.png", full_page=True)
        shoot(visitor, "/en/help/", "help.png")

        supplier = person("supplier1@demo.example")
        shoot(supplier, "/en/dashboard/", "supplier-dashboard.png", full_page=True)
        shoot(supplier, f"/en/bids/{ids['draft_bid']}/edit/", "bid-form.png", full_page=True)
        shoot(supplier, "/fr/profile/", "supplier-profile-fr.png", full_page=True)

        # The chair declares (in the throw-away demo) to open the anonymized packets.
        chair = person("evaluator2@demo.gc.ca", "fr")
        chair.goto(f"{base}/fr/evaluation/{ids['closed']}/declare/")
        tick(
            chair.get_by_label(
                "Je n\u2019ai aucun conflit d\u2019intérêts avec cette occasion ni avec ses "
                "soumissionnaires."
            )
        )
        chair.locator("main form [type=submit]").first.click()
        chair.wait_for_load_state()
        first_packet = chair.locator("main a[href*='/packets/']").first.get_attribute("href")
        shoot(chair, first_packet, "evaluation-packet-fr.png", full_page=True)

        buyer = person("buyer@demo.gc.ca")
        shoot(buyer, f"/en/payments/contracts/{ids['delivered_contract']}/", "certify.png")
        holder = person("cardholder@demo.gc.ca")
        shoot(holder, f"/en/payments/{ids['paid_payment']}/", "payment.png", full_page=True)
        admin = person("admin@demo.gc.ca")
        shoot(admin, "/en/reports/metrics/", "metrics.png")
        browser.close()
    return written


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="marketplace-screenshots-") as folder:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite3",
            "PRIVATE_MEDIA_ROOT": f"{folder}/private-media",
            "EMAIL_URL": "locmem://",
            "DJANGO_DEBUG": "true",
        }
        env.pop("REDIS_URL", None)  # the embedded default: tasks in-process
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        os.environ.clear()
        os.environ.update(env)
        ids = _ids()
        port = _free_port()
        server = _serve(env, port)
        try:
            written = _shots(f"http://127.0.0.1:{port}", ids)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{len(written)} screenshots written to {OUT}: {', '.join(written)}")


if __name__ == "__main__":
    main()
