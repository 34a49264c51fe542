"""A small hand-built history with known measures, shared by the dashboard's tests."""

import datetime as dt
import zoneinfo

from django.contrib.contenttypes.models import ContentType

from bids.models import Bid
from marketplace.models import AuditEvent, Role, SupplierProfile
from opportunities.models import Opportunity
from payments.models import Contract, Payment
from reports import services
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

EASTERN = zoneinfo.ZoneInfo("America/Toronto")


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=EASTERN)


def trail(target, *events):
    """Audit events on `target`: (verb, actor, moment[, status moved to])."""
    kind = ContentType.objects.get_for_model(target)
    for verb, actor, moment, *to in events:
        AuditEvent(
            actor=actor,
            verb=verb,
            target_type=kind,
            target_id=str(target.pk),
            data={"to": to[0]} if to else {},
            created_at=moment,
        ).save()


def bid(opportunity, profile, submitted_at, status=Bid.Status.SEALED):
    return Bid.objects.create(
        opportunity=opportunity, supplier=profile.user, status=status, submitted_at=submitted_at
    )


def build_history() -> dict:
    """Two opportunities published in February 2026 (one paid, one still in evaluation) and
    one from November 2025, outside the period; four suppliers."""
    buyer = StaffFactory(roles=[Role.BUYER])
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    ottawa = SupplierProfileFactory(postal_code="K1A 0B1", province="ON")
    toronto = SupplierProfileFactory(
        postal_code="M5V 2T6", province="ON", kind=SupplierProfile.Kind.INDIVIDUAL
    )
    vancouver = SupplierProfileFactory(
        postal_code="V6B 1A1", province="BC", kind=SupplierProfile.Kind.INDIVIDUAL
    )
    drafter = SupplierProfileFactory(postal_code="H2X 1Y4", province="QC")

    paid = OpportunityFactory(
        buyer=buyer,
        status=Opportunity.Status.COMPLETED,
        published_at=at(2, 3),
        closed_at=at(2, 10),
        licence="MIT",
    )
    evaluating = OpportunityFactory(
        buyer=buyer,
        status=Opportunity.Status.EVALUATING,
        published_at=at(2, 3, 9),
        closed_at=at(2, 10, 9),
    )
    older = OpportunityFactory(
        buyer=buyer,
        status=Opportunity.Status.EVALUATING,
        published_at=at(11, 3, year=2025),
        closed_at=at(11, 12, year=2025),
    )
    bid(paid, ottawa, at(2, 5))
    bid(paid, toronto, at(2, 6))
    won = bid(paid, vancouver, at(2, 9), status=Bid.Status.AWARDED)
    bid(evaluating, ottawa, at(2, 6))
    bid(evaluating, drafter, None, status=Bid.Status.DRAFT)  # never submitted: not a bid
    bid(older, toronto, at(11, 5, year=2025))  # Toronto's first bid: before the period

    contract = Contract.objects.create(
        opportunity=paid,
        bid=won,
        supplier=vancouver.user,
        value_cents=500_000,
        status=Contract.Status.ACCEPTED,
        created_at=at(2, 12),
        certified_at=at(2, 19),
        delivery_url="https://github.com/Example-Org/Date-Picker/pull/12",
    )
    payment = Payment.objects.create(
        contract=contract,
        status=Payment.Status.PAID,
        invoice_number="MA-2026-00901",
        issued_on=dt.date(2026, 2, 19),
        province="BC",
        subtotal_cents=500_000,
        total_cents=500_000,
        due_since=at(2, 19),
    )
    # Monday 2 February to Friday 20 February 2026.
    trail(
        paid,
        ("opportunity.created", buyer, at(2, 2, 9)),
        ("opportunity.published", admin, at(2, 3), "published"),
        ("question.asked", ottawa.user, at(2, 4)),  # a bidder who was not awarded
        ("opportunity.closed", None, at(2, 10), "closed"),
        ("opportunity.awarded", buyer, at(2, 12), "awarded"),
    )
    trail(contract, ("contract.certified", buyer, at(2, 19)))
    trail(
        payment,
        ("payment.recorded", holder, at(2, 20), "recorded"),
        ("payment.receipt_confirmed", vancouver.user, at(2, 20, 15), "paid"),
    )
    trail(
        evaluating,
        ("opportunity.created", buyer, at(2, 2, 9)),
        ("opportunity.published", admin, at(2, 3, 9), "published"),
        ("opportunity.closed", None, at(2, 10, 9), "closed"),
    )
    trail(older, ("opportunity.created", buyer, at(11, 2, year=2025)))
    services.measures_refresh()
    return {"paid": paid, "evaluating": evaluating, "older": older, "admin": admin}
