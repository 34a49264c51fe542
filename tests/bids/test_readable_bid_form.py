"""The bid form's script writes words from the catalogue, in the page's language."""

from __future__ import annotations

import html
import re

from django.urls import reverse
from django.utils import translation


def _data(page: str) -> dict[str, str]:
    form = re.search(r'<form[^>]*id="bid-form"[^>]*>', page).group(0)
    return {
        name: html.unescape(value) for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', form)
    }


def test_the_word_count_and_draft_status_come_from_the_catalogue(client, draft_bid, supplier):
    client.force_login(supplier)
    english = _data(client.get(reverse("bids:edit", args=[draft_bid.pk])).content.decode())
    assert english["words-one"] == "%(count)s word of %(limit)s"
    assert english["words-other"] == "%(count)s words of %(limit)s"
    assert english["saving"] == "Saving…" and english["over"] == "over the limit"
    assert english["failed"] == "Could not save the draft. Use “Save draft”."
    with translation.override("fr"):
        url = reverse("bids:edit", args=[draft_bid.pk])
    french = _data(client.get(url).content.decode())
    assert french["words-one"] == "%(count)s mot sur %(limit)s"
    assert french["words-other"] == "%(count)s mots sur %(limit)s"
    assert french["saving"] == "Enregistrement…" and french["over"] == "au-delà de la limite"
    assert french["failed"] == (
        "L\u2019ébauche n\u2019a pas pu être enregistrée. "
        "Utilisez «\u00a0Enregistrer l\u2019ébauche\u00a0»."
    )


def test_the_script_holds_no_words_of_its_own():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static" / "js" / "bid-form.js").read_text()
    for words in ("words of", "mots sur", "Saving", "Enregistrement", "ébauche"):
        assert words not in script
