"""Bounded cost per upload (issue 19): each PDF is read in a child process (bids/pdf_worker.py)
that is stopped at the time limit and held to the memory limit; a child that dies or answers
nonsense gets its file refused and can do nothing more; each person's files are counted and
checked one at a time. Whatever is refused, nothing is written (no attachment, no file, no audit
event), the page says what to do and when, and never with a 500.

The hostile files are built here with pikepdf."""

import json
import os
import pickle
import re
import signal
import socket
import threading
import time
import zlib
from functools import cache
from pathlib import Path

import pikepdf
import pytest
from django.core.cache import cache as django_cache
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import translation

from bids import pdf_worker, services
from bids.identity import IdentityToken
from bids.models import Attachment
from bids.pdf import PdfRefused, clean_pdf
from bids.pdf_worker import check_admitted, check_pdf
from lifecycle import closing
from marketplace.models import AuditEvent
from tests.builders import fill
from tests.factories import SupplierProfileFactory
from tests.support.attachments import upload
from tests.support.raw_http import blank_pages
from tests.support.upload_limits import MARGIN, pdf_of, proposal, slow_pdf

pytestmark = pytest.mark.django_db

TOO_SLOW = "This PDF took too long to check (more than 1 second)"
TOO_BIG = "This PDF needs too much memory to check, or it is damaged"
BUSY = "Another of your files is still being checked. Nothing was attached"
FLOOD = "You have sent many files in a few minutes. Nothing was attached"
ATTACHED = "The file was attached."


# --- Files ---------------------------------------------------------------------------------------


@cache
def page_bomb() -> bytes:
    return blank_pages(3000)


@cache
def object_bomb() -> bytes:
    """One page, and 25,000 objects hanging from it."""

    def objects(pdf):
        many = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(N=n)) for n in range(25_000)])
        pdf.pages[0].obj.Resources.Properties = pikepdf.Dictionary(Many=many)

    return pdf_of([b"BT /F1 14 Tf 72 700 Td (Many) Tj ET"], objects)


@cache
def decompression_bomb(megabytes: int = 100) -> bytes:
    """A few hundred kilobytes of file that expand to `megabytes` of zeros."""
    squeeze = zlib.compressobj(9)
    chunk = b"\x00" * (1024 * 1024)
    zeros = b"".join(squeeze.compress(chunk) for _ in range(megabytes)) + squeeze.flush()

    def bomb(pdf):
        stream = pikepdf.Stream(pdf, b"")
        stream.write(zeros, filter=pikepdf.Name.FlateDecode)
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(Zeros=stream)

    return pdf_of([b"BT /F1 14 Tf 72 700 Td (Zeros) Tj ET"], bomb)


def assert_nothing_written(settings, *, attachments: int = 0) -> None:
    assert Attachment.objects.count() == attachments
    assert AuditEvent.objects.filter(verb="bid.attachment_added").count() == attachments
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    files = [path for path in root.rglob("*") if path.is_file()] if root.exists() else []
    assert len(files) == attachments


def send(client, bid, data: bytes, name: str = "proposal.pdf"):
    return client.post(
        reverse("bids:attachment_add", args=[bid.pk]), {"file": upload(data, name)}, follow=True
    )


def checking_children() -> list[int]:
    """The processes the fork server has forked, from /proc (Linux)."""
    server = pdf_worker._server.process
    if server is None or not Path("/proc").is_dir():
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server.pid:
                found.append(int(entry))
    return found


# --- The runner ----------------------------------------------------------------------------------


def test_the_check_in_a_child_gives_what_the_check_in_process_gives():
    data = proposal()
    here, there = clean_pdf(data), check_pdf(data)
    assert (there.content, there.sha256, there.pages, there.text) == (
        here.content,
        here.sha256,
        here.pages,
        here.text,
    )


def test_the_web_process_settings_and_language_reach_the_child(settings):
    settings.BID_ATTACHMENT_MAX_PAGES = 2
    data = pdf_of([b"BT /F1 14 Tf 72 700 Td (Page) Tj ET"] * 3)
    with pytest.raises(PdfRefused, match="This PDF has 3 pages; attachments can have at most 2"):
        check_pdf(data)
    with translation.override("fr"), pytest.raises(PdfRefused, match="Ce PDF compte 3 pages"):
        check_pdf(data)
    settings.BID_ATTACHMENT_MAX_PAGES = 3
    assert check_pdf(data).pages == 3


