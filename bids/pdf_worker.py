"""Run the PDF check (bids/pdf.py) in a child process with a time limit and a memory limit, so
that a hostile file costs a bounded time and memory, never a web worker (DESIGN.md §5).

Why a module of its own, not a function in bids/pdf.py: bids/pdf.py reads a file and knows
nothing of processes; this module knows processes and nothing of PDF. It also runs as a program
(`python -m bids.pdf_worker`, the fork server below), which must start before Django is set up.

How. Each process that checks files (a gunicorn worker, a Celery worker process, runserver, a
test) starts, the first time, a *fork server* of its own: `python -m bids.pdf_worker` with a
fixed argument list, which sets Django up, loads the PDF libraries and the messages of every
language, and checks a small file once. For each file it then forks a child that is ready at
once. Measured on the development machine, per file: a fresh `python` with Django set up costs
about 0.65 s (0.19 s without Django, which the check needs for its limits and its messages in
the reader's language); a child of the fork server about 10 ms (multiprocessing's "forkserver"
with the same modules preloaded: 15 ms). Starting the server costs the 0.65 s once.

Why not multiprocessing. Its fork server refuses to start children from a Celery worker
process (billiard marks them daemonic in multiprocessing's books, then refuses to pickle their
authentication key), it imports the parent's main script again, and whatever a child returns
would be unpickled. Why not a plain `fork` of the web process: that process may
have threads (the threaded live server, Celery), and a fork copies its open database
connections and any lock another thread holds. The server is started with `subprocess` (fork
and exec, no descriptor inherited but its own), is single-threaded, never opens a database
connection, and neither do its children. It stops when the process that started it exits (its
end of the control socket closes); a process forked from that one starts its own
(`os.register_at_fork`). `sys.executable` must be the Python interpreter (it is under gunicorn,
Celery and manage.py; an embedding server such as uWSGI would need its path configured).

The child lowers its own limits first (`resource.setrlimit`): CPU seconds and address space
from `BID_ATTACHMENT_CHECK_SECONDS` and `BID_ATTACHMENT_CHECK_MEMORY_BYTES`, no core file. The
parent waits at most `BID_ATTACHMENT_CHECK_SECONDS` for the answer, then kills the child. Every
numeric `BID_ATTACHMENT_*` setting travels with the request, read from the parent's settings at
that moment (tests override them): the child never re-reads them.

Nothing is pickled either way. The request is JSON (the limits, the language, the identity's
patterns) and the file's bytes; the answer is a JSON header (the refusal's message and the
words found, or the number of pages and the lengths of what follows), then the rebuilt copy and
its text as raw bytes. The child parsed hostile data and is not trusted: every length is
bounded before it is read and must agree with the header, and the parent computes the copy's
SHA-256 itself. A child that dies (killed by a limit, crashed) has its file refused; the log
says how it ended, never what the file held.

At most one check per person runs at a time and each person's files are counted
(`check_admitted`, used by the upload views): one person cannot hold every web worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import resource
import select
import selectors
import signal
import socket
import subprocess  # the fork server: this interpreter, fixed arguments  # nosec B404
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeGuard

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from marketplace.ratelimit import rate_limit_allows

if TYPE_CHECKING:
    from .identity import IdentityToken
    from .pdf import CleanPdf

logger = logging.getLogger(__name__)

# Every setting whose name starts so goes to the child as the parent reads it.
LIMIT_SETTINGS_PREFIX = "BID_ATTACHMENT_"
# The answer's header: a message and the words found, or three numbers.
HEADER_MAX_BYTES = 1024 * 1024
# The copy's text holds the drawn text twice, the page text and the names: a few times
# BID_ATTACHMENT_MAX_TEXT characters, each at most four bytes in UTF-8.
TEXT_MAX_BYTES_PER_CHARACTER = 16
# How long the fork server may take to answer a request with a child's id (its first request
# waits for it to get ready: about 0.65 s here), and a child to be reaped once killed. Also the
# margin of the per-person slot over the check's own limit.
START_SECONDS = 30
GRACE_SECONDS = 5
# The child's exit codes besides 0 (answered) and signals: failing before the file was read
# means the check is broken, not the file.
EXIT_NOT_READY = 70
EXIT_FAILED = 71
LENGTH = 8  # bytes of each length and number on the wire, big-endian, signed


def _message_too_slow(seconds: float) -> str:
    seconds = math.ceil(seconds)
    return ngettext(
        "This PDF took too long to check (more than %(seconds)s second). Attach a simpler copy "
        "(fewer pages, smaller images), or print it to a new PDF.",
        "This PDF took too long to check (more than %(seconds)s seconds). Attach a simpler copy "
        "(fewer pages, smaller images), or print it to a new PDF.",
        seconds,
    ) % {"seconds": seconds}


def _message_too_big() -> str:
    return _(
        "This PDF needs too much memory to check, or it is damaged. Attach a simpler copy "
        "(fewer pages, smaller images), or print it to a new PDF."
    )


def _message_unavailable() -> str:
    return _("We could not check this file just now. Nothing was attached: try again in a minute.")


class PdfCheckFailed(Exception):
    """The check itself could not run: nothing is known of the file. The message, for the
    person who sent it, says to try again; a background task lets it fail."""


class _TimedOut(Exception):
    pass


class _Broken(Exception):
    """The child's answer is not one we accept: it is ignored as a whole."""


