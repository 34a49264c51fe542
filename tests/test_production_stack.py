"""The fair deadline through the production stack: nginx (deploy/nginx/default.conf.template, as
docker-compose runs it) in front of gunicorn's sync workers, on PostgreSQL (DESIGN.md §3).

Slow or stalled senders hold connections at the proxy, never the web workers, so they cannot
make anyone's on-time submission late; a request counts as arrived once the whole of it has (a
bid's words sent after the deadline are late, however early its first bytes came); and nobody
can set their own arrival time.
"""

import datetime as dt
import os
import re
import shutil
import socket
import subprocess  # nosec B404: nginx and gunicorn, fixed arguments
import sys
import threading
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from bids import services
from bids.models import Bid, Receipt
from opportunities.models import Opportunity
from tests.builders import fill
from tests.factories import SupplierProfileFactory
from tests.support.raw_http import free_port, signed_in

TEMPLATE = Path(settings.BASE_DIR) / "deploy" / "nginx" / "default.conf.template"
WORKERS = 2
pytestmark = [pytest.mark.django_db(transaction=True)]


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310  # nosec B310: local http
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def stack(tmp_path):
    """gunicorn (sync workers, as the Dockerfile runs it) on the test database, nginx in front
    with the deployment's configuration; yields (proxy port, gunicorn port)."""
    if connection.vendor != "postgresql":
        pytest.skip("the production stack runs on PostgreSQL (`make test` sets DATABASE_URL)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: scripts/system-deps.sh installs it")
    db = connection.settings_dict
    app_port, proxy_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "DJANGO_DEBUG": "true",
        "REQUEST_ARRIVAL_HEADER": "HTTP_X_REQUEST_START",
    }
    app_log = tmp_path / "gunicorn.log"
    with app_log.open("w") as out:
        app = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "marketplace.wsgi:application",
                "--bind",
                f"127.0.0.1:{app_port}",
                "--workers",
                str(WORKERS),
                "--timeout",
                "30",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = (
        TEMPLATE.read_text()
        .replace("${NGINX_PORT}", f"127.0.0.1:{proxy_port}")
        .replace("${UPSTREAM}", f"127.0.0.1:{app_port}")
    )
    (tmp_path / "server.conf").write_text(server)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs")}
    for folder in temp.values():
        folder.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
pid {tmp_path}/nginx.pid;
error_log {temp["logs"]}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {tmp_path}/server.conf;
}}
"""
    )
    proxy_log = tmp_path / "nginx.out"
    with proxy_log.open("w") as out:
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(f"http://127.0.0.1:{app_port}/healthz", app, app_log)
        _wait_for(f"http://127.0.0.1:{proxy_port}/healthz", proxy, proxy_log)
        time.sleep(1)  # every worker booted
        yield proxy_port, app_port
    finally:
        for process in (proxy, app):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


class Sender:
    """One supplier's raw HTTP requests: signed in, a CSRF secret sent as cookie and field."""

    def __init__(self, user) -> None:
        self.cookie, self.csrf = signed_in(user)

    def request(self, path: str, fields: dict[str, str], extra: str = "") -> tuple[bytes, bytes]:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf, **fields}).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {self.cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
        ).encode()
        return head, body


def _answer(sock: socket.socket) -> tuple[int, str]:
    sock.settimeout(60)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    lines = data.decode("latin-1").split("\r\n")
    location = next(
        (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("location:")),
        "",
    )
    return int(lines[0].split()[1]), location


def _sleep_until(moment: dt.datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))


def _closing_in(opportunity, seconds: float) -> dt.datetime:
    closes_at = timezone.now() + dt.timedelta(seconds=seconds)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=closes_at, question_deadline=closes_at - dt.timedelta(seconds=seconds - 1)
    )
    return closes_at


def _bid(opportunity):
    supplier = SupplierProfileFactory().user
    return fill(services.bid_start(supplier=supplier, opportunity=opportunity), supplier)


def _submit_path(bid: Bid) -> str:
    with translation.override("en"):
        return reverse("bids:submit", args=[bid.pk])


def _edit_fields(bid: Bid, text: str) -> dict[str, str]:
    fields = {
        "proposed_start_date": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
        "attest_can_work_in_canada": "on",
        "attest_can_be_paid_by_card": "on",
        "attest_no_conflict": "on",
        "accept_terms": "on",
        "action_submit": "Submit",
    }
    for criterion in bid.opportunity.criteria.all():
        fields[f"answer_{criterion.pk}"] = text
    return fields