def test_a_file_that_names_the_supplier_is_refused_with_the_words_found(supplier):
    data = proposal("Prepared by Maple Leaf Code Works for the department.")
    with pytest.raises(PdfRefused, match="This PDF names you") as refused:
        check_pdf(data, identity=services.supplier_identity(supplier))
    assert any("Maple Leaf" in word for word in refused.value.found)
    assert check_pdf(data).pages == 1  # without an identity to look for, the same file passes


# Each hostile file, and how it is refused: for the check itself and through the page.
HOSTILE_FILES = pytest.mark.parametrize(
    ("make", "message"),
    [
        (page_bomb, "This PDF has 3000 pages; attachments can have at most 40."),
        (object_bomb, "This PDF is too complex to check."),
        (decompression_bomb, "This PDF is too large once opened."),
        (slow_pdf, TOO_SLOW),
    ],
    ids=["pages", "objects", "decompression", "slow"],
)


@HOSTILE_FILES
def test_hostile_files_are_refused_within_the_time_limit(settings, caplog, make, message):
    settings.BID_ATTACHMENT_CHECK_SECONDS = 1
    data = make()
    started = time.monotonic()
    with pytest.raises(PdfRefused) as refused:
        check_pdf(data)
    assert time.monotonic() - started < 1 + MARGIN
    assert str(refused.value).startswith(message)
    assert "WCAG" not in caplog.text and "audit" not in caplog.text  # no file content in logs


def test_the_slow_file_is_accepted_given_the_time(settings):
    """The refusal above is the time limit's doing: the file itself is acceptable."""
    settings.BID_ATTACHMENT_CHECK_SECONDS = 60
    assert check_pdf(slow_pdf()).pages == 40


def test_a_file_that_needs_more_memory_than_allowed_is_refused(settings):
    bomb = decompression_bomb(512)
    with pytest.raises(PdfRefused, match="too large once opened"):
        check_pdf(bomb)  # the expanded-size budget refuses it first, as a rule
    settings.BID_ATTACHMENT_MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
    settings.BID_ATTACHMENT_CHECK_MEMORY_BYTES = 256 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(PdfRefused, match=TOO_BIG):
        check_pdf(bomb)
    assert time.monotonic() - started < settings.BID_ATTACHMENT_CHECK_SECONDS + MARGIN


def test_a_child_that_dies_gets_its_file_refused_and_logged_without_its_content(caplog):
    check_pdf(proposal())  # the fork server is running
    if not Path("/proc").is_dir():
        pytest.skip("finds the child through /proc")

    def crash_the_child():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = checking_children()
            if children:
                time.sleep(0.2)  # well into the file
                os.kill(children[0], signal.SIGSEGV)
                return
            time.sleep(0.005)

    killer = threading.Thread(target=crash_the_child)
    killer.start()
    with pytest.raises(PdfRefused, match=TOO_BIG):
        check_pdf(slow_pdf())
    killer.join()
    assert "exit code -11" in caplog.text
    assert "WCAG" not in caplog.text


def test_a_check_that_cannot_run_is_not_blamed_on_the_file(monkeypatch, caplog):
    token = IdentityToken(label="name", value="Sam", pattern=re.compile("sam"))
    # A request the child cannot read (a pattern that does not compile): the check is broken.
    broken = [{**pdf_worker._identity_json([token])[0], "pattern": "("}]
    monkeypatch.setattr(pdf_worker, "_identity_json", lambda identity: broken)
    with pytest.raises(pdf_worker.PdfCheckFailed, match="We could not check this file just now"):
        check_pdf(proposal(), identity=[token])
    assert "the checking process failed before reading the file" in caplog.text


def test_a_stopped_fork_server_is_started_again(caplog):
    check_pdf(proposal())
    server = pdf_worker._server.process
    server.kill()
    server.wait()
    assert check_pdf(proposal("Again.")).pages == 1
    assert pdf_worker._server.process.pid != server.pid
    assert "the fork server had stopped" in caplog.text


# What a child sends is read as JSON and raw bytes of bounded, declared lengths; nothing in it
# is unpickled, and an answer that does not hold together is refused as a whole.


