"""The dashboard's "Waiting for you" (issue 23, task-first dashboards): along the journey, each
role sees its step at the right moment, with its link, and not once the step is done; nobody
else ever sees it; the page reads in both languages and its queries do not grow with the data.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from bids import services as bid_services
from evaluation import panel as panel_services
from evaluation import services as evaluation_services
from evaluation.models import Evaluation
from lifecycle.award import evaluation_award
from marketplace import approvals
from marketplace.models import Approval, Role
from opportunities.addenda import addendum_create
from opportunities.models import Opportunity
from opportunities.publishing import (
    opportunity_publish,
    opportunity_request_changes,
    opportunity_submit_for_review,
)
from opportunities.questions import question_answer, question_ask, question_dismiss
from payments import contracts, paying, recorded
from payments.models import Payment
from reports.waiting import Task, waiting_for
from tests import builders
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db


def _steps(user) -> list[tuple[str, str]]:
    """(what to do, where) for each task waiting for `user`."""
    return [(task.action, task.url) for task in waiting_for(user)]


def _only(user) -> Task:
    tasks = waiting_for(user)
    assert len(tasks) == 1, [(t.action, t.url) for t in tasks]
    return tasks[0]


def _dashboard(client, user, language: str = "en") -> str:
    client.force_login(user)
    response = client.get(f"/{language}/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def _supplier():
    return SupplierProfileFactory().user


# --- Supplier: the bid ---------------------------------------------------------------------------


def test_a_draft_waits_to_be_submitted_until_it_is(buyer):
    opportunity = builders.published_opportunity(buyer=buyer)
    supplier, other = _supplier(), _supplier()
    bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)

    task = _only(supplier)
    assert task.action == "Submit your bid"
    assert task.url == reverse("bids:edit", args=[bid.pk])
    assert task.due == opportunity.closes_at and task.due_label == "Bids close"
    assert "sealed" in task.next_step
    assert waiting_for(other) == []

    bid_services.bid_submit(supplier=supplier, bid=bid)
    assert waiting_for(supplier) == []


def test_an_addendum_asks_the_bidder_to_confirm_and_stops_once_confirmed(buyer):
    opportunity = builders.published_opportunity(buyer=buyer)
    supplier = _supplier()
    bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)
    bid_services.bid_submit(supplier=supplier, bid=bid)
    addendum_create(
        actor=buyer, opportunity=opportunity, note_en="New date.", note_fr="Nouvelle date.",
        changed=[],
    )  # fmt: skip

    task = _only(supplier)
    assert task.action == "Read addendum 1 and confirm your bid"
    assert task.url == reverse("bids:detail", args=[bid.pk])
    bid_services.bid_confirm(supplier=supplier, bid=bid)
    assert waiting_for(supplier) == []


def test_a_draft_on_a_closed_opportunity_waits_for_nothing(buyer):
    opportunity = builders.published_opportunity(buyer=buyer)
    supplier = _supplier()
    builders.draft_bid(opportunity=opportunity, supplier=supplier)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        closes_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert waiting_for(supplier) == []


# --- Buyer: questions, review ---------------------------------------------------------------------


def test_questions_wait_for_their_buyer_until_answered_or_dismissed(buyer):
    opportunity = builders.published_opportunity(buyer=buyer)
    other_buyer = builders.buyer()
    builders.published_opportunity(buyer=other_buyer)
    asker = _supplier()
    first = question_ask(asker=asker, opportunity=opportunity, text="Which browsers?")
    second = question_ask(asker=asker, opportunity=opportunity, text="Is remote work fine?")

    task = _only(buyer)
    assert task.action == "Answer 2 questions"
    assert task.url == reverse("opportunities:detail", args=[opportunity.pk]) + "#qa-heading"
    assert task.due == opportunity.closes_at
    assert waiting_for(other_buyer) == []
    assert waiting_for(asker) == []

    question_answer(actor=buyer, question=first, answer_en="All.", answer_fr="Tous.")
    assert _only(buyer).action == "Answer 1 question"
    question_dismiss(
        actor=buyer, question=second, dismissed_as="duplicate", reason="Answered in the notice."
    )
    assert waiting_for(buyer) == []


def test_review_waits_for_the_other_program_admins_then_changes_wait_for_the_buyer(
    program_admin,
):
    draft = OpportunityFactory()
    buyer = draft.buyer
    opportunity_submit_for_review(actor=buyer, opportunity=draft)

    task = _only(program_admin)
    assert task.action == "Review the posting"
    assert task.url == reverse("opportunities:review", args=[draft.pk])
    assert waiting_for(buyer) == []

    opportunity_request_changes(actor=program_admin, opportunity=draft, note="Add the licence.")
    assert waiting_for(program_admin) == []
    task = _only(buyer)
    assert task.action == "Make the changes the program team asked for"
    assert task.url == reverse("opportunities:edit", args=[draft.pk])

    opportunity_submit_for_review(actor=buyer, opportunity=draft)
    assert waiting_for(buyer) == []
    opportunity_publish(actor=program_admin, opportunity=draft)
    assert waiting_for(program_admin) == []


def test_a_program_admin_never_reviews_their_own_posting():
    admin_buyer = StaffFactory(roles=[Role.PROGRAM_ADMIN, Role.BUYER])
    draft = OpportunityFactory(buyer=admin_buyer)
    opportunity_submit_for_review(actor=admin_buyer, opportunity=draft)
    assert waiting_for(admin_buyer) == []


def test_a_two_person_request_waits_for_another_admin_not_the_one_who_asked(program_admin):
    second = builders.program_admin()
    staff = StaffFactory()
    approval = approvals.approval_request(
        actor=program_admin,
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": staff.pk, "role": Role.EVALUATOR},
    )
    assert waiting_for(program_admin) == []
    task = _only(second)
    assert task.action == "Approve or reject a request"
    assert task.url == reverse("marketplace:approval_detail", args=[approval.pk])
    assert staff.email in task.subject
    assert waiting_for(staff) == []

    approvals.approval_approve(actor=second, approval=approval)
    assert waiting_for(second) == []


# --- The evaluation, then the award, delivery and payment -----------------------------------------


def test_the_whole_journey_hands_each_step_to_its_person_and_no_one_else(card_holder):
    marks = [(True, 9), (True, 5)]
    opportunity, bids = builders.sealed_bids(count=2)
    buyer = opportunity.buyer
    evaluation = opportunity.evaluation
    pk = opportunity.pk
    panel = builders.evaluators(2)
    bystanders = [builders.buyer(), builders.evaluators(1)[0], _supplier()]

    def nobody_else(*people):
        for person in bystanders + list(people):
            assert waiting_for(person) == [], person

    assert _steps(buyer) == [
        ("Appoint the evaluation panel and its chair", reverse("evaluation:overview", args=[pk]))
    ]
    nobody_else(*panel, *(bid.supplier for bid in bids))

    members = [
        panel_services.panel_appoint(
            actor=buyer, evaluation=evaluation, evaluator=e, is_chair=i == 0
        )
        for i, e in enumerate(panel)
    ]
    assert waiting_for(buyer) == []  # the evaluators' turn
    for evaluator in panel:
        assert _steps(evaluator) == [
            ("Declare any conflict of interest", reverse("evaluation:declare", args=[pk]))
        ]

    for member, evaluator in zip(members, panel, strict=True):
        panel_services.panel_declare(evaluator=evaluator, member=member, conflict=False)
    for evaluator in panel:
        assert _steps(evaluator) == [
            ("Score the bids, then submit your marks", reverse("evaluation:packets", args=[pk]))
        ]

    scores = builders.scores_by_label(evaluation, marks)
    builders.mark_all(evaluation, panel[1], scores)
    assert waiting_for(panel[1]) == []
    builders.mark_all(evaluation, panel[0], scores)
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.CONSENSUS
    assert _steps(panel[0]) == [
        ("Record the consensus and lock it", reverse("evaluation:consensus", args=[pk]))
    ]
    nobody_else(panel[1], buyer)

    builders.consensus_all(evaluation, panel[0], scores)
    evaluation = evaluation_services.evaluation_lock(chair=panel[0], evaluation=evaluation)
    assert _steps(buyer) == [("Reveal who bid", reverse("evaluation:overview", args=[pk]))]
    nobody_else(*panel)

    evaluation = evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    assert _steps(buyer) == [("Award the contract", reverse("evaluation:overview", args=[pk]))]

    contract = evaluation_award(actor=buyer, evaluation=evaluation).packet.bid.contract
    supplier = contract.supplier
    loser = next(bid.supplier for bid in bids if bid.supplier != supplier)
    contract_page = reverse("payments:contract", args=[contract.pk])
    task = _only(supplier)
    assert (task.action, task.url) == ("Accept the contract, or decline it", contract_page)
    assert task.due == contract.accept_by
    nobody_else(buyer, loser, *panel)

    contract = contracts.contract_accept_terms(supplier=supplier, contract=contract)
    assert _steps(supplier) == [("Deliver the work", contract_page)]
    nobody_else(buyer)

    contract = contracts.contract_deliver(
        supplier=supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    assert waiting_for(supplier) == []
    assert _steps(buyer) == [
        ("Review the delivered work, then certify it or ask for changes", contract_page)
    ]
    assert waiting_for(card_holder) == []

    contract = contracts.contract_certify(buyer=buyer, contract=contract, confirmed=True)
    payment = contract.payment
    payment_page = reverse("payments:detail", args=[payment.pk])
    assert waiting_for(buyer) == []
    task = _only(card_holder)
    assert task.url == payment_page and task.action.startswith(
        f"Pay invoice {payment.invoice_number}"
    )
    nobody_else(supplier)

    paying.payment_start(
        payer=card_holder, payment=payment, provider=Payment.Provider.RECORDED_CARD,
        amount_cents=payment.total_cents, paid_on=timezone.localdate(), reference="AUTH-1",
        method=Payment.Method.CARD_TERMINAL,
    )  # fmt: skip
    assert waiting_for(card_holder) == []
    task = _only(supplier)
    assert (task.action, task.url) == ("Confirm that you received the payment", payment_page)
    assert task.due is not None and task.due > timezone.now()

    recorded.payment_confirm_receipt(supplier=supplier, payment=Payment.objects.get(pk=payment.pk))
    nobody_else(supplier, buyer, card_holder, loser, *panel)


def test_changes_requested_wait_for_the_supplier_with_their_deadline(awarded):
    opportunity, contract = awarded
    contract = builders.contract_in_progress(contract)
    contract = contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://github.com/x/y/pull/1", notes=""
    )
    contract = contracts.contract_request_changes(
        buyer=opportunity.buyer, contract=contract, reasons="The focus ring is missing."
    )
    task = _only(contract.supplier)
    assert task.action == "Make the changes the buyer asked for and deliver again"
    assert task.due == contract.cure_deadline and task.due_label == "Changes due by"
    assert waiting_for(opportunity.buyer) == []


def test_a_late_delivery_asks_the_buyer_to_follow_up(awarded):
    opportunity, contract = awarded
    builders.contract_in_progress(contract)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        expected_delivery_date=timezone.localdate() - dt.timedelta(days=1)
    )
    task = _only(opportunity.buyer)
    assert task.action.startswith("The delivery is late")
    assert task.overdue


def test_the_card_holder_who_certified_is_not_asked_to_pay(settings):
    settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER = True
    buyer_and_holder = StaffFactory(roles=[Role.BUYER, Role.CARD_HOLDER])
    _opportunity, _contract, payment = builders.payment_due(buyer=buyer_and_holder)
    other_holder = builders.card_holder()
    assert waiting_for(buyer_and_holder) == []
    assert _only(other_holder).url == reverse("payments:detail", args=[payment.pk])


def test_a_suspended_staff_role_gives_no_task(closed):
    opportunity, _bids = closed
    buyer = opportunity.buyer
    assert waiting_for(buyer)
    buyer.emailaddress_set.update(verified=False)
    buyer = type(buyer).objects.with_roles().get(pk=buyer.pk)
    assert waiting_for(buyer) == []


# --- The page -------------------------------------------------------------------------------------


def test_the_page_lists_each_step_with_its_link_date_and_what_happens_next(client, buyer):
    opportunity = builders.published_opportunity(buyer=buyer)
    supplier = _supplier()
    bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)
    page = _dashboard(client, supplier)
    assert "Waiting for you" in page
    assert f'href="{reverse("bids:edit", args=[bid.pk])}"' in page
    assert "Bids close:" in page
    assert "What happens next:" in page
    assert "Nothing is waiting for you." not in page
    assert page.index('id="waiting-heading"') < page.index('id="supplier-heading"')


@pytest.mark.parametrize(("language", "month"), [("en", "December"), ("fr", "décembre")])
def test_the_page_reads_in_both_languages(client, buyer, language, month):
    closes = timezone.make_aware(dt.datetime(2030, 12, 20, 14, 0))
    opportunity = builders.published_opportunity(
        buyer=buyer, title_en="Fix the date picker", title_fr="Corriger le sélecteur de date"
    )
    Opportunity.objects.filter(pk=opportunity.pk).update(closes_at=closes)
    question_ask(asker=_supplier(), opportunity=opportunity, text="Which browsers?")
    page = _dashboard(client, buyer, language)
    title = "Fix the date picker" if language == "en" else "Corriger le sélecteur de date"
    assert title in page
    assert month in page
    with translation.override(language):
        link = reverse("opportunities:detail", args=[opportunity.pk])
    assert link.startswith(f"/{language}/") and f'href="{link}#qa-heading"' in page


def test_nothing_waiting_says_so(client, buyer):
    page = _dashboard(client, buyer)
    assert "Nothing is waiting for you." in page


def test_another_persons_step_is_not_on_my_page(client, buyer):
    opportunity = builders.published_opportunity(buyer=buyer)
    question_ask(asker=_supplier(), opportunity=opportunity, text="Which browsers?")
    other = builders.buyer()
    page = _dashboard(client, other)
    assert "Answer 1 question" not in page
    assert "Nothing is waiting for you." in page


def test_hostile_query_strings_do_not_break_the_page(client, buyer):
    client.force_login(buyer)
    response = client.get("/en/dashboard/", {"page": "-1", "x": "<script>", "due": "\x00"})
    assert response.status_code == 200


# --- Queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3])
def test_the_staff_dashboard_reads_in_a_fixed_number_of_queries(
    client, size, django_assert_max_num_queries
):
    staff = builders.staff_with_everything_waiting(size)
    assert len(waiting_for(staff)) == 5 * size
    client.force_login(staff)
    client.get("/en/dashboard/")  # warm what a second visit finds warm (content types)
    with django_assert_max_num_queries(20):
        response = client.get("/en/dashboard/")
    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 3])
def test_the_supplier_dashboard_reads_in_a_fixed_number_of_queries(
    client, buyer, size, django_assert_max_num_queries
):
    supplier = _supplier()
    for _ in range(size):
        opportunity = builders.published_opportunity(buyer=buyer)
        builders.draft_bid(opportunity=opportunity, supplier=supplier)
        supplier.watches.create(opportunity=opportunity)
    assert len(waiting_for(supplier)) == size
    client.force_login(supplier)
    client.get("/en/dashboard/")
    with django_assert_max_num_queries(12):
        response = client.get("/en/dashboard/")
    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 3])
def test_waiting_for_reads_one_or_two_queries_a_role(size, django_assert_max_num_queries):
    staff = builders.staff_with_everything_waiting(size)
    with django_assert_max_num_queries(8):
        assert len(waiting_for(staff)) == 5 * size
