"""The anonymous public pages served from the cache (marketplace/caching.py): fast, and never
stale after a change they show, never someone else's page, never a broken page when the cache is
down."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import override_settings
from django.utils import timezone

from marketplace.caching import cache_public_page
from opportunities.addenda import opportunity_amend
from opportunities.cancellation import opportunity_cancel
from opportunities.models import Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_answer, question_ask
from opportunities.tasks import opportunities_close_due
from tests.factories import OpportunityFactory, SupplierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.caching]
Status = Opportunity.Status


def published(**fields):
    fields.setdefault("published_at", timezone.now())
    return OpportunityFactory(status=Status.PUBLISHED, **fields)


def publish(draft, admin, capture):
    with capture(execute=True):
        opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
        opportunity_publish(actor=admin, opportunity=draft)


@pytest.mark.parametrize(
    "url",
    [
        "/en/opportunities/",
        "/fr/opportunities/?q=bogue",
        "/en/opportunities/?type=bug_fix&value_min=1000",
        "/en/opportunities/feed/",
    ],
)
def test_second_anonymous_visit_is_served_from_the_cache_without_sql(
    client, url, django_assert_num_queries
):
    published(title_en="Cached work", title_fr="Travail en cache")
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]


def test_cached_detail_page_has_no_sql_and_the_same_text(client, django_assert_num_queries):
    opportunity = published(title_en="Read me twice")
    first = client.get(f"/en/opportunities/{opportunity.pk}/")
    with django_assert_num_queries(0):
        second = client.get(f"/en/opportunities/{opportunity.pk}/")
    assert "Read me twice" in second.content.decode()
    assert second.content == first.content


def test_each_language_and_query_is_its_own_page(client):
    published(title_en="Keyboard fix", title_fr="Correction du clavier", type="bug_fix")
    published(title_en="Make it accessible", title_fr="Rendre accessible", type="accessibility")
    english = client.get("/en/opportunities/").content.decode()
    french = client.get("/fr/opportunities/").content.decode()
    assert "Keyboard fix" in english and "Correction du clavier" not in english
    assert "Correction du clavier" in french and "Keyboard fix" not in french
    filtered = client.get("/en/opportunities/", {"type": "accessibility"}).content.decode()
    assert "Make it accessible" in filtered and "Keyboard fix" not in filtered


def test_a_publication_shows_at_once_on_the_cached_list_and_feed(
    client, program_admin, django_capture_on_commit_callbacks
):
    published(title_en="Already there")
    assert "Brand new posting" not in client.get("/en/opportunities/").content.decode()
    assert "Brand new posting" not in client.get("/en/opportunities/feed/").content.decode()
    publish(
        OpportunityFactory(title_en="Brand new posting"),
        program_admin,
        django_capture_on_commit_callbacks,
    )
    assert "Brand new posting" in client.get("/en/opportunities/").content.decode()
    assert "Brand new posting" in client.get("/en/opportunities/feed/").content.decode()


def test_an_answer_and_an_addendum_show_at_once_on_the_cached_detail(
    client, django_capture_on_commit_callbacks
):
    opportunity = published()
    url = f"/en/opportunities/{opportunity.pk}/"
    asker = SupplierFactory()
    with django_capture_on_commit_callbacks(execute=True):
        question = question_ask(
            asker=asker, opportunity=opportunity, text="Which browsers must it support?"
        )
    before = client.get(url).content.decode()
    assert "Which browsers must it support?" not in before  # not answered yet
    with django_capture_on_commit_callbacks(execute=True):
        question_answer(
            actor=opportunity.buyer,
            question=question,
            answer_en="The last two versions of each.",
            answer_fr="Les deux dernières versions de chacun.",
        )
    assert "The last two versions of each." in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_amend(
            actor=opportunity.buyer,
            opportunity=Opportunity.objects.get(pk=opportunity.pk),
            note_en="The deadline moves by three days.",
            note_fr="La date de clôture est reportée de trois jours.",
            closes_at=opportunity.closes_at + dt.timedelta(days=3),
        )
    assert "The deadline moves by three days." in client.get(url).content.decode()


def test_a_posting_closed_by_the_scheduler_shows_closed_at_once(
    client, django_capture_on_commit_callbacks
):
    grace = dt.timedelta(seconds=settings.BID_CLOSE_GRACE_SECONDS)
    due = published(
        title_en="Deadline passed", closes_at=timezone.now() - grace - dt.timedelta(seconds=5)
    )
    url = f"/en/opportunities/{due.pk}/"
    assert "Deadline passed" in client.get(url).content.decode()
    listing = "/en/opportunities/?status=all"
    assert f"— {Status.PUBLISHED.label}</dd>" in client.get(listing).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert opportunities_close_due() == 1
    now = Opportunity.objects.get(pk=due.pk).get_status_display()  # closed, then evaluating
    page = client.get(listing).content.decode()
    assert f"— {now}</dd>" in page and f"— {Status.PUBLISHED.label}</dd>" not in page


def test_a_cancellation_shows_at_once_on_the_cached_detail(
    client, django_capture_on_commit_callbacks
):
    opportunity = published()
    url = f"/en/opportunities/{opportunity.pk}/"
    assert "Cancelled" not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_cancel(
            actor=opportunity.buyer, opportunity=opportunity, reason="The need went away."
        )
    assert "The need went away." in client.get(url).content.decode()


def test_signed_in_visitors_never_get_or_leave_a_cached_page(client, django_assert_max_num_queries):
    published(title_en="Shared work")
    anonymous = client.get("/en/opportunities/").content.decode()
    assert "Sign out" not in anonymous
    supplier = SupplierFactory()
    client.force_login(supplier)
    signed_in = client.get("/en/opportunities/").content.decode()
    assert "Sign out" in signed_in and "Shared work" in signed_in
    client.logout()
    # The signed-in page was not stored for the next anonymous visitor either.
    with django_assert_max_num_queries(0):
        again = client.get("/en/opportunities/").content.decode()
    assert again == anonymous


def test_a_page_with_a_message_is_rendered_fresh_and_not_stored(client, rf):
    calls = []

    @cache_public_page
    def view(request):
        calls.append(1)
        return HttpResponse(f"page {len(calls)}")

    def anonymous(request):
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.messages.storage.fallback import FallbackStorage
        from django.contrib.sessions.backends.cache import SessionStore

        request.user = AnonymousUser()
        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        return request

    with_message = anonymous(rf.get("/en/somewhere/"))
    messages.info(with_message, "You have signed out.")
    assert view(with_message).content == b"page 1"
    assert view(anonymous(rf.get("/en/somewhere/"))).content == b"page 2"  # nothing stored
    assert view(anonymous(rf.get("/en/somewhere/"))).content == b"page 2"  # now it was


def test_a_page_carrying_a_csrf_token_or_a_cookie_is_never_stored(rf):
    from django.contrib.auth.models import AnonymousUser

    calls = []

    @cache_public_page
    def with_token(request):
        calls.append(1)
        return HttpResponse(f"token {get_token(request)} {len(calls)}")

    @cache_public_page
    def with_cookie(request):
        calls.append(1)
        response = HttpResponse(f"cookie {len(calls)}")
        response.set_cookie("seen", "1")
        return response

    def anonymous(path):
        request = rf.get(path)
        request.user = AnonymousUser()
        return request

    with_token(anonymous("/en/token/"))
    with_token(anonymous("/en/token/"))
    with_cookie(anonymous("/en/cookie/"))
    with_cookie(anonymous("/en/cookie/"))
    assert len(calls) == 4


def test_error_pages_are_not_cached(client):
    draft = OpportunityFactory()
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 404
    Opportunity.objects.filter(pk=draft.pk).update(
        status=Status.PUBLISHED, published_at=timezone.now()
    )
    assert client.get(f"/en/opportunities/{draft.pk}/").status_code == 200


def test_pages_render_when_the_cache_is_down(client):
    opportunity = published(title_en="Still served")
    # Nothing listens on port 1: every cache call fails at once.
    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=down):
        detail = client.get(f"/en/opportunities/{opportunity.pk}/")
        feed = client.get("/en/opportunities/feed/")
        listed = client.get("/en/opportunities/", {"type": "bug_fix"})
        client.force_login(SupplierFactory())
        listed_signed_in = client.get("/en/opportunities/", {"type": "bug_fix"})
    assert detail.status_code == 200 and "Still served" in detail.content.decode()
    assert feed.status_code == 200 and "Still served" in feed.content.decode()
    for response in (listed, listed_signed_in):
        assert response.status_code == 200 and "Still served" in response.content.decode()
        assert 'role="search"' in response.content.decode()  # the filter form, rendered


def test_the_cache_can_be_turned_off(client, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    published()
    client.get("/en/opportunities/")
    response = client.get("/en/opportunities/")
    assert response.context is not None  # rendered again, not served from the cache


def test_a_stale_version_is_never_reused_after_the_cache_forgot_it(client):
    from django.core.cache import cache

    published(title_en="First version")
    client.get("/en/opportunities/")
    cache.delete("public-pages:version")  # evicted: every stored page becomes unreachable
    Opportunity.objects.update(title_en="Second version")
    assert "Second version" in client.get("/en/opportunities/").content.decode()


def test_the_kept_filter_form_is_markup_for_signed_in_visitors(client):
    published(title_en="Filtered work")
    client.force_login(SupplierFactory())
    first = client.get("/en/opportunities/", {"type": "bug_fix"}).content.decode()
    again = client.get("/en/opportunities/", {"type": "bug_fix"}).content.decode()
    for html in (first, again):
        assert 'role="search"' in html and "&lt;form" not in html