class _Trap:
    """Unpickled, it would create a file: proof that the parent unpickled what it was sent."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _answer_of(settings, *parts: bytes, deadline: float = 2.0):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"".join(parts))
        theirs.shutdown(socket.SHUT_WR)
        limits = {
            "BID_ATTACHMENT_MAX_EXPANDED_BYTES": settings.BID_ATTACHMENT_MAX_EXPANDED_BYTES,
            "BID_ATTACHMENT_MAX_TEXT": settings.BID_ATTACHMENT_MAX_TEXT,
        }
        return pdf_worker._answer(ours, time.monotonic() + deadline, 1000, limits)


def _message(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big", signed=True) + payload


def _header(**fields) -> bytes:
    return _message(json.dumps(fields).encode())


def test_a_child_answer_is_never_unpickled(settings, tmp_path):
    trap = tmp_path / "unpickled"
    with pytest.raises(pdf_worker._Broken):
        _answer_of(settings, _message(pickle.dumps(_Trap(trap))))
    assert not trap.exists()


@pytest.mark.parametrize(
    "parts",
    [
        [_message(b"[1, 2]")],  # not a header
        [(2**40).to_bytes(8, "big", signed=True)],  # a header beyond its bound, never read
        [_header(refused="", found=[])],  # no message
        [_header(refused="No.", found="words")],
        [_header(pages=1, content=2**40, text=0)],  # a copy beyond its bound, never read
        [_header(pages=1, content=8, text=0), b"MZ\x90\x00\x03\x00\x00\x00"],  # not a PDF
        [_header(pages=0, content=8, text=0), b"%PDF-1.7"],
        [_header(pages=1, content=8, text=2), b"%PDF-1.7", b"\xff\xfe"],  # not UTF-8
        [_header(pages=1, content=8, text=1), b"%PDF-1.7", b"\x00"],
    ],
    ids=[
        "not-a-header",
        "huge-header",
        "empty-refusal",
        "bad-words",
        "huge-copy",
        "not-a-pdf",
        "no-pages",
        "bad-text",
        "nul-in-text",
    ],
)
def test_a_child_answer_that_does_not_hold_together_is_refused(settings, parts):
    with pytest.raises(pdf_worker._Broken):
        _answer_of(settings, *parts)


def test_a_child_that_stops_in_the_middle_of_its_answer_is_given_up_at_the_deadline(settings):
    with pytest.raises(EOFError):  # it ended
        _answer_of(settings, _header(pages=1, content=100, text=0), b"%PDF-1.7")
    ours, theirs = socket.socketpair()
    with ours, theirs:  # it stays, silent
        theirs.sendall(_header(pages=1, content=100, text=0) + b"%PDF-1.7")
        started = time.monotonic()
        with pytest.raises(pdf_worker._TimedOut):
            pdf_worker._answer(ours, started + 0.5, 1000, {
                "BID_ATTACHMENT_MAX_EXPANDED_BYTES": 10**6, "BID_ATTACHMENT_MAX_TEXT": 10**6
            })  # fmt: skip
        assert time.monotonic() - started < 0.5 + MARGIN


def test_a_sound_answer_is_taken(settings):
    text = "Café".encode()
    answer = _answer_of(settings, _header(pages=1, content=8, text=len(text)), b"%PDF-1.7", text)
    assert answer == {"content": b"%PDF-1.7", "pages": 1, "text": "Café"}


# --- Through the pages ---------------------------------------------------------------------------


@HOSTILE_FILES
def test_hostile_files_sent_through_the_page_are_refused_quickly_and_nothing_is_written(
    client, draft_bid, supplier, settings, make, message
):
    settings.BID_ATTACHMENT_CHECK_SECONDS = 1
    answers = list(draft_bid.answers.values_list("text", flat=True))
    client.force_login(supplier)
    started = time.monotonic()
    page = send(client, draft_bid, make())
    assert time.monotonic() - started < 1 + MARGIN
    assert page.status_code == 400  # the form shown again, the refusal at the file box
    assert message in page.content.decode()
    assert_nothing_written(settings)
    assert list(draft_bid.answers.values_list("text", flat=True)) == answers


def test_a_check_that_cannot_run_asks_to_try_again_without_an_error_page(
    client, draft_bid, supplier, settings, monkeypatch
):
    monkeypatch.setattr(pdf_worker, "_identity_json", lambda identity: [{"pattern": "("}])
    client.force_login(supplier)
    page = send(client, draft_bid, proposal())
    assert page.status_code == 400  # the form shown again, the refusal at the file box
    assert "We could not check this file just now. Nothing was attached" in page.content.decode()
    assert_nothing_written(settings)


def test_uploads_beyond_the_limit_are_refused_until_the_window_passes(
    client, draft_bid, supplier, opportunity, settings, clock
):
    settings.BID_ATTACHMENT_RATE_LIMIT = (2, 600)
    client.force_login(supplier)
    assert "This file is not a PDF" in send(client, draft_bid, b"MZ\x90\x00").content.decode()
    assert ATTACHED in send(client, draft_bid, proposal("First.")).content.decode()
    started = time.monotonic()
    refused = send(client, draft_bid, proposal("Second."))
    assert time.monotonic() - started < 1  # refused before the file is read
    assert refused.status_code == 400
    assert f"{FLOOD}: try again in 10 minutes." in refused.content.decode()
    assert_nothing_written(settings, attachments=1)
    # Another person is not held back.
    other = SupplierProfileFactory().user
    theirs = fill(services.bid_start(supplier=other, opportunity=opportunity), other)
    client.force_login(other)
    assert ATTACHED in send(client, theirs, proposal("Theirs.")).content.decode()
    # Later in the window, the wait is shorter; then the window passes.
    client.force_login(supplier)
    clock["t"] += 590
    assert (
        f"{FLOOD}: try again in 1 minute."
        in send(client, draft_bid, proposal("Second.")).content.decode()
    )
    clock["t"] += 10
    assert ATTACHED in send(client, draft_bid, proposal("Second.")).content.decode()
    assert draft_bid.attachments.count() == 2


def test_an_upload_while_another_of_the_same_person_is_checked_is_refused(
    client, draft_bid, supplier, settings
):
    client.force_login(supplier)
    with check_admitted(who=supplier.pk):  # their other file, being checked
        refused = send(client, draft_bid, proposal())
    assert refused.status_code == 400
    assert f"{BUSY}: wait a few seconds, then send this one again." in refused.content.decode()
    assert_nothing_written(settings)
    # The slot is free again once a check ends, refused or not.
    assert "This file is not a PDF" in send(client, draft_bid, b"%!PS-Adobe").content.decode()
    assert ATTACHED in send(client, draft_bid, proposal()).content.decode()


def test_a_slot_left_behind_frees_itself_after_the_longest_check(settings, clock):
    """A worker killed in the middle of a check never releases the person's slot: it expires."""
    if not settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        pytest.skip("moves the clock of the in-process cache")
    settings.BID_ATTACHMENT_CHECK_SECONDS = 7
    held = check_admitted(who="someone")
    held.__enter__()  # and never left
    clock["t"] += 7
    with pytest.raises(ValidationError, match=BUSY), check_admitted(who="someone"):
        pass
    clock["t"] += pdf_worker.GRACE_SECONDS + 1
    with check_admitted(who="someone"):
        pass


