"""The demo's past year (demo.history.seed_history): its shape, its consistency with what the
services would have written, and that seeding it is quiet, quick and done once."""

import datetime as dt
import statistics
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from bids.models import Answer, Bid, Receipt
from bids.services import content_digest
from demo.accounts import STAFF, SUPPLIERS
from demo.history import CATALOGUE, HISTORY_BUYERS, history_supplier_email, seed_history
from evaluation.draw import packet_score, selection_ranking
from evaluation.models import ConsensusMark, Evaluation, Mark, Offer, Packet, PanelMember
from evaluation.verification import verify_draw
from marketplace.models import AuditEvent, Notification, Role, RoleGrant, SupplierProfile, User
from opportunities.models import Criterion, Licence, Opportunity, Question
from payments import tax
from payments.contracts import contracts_remind_overdue
from payments.fiscal import fiscal_year_start
from payments.limits import month_committed
from payments.models import Contract, Payment, PaymentEvent
from reports.models import SelfIdentification
from tests.factories import SupplierFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("America/Toronto")
NCR_PREFIXES = ("K1", "K2", "J8", "J9A", "J9H", "J9J")  # Ottawa and Gatineau
S = Opportunity.Status


@pytest.fixture
def demo_accounts():
    """The accounts seed_history builds on, as seed_demo makes them (without the live demo)."""
    for email, name, language, roles in STAFF:
        UserFactory(email=email, full_name=name, preferred_language=language, roles=roles)
    for email, language, fields in SUPPLIERS:
        user = SupplierFactory(
            email=email, full_name=fields["contact_name"], preferred_language=language
        )
        SupplierProfile.objects.create(user=user, **fields)


@pytest.fixture
def history(demo_accounts):
    assert seed_history() == len(CATALOGUE)
    return list(
        Opportunity.objects.filter(buyer__email__in=HISTORY_BUYERS)
        .select_related("buyer")
        .order_by("created_at")
    )


def _events(obj) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_target(obj).select_related("actor").order_by("created_at"))


def _follows_the_graph(events, start: str, transitions: dict, final: str) -> None:
    """The from/to of the events walk the model's allowed transitions from `start` to `final`."""
    state = start
    for event in events:
        if "to" in event.data and "from" in event.data:
            assert event.data["from"] == state, event.verb
            assert event.data["to"] in transitions[state], event.verb
            state = event.data["to"]
    assert state == final


def _awardee(opportunity) -> User | None:
    contract = Contract.objects.filter(opportunity=opportunity).first()
    return contract.supplier if contract else None


def _shape(now, rng_seed=2026):
    """Seed the history in a savepoint, read what it made, roll it back."""

    class Done(Exception):
        pass

    try:
        with transaction.atomic():
            seed_history(now=now, rng_seed=rng_seed)
            opportunities = [
                (o.title_en, o.value_cents, o.status, o.bids.count())
                for o in Opportunity.objects.order_by("title_en")
            ]
            moments = [
                (e.verb, e.target_type_id, timezone.localtime(e.created_at, ZONE))
                for e in AuditEvent.objects.order_by("created_at", "id")
            ]
            raise Done(opportunities, [(v, t, m.replace(tzinfo=None)) for v, t, m in moments])
    except Done as done:
        return done.args


def test_history_is_thirty_past_opportunities_over_the_last_twelve_months(history):
    now = timezone.now()
    assert len(history) == len(CATALOGUE) == 30
    assert all(now - dt.timedelta(days=366) < o.created_at < now for o in history)
    assert not AuditEvent.objects.filter(created_at__gt=now).exists()
    months = {(o.published_at.year, o.published_at.month) for o in history}
    assert len(months) >= 10
    statuses = Counter(o.status for o in history)
    assert statuses[S.COMPLETED] >= 20
    assert statuses[S.IN_DELIVERY] == 3
    assert statuses[S.CANCELLED] >= 1 and statuses[S.UNSUCCESSFUL] >= 1
    assert set(statuses) <= {S.COMPLETED, S.IN_DELIVERY, S.CANCELLED, S.UNSUCCESSFUL}
    assert len({o.type for o in history}) >= 5
    assert len({s.slug for o in history for s in o.skills.all()}) >= 6
    assert len({o.licence for o in history}) >= 4
    for o in history:
        assert 50_000 <= o.value_cents <= 1_000_000
        assert o.title_fr and o.summary_fr and o.description_fr and o.deliverables_fr
        assert o.title_fr != o.title_en and o.summary_fr != o.summary_en
        assert o.criteria.count() == 3
    assert len({o.value_cents for o in history}) >= 10


