"""Cycle-time measures from the audit trail, on small histories with known answers."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from marketplace.models import AuditEvent, Role
from opportunities.models import Opportunity
from payments import paying, recorded
from payments.models import Payment
from reports.metrics import (
    Action,
    fiscal_quarter,
    measure_file,
    measure_files,
    median,
    p90,
    working_days,
)
from tests.factories import StaffFactory

EASTERN = zoneinfo.ZoneInfo("America/Toronto")
BUYER, ADMIN, EVALUATOR_1, EVALUATOR_2, CARD_HOLDER = 1, 2, 3, 4, 5
BIDDER, AWARDEE = 10, 11


def at(day: int, hour: int = 10, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=EASTERN)


# March 2026: Monday the 2nd, ..., Saturday the 14th, Monday the 23rd.
FILE = [
    Action(at(2), "opportunity.created", BUYER),
    Action(at(2, 15), "opportunity.submitted", BUYER, "in_review"),
    Action(at(3), "opportunity.published", ADMIN, "published"),
    Action(at(4), "question.asked", BIDDER),  # a bidder who was not awarded: not the file's work
    Action(at(10), "opportunity.closed", None, "closed"),  # the system: not a person
    Action(at(12), "marks.submitted", EVALUATOR_1),
    Action(at(12, 14), "marks.submitted", EVALUATOR_2),
    Action(at(13), "opportunity.awarded", BUYER, "awarded"),
    Action(at(14), "contract.accepted", AWARDEE),  # a Saturday: worked, so it counts
    Action(at(18), "contract.delivered", AWARDEE),
    Action(at(19), "contract.certified", BUYER),
    Action(at(20), "payment.recorded", CARD_HOLDER, "recorded"),
    Action(at(23), "payment.receipt_confirmed", AWARDEE, "paid"),
]
WORKERS = {BUYER, ADMIN, EVALUATOR_1, EVALUATOR_2, CARD_HOLDER, AWARDEE}


def test_a_file_measures_its_stages_touch_and_waiting_time_and_people():
    measures = measure_file(reversed(FILE), workers=WORKERS)  # order of the rows is irrelevant
    assert measures.stages == {
        "drafted": at(2),
        "published": at(3),
        "closed": at(10),
        "awarded": at(13),
        "accepted": at(19),
        "paid": at(23),
    }
    # Days worked: 2, 3, 12, 13, 14 (Saturday), 18, 19, 20, 23 — the 4th (a bidder) and the
    # 10th (the system) are not; two evaluators on the 12th are one day.
    assert measures.touch_business_days == 9
    # Business days from Monday the 2nd to Monday the 23rd: 16, plus the Saturday worked.
    assert measures.elapsed_business_days == 17
    assert measures.waiting_business_days == 8
    assert measures.people == 6  # buyer, admin, two evaluators, card holder, awardee: once each


def test_an_open_file_is_measured_to_its_last_action_and_has_no_later_stages():
    measures = measure_file(FILE[:5], workers=WORKERS)
    assert measures.stages["closed"] == at(10)
    assert measures.stages["awarded"] is None and measures.stages["paid"] is None
    assert measures.elapsed_business_days == 7  # Monday 2nd to Tuesday 10th
    assert measures.touch_business_days == 2
    assert measures.people == 2


def test_only_the_first_time_a_stage_is_reached_counts():
    again = [*FILE, Action(at(25), "payment.reconciled_paid", None, "paid")]
    assert measure_file(again, workers=WORKERS).stages["paid"] == at(23)


def test_working_days_count_weekdays_and_weekend_days_worked():
    monday, friday, sunday = dt.date(2026, 3, 2), dt.date(2026, 3, 6), dt.date(2026, 3, 8)
    assert working_days(monday, monday, set()) == 1
    assert working_days(monday, friday, set()) == 5
    assert working_days(monday, sunday, set()) == 5
    assert working_days(monday, sunday, {sunday}) == 6
    assert working_days(monday, dt.date(2026, 3, 30), set()) == 21
    assert working_days(friday, monday, set()) == 0
    assert working_days(monday, friday, {dt.date(2026, 3, 14)}) == 5  # outside the span


def test_median_and_90th_percentile_by_nearest_rank():
    assert median([]) is None and p90([]) is None
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(1, 21))) == 18
    assert p90([5]) == 5


@pytest.mark.parametrize(
    ("moment", "quarter"),
    [
        (dt.datetime(2026, 4, 1, 0, 30, tzinfo=EASTERN), "2026-27 Q1"),
        (dt.datetime(2026, 3, 31, 23, 30, tzinfo=EASTERN), "2025-26 Q4"),
        (dt.datetime(2026, 9, 30, 12, tzinfo=EASTERN), "2026-27 Q2"),
        (dt.datetime(2026, 12, 31, 12, tzinfo=EASTERN), "2026-27 Q3"),
        (dt.datetime(2027, 1, 1, 12, tzinfo=EASTERN), "2026-27 Q4"),
        # 02:00 UTC on 1 April is still 31 March in Ottawa.
        (dt.datetime(2026, 4, 1, 2, tzinfo=dt.UTC), "2025-26 Q4"),
    ],
)
def test_fiscal_quarters_run_from_april_in_eastern_time(moment, quarter):
    assert fiscal_quarter(moment) == quarter


@pytest.mark.django_db
def test_a_real_file_is_gathered_from_every_object_of_its_trail(certified, card_holder):
    """Through the services: publish, bid, evaluate, award, deliver, certify, pay, confirm."""
    opportunity, contract, payment = certified
    paying.payment_start(
        payer=card_holder,
        payment=payment,
        provider=Payment.Provider.RECORDED_CARD,
        amount_cents=payment.total_cents,
        paid_on=timezone.localdate(),
        reference="AUTH-1",
        method=Payment.Method.CARD_TERMINAL,
    )
    recorded.payment_confirm_receipt(supplier=contract.supplier, payment=payment)
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.COMPLETED

    [(pk, measures)] = measure_files([opportunity.pk]).items()
    assert pk == opportunity.pk
    stages = measures.stages
    assert all(stages[s] is not None for s in stages), stages
    ordered = [stages[s] for s in ("drafted", "published", "closed", "awarded", "accepted", "paid")]
    assert ordered == sorted(ordered)
    confirmed = AuditEvent.objects.for_target(payment).get(verb="payment.receipt_confirmed")
    assert stages["paid"] == confirmed.created_at

    # Who acted on the file: the buyer, the admin who published, the two evaluators, the
    # card holder and the awardee; the two bidders who were not awarded are not counted.
    evaluators = {m.evaluator_id for m in opportunity.evaluation.panel.all()}
    admins = set(
        AuditEvent.objects.for_target(opportunity)
        .filter(verb="opportunity.published")
        .values_list("actor_id", flat=True)
    )
    assert measures.people == len(
        {opportunity.buyer_id, card_holder.pk, contract.supplier_id} | evaluators | admins
    )
    assert len(evaluators) == 2 and len(admins) == 1
    assert measures.people == 6
    assert measures.touch_business_days == 1  # everything happened today
    losers = set(opportunity.bids.exclude(pk=contract.bid_id).values_list("supplier_id", flat=True))
    assert len(losers) == 2 and not losers & {card_holder.pk}


@pytest.mark.django_db
def test_files_are_measured_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    buyer = StaffFactory(roles=[Role.BUYER])
    from tests.factories import OpportunityFactory

    few = [OpportunityFactory(buyer=buyer).pk for _ in range(2)]
    many = few + [OpportunityFactory(buyer=buyer).pk for _ in range(8)]
    for ids in (few, many):
        with django_assert_max_num_queries(12):
            assert set(measure_files(ids)) == set(ids)


def test_stages_the_trail_lacks_come_from_what_the_opportunity_records():
    recorded = {"drafted": at(1), "published": at(2), "closed": None, "awarded": None}
    measures = measure_file([Action(at(2, 12), "question.answered", BUYER)], recorded=recorded)
    assert measures.stages["drafted"] == at(1) and measures.stages["published"] == at(2)
    assert measures.elapsed_business_days == 1  # Sunday the 1st to Monday the 2nd
    # The trail wins where it has the stage.
    assert measure_file(FILE, recorded={"published": at(1)}).stages["published"] == at(3)