@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_by_one_person_the_second_is_refused_and_others_go_on(
    opportunity, supplier, settings
):
    """Real requests on threads, as a threaded server runs them: the first holds the person's
    one check for a slow file; their second is refused at once; another supplier's goes in."""
    settings.BID_ATTACHMENT_CHECK_SECONDS = 2
    mine = fill(services.bid_start(supplier=supplier, opportunity=opportunity), supplier)
    other = SupplierProfileFactory().user
    theirs = fill(services.bid_start(supplier=other, opportunity=opportunity), other)
    first: dict = {}

    def send_slow_file():
        browser = Client()
        browser.force_login(supplier)
        try:
            first["page"] = send(browser, mine, slow_pdf())
        finally:
            connections.close_all()

    slow = threading.Thread(target=send_slow_file)
    slow.start()
    deadline = time.monotonic() + 10
    while django_cache.get(f"pdf-check:running:{supplier.pk}") is None:
        assert slow.is_alive() and time.monotonic() < deadline, "the first upload never started"
        time.sleep(0.01)
    second = Client()
    second.force_login(supplier)
    started = time.monotonic()
    refused = send(second, mine, proposal("Mine, again."))
    assert time.monotonic() - started < 1
    assert BUSY in refused.content.decode()
    someone_else = Client()
    someone_else.force_login(other)
    assert ATTACHED in send(someone_else, theirs, proposal("Theirs.")).content.decode()
    slow.join(timeout=30)
    assert "This PDF took too long to check (more than 2 seconds)" in first["page"].content.decode()
    assert list(Attachment.objects.values_list("bid_id", flat=True)) == [theirs.pk]


