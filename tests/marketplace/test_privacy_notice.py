"""Issue 23, point 6: the privacy notice at sign-up (before the button) and on the supplier
profile (by the name fields), in both languages: what an award publishes, to whom, for how
long, and what evaluators see. A French form sent back with an error keeps what was typed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import SupplierProfileFactory

pytestmark = pytest.mark.django_db

NOTICE = {
    "en": (
        "What we publish about you",
        "your legal name",
        "everyone, without signing in",
        "with no end date",
        "nothing is deleted automatically",
        "under a random label",
    ),
    "fr": (
        "Ce que nous publions à votre sujet",
        "votre dénomination sociale",
        "à tout le monde, sans ouverture de session",
        "sans date de fin",
        "rien n\u2019est supprimé automatiquement",
        "sous une étiquette aléatoire",
    ),
}


def _url(name: str, language: str) -> str:
    with translation.override(language):
        return reverse(name)


def _notice(page: str, language: str) -> str:
    start = page.index('id="privacy-notice-heading"')
    section = page[start : page.index("</section>", start)]
    for text in NOTICE[language]:
        assert text in section, text
    with translation.override(language):
        assert f'href="{reverse("marketplace:privacy")}"' in section
    return section


@pytest.mark.parametrize("language", ["en", "fr"])
def test_sign_up_shows_the_notice_before_its_button(client, language):
    page = client.get(_url("account_signup", language)).content.decode()
    _notice(page, language)
    assert page.index('id="privacy-notice-heading"') < page.index(
        'type="submit"', page.index('id="privacy-notice-heading"')
    )
    form = page[page.index('class="allauth-form') :]
    assert form.index("privacy-notice-heading") < form.index("</form>")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_refused_sign_up_keeps_the_notice_and_what_was_typed(client, language):
    typed = {"full_name": "Léa Tremblay-Côté", "email": "lea@example.com", "password1": "x"}
    page = client.post(_url("account_signup", language), typed).content.decode()
    _notice(page, language)
    assert "Léa Tremblay-Côté" in page and "lea@example.com" in page


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_profile_shows_the_notice_by_the_name_fields(client, language):
    profile = SupplierProfileFactory(trading_name="Atelier Côté")
    client.force_login(profile.user)
    page = client.get(_url("marketplace:supplier_profile", language)).content.decode()
    _notice(page, language)
    notice_at = page.index('id="privacy-notice-heading"')
    assert page.index('name="trading_name"') < notice_at < page.index('name="size"')


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_refused_profile_keeps_the_notice_and_every_value(client, language):
    profile = SupplierProfileFactory()
    client.force_login(profile.user)
    sent = {
        "kind": profile.kind,
        "legal_name": "Société « Côté » inc.",
        "trading_name": "Atelier Côté",
        "contact_name": "Léa Côté",
        "email": "not an email",
        "phone": profile.phone,
        "province": profile.province,
        "postal_code": profile.postal_code,
    }
    answer = client.post(_url("marketplace:supplier_profile", language), sent)
    assert answer.status_code in (200, 400)
    page = answer.content.decode()
    _notice(page, language)
    assert "Société « Côté » inc." in page or "Société &laquo; Côté &raquo; inc." in page
    assert "Atelier Côté" in page and "Léa Côté" in page and "not an email" in page
