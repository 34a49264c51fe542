"""The Content-Security-Policy allows no inline script or style, so no page may need one: every
script is a file with `src`, no element carries an event handler or a `style` attribute, and
there is no <style> block — checked on the pages as served, third-party templates included."""

from html.parser import HTMLParser

import pytest
from django.utils import timezone

from bids.models import Bid
from marketplace.models import Role
from opportunities.models import Opportunity
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory


class _InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if tag == "script":
            self._in_script = "src" not in names
            if self._in_script:
                self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> block")
        if "style" in names:
            self.found.append(f"style attribute on <{tag}>")
        self.found += [f"{name} on <{tag}>" for name in names if name.startswith("on")]

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append("inline script text")


def _inline(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.mark.django_db
def test_no_page_needs_inline_script_or_style(client):
    opportunity = OpportunityFactory(
        status=Opportunity.Status.PUBLISHED, published_at=timezone.now()
    )
    profile = SupplierProfileFactory()
    draft = Bid.objects.create(opportunity=opportunity, supplier=profile.user)
    anonymous = [
        "/en/",
        "/fr/",
        "/en/opportunities/",
        f"/en/opportunities/{opportunity.pk}/",
        "/en/accounts/login/",
        "/en/accounts/signup/",
        "/en/reports/what-we-bought/",
        "/en/reports/open-data/",
    ]
    supplier_pages = [
        "/en/dashboard/",
        f"/en/opportunities/{opportunity.pk}/",
        f"/en/bids/{draft.pk}/edit/",
        "/en/profile/",
        "/en/notifications/",
        "/en/notifications/settings/",
    ]
    admin_pages = ["/en/dashboard/", "/en/reports/metrics/", "/en/program/users/"]
    found = {}
    for path in anonymous:
        response = client.get(path)
        assert response.status_code == 200, path
        found[("anonymous", path)] = _inline(response.content.decode())
    client.force_login(profile.user)
    for path in supplier_pages:
        response = client.get(path)
        assert response.status_code == 200, path
        found[("supplier", path)] = _inline(response.content.decode())
    client.force_login(StaffFactory(roles=[Role.PROGRAM_ADMIN]))
    for path in admin_pages:
        response = client.get(path)
        assert response.status_code == 200, path
        found[("admin", path)] = _inline(response.content.decode())
    assert {page: problems for page, problems in found.items() if problems} == {}


def test_the_finder_finds_what_the_policy_would_block():
    assert _inline('<script>alert(1)</script><p style="x" onclick="y">') == [
        "<script> without src",
        "inline script text",
        "style attribute on <p>",
        "onclick on <p>",
    ]
    assert _inline('<script src="/static/js/site.js"></script><p class="x">') == []