def test_the_same_seed_gives_the_same_history_and_another_week_only_shifts_it(demo_accounts):
    wednesday = dt.datetime(2026, 3, 18, 12, 0, tzinfo=ZONE)
    first = _shape(wednesday)
    assert _shape(wednesday) == first
    # Ten weeks and two days later (a Friday): the same file, every moment ten weeks later,
    # at the same local time (across the changes to and from daylight time).
    later = _shape(wednesday + dt.timedelta(weeks=10, days=2))
    assert later[0] == first[0]
    assert [(v, r) for v, r, _t in later[1]] == [(v, r) for v, r, _t in first[1]]
    assert {b - a for (_v, _r, a), (_w, _s, b) in zip(first[1], later[1], strict=True)} == {
        dt.timedelta(weeks=10)
    }
    other = _shape(wednesday, rng_seed=7)
    assert [title for title, *_rest in other[0]] == [title for title, *_rest in first[0]]
    assert [value for _t, value, *_rest in other[0]] != [value for _t, value, *_rest in first[0]]


def test_every_state_change_has_its_audit_event_by_a_plausible_actor(history):
    admin = User.objects.get(email="admin@demo.gc.ca")
    for o in history:
        events = _events(o)
        assert (events[0].verb, events[0].actor) == ("opportunity.created", o.buyer)
        _follows_the_graph(events, S.DRAFT, Opportunity.TRANSITIONS, o.status)
        awardee = _awardee(o)
        evaluation = Evaluation.objects.filter(opportunity=o).first()
        chair = evaluation and evaluation.panel.filter(is_chair=True).first()
        for event in events:
            verb = event.verb.removeprefix("opportunity.")
            if verb in ("created", "submitted", "cancelled", "awarded", "question.answered"):
                assert event.actor == o.buyer, event.verb
            elif verb in ("published", "changes_requested"):
                assert event.actor == admin, event.verb
            elif verb in ("closed", "evaluating"):
                assert event.actor is None
            elif verb in ("in_delivery", "completed"):
                assert event.actor == awardee
            elif verb == "unsuccessful":
                assert event.actor in (None, chair and chair.evaluator)
            else:
                assert verb == "question.asked"
                assert Role.SUPPLIER in event.actor.roles
        if o.status == S.CANCELLED:
            assert evaluation is None
            assert o.cancel_reason and events[-1].data["reason"] == o.cancel_reason
            continue
        _check_evaluation_events(evaluation, o)
        if awardee is not None:
            _check_contract_events(Contract.objects.get(opportunity=o), o)
        for bid in o.bids.all():
            events = _events(bid)
            verbs = [(e.verb, e.actor) for e in events[:2]]
            assert verbs == [("bid.started", bid.supplier), ("bid.submitted", bid.supplier)]
            assert events[1].data["digest"] == bid.receipts.get().digest
            # Then the moves the services make (sealed at the close, qualified or not at the
            # lock, awarded or not): a chain from "submitted" to the bid's status, by others.
            status = Bid.Status.SUBMITTED
            for event in events[2:]:
                assert event.actor != bid.supplier
                assert event.data["from"] == status and event.verb == f"bid.{event.data['to']}"
                status = event.data["to"]
            assert status == bid.status


