"""Reading a confirmation page ("Check before you …", issue 23) in a test."""

import re
from html import unescape

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
