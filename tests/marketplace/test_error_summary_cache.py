"""The error summary (templates/includes/error_summary.html) on an anonymous public page: with
no errors, it asks for nothing lazy (the csrf token above all), so the page is still served
from the anonymous page cache (marketplace/caching.py); given no forms, it still finds the
page's own forms and lists their errors."""

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.cache import SessionStore
from django.http import HttpResponse
from django.template import engines
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy

from marketplace.caching import cache_public_page

pytestmark = [pytest.mark.django_db, pytest.mark.caching]

PAGE = '<h1>Public</h1>{% include "includes/error_summary.html" %}<p>{{ csrf_token|length }}</p>'
SUMMARY_ONLY = '{% include "includes/error_summary.html" %}'


class NameForm(forms.Form):
    name = forms.CharField(label="Name")


def _anonymous(rf, path="/en/public-summary/"):
    request = rf.get(path)
    request.user = AnonymousUser()
    request.session = SessionStore()
    return request


def test_a_page_with_the_summary_and_no_errors_is_served_from_the_cache(rf):
    calls = []
    touched = []

    def lazy_value():
        touched.append(1)
        return "evaluated"

    @cache_public_page
    def view(request):
        calls.append(1)
        # Only the summary: the page itself asks for no token.
        template = engines["django"].from_string(SUMMARY_ONLY)
        context = {
            "form": NameForm(),  # unbound: no errors
            "rows": [NameForm(prefix="row")],
            "label": gettext_lazy("Skills"),
            "lazy": SimpleLazyObject(lazy_value),
        }
        return HttpResponse(template.render(context, request))

    first = view(_anonymous(rf))
    second = view(_anonymous(rf))
    assert first.status_code == second.status_code == 200
    assert "gc-error-summary" not in first.content.decode()
    assert len(calls) == 1, "the second visit came from the cache"
    assert touched == [], "no lazy value of the context was evaluated"
    assert "csrftoken" not in first.cookies


def test_a_page_that_uses_the_token_itself_is_still_not_stored(rf):
    """The cache's own rule stands: the summary is not what decides it."""
    calls = []

    @cache_public_page
    def view(request):
        calls.append(1)
        return HttpResponse(engines["django"].from_string(PAGE).render({}, request))

    view(_anonymous(rf, "/en/with-token/"))
    view(_anonymous(rf, "/en/with-token/"))
    assert len(calls) == 2


def test_given_no_forms_the_summary_still_lists_the_errors_of_the_pages_forms(rf):
    bound = NameForm({"name": ""})
    rows = [NameForm({"row-name": ""}, prefix="row")]
    html = (
        engines["django"]
        .from_string(SUMMARY_ONLY)
        .render({"form": bound, "rows": rows}, _anonymous(rf))
    )
    assert 'href="#id_name"' in html
    assert 'href="#id_row-name"' in html


def test_an_empty_list_of_forms_given_means_none_not_every_form(rf):
    html = (
        engines["django"]
        .from_string('{% include "includes/error_summary.html" with error_forms=none %}')
        .render({"form": NameForm({"name": ""}), "none": [None]}, _anonymous(rf))
    )
    assert "gc-error-summary" not in html
