import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.utils import timezone

from marketplace.models import Role
from opportunities.markdown import render_markdown
from opportunities.models import Opportunity
from tests.factories import OpportunityFactory, SkillFactory, StaffFactory, SupplierFactory

pytestmark = pytest.mark.django_db
Status = Opportunity.Status
ATOM = "{http://www.w3.org/2005/Atom}"


def published(**fields):
    fields.setdefault("published_at", timezone.now())
    return OpportunityFactory(status=Status.PUBLISHED, **fields)


def titles(response) -> set[str]:
    return {o.title_en for o in response.context["opportunities"]}


def test_public_list_shows_open_work_only(client):
    open_one = published(title_en="Open work")
    OpportunityFactory(title_en="A draft")
    OpportunityFactory(title_en="In review", status=Status.IN_REVIEW)
    published(title_en="Past deadline", closes_at=timezone.now() - dt.timedelta(hours=1))
    response = client.get("/en/opportunities/")
    assert response.status_code == 200
    assert titles(response) == {open_one.title_en}
    closed = client.get("/en/opportunities/", {"status": "closed"})
    assert titles(closed) == {"Past deadline"}
    assert "A draft" not in client.get("/en/opportunities/", {"status": "all"}).content.decode()


def test_filters_by_skill_type_value_and_closing_window(client):
    react = SkillFactory(slug="react")
    published(title_en="React fix", skills=[react], value_cents=200_000, type="bug_fix")
    published(title_en="Audit", type="accessibility", value_cents=800_000)
    published(
        title_en="Closing soon",
        closes_at=timezone.now() + dt.timedelta(hours=20),
        question_deadline=timezone.now() + dt.timedelta(hours=1),
    )
    assert titles(client.get("/en/opportunities/", {"skill": "react"})) == {"React fix"}
    assert titles(client.get("/en/opportunities/", {"type": "accessibility"})) == {"Audit"}
    assert titles(client.get("/en/opportunities/", {"value_min": 5000})) == {"Audit"}
    assert titles(client.get("/en/opportunities/", {"value_max": 3000})) == {
        "React fix",
        "Closing soon",
    }
    assert titles(client.get("/en/opportunities/", {"closing_within": 1})) == {"Closing soon"}


def test_bad_filter_input_is_a_clear_error_not_a_crash(client):
    published(title_en="Anything")
    response = client.get(
        "/en/opportunities/", {"value_min": "lots", "value_max": "-5", "closing_within": "x"}
    )
    assert response.status_code == 200
    assert "Enter a whole number." in response.content.decode()
    response = client.get("/en/opportunities/", {"value_min": 50, "value_max": 10})
    assert "The upper value must be at least the lower value." in response.content.decode()


def test_sorting(client):
    published(title_en="Cheap", value_cents=100_000)
    published(title_en="Dear", value_cents=900_000)
    high = client.get("/en/opportunities/", {"sort": "value_high"}).context["opportunities"]
    assert [o.title_en for o in high] == ["Dear", "Cheap"]
    low = client.get("/en/opportunities/", {"sort": "value_low"}).context["opportunities"]
    assert [o.title_en for o in low] == ["Cheap", "Dear"]


def test_search_finds_english_and_french_text(client):
    published(
        title_en="Make the benefits form accessible",
        title_fr="Rendre le formulaire de prestations accessible",
        description_fr="Améliorer l'accessibilité du formulaire électronique.",
    )
    published(title_en="Fix a crash in the PDF exporter", title_fr="Corriger un plantage")
    assert titles(client.get("/en/opportunities/", {"q": "benefits"})) == {
        "Make the benefits form accessible"
    }
    assert titles(client.get("/fr/opportunities/", {"q": "accessibilité"})) == {
        "Make the benefits form accessible"
    }
    assert titles(client.get("/en/opportunities/", {"q": "plantage"})) == {
        "Fix a crash in the PDF exporter"
    }
    assert titles(client.get("/en/opportunities/", {"q": "nothing-matches-this"})) == set()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="stemming and ranking need PostgreSQL"
)
def test_postgres_search_stems_and_ranks(client):
    published(title_en="Accessibility review", description_en="Review forms.")
    published(title_en="Data pipeline", description_en="Includes an accessibility check.")
    results = client.get("/en/opportunities/", {"q": "accessible reviews"}).context["opportunities"]
    assert [o.title_en for o in results][:1] == ["Accessibility review"]
    french = client.get("/fr/opportunities/", {"q": "formulaires"})
    assert french.status_code == 200


def test_list_page_query_count_does_not_grow(client, django_assert_max_num_queries):
    skill = SkillFactory()
    for _ in range(3):
        published(skills=[skill])
    with django_assert_max_num_queries(6) as small:
        client.get("/en/opportunities/")
    for _ in range(15):
        published(skills=[skill, SkillFactory()])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/en/opportunities/")
    assert len(response.context["opportunities"]) == 18


def test_pagination_keeps_the_filters(client):
    for _ in range(25):
        published(type="feature")
    response = client.get("/en/opportunities/", {"type": "feature"})
    body = response.content.decode()
    assert "Page 1 of 2" in body
    assert "?type=feature&amp;page=2" in body


def test_detail_is_public_for_published_and_404_for_drafts(client):
    opportunity = published(description_en="Use **bold** words.")
    response = client.get(f"/en/opportunities/{opportunity.pk}/")
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.content.decode()
    draft = OpportunityFactory()
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 404
    client.force_login(SupplierFactory())
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 404
    client.force_login(StaffFactory(roles=[Role.BUYER]))  # another buyer
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 404
    client.force_login(draft.buyer)
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 200
    client.force_login(StaffFactory(roles=[Role.PROGRAM_ADMIN]))
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 200


def test_detail_shows_french_when_browsing_in_french(client):
    opportunity = published()
    body = client.get(f"/fr/opportunities/{opportunity.pk}/").content.decode()
    assert opportunity.title_fr in body
    assert opportunity.description_fr in body


def test_markdown_is_sanitized():
    html = render_markdown(
        "# Title\n\n<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert "<h2>Title</h2>" in html


def test_atom_feed_lists_open_opportunities(client):
    react = SkillFactory(slug="react")
    published(title_en="Open React work", skills=[react])
    published(title_en="Open other work")
    OpportunityFactory(title_en="Secret draft")
    response = client.get("/en/opportunities/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = [e.find(f"{ATOM}title").text for e in root.findall(f"{ATOM}entry")]
    assert sorted(t.split(" — ")[0] for t in entries) == ["Open React work", "Open other work"]
    skill_feed = ET.fromstring(client.get("/en/opportunities/feed/skill/react/").content)
    assert [
        e.find(f"{ATOM}title").text.split(" — ")[0] for e in skill_feed.findall(f"{ATOM}entry")
    ] == ["Open React work"]
    assert client.get("/en/opportunities/feed/skill/nope/").status_code == 404


def test_every_page_advertises_the_feed(client):
    body = client.get("/en/").content.decode()
    assert '<link rel="alternate" type="application/atom+xml"' in body


def test_the_kept_filter_form_follows_the_language_and_the_question(client):
    published(type="feature")
    english = client.get("/en/opportunities/", {"type": "feature"}).content.decode()
    assert "Type of work" in english and 'value="feature" selected' in english
    french = client.get("/fr/opportunities/", {"type": "feature"}).content.decode()
    assert "Type de travail" in french and "Type of work" not in french
    assert 'value="feature" selected' in french
    other = client.get("/en/opportunities/", {"type": "bug_fix"}).content.decode()
    assert 'value="bug_fix" selected' in other and 'value="feature" selected' not in other
