"""Every page's frame (issue 23): the GC Design System header and footer, with a plain copy of
their links for when the components do not run; the privacy, terms and contact pages the footer
links to; the favicon; and button classes that never paint a label in its own background."""

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import translation

from tests.factories import SupplierFactory
from tests.support.french_typography import _typography_faults

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["marketplace:privacy", "marketplace:terms", "marketplace:contact"]
TITLES = {
    "en": {"privacy": "Privacy notice", "terms": "Terms of use", "contact": "Contact us"},
    "fr": {
        "privacy": "Avis de confidentialité",
        "terms": "Conditions d\u2019utilisation",
        "contact": "Nous joindre",
    },
}


def _url(name: str, language: str) -> str:
    with translation.override(language):
        return reverse(name)


def _attribute(page: str, element: str, name: str) -> str:
    match = re.search(rf"<{element}\b[^>]*\s{name}=\"([^\"]*)\"", page)
    assert match, f"<{element} {name}=…> not found"
    return unescape(match.group(1))


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", PAGES)
def test_each_page_about_the_service_answers_in_both_languages(client, name, language):
    response = client.get(_url(name, language))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    title = TITLES[language][name.split(":")[1]]
    assert re.search(rf"<title>{re.escape(title)} — ", page)
    assert page.count("<h1>") == 1
    assert settings.SUPPORT_EMAIL in page
    assert "Employment and Social Development Canada" in page or (
        "Emploi et Développement social Canada" in page
    )


@pytest.mark.django_db
def test_the_privacy_notice_says_a_winner_s_name_is_published(client):
    english = client.get(_url("marketplace:privacy", "en")).content.decode()
    assert "your name is published" in english
    french = client.get(_url("marketplace:privacy", "fr")).content.decode()
    assert "votre nom est publié" in french


@pytest.mark.parametrize("name", ["privacy", "terms", "contact"])
def test_the_french_pages_follow_the_translation_bureau_typography(name):
    text = (ROOT / "templates" / "marketplace" / "pages" / f"{name}.fr.html").read_text()
    assert _typography_faults(text) == []


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_footer_links_to_the_pages_and_reports_the_page_it_is_on(client, language):
    path = _url("opportunities:list", language)
    page = client.get(path).content.decode()
    site_links = json.loads(_attribute(page, "gcds-footer", "sub-links"))
    contextual = json.loads(_attribute(page, "gcds-footer", "contextual-links"))
    report = f"{_url('marketplace:contact', language)}?page={path.replace('/', '%2F')}"
    assert sorted(site_links.values()) == sorted(
        [
            _url("marketplace:privacy", language),
            _url("marketplace:terms", language),
            _url("marketplace:contact", language),
            report,
        ]
    )
    assert _url("reports:open_data", language) in contextual.values()
    # The same links, as plain HTML, for a browser that does not run the components.
    for url in [*site_links.values(), *contextual.values()]:
        assert f'href="{url.replace("&", "&amp;")}"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "other"), [("en", "fr"), ("fr", "en")])
def test_the_language_toggle_leads_to_the_same_page_in_the_other_language(client, language, other):
    page = client.get(_url("marketplace:terms", language) + "?x=1").content.decode()
    expected = _url("marketplace:terms", other) + "?x=1"
    assert _attribute(page, "gcds-header", "lang-href") == expected
    toggle = re.search(r'class="gc-lang-toggle" href="([^"]+)"', page)
    assert unescape(toggle.group(1)) == expected
    assert _attribute(page, "gcds-header", "skip-to-href") == "#main-content"
    assert 'href="#main-content"' in page and 'id="main-content"' in page


@pytest.mark.django_db
def test_a_signed_in_person_gets_the_navigation_and_a_sign_out_form(client):
    client.force_login(SupplierFactory())
    page = client.get(_url("marketplace:privacy", "en")).content.decode()
    for name in ["opportunities:list", "marketplace:dashboard", "marketplace:inbox", "bids:list"]:
        url = _url(name, "en")
        assert f'<gcds-nav-link href="{url}">' in page  # the components
        assert f'<li><a href="{url}">' in page  # the plain copy
    assert re.search(
        rf'<form novalidate method="post" action="{_url("account_logout", "en")}">'
        r".*?Sign out</button>",
        page,
        re.S,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("/en/opportunities/?q=a%20b", "/en/opportunities/?q=a%20b"),
        ("https://evil.example/", ""),
        ("//evil.example/", ""),
        ("/\\evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("/en/\r\nBcc: x@evil.example", ""),
        ("/" + "a" * 600, ""),
        ("", ""),
    ],
)
def test_the_contact_page_repeats_only_an_address_of_this_site(client, given, shown):
    response = client.get(_url("marketplace:contact", "en"), {"page": given})
    assert response.status_code == 200
    assert response.context["reported_page"] == shown
    mailto = response.context["mailto"]
    assert mailto.startswith(f"mailto:{settings.SUPPORT_EMAIL}")
    assert "evil" not in mailto and "\n" not in mailto
    if shown:
        assert "Report a problem on a page" in response.content.decode()
        assert "%0A" not in mailto.split("body=")[0]


