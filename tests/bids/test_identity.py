"""One identity matcher for the warning, the packets and the attachments, against a determined
bidder: every way below of writing a demo supplier's identity is flagged before submission and
redacted in the evaluators' packet; ordinary prose is left alone."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from django.urls import reverse
from django.utils import translation

from bids import services
from bids.identity import identity_matches, identity_tokens, redact
from demo.accounts import SUPPLIERS
from lifecycle import closing
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.builders import fill
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.forms import _form_data

pytestmark = pytest.mark.django_db

CYRILLIC = str.maketrans(
    "aceopxyAEOPCHKMT",
    "\u0430\u0441\u0435\u043e\u0440\u0445\u0443\u0410\u0415\u041e\u0420\u0421\u041d\u041a\u041c\u0422",
)
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}


GREEK = str.maketrans(
    "ABEHIKMNOPTXYZ",
    "\u0391\u0392\u0395\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7\u03a5\u0396",
)
ARABIC_INDIC = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)


def _circled(char: str) -> str:
    return (
        chr(0x1F150 + ord(char.upper()) - ord("A")) if char.isascii() and char.isalpha() else char
    )


def _parenthesized(char: str) -> str:
    return chr(0x249C + ord(char.lower()) - ord("a")) if char.isascii() and char.isalpha() else char


def _full_width(text: str) -> str:
    return "".join(FULL_WIDTH.get(c, c) for c in text)


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())[-10:]


def variants(email: str, profile: dict) -> dict[str, str]:
    """Ways a determined (or careless) bidder writes their identity; each must be caught."""
    legal = profile["legal_name"]
    person = profile["contact_name"]
    given, family = person.split()[0], person.split()[-1]
    words = legal.split()
    phone = _digits(profile["phone"])
    area, exchange, line = phone[:3], phone[3:6], phone[6:]
    local, domain = email.split("@")
    site = profile["website"].removeprefix("https://")
    handle = profile["github_handle"]
    postal = profile["postal_code"]
    found = {
        "legal name": legal,
        "legal name in capitals": legal.upper(),
        "legal name in lower case": legal.lower(),
        "legal name split by a line break": words[0] + "\n" + " ".join(words[1:]),
        "legal name with extra spaces and a tab": "  \t ".join(words),
        "soft hyphen inside": words[0][:3] + "\u00ad" + words[0][3:] + " " + " ".join(words[1:]),
        "zero-width space inside": words[0][:2] + "\u200b" + words[0][2:] + " " + words[1],
        "bidi marks around": "\u200f" + person + "\u200e",
        "decomposed accents (NFD)": unicodedata.normalize("NFD", person),
        "accents dropped": unicodedata.normalize("NFD", person).encode("ascii", "ignore").decode(),
        "cyrillic look-alikes": person.translate(CYRILLIC),
        "full-width letters": _full_width(person),
        "family name alone": family,
        "given name alone": given,
        "family name first": f"{family.upper()}, {given}",
        "possessive": f"{family}'s team",
        "phone with slashes": f"{area}/{exchange}/{line}",
        "phone with parentheses": f"({area}) {exchange}-{line}",
        "phone with country code": f"+1 {area} {exchange} {line}",
        "phone with dots": f"{area}.{exchange}.{line}",
        "phone run together": phone,
        "phone in full-width digits": _full_width(f"{area}-{exchange}-{line}"),
        "local number alone": f"{exchange}-{line}",
        "postal code run together in lower case": postal.replace(" ", "").lower(),
        "postal code with a hyphen": postal.replace(" ", "-"),
        "email": email,
        "email with at and dot spelled out": f"{local} at {domain.replace('.', ' dot ')}",
        "email with brackets": f"{local} [at] {domain.replace('.', '[.]')}",
        "email in French": f"{local} arobase {domain.replace('.', ' point ')}",
        "GitHub handle with @": f"@{handle}",
        "GitHub URL": f"https://github.com/{handle}/project",
    }
    found.update(
        {
            "capitals with Cyrillic look-alikes": person.upper().translate(CYRILLIC),
            "capitals with Greek look-alikes": legal.upper().translate(GREEK),
            "unassigned invisible character inside": family[:2] + "\u2065" + family[2:],
            "stored backwards behind a direction override": "\u202e" + person[::-1] + "\u202c",
            "negative circled letters": "".join(_circled(c) for c in family),
            "parenthesized letters": "".join(_parenthesized(c) for c in family),
            "letters with strokes": family.replace("l", "\u0142").replace("o", "\u00f8"),
            "phone in Arabic-Indic digits": f"{area}-{exchange}-{line}".translate(ARABIC_INDIC),
            "phone with the letter O for zero": f"{area}-{exchange}-{line}".replace("0", "O"),
            "letter-spaced": " ".join(family),
            "hyphenated across a line": family[:3] + "-\n" + family[3:],
        }
    )
    if len(words) > 2:
        found["legal name without its last word"] = " ".join(words[:-1])
        found["distinctive part of the name"] = " ".join(words[:2])
        initials = "".join(w[0] for w in words if w[0].isalpha()).upper()
        found["initials"] = initials
        found["initials with dots"] = ".".join(initials) + "."
    if site:
        found["web site"] = f"https://{site}/cases"
        found["domain with [.]"] = site.replace(".", "[.]")
        found["domain with dot spelled out"] = site.replace(".", " dot ")
        found["domain name alone"] = site.split(".")[0]
    if profile["gst_hst_number"]:
        number = profile["gst_hst_number"].replace(" ", "")
        found["GST/HST number spaced"] = (
            f"{number[:3]} {number[3:6]} {number[6:9]} RT {number[-4:]}"
        )
        found["business number alone"] = number[:9]
    if profile["trading_name"]:
        found["trading name"] = profile["trading_name"]
    return found


ORDINARY = [
    "The code works on every browser we support.",
    "Our team works with the northern European accessibility standard.",
    "Leaf nodes of the tree render lazily; the lights on the dashboard turn green.",
    "We fixed 613 issues and 555 warnings across 142 components.",
    "Accessibility co-op models are common in the sector.",
    "We use digital services and open-source code every day.",
    "La rivière déborde au printemps; notre équipe numérique est prête.",
    "Un tremblement de terre n'arrêterait pas nos tests automatisés.",
    "Ramanujan's formula is not needed here, nor is Priyanka's library.",
    "We run axe-core in CI and report WCAG 2.1 AA issues on each commit.",
    "Nous avons rendu accessibles les formulaires de trois ministères.",
    "Our demo shows the keyboard focus moving through the whole form.",
    "See github.com/django/django and https://www.w3.org/WAI/ for the rules we follow.",
    "The CODE of conduct applies; our ACCESS review comes first.",
    "Maple syrup season is in March; the code review is in April.",
    "Contact the project office at the number on the opportunity page.",
    "We will give a live demo. Example scenarios follow in section 3.",
    "The leaf code in each component tree is tested in isolation.",
    "Walk through steps 1, 2, 3, 4, 5, 6, 7, 8, 9 of the checklist.",
    "The city has 5,550,142 residents and 613 000 households.",
    "OK a for loop would do; the lights, a code review and the works.",
]


def demo_suppliers():
    return [(email, profile) for email, _language, profile in SUPPLIERS]


def _make(email: str, profile: dict):
    return SupplierProfileFactory(
        user__email=email,
        user__full_name=profile["contact_name"],
        **{k: v for k, v in profile.items() if k not in ("kind", "size")},
    ).user


CASES = [
    (email, kind, text)
    for email, profile in demo_suppliers()
    for kind, text in variants(email, profile).items()
]


def test_the_hostile_corpus_is_large_enough():
    assert len(CASES) >= 4 * 40
    assert all(len(variants(e, p)) >= 40 for e, p in demo_suppliers())


@pytest.mark.parametrize(
    ("email", "kind", "text"), CASES, ids=[f"{e[:9]}-{k}" for e, k, _ in CASES]
)
def test_each_way_of_writing_an_identity_is_flagged_and_redacted(email, kind, text):
    profile = dict(demo_suppliers())[email]
    user = _make(email, profile)
    tokens = identity_tokens(user, user.supplier_profile)
    sentence = f"Line one. {text} Line two."
    assert identity_matches([sentence], tokens), f"not flagged: {kind}"
    redacted = redact(sentence, tokens)
    assert redacted.startswith("Line one. ") and redacted.endswith(" Line two.")
    assert "[redacted]" in redacted
    # Whatever the encoding, nothing that gives the supplier away survives around the mark.
    assert identity_matches([redacted], tokens) == [], redacted


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_prose_is_not_flagged_for_any_demo_supplier(text):
    for email, profile in demo_suppliers():
        user = _make(email, profile)
        tokens = identity_tokens(user, user.supplier_profile)
        assert identity_matches([text], tokens) == [], (email, text)
        assert redact(text, tokens) == text


def test_another_suppliers_identity_is_not_flagged():
    (email1, profile1), (email2, profile2) = demo_suppliers()[:2]
    first = _make(email1, profile1)
    tokens = identity_tokens(first, first.supplier_profile)
    for kind, text in variants(email2, profile2).items():
        if not kind.startswith("email"):  # the demo suppliers share one mail domain
            assert identity_matches([text], tokens) == [], kind


def test_redaction_replaces_exactly_the_original_characters():
    user = _make(*demo_suppliers()[1])
    tokens = identity_tokens(user, user.supplier_profile)
    text = f"Ask Ja\u200bmal Oka\u0301for ({_full_width('NLAC')}) — N\u043erthern\nLights."
    assert redact(text, tokens) == "Ask [redacted] ([redacted]) — [redacted]."


@pytest.fixture
def demo_bids(db):
    """The four demo suppliers bid with every variant of their identity, one per line."""
    program_admin = StaffFactory(roles=["program_admin"])
    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=program_admin, opportunity=draft)
    lines = {}
    for email, profile in demo_suppliers():
        user = _make(email, profile)
        found = variants(email, profile)
        text = "\n".join(f"P{n}: {variant} end." for n, variant in enumerate(found.values()))
        bid = services.bid_start(supplier=user, opportunity=opportunity)
        fill(bid, user, answers={c.pk: text for c in opportunity.criteria.all()})
        lines[email] = (bid, list(found.values()))
    return opportunity, lines


def test_every_variant_is_redacted_in_the_packet(demo_bids, django_capture_on_commit_callbacks):
    opportunity, lines = demo_bids
    for bid, _found in lines.values():
        services.bid_submit(supplier=bid.supplier, bid=bid)
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    for bid, found in lines.values():
        tokens = identity_tokens(bid.supplier, bid.supplier.supplier_profile)
        for answer in bid.packet.answers:
            rows = answer["text"].split("\n")
            assert len(rows) == len(found)
            for n, row in enumerate(rows):
                assert row.startswith(f"P{n}: ") and row.endswith(" end."), row
                assert "[redacted]" in row and found[n] not in row, (found[n], row)
                assert identity_matches([row], tokens) == [], row


def test_the_warning_lists_the_words_as_written_in_english_and_french(demo_bids, client):
    _opportunity, lines = demo_bids
    bid, _found = lines["supplier2@demo.example"]
    answer = "Ask Ja\u200bmal at 204/555/0123 or nlac11y[.]example.\nNorthern\nLights did it."
    fill(bid, bid.supplier, answers={c.pk: answer for c in bid.opportunity.criteria.all()})
    client.force_login(bid.supplier)
    data = _form_data(bid, action_submit="Submit bid")
    data.update({key: answer for key in data if key.startswith("answer_")})
    page = client.post(reverse("bids:edit", args=[bid.pk]), data).content.decode()
    assert "Your answers may reveal who you are" in page
    for shown in ("Jamal", "204/555/0123", "nlac11y[.]example", "Northern Lights"):
        assert f"<strong>{shown}</strong>" in page
    assert not bid.receipts.exists()
    with translation.override("fr"):
        french = client.post(reverse("bids:edit", args=[bid.pk]), data).content.decode()
    assert "Vos réponses pourraient révéler qui vous êtes" in french
    assert "<strong>Northern Lights</strong>" in french
