"""The cached public pages never show what a fresh rendering would not (issue 22, point 3).

The anonymous public pages (the opportunity list and its searches, an opportunity's page, the
feeds: `marketplace.caching.cache_public_page`) are kept until a write that changes what they
show calls `public_pages_changed_on_commit()`. A write that forgets it serves the page as it was
for up to `PUBLIC_PAGE_CACHE_SECONDS`: a cancelled posting still open, an answer missing, the
wrong awardee. So each journey here goes step by step through the services, and after every step
fetches every public page anonymously twice (the second read must come from the cache: no query)
and compares both with the page rendered with the cache off. The pages are read after each step,
so a step that changes one without the call finds the former rendering still kept, and fails.

The other way round, what only reads or changes nothing public (a bid, a question asked, the
panel's steps, an evaluator's marks, a packet viewed, a download, a dashboard) keeps the version:
emptying the cache then would throw every page away in the busiest hour for nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from evaluation import packets as packet_services
from evaluation import services as evaluation_services
from evaluation.models import Evaluation, Offer
from lifecycle import award
from marketplace import approvals, caching
from marketplace import services as marketplace_services
from marketplace.jobs import task_named
from marketplace.models import Approval
from opportunities import questions
from opportunities.addenda import opportunity_amend
from opportunities.cancellation import opportunity_cancel
from opportunities.models import Opportunity, Skill
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from payments import contracts, paying, recorded
from payments.models import Payment
from tests import builders
from tests.factories import OpportunityFactory, SkillFactory, SupplierProfileFactory, UserFactory

BUILD_PACKETS = "evaluation.tasks.evaluation_build_packets"

pytestmark = [pytest.mark.django_db, pytest.mark.caching]

# What changes with the clock alone, not with the data: the time left before the deadline (kept
# up to date by site.js), and the date a feed or package without entries gives itself.
TIME_LEFT = re.compile(r'(data-deadline="[^"]*">)[^<]*')
EMPTY_FEED_UPDATED = re.compile(r"<updated>[^<]*</updated>")
PACKAGE_DATE = re.compile(r'"publishedDate": "[^"]*"')


def public_version() -> str:
    return caching.content_version(caching.PUBLIC_PAGES)


def _comparable(response) -> tuple[int, str]:
    body = response.content.decode()
    body = TIME_LEFT.sub(r"\1", body)
    if "<feed" in body and "<entry>" not in body:
        body = EMPTY_FEED_UPDATED.sub("", body, count=1)
    body = PACKAGE_DATE.sub("", body)
    return response.status_code, body


class PublicPages:
    """Every public page that shows `opportunity`, read as a visitor who is not signed in."""

    def __init__(self, opportunity: Opportunity, *, skill: Skill | None = None, word: str = ""):
        self.visitor = Client()
        pk = opportunity.pk
        listing = reverse("opportunities:list")
        cached = [listing, f"{listing}?status=open", f"{listing}?status=closed"]
        if word:
            cached.append(f"{listing}?q={word}")
        if skill is not None:
            cached += [
                f"{listing}?skill={skill.slug}",
                reverse("opportunities:skill_feed", args=[skill.slug]),
            ]
        self.detail = reverse("opportunities:detail", args=[pk])
        with translation.override("fr"):
            self.detail_fr = reverse("opportunities:detail", args=[pk])
            listing_fr = reverse("opportunities:list")
        self.cached = [
            *cached,
            self.detail,
            reverse("opportunities:feed"),
            self.detail_fr,
            listing_fr,
        ]
        # Public, but rendered on each request today: checked all the same, so that caching
        # one of them later brings it under this test at once.
        self.uncached = [
            reverse("evaluation:draw", args=[pk]),
            reverse("opportunities:awarded"),
            reverse("reports:purchases"),
            reverse("reports:ocds_package"),
            reverse("reports:contracts_csv"),
        ]

    def fresh(self, url: str) -> tuple[int, str]:
        with override_settings(PUBLIC_PAGE_CACHE_SECONDS=0):
            return _comparable(self.visitor.get(url))

    def assert_coherent(self, after: str) -> None:
        for url in self.cached:
            first = _comparable(self.visitor.get(url))  # kept from before the step, if still valid
            with CaptureQueriesContext(connection) as queries:
                second = _comparable(self.visitor.get(url))
            fresh = self.fresh(url)
            assert first == fresh, f"after {after}: {url} is served stale from the cache"
            assert second == fresh, f"after {after}: {url} is served stale from the cache"
            if fresh[0] == 200:
                assert not queries.captured_queries, f"{url} was not served from the cache"
        for url in self.uncached:
            assert _comparable(self.visitor.get(url)) == self.fresh(url), f"after {after}: {url}"


@contextlib.contextmanager
def step(pages: PublicPages, name: str, *, keeps_version: bool = False) -> Iterator[None]:
    """One write (or read) as a request makes it, committed; then every public page checked.
    `keeps_version`: it changes nothing public, so the cached pages must all stay."""
    before = public_version()
    with builders.on_commit(execute=True):
        yield
    if keeps_version:
        assert public_version() == before, f"{name} threw the cached public pages away"
    pages.assert_coherent(name)


def _broker_down(*args, **kwargs):
    raise OSError("The broker is down (the sweeper enqueues it later).")


def _staff_reads(client: Client, user, urls: list[str]) -> None:
    client.force_login(user)
    for url in urls:
        assert client.get(url).status_code == 200, url
    client.logout()


def test_every_public_page_matches_a_fresh_rendering_along_the_whole_journey(monkeypatch):
    skill, other_skill = SkillFactory(slug="accessibility"), SkillFactory(slug="react")
    draft = OpportunityFactory(skills=[skill])
    admin = builders.program_admin()
    pages = PublicPages(draft, skill=other_skill, word="calendar")
    pages.cached += [
        f"{reverse('opportunities:list')}?skill={skill.slug}",
        reverse("opportunities:skill_feed", args=[skill.slug]),
    ]
    staff = Client()
    pages.assert_coherent("the draft")

    with step(pages, "the submission for review", keeps_version=True):
        opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    with step(pages, "the publication"):
        opportunity = opportunity_publish(actor=admin, opportunity=draft)

    askers = [SupplierProfileFactory().user for _ in range(2)]
    with step(pages, "questions asked", keeps_version=True):
        asked = [
            questions.question_ask(asker=asker, opportunity=opportunity, text=f"Which browser {n}?")
            for n, asker in enumerate(askers)
        ]
    with step(pages, "an answer"):
        questions.question_answer(
            actor=opportunity.buyer, question=asked[0], answer_en="Firefox.", answer_fr="Firefox."
        )
    with step(pages, "an answer published as an addendum"):
        questions.question_answer(
            actor=opportunity.buyer,
            question=asked[1],
            answer_en="Chrome too.",
            answer_fr="Chrome aussi.",
            as_addendum=True,
        )
    with step(pages, "an amendment"):
        opportunity_amend(
            actor=opportunity.buyer,
            opportunity=opportunity,
            note_en="A calendar, a new value and a later close.",
            note_fr="Un calendrier, une nouvelle valeur et une clôture plus tardive.",
            title_en="Fix the calendar widget",
            title_fr="Corriger le calendrier",
            value_cents=250_000,
            closes_at=opportunity.closes_at + dt.timedelta(days=1),
            skills=[skill, other_skill],
        )
    opportunity.refresh_from_db()

    with step(pages, "bids submitted", keeps_version=True):
        bids = builders.submitted_bids(opportunity, count=3)
    with step(pages, "a receipt read", keeps_version=True):
        _staff_reads(staff, bids[0].supplier, [reverse("bids:receipt", args=[bids[0].pk, 1])])

    # The packets are the worker's, after the close commits: built in a step of their own here
    # (the broker "down" at the close), as the worker or the sweeper would, later.
    with monkeypatch.context() as patch, step(pages, "the close and the commitment"):
        patch.setattr(task_named(BUILD_PACKETS), "apply_async", _broker_down)
        opportunity = builders.close(opportunity, capture=builders.on_commit)
    assert opportunity.status == Opportunity.Status.CLOSED
    with step(pages, "the packets built"):
        packet_services.evaluation_build_packets(opportunity=opportunity)
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.EVALUATING
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    assert evaluation.label_digest

    panel = builders.evaluators(2)
    marks = builders.scores_by_label(evaluation, builders.DEFAULT_MARKS)
    with step(pages, "the panel seated and declared", keeps_version=True):
        builders.seat_panel(evaluation, panel)
    with step(pages, "the evaluators' marks", keeps_version=True):
        for evaluator in panel:
            builders.mark_all(evaluation, evaluator, marks)
    packet = evaluation.packets.first()
    with step(pages, "packets read, dashboards read", keeps_version=True):
        _staff_reads(
            staff,
            panel[1],
            [
                reverse("evaluation:packets", args=[opportunity.pk]),
                reverse("evaluation:packet", args=[opportunity.pk, packet.pk]),
                reverse("marketplace:dashboard"),
            ],
        )
        _staff_reads(
            staff,
            opportunity.buyer,
            [
                reverse("evaluation:overview", args=[opportunity.pk]),
                reverse("marketplace:dashboard"),
            ],
        )
        _staff_reads(staff, admin, [reverse("reports:metrics")])
    evaluation.refresh_from_db()
    with step(pages, "the consensus", keeps_version=True):
        builders.consensus_all(evaluation, panel[0], marks)

    with step(pages, "the lock and the selection"):
        evaluation_services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    with step(pages, "the reveal"):
        evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    with step(pages, "the award"):
        first = award.evaluation_award(actor=opportunity.buyer, evaluation=evaluation)
    assert first.packet.bid.supplier.supplier_profile.display_name in pages.fresh(pages.detail)[1]

    with step(pages, "the awardee declining"):
        award.contract_decline(
            supplier=first.packet.bid.supplier, contract=first.packet.bid.contract, reason="Busy."
        )
    second = Offer.objects.get(evaluation=evaluation, outcome=Offer.Outcome.OPEN)
    contract = second.packet.bid.contract
    supplier = contract.supplier
    with step(pages, "the new awardee renaming itself"):
        marketplace_services.supplier_profile_save(
            actor=supplier, user=supplier, trading_name="Renamed Works"
        )
    with step(pages, "the terms accepted"):
        contract = contracts.contract_accept_terms(supplier=supplier, contract=contract)
    with step(pages, "the delivery"):
        contract = contracts.contract_deliver(
            supplier=supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
        )
    with step(pages, "the certification"):
        contract = contracts.contract_certify(
            buyer=opportunity.buyer, contract=contract, confirmed=True
        )
    assert "Renamed Works" in pages.fresh(pages.detail_fr)[1]  # the notice, in French

    payment = contract.payment
    holder = builders.card_holder()
    with step(pages, "the invoice read and downloaded", keeps_version=True):
        _staff_reads(
            staff,
            holder,
            [
                reverse("payments:invoice", args=[payment.pk]),
                reverse("payments:invoice_pdf", args=[payment.pk]),
            ],
        )
    with step(pages, "the payment recorded"):
        payment = paying.payment_start(
            payer=holder,
            payment=payment,
            provider=Payment.Provider.RECORDED_CARD,
            amount_cents=payment.total_cents,
            paid_on=timezone.localdate(),
            reference="AUTH-1",
            method=Payment.Method.CARD_TERMINAL,
        )
    with step(pages, "the payment confirmed"):
        recorded.payment_confirm_receipt(supplier=supplier, payment=payment)
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.COMPLETED

    superuser = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    staff.force_login(superuser)
    with step(pages, "a skill renamed in the technical admin"):
        response = staff.post(
            reverse("admin:opportunities_skill_change", args=[other_skill.pk]),
            {"slug": other_skill.slug, "name_en": "React apps", "name_fr": "Applications React"},
        )
        assert response.status_code == 302
    assert "React apps" in pages.fresh(pages.detail)[1]


def test_a_cancellation_before_the_reveal_shows_at_once():
    skill = SkillFactory()
    opportunity = builders.published_opportunity(skills=[skill])
    pages = PublicPages(opportunity, skill=skill, word="picker")
    pages.assert_coherent("the publication")
    with step(pages, "the cancellation"):
        opportunity_cancel(actor=opportunity.buyer, opportunity=opportunity, reason="Not needed.")
    assert "Not needed." in pages.fresh(pages.detail)[1]


def test_a_cancellation_approved_after_the_reveal_shows_at_once():
    evaluation, _panel = builders.locked_evaluation(reveal=True)
    opportunity = evaluation.opportunity
    pages = PublicPages(opportunity)
    pages.assert_coherent("the reveal")
    admins = [builders.program_admin(), builders.program_admin()]
    with step(pages, "the request to cancel", keeps_version=True):
        approval = approvals.approval_request(
            actor=admins[0],
            kind=Approval.Kind.OPPORTUNITY_CANCEL,
            payload={"opportunity": opportunity.pk, "reason": "The need went away."},
        )
    with step(pages, "the approval"):
        approvals.approval_approve(actor=admins[1], approval=approval)
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.CANCELLED


def test_the_ends_without_an_award_show_at_once():
    # No bid at all: closed, then unsuccessful once the (empty) packets are built.
    empty = builders.published_opportunity()
    pages = PublicPages(empty)
    pages.assert_coherent("the publication")
    with step(pages, "a close without bids"):
        builders.close(empty, capture=builders.on_commit)
    assert Opportunity.objects.get(pk=empty.pk).status == Opportunity.Status.UNSUCCESSFUL

    # Nobody qualified: the lock ends it.
    evaluation, panel = builders.consensus_reached(marks=[(False, 3), (False, 6)])
    pages = PublicPages(evaluation.opportunity)
    pages.assert_coherent("the consensus")
    with step(pages, "a lock without a qualified bid"):
        evaluation_services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    unsuccessful = Opportunity.objects.get(pk=evaluation.opportunity_id)
    assert unsuccessful.status == Opportunity.Status.UNSUCCESSFUL

    # The only awardee in default, nobody next in rank.
    opportunity, contract = builders.awarded_contract(marks=[(True, 8), (False, 2)])
    pages = PublicPages(opportunity)
    pages.assert_coherent("the award")
    offer = Offer.objects.get(packet__bid=contract.bid, outcome=Offer.Outcome.OPEN)
    with step(pages, "a default with nobody next"):
        award.offer_end(
            actor=opportunity.buyer,
            offer=offer,
            outcome=Offer.Outcome.DEFAULTED,
            reason="Never started.",
        )
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.UNSUCCESSFUL


def test_a_write_without_the_call_is_caught(monkeypatch):
    """The check above fails when a write forgets `public_pages_changed_on_commit()`."""
    opportunity = builders.published_opportunity()
    question = questions.question_ask(
        asker=SupplierProfileFactory().user, opportunity=opportunity, text="Which browser?"
    )
    pages = PublicPages(opportunity)
    pages.assert_coherent("the question")
    monkeypatch.setattr(questions, "public_pages_changed_on_commit", lambda: None)
    with (
        pytest.raises(AssertionError, match="served stale from the cache"),
        step(pages, "an answer that forgot the call"),
    ):
        questions.question_answer(
            actor=opportunity.buyer, question=question, answer_en="Any.", answer_fr="Tous."
        )