@pytest.mark.django_db(transaction=True)
def test_files_are_checked_under_the_threaded_live_server(
    live_server, opportunity, supplier, settings
):
    """The server of the browser tests, a thread per request (DESIGN.md §9), over real HTTP: a
    sound file goes in, a slow one is stopped in time."""
    import requests

    bid = fill(services.bid_start(supplier=supplier, opportunity=opportunity), supplier)
    signed_in = Client()
    signed_in.force_login(supplier)
    browser = requests.Session()
    cookie = settings.SESSION_COOKIE_NAME
    browser.cookies.set(cookie, signed_in.cookies[cookie].value)
    form = browser.get(live_server.url + reverse("bids:edit", args=[bid.pk]), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)

    def post(data: bytes):
        return browser.post(
            live_server.url + reverse("bids:attachment_add", args=[bid.pk]),
            data={"csrfmiddlewaretoken": token},
            files={"file": ("proposal.pdf", data, "application/pdf")},
            timeout=30,
        )

    assert ATTACHED in post(proposal()).text
    settings.BID_ATTACHMENT_CHECK_SECONDS = 1
    started = time.monotonic()
    refused = post(slow_pdf())
    assert time.monotonic() - started < 1 + MARGIN
    assert refused.status_code == 400 and TOO_SLOW in refused.text
    assert Attachment.objects.filter(bid=bid).count() == 1


# --- At the close: the evaluators' copies --------------------------------------------------------


def _submit_and_close(opportunity, supplier, django_capture_on_commit_callbacks, change=None):
    """A bid with one attachment, submitted; `change()` runs before the close builds packets."""
    import datetime as dt

    bid = fill(services.bid_start(supplier=supplier, opportunity=opportunity), supplier)
    services.attachment_add(supplier=supplier, bid=bid, upload=upload(proposal("Our plan.")))
    services.bid_submit(supplier=supplier, bid=bid)
    if change is not None:
        change()
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    opportunity.refresh_from_db()
    [attachment] = opportunity.evaluation.packets.get().attachments.all()
    return attachment


def test_a_stored_file_that_cannot_be_checked_in_time_at_the_close_is_withheld(
    opportunity, supplier, settings, django_capture_on_commit_callbacks
):
    def stricter():
        settings.BID_ATTACHMENT_CHECK_SECONDS = 0.001  # no answer comes that fast

    attachment = _submit_and_close(
        opportunity, supplier, django_capture_on_commit_callbacks, stricter
    )
    assert attachment.withheld and not attachment.file


def test_when_the_checking_process_cannot_run_at_the_close_the_copy_is_checked_as_before(
    opportunity, supplier, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broken():
        monkeypatch.setattr(pdf_worker, "_identity_json", lambda identity: [{"pattern": "("}])

    attachment = _submit_and_close(
        opportunity, supplier, django_capture_on_commit_callbacks, broken
    )
    assert not attachment.withheld and attachment.file
    assert "the checking process failed before reading the file" in caplog.text


def test_a_file_sent_before_the_deadline_is_attached_however_long_its_check_took(
    draft_bid, supplier
):
    """The deadline is judged by when the request arrived (issue 19), not when the check ended."""
    import datetime as dt

    from django.utils import timezone

    from opportunities.models import Opportunity

    arrived = timezone.now()
    Opportunity.objects.filter(pk=draft_bid.opportunity_id).update(
        closes_at=arrived + dt.timedelta(milliseconds=50),
        question_deadline=arrived - dt.timedelta(days=1),
    )
    draft_bid.refresh_from_db()
    time.sleep(0.1)  # the check ends after the deadline
    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(proposal()), arrived_at=arrived
    )
    assert attachment.bid_id == draft_bid.pk
    with pytest.raises(ValidationError, match="closed"):  # one arriving now is late
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(proposal("Late")))
