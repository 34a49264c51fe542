"""Reading a confirmation page ("Check before you …", issue 23) in a test."""

import re
import threading
from html import unescape

from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import translation


def url(name: str, pk: int, language: str = "en") -> str:
    """The address of `name` for object `pk`, in `language`."""
    with translation.override(language):
        return reverse(name, args=[pk])


def text(response) -> str:
    """The page's text, tags and spaces folded (no-break spaces included)."""
    html = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", unescape(html)).strip()


def twice_at_once(first: Client, address: str, data: dict) -> list:
    """`data` posted to `address` at the same moment by `first` (signed in, the client that read
    the page) and a second client on the same session: a double click, or two tabs."""
    second = Client(raise_request_exception=False)
    second.cookies[settings.SESSION_COOKIE_NAME] = first.cookies[settings.SESSION_COOKIE_NAME].value
    first.raise_request_exception = False
    start = threading.Barrier(2)
    results: list = [None, None]

    def run(index: int, client: Client) -> None:
        try:
            start.wait(timeout=30)
            results[index] = client.post(address, data)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
