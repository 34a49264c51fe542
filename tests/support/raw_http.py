"""What tests that talk to a real server over sockets need: a free port, a signed-in
session as a browser would hold it, and a file that is cheap to send and costly to read."""

from __future__ import annotations

import io
import secrets
import socket

import pikepdf
from django.test import Client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_in(user) -> tuple[str, str]:
    """A `Cookie` header value for `user`'s new session, and the CSRF secret it carries (a
    32-character secret is accepted as both the cookie and the form's field)."""
    client = Client()
    client.force_login(user)
    csrf = secrets.token_hex(16)
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", csrf


def blank_pages(count: int) -> bytes:
    """A PDF of `count` empty pages in object streams: a few bytes a page to send, and every
    page an object to read (the page bomb of issue 19)."""
    with pikepdf.new() as pdf:
        for _ in range(count):
            pdf.add_blank_page()
        output = io.BytesIO()
        pdf.save(output, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()
