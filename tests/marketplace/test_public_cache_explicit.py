"""Public-page cache invalidation is an explicit call of the writes that change what public pages
show (`marketplace.caching.public_pages_changed_on_commit`), not a side effect of auditing: a
read-only audited event (an evaluator viewing a packet) leaves every cached public page in place,
while publishing replaces the version."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bids import services as bid_services
from evaluation import panel as evaluation_panel
from marketplace import caching
from marketplace.models import AuditEvent, Role
from opportunities.models import Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.tasks import opportunities_close_due
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

pytestmark = [pytest.mark.django_db, pytest.mark.caching]


def public_version() -> str:
    return caching.content_version(caching.PUBLIC_PAGES)


def publish(draft: Opportunity, capture) -> Opportunity:
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    with capture(execute=True):
        opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
        return opportunity_publish(actor=admin, opportunity=draft)


def test_publishing_replaces_the_public_pages_version(django_capture_on_commit_callbacks):
    draft = OpportunityFactory()
    before = public_version()
    publish(draft, django_capture_on_commit_callbacks)
    assert public_version() != before


def test_the_explicit_call_replaces_the_version_on_commit_only(django_capture_on_commit_callbacks):
    before = public_version()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        caching.public_pages_changed_on_commit()
    assert public_version() == before  # nothing before the commit (nor if it rolls back)
    for callback in callbacks:
        callback()
    assert public_version() != before


def test_an_evaluator_viewing_a_packet_leaves_the_public_cache_in_place(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    capture = django_capture_on_commit_callbacks
    opportunity = publish(OpportunityFactory(), capture)
    for _ in range(2):
        supplier = SupplierProfileFactory().user
        bid = bid_services.bid_start(supplier=supplier, opportunity=opportunity)
        bid_services.bid_save_draft(
            supplier=supplier,
            bid=bid,
            answers={c.pk: "We fixed this before." for c in opportunity.criteria.all()},
            proposed_start_date=timezone.localdate() + dt.timedelta(days=14),
            attest_can_work_in_canada=True,
            attest_can_be_paid_by_card=True,
            attest_no_conflict=True,
            accept_terms=True,
        )
        bid_services.bid_submit(supplier=supplier, bid=bid)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=timezone.now() - dt.timedelta(hours=1)
    )
    with capture(execute=True):
        assert opportunities_close_due() == 1
    opportunity.refresh_from_db()
    evaluation = opportunity.evaluation
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    with capture(execute=True):
        member = evaluation_panel.panel_appoint(
            actor=opportunity.buyer, evaluation=evaluation, evaluator=evaluator
        )
        evaluation_panel.panel_declare(evaluator=evaluator, member=member, conflict=False)
    packet = evaluation.packets.first()

    public_page = f"/en/opportunities/{opportunity.pk}/"
    first = client.get(public_page)  # anonymous: rendered and kept
    assert first.status_code == 200
    version = public_version()

    client.force_login(evaluator)
    with capture(execute=True):
        response = client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk]))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(verb="packet.viewed", actor=evaluator).exists()
    assert public_version() == version

    client.logout()
    with django_assert_num_queries(0):
        again = client.get(public_page)
    assert again.content == first.content