def _number(value: int) -> bytes:
    return value.to_bytes(LENGTH, "big", signed=True)


def _receive(sock: socket.socket, size: int, deadline: float | None = None) -> bytes:
    """Exactly `size` bytes, by the deadline (TimedOut), or EOFError when the other end closed."""
    chunks, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TimedOut
            sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(left, 1024 * 1024))
        except TimeoutError as error:
            raise _TimedOut from error
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive_message(sock: socket.socket, limit: int, deadline: float | None = None) -> bytes:
    """One length-prefixed message; _Broken when its length is beyond `limit`, before reading."""
    length = int.from_bytes(_receive(sock, LENGTH, deadline), "big", signed=True)
    if not 0 <= length <= limit:
        raise _Broken
    return _receive(sock, length, deadline)


def _send_message(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_number(len(payload)) + payload)


# --- In the parent -------------------------------------------------------------------------------


class _ForkServer:
    """This process's fork server, started on first use and again if it stopped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None

    def request_child(self, channel: socket.socket, status: int) -> None:
        """Ask for a child that talks on `channel` and whose id, then exit code, the server
        writes to the pipe `status`. One new server is tried when the running one is gone."""
        with self.lock:
            for attempt in (1, 2):
                control = self._running()
                try:
                    socket.send_fds(control, [b"c"], [channel.fileno(), status])
                    return
                except OSError:
                    self._stop()
                    if attempt == 2:
                        raise

    def _running(self) -> socket.socket:
        if self.process is not None and self.process.poll() is None and self.control is not None:
            return self.control
        if self.process is not None:
            logger.warning(
                "PDF check: the fork server had stopped (exit code %s); starting another",
                self.process.returncode,
            )
            self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Found where this process finds them, however it was started (gunicorn --chdir, pytest).
        path = os.pathsep.join(entry or os.getcwd() for entry in sys.path)
        try:
            # This interpreter with fixed arguments, no shell.
            self.process = subprocess.Popen(  # noqa: S603  # nosec B603
                [sys.executable, "-m", "bids.pdf_worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
        finally:
            theirs.close()
        self.control = ours
        return ours

    def _stop(self) -> None:
        if self.control is not None:
            self.control.close()  # the server sees the end of its control socket and stops
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = self.control = None

    def discard(self) -> None:
        """Stop a server that does not answer: the next check starts another."""
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
            self._stop()

    def forget(self) -> None:
        """In a child of this process (os.fork): the server and its lock are the parent's."""
        if self.control is not None:
            self.control.close()
        self.lock = threading.Lock()
        self.process = self.control = None


_server = _ForkServer()
os.register_at_fork(after_in_child=_server.forget)


def _identity_json(identity: list[IdentityToken] | None) -> list[dict[str, Any]]:
    return [
        {
            "label": str(token.label),
            "value": token.value,
            "pattern": token.pattern.pattern,
            "flags": token.pattern.flags,
            "capitals_only": token.capitals_only,
            "strong": token.strong,
        }
        for token in identity or []
    ]