@pytest.mark.django_db
def test_the_contact_page_uses_the_support_email_setting(client, settings):
    settings.SUPPORT_EMAIL = "help@pilot.example"
    page = client.get(_url("marketplace:contact", "fr"), {"page": "/fr/"}).content.decode()
    assert 'href="mailto:help@pilot.example"' in page
    assert "Signaler un problème sur une page" in page


@pytest.mark.django_db
def test_the_page_links_a_favicon_and_the_design_system_files_that_exist(client):
    page = client.get(_url("marketplace:home", "en")).content.decode()
    for path in [
        "img/favicon.ico",
        "img/favicon.svg",
        "vendor/gcds/components/gcds.css",
        "vendor/gcds/components/gcds.esm.js",
        "vendor/gcds/signature/sig-blk-en.svg",
    ]:
        assert f"/static/{path}" in page
        assert finders.find(path), path
    assert '<script type="module" src="/static/vendor/gcds/components/gcds.esm.js">' in page


def test_the_design_system_loads_nothing_from_another_origin():
    """The published gcds.css imports Google Fonts and a CDN's icon font, which the CSP refuses:
    scripts/vendor-gcds.mjs serves the fonts from here instead."""
    css = Path(finders.find("vendor/gcds/components/gcds.css")).read_text()
    assert "googleapis" not in css and "cdn.design-system" not in css
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", css)
    for font in re.findall(r"url\(\"?\.\./fonts/([^)\"]+)\"?\)", css):
        assert finders.find(f"vendor/gcds/fonts/{font}"), font
    loader = "".join(
        path.read_text()
        for path in Path(finders.find("vendor/gcds/components/gcds.esm.js")).parent.glob("*.js")
    )
    assert "{visibility:hidden}.hydrated{visibility:inherit}" not in loader


@pytest.mark.django_db
def test_the_content_security_policy_is_as_strict_as_before(client):
    policy = client.get(_url("marketplace:privacy", "en"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["font-src"] == "'self'"
    assert "unsafe" not in policy


# --- Buttons whose label can take the colour of their background --------------------------------

COLOURS = "primary|secondary|success|danger|warning|info|light|dark"
SOLID = re.compile(rf"\bbtn-(?:{COLOURS})\b")
OUTLINE = re.compile(rf"\bbtn-outline-(?:{COLOURS})\b")
GC_TONE = re.compile(r"\bgc-btn-(?:primary|secondary|danger)\b")


def test_no_button_is_both_filled_and_outlined():
    """ "btn-primary btn-outline-primary" drew a blue label on a blue button. A class attribute
    (whatever its template logic) never names a filled and an outlined colour together, and a
    crispy Submit (which adds "btn btn-primary" itself) is never given an outline class. The GCDS
    buttons (static/css/site.css) likewise have one tone each: gc-btn-primary, -secondary or
    -danger."""
    faults = []
    for template in (ROOT / "templates").rglob("*.html"):
        for attribute in re.findall(r'class="([^"]*)"', template.read_text()):
            # Each branch of an {% if %} is one possible set of classes.
            branches = re.split(r"{%\s*(?:elif|else)[^%]*%}", attribute)
            common = re.sub(r"{%.*?%}", " ", branches[0].split("{%")[0])
            for branch in branches:
                classes = common + " " + re.sub(r"{%.*?%}", " ", branch)
                if (SOLID.search(classes) and OUTLINE.search(classes)) or len(
                    set(GC_TONE.findall(classes))
                ) > 1:
                    faults.append(f"{template.relative_to(ROOT)}: {attribute}")
    for module in ROOT.glob("*/forms.py"):
        for call in re.findall(r"\bSubmit\([^)]*\)", module.read_text()):
            if OUTLINE.search(call):
                faults.append(f"{module.relative_to(ROOT)}: {call}")
    assert faults == []