def _check_evaluation_events(evaluation, o) -> None:
    events = _events(evaluation)
    _follows_the_graph(events, Evaluation.Status.PREPARING, Evaluation.TRANSITIONS,
                       evaluation.status)  # fmt: skip
    assert events[0].verb == "evaluation.committed"
    assert events[0].data["commitment"] == evaluation.commitment
    panel = list(evaluation.panel.select_related("evaluator"))
    chair = next((m.evaluator for m in panel if m.is_chair), None)
    evaluators = {m.evaluator for m in panel}
    by_verb = defaultdict(list)
    for event in events:
        by_verb[event.verb].append(event.actor)
    if not evaluation.packets.exists():
        assert set(by_verb) == {"evaluation.committed", "evaluation.no_bids"}
        assert by_verb["evaluation.no_bids"] == [None]
        return
    assert by_verb["panel.appointed"] == [o.buyer, o.buyer]
    assert set(by_verb["panel.declared_no_conflict"]) == evaluators
    assert set(by_verb["marks.submitted"]) == evaluators and len(evaluators) == 2
    assert set(by_verb["consensus.recorded"]) == {chair}
    assert len(by_verb["consensus.recorded"]) == evaluation.packets.count()
    assert by_verb["evaluation.panel_complete"] == by_verb["evaluation.consensus"] == [None]
    for member in panel:
        assert Role.EVALUATOR in member.evaluator.roles
        assert member.evaluator != o.buyer
    if evaluation.status == Evaluation.Status.AWARDED:
        assert by_verb["evaluation.selected"] == [chair]
        assert by_verb["evaluation.revealed"] == by_verb["evaluation.awarded"] == [o.buyer]
    else:
        assert by_verb["evaluation.unsuccessful"] == [chair]
    viewed = AuditEvent.objects.filter(verb="packet.viewed", target_id__in=[
        str(pk) for pk in evaluation.packets.values_list("pk", flat=True)
    ])  # fmt: skip
    assert {e.actor for e in viewed} == evaluators


def _check_contract_events(contract, o) -> None:
    events = _events(contract)
    assert (events[0].verb, events[0].actor) == ("contract.created", None)
    _follows_the_graph(events, Contract.Status.AWAITING_ACCEPTANCE, Contract.TRANSITIONS,
                       contract.status)  # fmt: skip
    for event in events[1:]:
        supplier_acts = event.verb in ("contract.accepted", "contract.delivered")
        assert event.actor == (contract.supplier if supplier_acts else o.buyer), event.verb
    payment = Payment.objects.filter(contract=contract).first()
    if payment is None:
        assert o.status == S.IN_DELIVERY
        return
    events = _events(payment)
    assert (events[0].verb, events[0].actor) == ("payment.due", None)
    _follows_the_graph(events, Payment.Status.DUE, Payment.TRANSITIONS, Payment.Status.PAID)
    assert [(e.verb, e.actor) for e in events[1:]] == [
        ("payment.recorded", payment.payer),
        ("payment.receipt_confirmed", contract.supplier),
    ]
    assert Role.CARD_HOLDER in payment.payer.roles


def test_timestamps_follow_the_file_and_match_the_audit_trail(history):
    durations = []
    for o in history:
        events = _events(o)
        at = {event.verb: event.created_at for event in events}  # the last of each verb
        assert o.created_at == events[0].created_at
        assert o.created_at <= o.submitted_at <= o.published_at < o.closes_at
        assert (o.submitted_at, o.published_at) == (
            at["opportunity.submitted"],
            at["opportunity.published"],
        )
        assert o.question_deadline < o.closes_at
        assert o.alerts_sent_at and o.alerts_sent_at > o.published_at
        for question in o.questions.all():
            assert o.published_at < question.created_at < question.answered_at < o.closes_at
        end = o.cancelled_at or o.closes_at
        for bid in o.bids.all():
            assert o.published_at < bid.created_at < bid.submitted_at < end
            assert bid.receipts.get().submitted_at == bid.submitted_at
            assert bid.sealed_at == (None if o.cancelled_at else o.closes_at)
        if o.status == S.CANCELLED:
            assert o.published_at < o.cancelled_at == at["opportunity.cancelled"] < o.closes_at
            assert o.closed_at is None
            continue
        assert o.closed_at == o.closes_at == at["opportunity.closed"]
        contract = Contract.objects.filter(opportunity=o).first()
        if contract is None:
            assert o.awarded_at is None
            continue
        evaluation = o.evaluation
        assert o.closes_at < evaluation.locked_at < evaluation.revealed_at <= o.awarded_at
        assert o.awarded_at == at["opportunity.awarded"] == evaluation.offers.get().offered_at
        assert o.awarded_at < contract.created_at < contract.terms_accepted_at
        assert at["opportunity.in_delivery"] > contract.terms_accepted_at
        contract_at = {e.verb: e.created_at for e in _events(contract)}
        assert contract_at["contract.accepted"] == contract.terms_accepted_at
        if contract.delivered_at:
            assert contract.terms_accepted_at < contract.delivered_at
            assert contract_at["contract.delivered"] == contract.delivered_at
        if contract.status == Contract.Status.IN_PROGRESS:
            assert o.expected_delivery_date >= timezone.localdate()  # no overdue reminders
        if contract.status != Contract.Status.ACCEPTED:
            continue
        payment = contract.payment
        assert contract.delivered_at < contract.certified_at == contract_at["contract.certified"]
        assert contract.certified_at == payment.due_since
        assert payment.due_since < payment.recorded_at < payment.paid_at == payment.confirmed_at
        assert payment.paid_on == timezone.localdate(payment.recorded_at)
        paid = next(e for e in _events(payment) if e.data.get("to") == "paid")
        assert paid.created_at == payment.paid_at
        assert payment.paid_at < at["opportunity.completed"]
        durations.append(payment.paid_at - o.created_at)
    # Days to a few weeks a file, far from the baseline's fifteen weeks.
    assert max(durations) < dt.timedelta(weeks=10)
    assert statistics.median(durations) < dt.timedelta(weeks=7)
    assert min(durations) > dt.timedelta(weeks=2)