def check_pdf(data: bytes, *, identity: list[IdentityToken] | None = None) -> CleanPdf:
    """`clean_pdf(data, identity=identity)` (bids/pdf.py), run in a child process within the
    time and memory limits of the settings. Raises PdfRefused, with a message for the supplier,
    for everything clean_pdf refuses and for a file too slow or too big to check;
    PdfCheckFailed when the check itself could not run."""
    from .pdf import CleanPdf, PdfRefused

    limits = {
        name: getattr(settings, name)
        for name in dir(settings)
        if name.startswith(LIMIT_SETTINGS_PREFIX)
        and isinstance(getattr(settings, name), (int, float))
    }
    seconds = limits["BID_ATTACHMENT_CHECK_SECONDS"]
    request = json.dumps(
        {
            "limits": limits,
            "language": translation.get_language() or settings.LANGUAGE_CODE,
            "identity": _identity_json(identity),
            "size": len(data),
        }
    ).encode()
    channel, theirs = socket.socketpair()
    status_read, status_write = os.pipe()
    try:
        try:
            _server.request_child(theirs, status_write)
        finally:
            theirs.close()
            os.close(status_write)
        pid = _read_number(status_read, START_SECONDS)
        if pid is None or pid <= 0:
            raise OSError("the fork server gave no child")
    except Exception as error:
        channel.close()
        os.close(status_read)
        logger.exception("PDF check: the checking process could not start")
        if isinstance(error, TimeoutError):
            _server.discard()
        raise PdfCheckFailed(_message_unavailable()) from error
    started = time.monotonic()
    deadline = started + seconds
    answer: dict[str, Any] | None = None
    failure = ""
    try:
        channel.settimeout(seconds)
        _send_message(channel, request)
        channel.sendall(data)
        answer = _answer(channel, deadline, len(data), limits)
    except (_TimedOut, TimeoutError):
        failure = "timeout"
    except (EOFError, OSError, _Broken) as error:
        failure = type(error).__name__
    finally:
        channel.close()
        # Ended or answered: it exits by itself in a moment. Past the deadline: killed now.
        exitcode = _end(pid, status_read, wait=0 if failure == "timeout" else 1.0)
        os.close(status_read)
    elapsed = time.monotonic() - started
    if answer is not None:
        if "refused" in answer:
            raise PdfRefused(answer["refused"], found=answer["found"])
        return CleanPdf(
            content=answer["content"],
            sha256=hashlib.sha256(answer["content"]).hexdigest(),
            pages=answer["pages"],
            text=answer["text"],
        )
    logger.warning(
        "PDF check stopped: %s, exit code %s, after %.1f s, %s bytes",
        failure or "no answer",
        exitcode,
        elapsed,
        len(data),
    )
    # Past the deadline (killed then) or past its CPU time (SIGXCPU): too slow.
    if failure == "timeout" or elapsed >= seconds or exitcode == -signal.SIGXCPU:
        raise PdfRefused(_message_too_slow(seconds))
    if exitcode == EXIT_NOT_READY:
        logger.error("PDF check: the checking process failed before reading the file")
        raise PdfCheckFailed(_message_unavailable())
    raise PdfRefused(_message_too_big())


def _readable(fd: int, timeout: float) -> bool:
    poller = select.poll()  # not select.select: any descriptor number
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def _read_number(fd: int, timeout: float) -> int | None:
    """A number from the fork server's status pipe, or None when it has closed it."""
    if not _readable(fd, timeout):
        raise TimeoutError("the fork server did not answer")
    raw = os.read(fd, LENGTH)
    return int.from_bytes(raw, "big", signed=True) if len(raw) == LENGTH else None


def _end(pid: int, status: int, *, wait: float) -> int | None:
    """The child's exit code (negative: the signal that ended it), killed first if it still
    runs after `wait` seconds."""
    if not _readable(status, wait):
        with suppress(ProcessLookupError):  # it has just ended
            os.kill(pid, signal.SIGKILL)
    try:
        return _read_number(status, GRACE_SECONDS)
    except TimeoutError:
        logger.error("PDF check: the fork server did not report child %s", pid)
        return None


def _count(value: object) -> TypeGuard[int]:
    """A number of pages or bytes as the child must send it: an int (not a bool), never < 0."""
    return type(value) is int and value >= 0


