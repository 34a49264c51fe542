"""The draw page's worked example shows its placeholders as text: a reader sees
`<seed>:Bid K7Q` (in French `<graine>:Bid K7Q`), and no browser takes `<seed>` for a tag."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation

from tests.builders import locked_evaluation

pytestmark = pytest.mark.django_db


class _Reader(HTMLParser):
    """What a browser shows (the text) and which elements it builds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)


def _read(client, pk: int, language: str) -> _Reader:
    with translation.override(language):
        url = reverse("evaluation:draw", args=[pk])
    response = client.get(url)
    assert response.status_code == 200
    reader = _Reader()
    reader.feed(response.content.decode())
    return reader


@pytest.mark.parametrize(
    ("language", "placeholders"),
    [
        ("en", ["<seed>:Bid K7Q", "<seed>:<label>"]),
        ("fr", ["<graine>:Bid K7Q", "<graine>:<étiquette>"]),
    ],
)
def test_the_worked_example_keeps_its_placeholders_as_text(client, language, placeholders):
    evaluation, _panel = locked_evaluation()
    reader = _read(client, evaluation.opportunity_id, language)
    text = "".join(reader.text)
    for placeholder in placeholders:
        assert placeholder in text, placeholder
    assert not reader.tags & {"seed", "label", "graine", "étiquette"}