def test_staff_act_in_office_hours_and_system_events_have_no_actor(history):
    staff = AuditEvent.objects.filter(actor__email__endswith="@demo.gc.ca")
    assert staff.count() > 300
    for event in staff:
        local = timezone.localtime(event.created_at)
        assert local.weekday() < 5 and 9 <= local.hour < 17, (event.verb, local)
    system = {"opportunity.closed", "opportunity.evaluating", "evaluation.committed",
              "evaluation.packets_ready", "evaluation.panel_complete", "evaluation.consensus",
              "contract.created", "payment.due"}  # fmt: skip
    assert not AuditEvent.objects.filter(verb__in=system, actor__isnull=False).exists()
    weekend_bids = [
        e for e in AuditEvent.objects.filter(verb="bid.submitted")
        if timezone.localtime(e.created_at).weekday() >= 5
    ]  # fmt: skip
    assert weekend_bids  # suppliers bid on weekends too


def test_payments_total_the_contract_values_paid_by_recorded_card(history):
    card_holder = User.objects.get(email="cardholder@demo.gc.ca")
    payments = Payment.objects.filter(contract__opportunity__in=history).select_related(
        "contract__opportunity", "contract__supplier__supplier_profile"
    )
    assert payments.count() == sum(o.status == S.COMPLETED for o in history)
    for payment in payments:
        contract, profile = payment.contract, payment.contract.supplier.supplier_profile
        assert payment.total_cents == contract.value_cents == contract.opportunity.value_cents
        assert payment.subtotal_cents + payment.tax_cents == payment.total_cents
        split = tax.split_tax_included(
            contract.value_cents, province=profile.province, registered=bool(profile.gst_hst_number)
        )
        assert (payment.tax_cents, payment.tax_label) == (split.tax_cents, split.label)
        assert (payment.status, payment.provider, payment.payer) == (
            Payment.Status.PAID,
            Payment.Provider.RECORDED_CARD,
            card_holder,
        )
        assert payment.invoice_number == f"MA-{payment.issued_on.year}-{contract.pk:05d}"
        assert [(e.kind, e.from_status, e.to_status, e.actor) for e in payment.events.all()] == [
            ("due", "", "due", None),
            ("recorded", "due", "recorded", card_holder),
            ("receipt_confirmed", "recorded", "paid", contract.supplier),
        ]
        assert payment.events.all()[1].data["amount_cents"] == payment.total_cents
        assert contract.delivery_url.startswith(contract.opportunity.repository_url)
        assert contract.delivery_url.startswith("https://github.com/example-org/")
        assert contract.opportunity.licence in Licence.values
        assert contract.certified_by == contract.opportunity.buyer != payment.payer
    # Nothing from the history counts against the card holder's limit this month.
    assert month_committed(card_holder, moment=timezone.now()) == 0