def _answer(sock: socket.socket, deadline: float, size: int, limits: dict) -> dict[str, Any]:
    """The child's answer, checked: a refusal (`refused`, `found`) or a copy (`content`,
    `pages`, `text`). Raises _TimedOut, EOFError, OSError or _Broken."""
    try:
        header = json.loads(_receive_message(sock, HEADER_MAX_BYTES, deadline))
    except (ValueError, RecursionError) as error:
        raise _Broken from error
    if not isinstance(header, dict):
        raise _Broken
    if "refused" in header:
        message, found = header["refused"], header.get("found")
        if not isinstance(message, str) or not message or not isinstance(found, list):
            raise _Broken
        if not all(isinstance(word, str) for word in found):
            raise _Broken
        return {"refused": message, "found": found}
    pages, length, text_length = header.get("pages"), header.get("content"), header.get("text")
    if not (_count(pages) and _count(length) and _count(text_length)):
        raise _Broken
    if not pages:
        raise _Broken
    # The copy holds the pages' streams, expanded at most this far, and the images as they were.
    if length > size + limits["BID_ATTACHMENT_MAX_EXPANDED_BYTES"]:
        raise _Broken
    if text_length > TEXT_MAX_BYTES_PER_CHARACTER * limits["BID_ATTACHMENT_MAX_TEXT"] + size:
        raise _Broken
    content = _receive(sock, length, deadline)
    raw_text = _receive(sock, text_length, deadline)
    if not content.startswith(b"%PDF-"):
        raise _Broken
    try:
        text = raw_text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Broken from error
    if "\x00" in text:  # clean_pdf never returns one; PostgreSQL refuses to store it
        raise _Broken
    return {"content": content, "pages": pages, "text": text}


# --- In the child --------------------------------------------------------------------------------


def _lower_limit(kind: int, soft: int, hard: int) -> None:
    """Lower a resource limit of this process; never above what it already is."""
    _soft, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    resource.setrlimit(kind, (min(soft, hard), hard))


def _confine(limits: dict[str, Any]) -> None:
    cpu = math.ceil(limits["BID_ATTACHMENT_CHECK_SECONDS"])
    memory = int(limits["BID_ATTACHMENT_CHECK_MEMORY_BYTES"])
    _lower_limit(resource.RLIMIT_CORE, 0, 0)  # a crash leaves no copy of the file on disk
    _lower_limit(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU, then SIGKILL a second later
    _lower_limit(resource.RLIMIT_AS, memory, memory)


def _check_one(sock: socket.socket) -> int:
    """In a child of the fork server: read one request, check the file, answer. Returns the
    exit code."""
    from .identity import IdentityToken
    from .pdf import PdfRefused, clean_pdf

    try:
        request = json.loads(_receive_message(sock, HEADER_MAX_BYTES))
        limits = request["limits"]
        _confine(limits)
        data = _receive(sock, request["size"])
        for name, value in limits.items():
            setattr(settings, name, value)
        translation.activate(request["language"])
        identity = [
            IdentityToken(
                label=token["label"],
                value=token["value"],
                pattern=re.compile(token["pattern"], token["flags"]),
                capitals_only=token["capitals_only"],
                strong=token["strong"],
            )
            for token in request["identity"]
        ]
    except Exception:
        logger.exception("PDF check: the request could not be read")
        return EXIT_NOT_READY
    try:
        try:
            pdf = clean_pdf(data, identity=identity)
        except PdfRefused as refused:
            too_big = isinstance(refused.__cause__, MemoryError)
            message = _message_too_big() if too_big else str(refused)
            _send_message(sock, json.dumps({"refused": message, "found": refused.found}).encode())
            return 0
        text = pdf.text.encode()
        header = {"pages": pdf.pages, "content": len(pdf.content), "text": len(text)}
        _send_message(sock, json.dumps(header).encode())
        sock.sendall(pdf.content)
        sock.sendall(text)
    except Exception as error:  # MemoryError, or the file broke the check: refused as too big
        logger.warning("PDF check failed in the checking process: %s", type(error).__name__)
        try:
            refusal = {"refused": _message_too_big(), "found": []}
            _send_message(sock, json.dumps(refusal).encode())
        except Exception:
            return EXIT_FAILED
    return 0


# --- The fork server -----------------------------------------------------------------------------


# The smallest PDF with text: checked once by the server, so that what the check imports or
# loads on first use is ready in every child.
_WARM_UP_CONTENT = b"BT /F1 12 Tf 72 720 Td (Ready) Tj ET"


def _warm_up_pdf() -> bytes:
    import io

    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 612, 792],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=pdf.make_stream(_WARM_UP_CONTENT),
    )
    pdf.pages.append(pikepdf.Page(page))
    output = io.BytesIO()
    pdf.save(output)
    return output.getvalue()


