"""The help guides: public, in both languages, one per part of the work, linked from each
role's part of the dashboard."""

import re

import pytest

from marketplace.models import Role
from marketplace.views import HELP_GUIDES
from tests.factories import StaffFactory, SupplierFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db

SLUGS = [guide.slug for guide in HELP_GUIDES]
PAGES = ["help/", *(f"help/{slug}/" for slug in SLUGS)]

# A sentence of each page's own prose, per language: proof the page speaks that language.
SENTENCES = {
    "help/": {
        "en": "Short guides to the marketplace, one for each part of the work.",
        "fr": "De courts guides sur la place de marché, un pour chaque étape du travail.",
    },
    "help/post-an-opportunity/": {
        "en": "Each is needed in both languages before the posting can be published.",
        "fr": "Chacun est exigé dans les deux langues avant la publication.",
    },
    "help/bid-in-under-two-hours/": {
        "en": "Plan on about two hours for a bid.",
        "fr": "Prévoyez environ deux heures par soumission.",
    },
    "help/evaluation-and-the-draw/": {
        "en": "Ties are always broken by the draw.",
        "fr": "Les égalités sont toujours tranchées par le tirage au sort.",
    },
    "help/payment/": {
        "en": "The invoice is a page and a bilingual PDF.",
        "fr": "La facture est une page et un PDF bilingue.",
    },
}
OTHER = {"en": "fr", "fr": "en"}


def _title(body: str) -> str:
    return re.search(r"<title>(.*?)</title>", body, re.S).group(1).strip()


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("page", PAGES)
def test_help_pages_answer_anonymous_visitors_in_their_language(client, page, language):
    response = client.get(f"/{language}/{page}")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<html lang="{language}">' in body
    assert body.count("<h1") == 1
    assert SENTENCES[page][language] in body
    assert SENTENCES[page][OTHER[language]] not in body
    # The language toggle leads to the same page in the other language.
    other = OTHER[language]
    assert f'href="/{other}/{page}"' in body


@pytest.mark.parametrize("language", ["en", "fr"])
def test_help_pages_have_distinct_titles(client, language):
    titles = [_title(client.get(f"/{language}/{page}").content.decode()) for page in PAGES]
    assert len(set(titles)) == len(PAGES)


def test_help_guide_titles_differ_between_languages(client):
    for page in PAGES:
        english = _title(client.get(f"/en/{page}").content.decode())
        assert english != _title(client.get(f"/fr/{page}").content.decode())


@pytest.mark.parametrize("language", ["en", "fr"])
def test_help_index_links_every_guide(client, language):
    body = client.get(f"/{language}/help/").content.decode()
    for slug in SLUGS:
        assert f'href="/{language}/help/{slug}/"' in body


def test_help_guide_links_back_to_the_index(client):
    body = client.get("/fr/help/payment/").content.decode()
    assert '<a href="/fr/help/">Aide</a>' in body


@pytest.mark.parametrize("language", ["en", "fr"])
def test_unknown_help_guide_is_not_found(client, language):
    assert client.get(f"/{language}/help/no-such-guide/").status_code == 404


@pytest.mark.parametrize(("language", "label"), [("en", "Help"), ("fr", "Aide")])
def test_every_page_header_links_to_help(client, language, label):
    body = client.get(f"/{language}/").content.decode()
    assert f'<a href="/{language}/help/">{label}</a>' in body


def _dashboard_section(client, heading_id: str) -> str:
    body = client.get("/en/dashboard/").content.decode()
    match = re.search(rf'aria-labelledby="{heading_id}">(.*?)</section>', body, re.S)
    assert match, heading_id
    return match.group(1)


def _guides_linked(section: str) -> set[str]:
    return set(re.findall(r'href="/en/help/([\w-]+)/"', section))


def test_supplier_dashboard_links_the_supplier_guides(client):
    supplier = SupplierFactory()
    SupplierProfileFactory(user=supplier)
    client.force_login(supplier)
    section = _dashboard_section(client, "supplier-heading")
    assert _guides_linked(section) == {
        "bid-in-under-two-hours",
        "evaluation-and-the-draw",
        "payment",
    }


@pytest.mark.parametrize(
    ("role", "heading_id", "guides"),
    [
        (Role.BUYER, "buyer-heading", {"post-an-opportunity", "evaluation-and-the-draw"}),
        (Role.EVALUATOR, "evaluator-heading", {"evaluation-and-the-draw"}),
        (Role.CARD_HOLDER, "cardholder-heading", {"payment"}),
    ],
)
def test_staff_dashboards_link_their_guides(client, role, heading_id, guides):
    client.force_login(StaffFactory(roles=[role]))
    assert _guides_linked(_dashboard_section(client, heading_id)) == guides


def test_program_admin_dashboard_links_the_help_index(client, program_admin):
    client.force_login(program_admin)
    assert 'href="/en/help/"' in _dashboard_section(client, "admin-heading")
