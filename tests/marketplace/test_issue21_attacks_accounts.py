"""Issue 21, attacked: the account emails, the name people sign up with and the dashboard's
name form, tried by a hostile user and by a confused French-speaking one (helper H).

Each test here failed before its fix:

- the links in account emails took their host from the request's Host header (any name in
  ALLOWED_HOSTS, with any port): they lead to the site's address (SITE_URL), as the
  notification emails' links and the account emails' own footer always did;
- a name could be made of letters that show as nothing (Hangul fillers, the blank Braille
  pattern, the combining grapheme joiner), so that "Hello ㅤ," greeted no one, or so that the
  first word an email greets by carried a whole sentence ("Marie⠀Your⠀account⠀is⠀locked");
- a name could be a bare domain ("gc-login.ca"): mail programs make it a link, in the
  greeting of an email sent to whoever owns the address typed at sign-up;
- a name could stack hundreds of accents on one letter ("Zalgo" text), spilling over the
  lines around it on every page and email that shows it;
- the security notices quoted the browser's User-Agent header as sent — text the person who
  made the change writes, links and phone numbers included, in the email that tells the owner
  what to do if the change was not theirs;
- after a refused name, the page's language toggle (and a reload from the address bar) led to
  a blank "405 Method Not Allowed" page;
- a supplier who renamed their account between submitting a bid and the close had the name
  their answers carry shown to the evaluators: the packets were redacted with the name as it is
  at the close. Each bid now keeps the identity it was submitted under, and the packets are
  redacted with it too (tests/bids/test_identity_snapshot.py tries the profile as well).
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from bids import services as bid_services
from lifecycle import closing
from marketplace import names, services
from marketplace.models import Role, User
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.builders import fill
from tests.factories import (
    PASSWORD,
    OpportunityFactory,
    StaffFactory,
    SupplierFactory,
    SupplierProfileFactory,
)

pytestmark = pytest.mark.django_db

SITE = "https://marketplace.example"
URL = re.compile(r"https?://[^\s\"'<>]+")
SIGNUP_PASSWORD = "a-long-and-unusual-passphrase"
NEW_PASSWORD = "another-long-passphrase-2026"
INVISIBLE = "invisible characters"
ADDRESS = "web or email address"


def _links(message) -> list[str]:
    [(html, _mimetype)] = message.alternatives
    return URL.findall(message.body) + URL.findall(html)


def _sign_up(client, email: str, *, name: str, language: str = "en"):
    return client.post(
        f"/{language}/accounts/signup/",
        {
            "full_name": name,
            "email": email,
            "password1": SIGNUP_PASSWORD,
            "password2": SIGNUP_PASSWORD,
        },
    )


# --- Links lead to the site, whatever Host header the request came with -------------------------


@pytest.mark.parametrize("host", ["localhost:6666", "127.0.0.1:8611", "[::1]"])
def test_account_email_links_lead_to_the_site_never_to_the_requests_host(settings, host):
    settings.SITE_URL = SITE
    english = SupplierFactory(full_name="Ann Lee", preferred_language="en")
    client = Client(HTTP_HOST=host)
    client.post("/fr/accounts/password/reset/", {"email": english.email})
    client.post("/fr/accounts/password/reset/", {"email": "ghost@example.com"})
    _sign_up(client, english.email, name="Mallory Intruder", language="fr")
    _sign_up(client, "new.person@example.com", name="Zoé Roy", language="fr")
    reset, unknown, exists, confirm = mail.outbox
    assert [m.to for m in mail.outbox] == [
        [english.email],
        ["ghost@example.com"],
        [english.email],
        ["new.person@example.com"],
    ]
    for message in mail.outbox:
        links = _links(message)
        assert links
        for link in links:
            assert link == SITE or link.startswith(SITE + "/"), (message.subject, link)
    # Each in its reader's language: the account's, else the page's.
    assert "/en/accounts/password/reset/key/" in reset.body
    assert "/fr/accounts/signup/" in unknown.body
    assert "/en/accounts/password/reset/" in exists.body
    assert "/fr/accounts/confirm-email/" in confirm.body


def test_a_security_notice_links_to_the_site_and_the_link_works(settings):
    settings.SITE_URL = SITE
    person = SupplierFactory(full_name="Ann Lee", preferred_language="fr")
    client = Client(HTTP_HOST="localhost:6666")
    client.post("/en/accounts/login/", {"login": person.email, "password": PASSWORD})
    mail.outbox.clear()
    response = client.post(
        "/en/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    [notice] = mail.outbox
    links = [link for link in _links(notice) if "/accounts/" in link]
    assert links and all(link.startswith(SITE + "/fr/accounts/password/reset/") for link in links)
    assert Client().get(urlsplit(links[0]).path).status_code == 200


# --- Names that show as nothing, or as something else than a name -------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # Hangul filler: a "letter" that shows as a blank
        "\u3164 \u3164",
        "\u115f\u1160",  # Hangul choseong and jungseong fillers
        "\uffa0",  # halfwidth Hangul filler
        "Marie\u2800Your\u2800account\u2800is\u2800locked",  # blank Braille pattern as spaces
        "Marie\u034fTremblay",  # combining grapheme joiner
        "Marie\u17b4 Tremblay",  # Khmer inherent vowel, never shown
    ],
    ids=["filler", "fillers", "choseong", "halfwidth", "braille-blank", "cgj", "khmer-inherent"],
)
def test_a_name_that_shows_as_nothing_is_refused(client, name):
    response = _sign_up(client, "blank@example.com", name=name)
    assert response.status_code == 200
    assert INVISIBLE in response.content.decode()
    assert not User.objects.filter(email="blank@example.com").exists()
    assert not mail.outbox
    with pytest.raises(ValidationError):
        services.user_set_full_name(user=SupplierFactory(), full_name=name)


@pytest.mark.parametrize(
    "name",
    [
        "gc-login.ca",
        "Marie secure-canada.com",
        "Visit evil.example now",
        "Marie evil\u3002com",  # the ideographic full stop, a dot in web addresses
        "\uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d",  # full-width "evil.com"
        "xn--80ak6aa92e.com",
    ],
)
def test_a_name_that_is_a_bare_domain_is_refused(client, name):
    response = _sign_up(client, "domain@example.com", name=name)
    assert response.status_code == 200
    assert ADDRESS in response.content.decode()
    assert not User.objects.filter(email="domain@example.com").exists()


@pytest.mark.parametrize(
    "name",
    [
        "J.R.R. Tolkien",
        "Marie St. John",
        "Dr. Ada Lovelace",
        "A.B. Smith",
        "Jean-Paul II",
        "Nguy\u00ea\u0303n V\u0103n An",  # decomposed: composed on the way in
        "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",  # Hebrew with its points
        "\u0e19\u0e49\u0e33\u0e1d\u0e19",  # Thai with a tone mark
        "\u0f56\u0f66\u0f92\u0fb2\u0f74\u0f56\u0f66",  # Tibetan stacked letters
        "\u0936\u094d\u0930\u0940",  # Devanagari conjunct
        "Zahra\u200cye",  # zero-width non-joiner, part of Persian names
        "\u963f\u6c9b\u00b7\u963f\u65fa\u664b\u7f8e",  # Chinese, with its middle dot
        "\u30b8\u30e7\u30f3\u30fb\u30b9\u30df\u30b9",  # Japanese, with its middle dot
    ],
)
def test_real_names_are_still_kept(name):
    cleaned = names.person_name_clean(name)
    assert cleaned
    assert len(cleaned) <= len(name)


def test_a_name_stacking_accents_on_a_letter_is_refused(client):
    zalgo = "Z" + "\u0301\u0316\u0337\u0338\u035c" * 30 + "oe"
    response = _sign_up(client, "zalgo@example.com", name=zalgo)
    assert response.status_code == 200
    assert "too many accents" in response.content.decode()
    assert not User.objects.filter(email="zalgo@example.com").exists()


def test_a_name_impersonating_the_service_never_reaches_the_sender():
    person = SupplierFactory(full_name="ESDC Support", preferred_language="en")
    client = Client()
    client.post("/en/accounts/password/reset/", {"email": person.email})
    [message] = mail.outbox
    assert "ESDC" not in message.from_email
    assert "ESDC" not in str(message.message()["From"])
    assert "ESDC" not in message.subject


# --- The browser in a security notice is ours to name, not the sender's to write ----------------


HOSTILE_AGENT = "Mozilla/5.0 visit https://gc-undo.example/restore or call 1-800-555-0199"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36"
)


def _password_change_notice(agent: str, language: str = "en"):
    person = SupplierFactory(full_name="Ann Lee", preferred_language=language)
    client = Client(HTTP_USER_AGENT=agent)
    client.post("/en/accounts/login/", {"login": person.email, "password": PASSWORD})
    mail.outbox.clear()
    client.post(
        "/en/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    [notice] = mail.outbox
    [(html, _mimetype)] = notice.alternatives
    return notice.body, html


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_notice_never_quotes_text_the_sender_wrote_in_their_browser_header(language):
    text, html = _password_change_notice(HOSTILE_AGENT, language)
    for part in (text, html):
        for planted in ("gc-undo", "visit", "1-800", "555-0199"):
            assert planted not in part
    assert "Browser" not in text and "Navigateur" not in text  # nothing known to name


@pytest.mark.parametrize(
    ("agent", "named"),
    [
        (FIREFOX, "Browser: Firefox 140 on Windows"),
        (SAFARI_IPHONE, "Browser: Safari 18 on iOS"),
        (CHROME_ANDROID, "Browser: Chrome 126 on Android"),
    ],
)
def test_a_notice_names_the_browser_and_system_it_recognises(agent, named):
    text, html = _password_change_notice(agent)
    assert named in text and named in html


@pytest.mark.parametrize(
    ("agent", "named"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
            "Edge 126 on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            "Safari 17 on macOS",
        ),
        ("Firefox/140.0", "Firefox 140"),
        ("curl/8.5.0", ""),
        ("", ""),
        ("Firefox/140.0 https://evil.example/", "Firefox 140"),
        ("Firefox/99999999", ""),
    ],
)
def test_the_browser_named_comes_from_a_list_never_from_the_header(agent, named):
    from marketplace.account_emails import browser_named

    assert browser_named(agent) == named


def test_a_french_notice_names_the_browser_too():
    text, _html = _password_change_notice(FIREFOX, "fr")
    [line] = [line for line in text.splitlines() if "Firefox" in line]
    assert "Firefox 140" in line and "Windows" in line


# --- The dashboard's name form, as a confused person uses it ------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_after_a_refused_name_the_language_toggle_and_a_reload_lead_somewhere(client, language):
    person = SupplierFactory(full_name="Kept Name", preferred_language=language)
    client.force_login(person)
    response = client.post(f"/{language}/preferences/name/", {"full_name": "---"})
    assert response.status_code == 200
    toggle = re.search(r'class="gc-lang-toggle" href="([^"]+)"', response.content.decode())
    other = "en" if language == "fr" else "fr"
    assert toggle.group(1) == f"/{other}/preferences/name/"
    for path in (toggle.group(1), f"/{language}/preferences/name/"):
        response = client.get(path, follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0].endswith("/dashboard/")
    person.refresh_from_db()
    assert person.full_name == "Kept Name"


# --- Blind evaluation: the name a bid was submitted under is redacted from its packet -----------


def _bid_naming_its_author(admin, supplier):
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=admin, opportunity=draft)
    bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
    answer = "Zebulon Quintessa built the prototype in 2024."
    fill(bid, supplier, answers={c.pk: answer for c in opportunity.criteria.all()})
    bid_services.bid_submit(supplier=supplier, bid=bid)
    return opportunity


def _close(opportunity, capture):
    with capture(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_rename_between_the_bid_and_the_close_leaves_no_name_in_the_packet(
    client, django_capture_on_commit_callbacks, language
):
    """At the close, the supplier's identity is taken out of the answers the evaluators read,
    as it is then and as it was at the submission: the name the answers carry is redacted after
    a rename too, so a supplier renames freely."""
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    supplier = SupplierProfileFactory(
        contact_name="Sam Smith", user__full_name="Zebulon Quintessa"
    ).user
    opportunity = _bid_naming_its_author(admin, supplier)
    client.force_login(supplier)
    response = client.post(f"/{language}/preferences/name/", {"full_name": "Zeb Q"})
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.full_name == "Zeb Q"

    _close(opportunity, django_capture_on_commit_callbacks)
    packet = opportunity.evaluation.packets.get()
    for answer in packet.answers:
        assert "Zebulon" not in answer["text"] and "Quintessa" not in answer["text"]
        assert answer["text"] == "[redacted] built the prototype in 2024."