def _prepare() -> None:
    """Django set up, the check run once on a small file, the messages of every language
    loaded: what each child would otherwise do again."""
    import django

    django.setup()
    from .pdf import clean_pdf

    try:
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                clean_pdf(_warm_up_pdf())
                _message_too_big()
    except Exception:  # each child then loads what it needs itself
        logger.exception("PDF check: the fork server could not warm up")


def serve(control_fd: int) -> None:
    """The fork server: for each request on the control socket (a channel to the parent and a
    pipe for the child's id and exit code), fork a child that checks one file. Stops when the
    parent closes the control socket. Single-threaded: children are reaped on SIGCHLD."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is for the parent, which closes the socket
    control = socket.socket(fileno=control_fd)
    _prepare()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_args: None)
    children: dict[int, int] = {}  # child id: the status pipe to write its exit code to
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    while True:
        for key, _events in selector.select():
            if key.fileobj is control:
                try:
                    message, fds, _flags, _address = socket.recv_fds(control, 1, 2)
                except OSError:
                    message, fds = b"", []
                if not message:
                    return  # the parent is gone: its children are killed by their limits
                if len(fds) != 2:
                    for fd in fds:
                        os.close(fd)
                    continue
                channel, status = fds
                pid = os.fork()
                if pid == 0:
                    code = EXIT_FAILED
                    try:
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        selector.close()
                        control.close()
                        for fd in (wake_read, wake_write, status, *children.values()):
                            os.close(fd)
                        code = _check_one(socket.socket(fileno=channel))
                    finally:
                        os._exit(code)
                os.close(channel)
                _write_status(status, pid, close=False)
                children[pid] = status
            else:
                while True:
                    try:
                        if not os.read(wake_read, 512):
                            break
                    except BlockingIOError:
                        break
                _reap(children)


def _reap(children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = children.pop(pid, None)
        if fd is not None:
            _write_status(fd, os.waitstatus_to_exitcode(status), close=True)


def _write_status(fd: int, value: int, *, close: bool) -> None:
    with suppress(OSError):  # the parent stopped waiting
        os.write(fd, _number(value))
    if close:
        os.close(fd)


# --- Per person ----------------------------------------------------------------------------------


@contextmanager
def check_admitted(*, who: int | str, field: str | None = None) -> Iterator[None]:
    """Count one upload of `who` (refused ones too) and hold their one check slot while the
    block runs. Raises ValidationError (on `field` if given) with what to do and when, beyond
    `BID_ATTACHMENT_RATE_LIMIT` or while another of their files is being checked. While the
    cache is unreachable nothing is counted or held (marketplace/cache_backends.py)."""
    limit, seconds = settings.BID_ATTACHMENT_RATE_LIMIT
    if not rate_limit_allows(scope="pdf-check", who=str(who), limit=limit, seconds=seconds):
        # The count's window is fixed (marketplace/ratelimit.py): the next one starts then.
        minutes = max(1, math.ceil((seconds - time.time() % seconds) / 60))
        raise _refusal(
            ngettext(
                "You have sent many files in a few minutes. Nothing was attached: try again "
                "in %(minutes)s minute.",
                "You have sent many files in a few minutes. Nothing was attached: try again "
                "in %(minutes)s minutes.",
                minutes,
            )
            % {"minutes": minutes},
            field,
        )
    key = f"pdf-check:running:{who}"
    if not cache.add(key, 1, timeout=settings.BID_ATTACHMENT_CHECK_SECONDS + GRACE_SECONDS):
        raise _refusal(
            _(
                "Another of your files is still being checked. Nothing was attached: wait a "
                "few seconds, then send this one again."
            ),
            field,
        )
    try:
        yield
    finally:
        cache.delete(key)


def _refusal(message: str, field: str | None) -> ValidationError:
    return ValidationError({field: [message]} if field else message, code="upload_limited")


if __name__ == "__main__":
    # `python -m bids.pdf_worker FD`: run the server from the module as the parent imports it.
    from bids.pdf_worker import serve as _serve

    _serve(int(sys.argv[1]))