def test_the_draws_check_out_and_the_scores_follow_the_consensus(history):
    evaluations = Evaluation.objects.filter(opportunity__in=history)
    assert evaluations.count() == sum(o.status != S.CANCELLED for o in history)
    methods = set()
    for evaluation in evaluations.select_related("opportunity"):
        opportunity = evaluation.opportunity
        packets = list(evaluation.packets.prefetch_related("consensus").select_related("bid"))
        if not packets:
            assert evaluation.status == Evaluation.Status.UNSUCCESSFUL
            assert evaluation.public_seed == ""
            continue
        assert verify_draw(evaluation) == []
        criteria = list(opportunity.criteria.all())
        scores = {}
        for packet in packets:
            assert (packet.qualified, packet.score) == packet_score(packet, criteria)
            assert packet.marks.count() == 2 * len(criteria)
            if packet.qualified:
                scores[packet.label] = packet.score
        _eligible, _order, ranking = selection_ranking(
            method=opportunity.selection_method, seed=evaluation.seed, scores=scores,
            margin=opportunity.draw_margin_points,
        )  # fmt: skip
        assert {p.label: p.rank for p in packets if p.rank} == {
            label: i for i, label in enumerate(ranking, start=1)
        }
        methods.add(opportunity.selection_method)
        if evaluation.status == Evaluation.Status.UNSUCCESSFUL:
            assert {p.bid.status for p in packets} == {Bid.Status.DISQUALIFIED}
            continue
        offer = evaluation.offers.get()
        assert offer.packet.rank == 1 and offer.packet.label == evaluation.selected_label
        assert offer.packet.bid.status == Bid.Status.AWARDED
        assert {p.bid.status for p in packets if p != offer.packet} <= {Bid.Status.NOT_AWARDED}
    assert len(methods) >= 2


