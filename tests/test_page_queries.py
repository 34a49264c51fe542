"""The pages the benchmark measures (bench/README.md) read in a fixed number of queries, at
most 12, whatever the data: each is loaded once on a small history and once on a larger one.

Speed itself is measured by the benchmark, never here; the query count is what a test can
hold steady."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bids import services as bid_services
from bids.models import Bid
from evaluation.models import Packet
from marketplace.models import Role
from opportunities.models import Opportunity, OpportunityType, Watch
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_ask
from reports import services as report_services
from tests.builders import close_with_bids, fill, seat_panel
from tests.factories import (
    OpportunityFactory,
    SkillFactory,
    StaffFactory,
    SupplierProfileFactory,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12


class Site:
    """A history that grows: `grow()` adds one more of everything the pages list or count."""

    def __init__(self, capture):
        self.admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
        self.skill = SkillFactory(slug="accessibility", name_en="Accessibility")
        self.supplier = SupplierProfileFactory().user
        self.evaluator = StaffFactory(roles=[Role.EVALUATOR])
        self.opportunity = self._publish()
        self.draft = bid_services.bid_start(supplier=self.supplier, opportunity=self.opportunity)
        fill(self.draft, self.supplier)
        closed, _bids = close_with_bids(self.admin, capture)
        self.evaluation = closed.evaluation
        seat_panel(self.evaluation, [self.evaluator])
        self.packet = Packet.objects.filter(evaluation=self.evaluation).first()

    def _publish(self, **fields) -> Opportunity:
        fields.setdefault("skills", [self.skill])
        draft = OpportunityFactory(
            type=OpportunityType.ACCESSIBILITY,
            title_en="Make the forms accessible",
            title_fr="Rendre les formulaires accessibles",
            **fields,
        )
        opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
        return opportunity_publish(actor=self.admin, opportunity=draft)

    def grow(self, times: int) -> None:
        for _ in range(times):
            other = self._publish(skills=[self.skill, SkillFactory()])
            asked = self.opportunity.questions.count()  # a new question each time: one is once
            question_ask(
                asker=self.supplier, opportunity=self.opportunity, text=f"Is fork {asked} allowed?"
            )
            bid = bid_services.bid_start(supplier=self.supplier, opportunity=other)
            fill(bid, self.supplier)
            bid_services.bid_submit(supplier=self.supplier, bid=bid)
            Watch.objects.get_or_create(user=self.supplier, opportunity=other)
            rival = SupplierProfileFactory().user
            fill(bid_services.bid_start(supplier=rival, opportunity=other), rival)
        report_services.measures_refresh()


PAGES = {
    "public list": (None, lambda s: "/en/opportunities/", "Make the forms accessible"),
    "search in English": (
        None,
        lambda s: "/en/opportunities/?q=accessible",
        "Make the forms accessible",
    ),
    "search in French": (
        None,
        lambda s: "/fr/opportunities/?q=accessibles",
        "Rendre les formulaires accessibles",
    ),
    "filtered list": (
        None,
        lambda s: "/en/opportunities/?skill=accessibility&type=accessibility&value_min=1000",
        "Make the forms accessible",
    ),
    "opportunity detail": (
        None,
        lambda s: f"/en/opportunities/{s.opportunity.pk}/",
        "Make the forms accessible",
    ),
    "Atom feed": (None, lambda s: "/en/opportunities/feed/", "Make the forms accessible"),
    "supplier dashboard": ("supplier", lambda s: "/en/dashboard/", "Make the forms accessible"),
    "bid form": ("supplier", lambda s: f"/en/bids/{s.draft.pk}/edit/", "Make the forms"),
    "evaluator's packet": (
        "evaluator",
        lambda s: f"/en/evaluation/{s.evaluation.opportunity_id}/packets/{s.packet.pk}/",
        "Bid ",
    ),
    "metrics dashboard": ("admin", lambda s: "/en/reports/metrics/", "Program metrics"),
}


def _queries(client, site: Site, name: str) -> int:
    who, url, expected = PAGES[name]
    client.force_login(getattr(site, who)) if who else client.logout()
    address = url(site)
    client.get(address)  # warm caches that a second visit would find warm (e.g. content types)
    with CaptureQueriesContext(connection) as context:
        response = client.get(address)
    assert response.status_code == 200, (name, address, response.status_code)
    assert expected in response.content.decode(), name
    return len(context.captured_queries)


@pytest.mark.parametrize("name", list(PAGES))
def test_a_benchmarked_page_reads_in_a_fixed_number_of_queries(
    client, name, django_capture_on_commit_callbacks
):
    site = Site(django_capture_on_commit_callbacks)
    site.grow(1)
    small = _queries(client, site, name)
    site.grow(6)
    assert _queries(client, site, name) == small
    assert small <= MAX_QUERIES, f"{name}: {small} queries"


def test_the_larger_history_really_is_larger(django_capture_on_commit_callbacks):
    site = Site(django_capture_on_commit_callbacks)
    site.grow(1)
    counts = (Opportunity.objects.count(), Bid.objects.count(), Watch.objects.count())
    site.grow(6)
    assert Opportunity.objects.count() == counts[0] + 6
    assert Bid.objects.count() == counts[1] + 12
    assert Watch.objects.count() == counts[2] + 6
    assert site.opportunity.questions.count() == 7
    assert timezone.now() < site.opportunity.closes_at