def test_stalled_senders_cannot_make_an_on_time_submission_late(opportunity, stack):
    """More stalled connections than gunicorn has workers — half-sent headers, anonymous, and
    a signed-in supplier's half-sent bid — while another supplier submits 2 s before the
    deadline: they get their receipt, dated by arrival."""
    proxy_port, _app_port = stack
    victim, stalling = _bid(opportunity), _bid(opportunity)
    closes_at = _closing_in(opportunity, 5)
    _sleep_until(closes_at - dt.timedelta(seconds=3))
    hogs = []
    for _ in range(WORKERS * 2):
        sock = socket.create_connection(("127.0.0.1", proxy_port))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # never finished
        hogs.append(sock)
    head, body = Sender(stalling.supplier).request(_submit_path(stalling), {})
    for _ in range(WORKERS):
        sock = socket.create_connection(("127.0.0.1", proxy_port))
        sock.sendall(head + body[:5])  # the body held back
        hogs.append(sock)
    _sleep_until(closes_at - dt.timedelta(seconds=2))
    head, body = Sender(victim.supplier).request(_submit_path(victim), {})
    sock = socket.create_connection(("127.0.0.1", proxy_port))
    sent_at = timezone.now()
    sock.sendall(head + body)
    release = threading.Timer(
        (closes_at - timezone.now()).total_seconds() + 1, lambda: [h.close() for h in hogs]
    )
    release.start()
    status, location = _answer(sock)
    answered_at = timezone.now()
    release.join()
    assert (status, location) == (302, f"/en/bids/{victim.pk}/receipts/1/")
    receipt = Receipt.objects.get(bid=victim)
    assert sent_at - dt.timedelta(milliseconds=1) <= receipt.received_at < closes_at  # nginx: ms
    assert answered_at < closes_at  # not even held up: the workers were free
    assert not Receipt.objects.filter(bid=stalling).exists()


@pytest.mark.parametrize("through", ["proxy", "gunicorn"])
def test_a_bid_whose_words_arrive_after_the_deadline_is_late(opportunity, stack, through):
    """The request's first bytes before the deadline, its body (what the bid says) after: late,
    through the proxy (which stamps a request once it has all of it) and straight to gunicorn
    (the body is read before the arrival time is taken)."""
    port = dict(zip(("proxy", "gunicorn"), stack, strict=True))[through]
    bid = _bid(opportunity)
    closes_at = _closing_in(opportunity, 3)
    with translation.override("en"):
        path = reverse("bids:edit", args=[bid.pk])
    head, body = Sender(bid.supplier).request(path, _edit_fields(bid, "Decided after the close."))
    _sleep_until(closes_at - dt.timedelta(seconds=1))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head + body[:10])
    _sleep_until(closes_at + dt.timedelta(seconds=1))
    sock.sendall(body[10:])
    status, _location = _answer(sock)
    assert status in (302, 400)
    assert not Receipt.objects.filter(bid=bid).exists()
    assert not bid.answers.filter(text="Decided after the close.").exists()
    assert Bid.objects.get(pk=bid.pk).status == Bid.Status.DRAFT


def test_a_sender_cannot_set_their_own_arrival_time(opportunity, stack):
    proxy_port, _app_port = stack
    bid = _bid(opportunity)
    closes_at = _closing_in(opportunity, 1)
    _sleep_until(closes_at + dt.timedelta(milliseconds=200))
    forged = f"X-Request-Start: t={(closes_at - dt.timedelta(seconds=10)).timestamp():.3f}\r\n"
    head, body = Sender(bid.supplier).request(_submit_path(bid), {}, extra=forged)
    sock = socket.create_connection(("127.0.0.1", proxy_port))
    sock.sendall(head + body)
    status, location = _answer(sock)
    assert (status, location) == (302, f"/en/bids/{bid.pk}/")
    assert not Receipt.objects.filter(bid=bid).exists()


def test_the_image_installs_every_package_the_project_lists():
    """The Dockerfile copies each package of pyproject's include list before `pip install .`
    (one missing there is missing from the installed project), and every top-level package of
    the repository with an AppConfig is in that list."""
    root = Path(settings.BASE_DIR)
    listed = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [pattern.rstrip("*") for pattern in listed["packages"]["find"]["include"]]
    copied = re.findall(r"^COPY (\w+) \./\1$", (root / "Dockerfile").read_text(), re.MULTILINE)
    assert copied == packages
    apps = {path.parent.name for path in root.glob("*/apps.py")}
    assert apps <= set(packages), sorted(apps - set(packages))