def test_participation_figures_have_something_to_show(history):
    closed = [o for o in history if o.status != S.CANCELLED]
    bids = {o.pk: o.bids.counted().count() for o in closed}
    assert any(n >= 3 for n in bids.values()) and any(n == 1 for n in bids.values())
    assert 0.3 <= sum(n >= 3 for n in bids.values()) / len(bids) <= 0.9
    assert max(bids.values()) <= 7
    bidders = User.objects.filter(bids__opportunity__in=history).distinct()
    assert bidders.count() >= 15
    demo = bidders.filter(email__endswith="@demo.example").exclude(email__startswith="history-")
    assert 1 <= demo.count() <= 4
    profiles = SupplierProfile.objects.filter(user__in=bidders)
    inside = [p for p in profiles if p.postal_code.startswith(NCR_PREFIXES)]
    assert len(inside) >= 3 and profiles.count() - len(inside) >= 10
    assert len({p.province for p in profiles}) >= 8
    awardees = SupplierProfile.objects.filter(user__contracts__opportunity__in=history)
    assert {p.kind for p in awardees} == set(SupplierProfile.Kind.values)
    first_bid = {}
    for bid in Bid.objects.filter(opportunity__in=history).order_by("submitted_at"):
        first_bid.setdefault(bid.supplier_id, bid.submitted_at)
    assert len({(t.year, (t.month - 1) // 3) for t in first_bid.values()}) >= 4
    # No supplier passes the fiscal year's $25,000 flag (the demo suppliers stay well under).
    per_year = Counter()
    for contract in Contract.objects.filter(opportunity__in=history).select_related("supplier"):
        per_year[contract.supplier.email, fiscal_year_start(contract.created_at.date())] += (
            contract.value_cents
        )
    assert per_year and max(per_year.values()) <= 2_500_000
    assert all(v <= 1_000_000 for (email, _y), v in per_year.items() if "history" not in email)


def test_history_suppliers_have_complete_profiles_and_some_self_identify(history):
    suppliers = User.objects.filter(email__startswith="history-supplier-")
    assert 15 <= suppliers.count() <= 25
    assert User.objects.get(email=history_supplier_email(1)).check_password("demo-pass-2026!")
    for user in suppliers:
        assert user.roles == {Role.SUPPLIER}
        assert user.supplier_profile.is_complete
        assert user.date_joined < min([b.created_at for b in user.bids.all()] or [timezone.now()])
    assert {p.kind for p in SupplierProfile.objects.filter(user__in=suppliers)} == set(
        SupplierProfile.Kind.values
    )
    counts = Counter(g for s in SelfIdentification.objects.all() for g in s.groups)
    assert set(counts) <= set(SelfIdentification.Group.values)
    assert any(n >= 5 for n in counts.values()) and any(1 <= n < 5 for n in counts.values())
    assert all(s.user.email.startswith("history-") for s in SelfIdentification.objects.all())
    staff = User.objects.filter(email__in=HISTORY_BUYERS)
    assert all(u.roles == {Role.BUYER} for u in staff)
    assert (
        RoleGrant.objects.filter(user__in=staff, granted_by__email="admin@demo.gc.ca").count() == 3
    )


def test_a_sample_of_every_kind_of_row_passes_full_clean(history):
    models = [User, SupplierProfile, SelfIdentification, Opportunity, Criterion, Question, Bid,
              Answer, Receipt, Evaluation, Packet, PanelMember, Mark, ConsensusMark, Offer,
              Contract, Payment, PaymentEvent, AuditEvent]  # fmt: skip
    for model in models:
        rows = list(model.objects.order_by("-pk")[:5]) + list(model.objects.order_by("pk")[:5])
        assert rows, model
        for row in rows:
            # A rated mark leaves `passed` empty, which BooleanField(null=True) without
            # blank=True refuses; the services' own marks are the same (they skip full_clean).
            row.full_clean(exclude=["passed"] if model in (Mark, ConsensusMark) else None)
    for receipt in Receipt.objects.all():
        assert receipt.digest == content_digest(receipt.content)
        assert receipt.content["supplier"] == receipt.bid.supplier_id


def test_a_second_run_adds_nothing_and_nothing_is_sent(
    demo_accounts, mailoutbox, django_capture_on_commit_callbacks
):
    models = [User, SupplierProfile, Opportunity, Bid, Evaluation, Contract, Payment,
              PaymentEvent, AuditEvent, SelfIdentification, Mark]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert seed_history() == 30
        counts = {model: model.objects.count() for model in models}
        assert seed_history() == 0
    assert {model: model.objects.count() for model in models} == counts
    assert not Notification.objects.exists() and mailoutbox == [] and callbacks == []


def test_seeding_the_history_is_done_in_bulk(demo_accounts, django_assert_max_num_queries):
    with django_assert_max_num_queries(500):  # about 400: mostly full_clean checking keys
        seed_history()


def test_seeding_needs_the_demo_accounts():
    with pytest.raises(RuntimeError, match="Run seed_demo first"):
        seed_history()
    assert not Opportunity.objects.exists()


def test_seed_demo_history_leaves_the_live_demo_usable(client, settings):
    settings.STAFF_MFA_REQUIRED = False
    call_command("seed_demo", verbosity=0)
    history = Opportunity.objects.filter(buyer__email__in=HISTORY_BUYERS)
    completed = history.filter(status=S.COMPLETED).order_by("closes_at").first()
    assert history.count() == 30
    # The public list opens on what is open; the past is one filter away.
    page = client.get("/en/opportunities/").content.decode()
    assert completed.title_en not in page
    assert completed.title_en in client.get("/en/opportunities/?status=closed").content.decode()
    assert client.get("/en/opportunities/awarded/?page=2").status_code == 200
    for language, title in (("en", completed.title_en), ("fr", completed.title_fr)):
        response = client.get(f"/{language}/opportunities/{completed.pk}/")
        assert response.status_code == 200 and title in response.content.decode()
        assert client.get(f"/{language}/evaluation/{completed.pk}/draw/").status_code == 200
    contract = Contract.objects.get(opportunity=completed)
    client.force_login(completed.buyer)
    for path in (
        "/en/dashboard/",
        f"/en/evaluation/{completed.pk}/",
        f"/en/payments/contracts/{contract.pk}/",
        f"/en/payments/{contract.payment.pk}/",
        f"/en/payments/{contract.payment.pk}/invoice/",
    ):
        assert client.get(path).status_code == 200, path
    loser = (
        completed.bids.exclude(pk=contract.bid_id).first()
        or Bid.objects.filter(opportunity__in=history, status=Bid.Status.NOT_AWARDED).first()
    )
    for bid in (contract.bid, loser):
        client.force_login(bid.supplier)
        assert client.get(f"/en/bids/{bid.pk}/").status_code == 200
    # The live buyer's dashboard lists the live demo only; nothing waits for the card holder.
    client.force_login(User.objects.get(email="buyer@demo.gc.ca"))
    listed = client.get("/en/dashboard/").context["buyer_opportunities"]
    assert {o.buyer.email for o, _stage in listed} == {"buyer@demo.gc.ca"}
    client.force_login(User.objects.get(email="admin@demo.gc.ca"))
    assert client.get("/en/payments/oversight/").status_code == 200
    assert not Payment.objects.filter(
        contract__opportunity__in=history, status__in=Payment.OPEN
    ).exists()
    assert contracts_remind_overdue() == 0
