"""The permission matrix: every URL pattern with an object in it, asked by every kind of visitor,
gets exactly the expected answer. Someone else's object is a 404 (never a 403 that would confirm
it exists); a page for a role the visitor lacks is a 403; anonymous visitors are sent to sign in.

One file is carried through its whole life (a draft, one in review, one published with a
question, one awarded, delivered with a file, certified and paid), then each URL is requested
by each visitor — GET for pages, POST for actions, inside a savepoint rolled back after each
request so that no visitor's action changes what the next one sees.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import reverse

from bids import services as bid_services
from evaluation import services as evaluation_services
from evaluation.models import Offer
from marketplace import approvals
from marketplace.models import Approval, Notification, Role
from marketplace.services import notification_send
from opportunities import services as opportunity_services
from payments import services as payment_services
from payments.models import CardLimit
from tests.bids.conftest import fill
from tests.bids.test_attachments import make_pdf, upload
from tests.evaluation.conftest import mark_values, seat_panel
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.marketplace.test_urls import all_url_patterns

pytestmark = pytest.mark.django_db

VISITORS = (
    "anonymous",
    "owner_buyer",  # the buyer who posted the opportunities
    "other_buyer",
    "chair",  # the evaluator chairing the panel
    "outside_evaluator",  # an evaluator on no panel of these
    "card_holder",
    "admin",  # a program administrator
    "winner",  # the supplier who owns the bid, contract and payment
    "other_supplier",  # another bidder on the same opportunity
    "stranger",  # a supplier with nothing to do with it
)


@dataclass
class World:
    people: dict
    objects: dict


@pytest.fixture
def world(django_capture_on_commit_callbacks) -> World:
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    buyer = StaffFactory(roles=[Role.BUYER])
    chair, second = (StaffFactory(roles=[Role.EVALUATOR]) for _ in range(2))
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    CardLimit.objects.create(
        card_holder=holder, per_transaction_cents=1_000_000, monthly_cents=2_500_000
    )
    winner, other_supplier, stranger = (SupplierProfileFactory().user for _ in range(3))
    people = {
        "anonymous": None,
        "owner_buyer": buyer,
        "other_buyer": StaffFactory(roles=[Role.BUYER]),
        "chair": chair,
        "outside_evaluator": StaffFactory(roles=[Role.EVALUATOR]),
        "card_holder": holder,
        "admin": admin,
        "winner": winner,
        "other_supplier": other_supplier,
        "stranger": stranger,
    }
    draft = OpportunityFactory(buyer=buyer)
    in_review = OpportunityFactory(buyer=buyer)
    opportunity_services.opportunity_submit_for_review(actor=buyer, opportunity=in_review)
    open_one = OpportunityFactory(buyer=buyer)
    opportunity_services.opportunity_submit_for_review(actor=buyer, opportunity=open_one)
    opportunity_services.opportunity_publish(actor=admin, opportunity=open_one)
    question = opportunity_services.question_ask(
        asker=other_supplier, opportunity=open_one, text="Which browsers?"
    )
    awarded = OpportunityFactory(buyer=buyer)
    opportunity_services.opportunity_submit_for_review(actor=buyer, opportunity=awarded)
    awarded = opportunity_services.opportunity_publish(actor=admin, opportunity=awarded)
    bids = {}
    for name, supplier in (("winner", winner), ("other_supplier", other_supplier)):
        bid = bid_services.bid_start(supplier=supplier, opportunity=awarded)
        fill(bid, supplier)
        bid_services.attachment_add(supplier=supplier, bid=bid, upload=upload(make_pdf()))
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids[name] = bid
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_services.opportunity_close(
            opportunity=awarded, now=awarded.closes_at + dt.timedelta(seconds=1)
        )
    evaluation = awarded.evaluation
    members = seat_panel(evaluation, [chair, second])
    winner_packet = evaluation.packets.get(bid=bids["winner"])
    for evaluator in (chair, second):
        for packet in evaluation.packets.all():
            score = 9 if packet == winner_packet else 4
            evaluation_services.marks_save(
                evaluator=evaluator,
                packet=packet,
                values=mark_values(awarded, score=score, rationale="Clear."),
            )
        evaluation_services.marks_submit(evaluator=evaluator, evaluation=evaluation)
    evaluation.refresh_from_db()
    for packet in evaluation.packets.all():
        score = 9 if packet == winner_packet else 4
        evaluation_services.consensus_save(
            chair=chair,
            packet=packet,
            values=mark_values(awarded, score=score, rationale="Agreed."),
        )
    evaluation_services.evaluation_lock(chair=chair, evaluation=evaluation)
    evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    offer = evaluation_services.evaluation_award(actor=buyer, evaluation=evaluation)
    contract = offer.packet.bid.contract
    contract = payment_services.contract_accept_terms(supplier=winner, contract=contract)
    contract = payment_services.contract_deliver(
        supplier=winner, contract=contract, url="https://github.com/x/y/pull/1", notes="Done.",
        upload=upload(make_pdf()),
    )  # fmt: skip
    contract = payment_services.contract_certify(buyer=buyer, contract=contract, confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            kind="role.granted",
            recipients=[winner],
            event_key="matrix",
            context={"role": {"en": "Supplier", "fr": "Fournisseur"}},
        )
    notification = Notification.objects.filter(recipient=winner).latest("pk")
    # A role grant asked for by a second program admin (no visitor), for the admin to decide.
    approval = approvals.approval_request(
        actor=StaffFactory(roles=[Role.PROGRAM_ADMIN]),
        kind=Approval.Kind.ROLE_GRANT,
        payload={"user": StaffFactory().pk, "role": Role.EVALUATOR},
    )
    objects = {
        "draft": draft,
        "in_review": in_review,
        "open": open_one,
        "question": question,
        "awarded": awarded,
        "evaluation": evaluation,
        "member": members[1],
        "packet": winner_packet,
        "winner_bid": bids["winner"],
        "offer": Offer.objects.filter(packet__bid=bids["winner"]).latest("pk"),
        "contract": contract,
        "payment": contract.payment,
        "delivery_file": contract.files.first(),
        "notification": notification,
        "attachment": bids["winner"].attachments.first(),
        "approval": approval,
    }
    return World(people=people, objects=objects)


def _args(world: World) -> dict[str, tuple[str, list]]:
    """URL name → (method, args) on the world's objects."""
    o = world.objects
    bid, contract, payment = o["winner_bid"], o["contract"], o["payment"]
    awarded = o["awarded"].pk
    return {
        "marketplace:role_user_detail": ("get", [world.people["winner"].pk]),
        "marketplace:role_grant": ("post", [world.people["stranger"].pk]),
        "marketplace:role_revoke": ("post", [world.people["chair"].pk, "evaluator"]),
        "marketplace:approval_list": ("get", []),
        "marketplace:approval_detail": ("get", [o["approval"].pk]),
        "marketplace:approval_approve": ("post", [o["approval"].pk]),
        "marketplace:approval_reject": ("post", [o["approval"].pk]),
        "marketplace:approval_withdraw": ("post", [o["approval"].pk]),
        "marketplace:notification_open": ("post", [o["notification"].pk]),
        "marketplace:notification_read": ("post", [o["notification"].pk]),
        "marketplace:notification_retry": ("post", [o["notification"].pk]),
        "opportunities:detail": ("get", [o["open"].pk]),
        "opportunities:edit": ("get", [o["draft"].pk]),
        "opportunities:submit": ("post", [o["draft"].pk]),
        "opportunities:amend": ("get", [o["open"].pk]),
        "opportunities:ask": ("post", [o["open"].pk]),
        "opportunities:answer": ("post", [o["open"].pk, o["question"].pk]),
        "opportunities:watch": ("post", [o["open"].pk]),
        "opportunities:cancel": ("get", [o["open"].pk]),
        "opportunities:review": ("get", [o["in_review"].pk]),
        "opportunities:publish": ("post", [o["in_review"].pk]),
        "opportunities:request_changes": ("post", [o["in_review"].pk]),
        "bids:start": ("post", [o["open"].pk]),
        "bids:detail": ("get", [bid.pk]),
        "bids:edit": ("get", [bid.pk]),
        "bids:autosave": ("post", [bid.pk]),
        "bids:submit": ("post", [bid.pk]),
        "bids:withdraw": ("post", [bid.pk]),
        "bids:confirm": ("post", [bid.pk]),
        "bids:receipt": ("get", [bid.pk, 1]),
        "bids:attachment_add": ("post", [bid.pk]),
        "bids:attachment": ("get", [bid.pk, o["attachment"].pk]),
        "bids:attachment_remove": ("post", [bid.pk, o["attachment"].pk]),
        "evaluation:overview": ("get", [awarded]),
        "evaluation:draw": ("get", [awarded]),
        "evaluation:appoint": ("post", [awarded]),
        "evaluation:make_chair": ("post", [awarded, o["member"].pk]),
        "evaluation:declare": ("post", [awarded]),
        "evaluation:packets": ("get", [awarded]),
        "evaluation:packet": ("get", [awarded, o["packet"].pk]),
        "evaluation:packet_attachment": ("get", [awarded, o["packet"].pk, 1]),
        "evaluation:submit": ("post", [awarded]),
        "evaluation:consensus": ("get", [awarded]),
        "evaluation:consensus_packet": ("get", [awarded, o["packet"].pk]),
        "evaluation:lock": ("post", [awarded]),
        "evaluation:reveal": ("post", [awarded]),
        "evaluation:award": ("post", [awarded]),
        "evaluation:access_log": ("get", [awarded]),
        "evaluation:offer_decline": ("post", [o["offer"].pk]),
        "payments:detail": ("get", [payment.pk]),
        "payments:record": ("post", [payment.pk]),
        "payments:checkout": ("post", [payment.pk]),
        "payments:checkout_return": ("get", [payment.pk]),
        "payments:confirm": ("post", [payment.pk]),
        "payments:report_missing": ("post", [payment.pk]),
        "payments:invoice": ("get", [payment.pk]),
        "payments:invoice_pdf": ("get", [payment.pk]),
        "payments:card_limit": ("post", [world.people["card_holder"].pk]),
        "payments:contract": ("get", [contract.pk]),
        "payments:accept_terms": ("post", [contract.pk]),
        "payments:deliver": ("post", [contract.pk]),
        "payments:file": ("get", [contract.pk, o["delivery_file"].pk]),
        "payments:request_changes": ("post", [contract.pk]),
        "payments:certify": ("post", [contract.pk]),
        "payments:default": ("post", [contract.pk]),
    }


def _answer(response) -> str:
    """What the visitor got: `login`; `ok` (shown or done); `refused` (the view said no with an
    error message); `invalid` (reached the view, the empty form was refused on its merits); or
    the status code (403, 404, 405)."""
    code = response.status_code
    if code == 302 and "/accounts/login/" in response["Location"]:
        return "login"
    if code in (400, 409):
        return "invalid"
    if code in (200, 302, 303):
        said = list(get_messages(response.wsgi_request))
        return "refused" if any(m.level >= messages.ERROR for m in said) else "ok"
    return str(code)


def _observe(world: World) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for name, (method, args) in _args(world).items():
        path = reverse(name, args=args)
        row = {}
        for visitor in VISITORS:
            client = Client()
            if world.people[visitor] is not None:
                client.force_login(world.people[visitor])
            with transaction.atomic():
                response = getattr(client, method)(path)
                transaction.set_rollback(True)
            row[visitor] = _answer(response)
        table[name] = row
    return table


def test_every_object_url_is_covered():
    with_objects = {
        name
        for name, path in all_url_patterns()
        if name and "/1/" in path and not name.startswith(("account_", "admin:", "mfa_"))
    }
    # Not about one person's object: public by design, or a token is the authorization.
    with_objects -= {"marketplace:unsubscribe", "opportunities:skill_feed"}
    assert with_objects - set(EXPECTED) == set()


# Expected answers, column by column in VISITORS order: anonymous, owner_buyer, other_buyer,
# chair, outside_evaluator, card_holder, admin, winner, other_supplier, stranger.
# "ok": shown or done; "refused" / "invalid": the view was reached and said no on the merits
# (an empty form, a state that does not allow it) — within the parties, who may do what is
# proven by each app's own tests; this table proves who reaches the object at all.
EXPECTED: dict[str, str] = {
    "marketplace:role_user_detail": "login 403 403 403 403 403 ok 403 403 403",
    "marketplace:role_grant": "login 403 403 403 403 403 invalid 403 403 403",
    "marketplace:role_revoke": "login 403 403 403 403 403 ok 403 403 403",
    # Program admins see every request; whoever asked sees their own; nobody else any.
    "marketplace:approval_list": "login 403 403 403 403 403 ok 403 403 403",
    "marketplace:approval_detail": "login 404 404 404 404 404 ok 404 404 404",
    "marketplace:approval_approve": "login 404 404 404 404 404 ok 404 404 404",
    "marketplace:approval_reject": "login 404 404 404 404 404 refused 404 404 404",  # no note
    "marketplace:approval_withdraw": "login 404 404 404 404 404 403 404 404 404",  # not theirs
    "marketplace:notification_open": "login 404 404 404 404 404 404 ok 404 404",
    "marketplace:notification_read": "login 404 404 404 404 404 404 ok 404 404",
    "marketplace:notification_retry": "login 403 403 403 403 403 refused 403 403 403",
    "opportunities:detail": "ok ok ok ok ok ok ok ok ok ok",
    "opportunities:edit": "login ok 404 403 403 403 403 403 403 403",
    "opportunities:submit": "login ok 404 404 404 404 404 404 404 404",
    "opportunities:amend": "login ok 404 404 404 404 404 404 404 404",
    "opportunities:ask": (
        "login refused refused refused refused refused refused refused refused refused"
    ),
    "opportunities:answer": "login refused 404 404 404 404 404 404 404 404",
    "opportunities:watch": "login 404 404 404 404 404 404 ok ok ok",
    "opportunities:cancel": "login ok 404 404 404 404 ok 404 404 404",
    "opportunities:review": "login 403 403 403 403 403 ok 403 403 403",
    "opportunities:publish": "login 403 403 403 403 403 ok 403 403 403",
    "opportunities:request_changes": "login 403 403 403 403 403 refused 403 403 403",
    "bids:start": "login 403 403 403 403 403 403 ok ok ok",
    "bids:detail": "login 404 404 404 404 404 404 ok 404 404",
    "bids:edit": "login 404 404 404 404 404 404 refused 404 404",
    "bids:autosave": "login 404 404 404 404 404 404 invalid 404 404",
    "bids:submit": "login 404 404 404 404 404 404 refused 404 404",
    "bids:withdraw": "login 404 404 404 404 404 404 refused 404 404",
    "bids:confirm": "login 404 404 404 404 404 404 refused 404 404",
    "bids:receipt": "login 404 404 404 404 404 404 ok 404 404",
    "bids:attachment_add": "login 404 404 404 404 404 404 refused 404 404",
    "bids:attachment": "login 404 404 404 404 404 404 ok 404 404",
    "bids:attachment_remove": "login 404 404 404 404 404 404 refused 404 404",
    "evaluation:overview": "login ok 404 ok 404 404 ok 404 404 404",
    "evaluation:draw": "ok ok ok ok ok ok ok ok ok ok",
    "evaluation:appoint": "login refused 404 404 404 404 404 404 404 404",
    "evaluation:make_chair": "login refused 404 404 404 404 404 404 404 404",
    "evaluation:declare": "login 404 404 ok 404 404 404 404 404 404",
    "evaluation:packets": "login 404 404 ok 404 404 404 404 404 404",
    "evaluation:packet": "login 404 404 ok 404 404 404 404 404 404",
    "evaluation:packet_attachment": "login 404 404 ok 404 404 404 404 404 404",
    "evaluation:submit": "login 404 404 refused 404 404 404 404 404 404",
    "evaluation:consensus": "login 404 404 ok 404 404 404 404 404 404",
    "evaluation:consensus_packet": "login 404 404 ok 404 404 404 404 404 404",
    "evaluation:lock": "login 404 404 ok 404 404 404 404 404 404",  # locked already: said so
    "evaluation:reveal": "login ok 404 404 404 404 404 404 404 404",  # revealed already
    "evaluation:award": "login ok 404 404 404 404 404 404 404 404",  # awarded already
    "evaluation:access_log": "login 404 404 404 404 404 ok 404 404 404",
    "evaluation:offer_decline": "login 404 404 404 404 404 404 refused 404 404",
    "payments:detail": "login ok 404 404 404 ok ok ok 404 404",
    "payments:record": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:checkout": "login refused 404 404 404 refused refused refused 404 404",
    "payments:checkout_return": "login ok 404 404 404 ok ok ok 404 404",
    "payments:confirm": "login 403 404 404 404 403 403 refused 404 404",
    "payments:report_missing": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:invoice": "login ok 404 404 404 ok ok ok 404 404",
    "payments:invoice_pdf": "login ok 404 404 404 ok ok ok 404 404",
    "payments:card_limit": "login 403 403 403 403 403 invalid 403 403 403",
    "payments:contract": "login ok 404 404 404 ok ok ok 404 404",
    "payments:accept_terms": "login 403 404 404 404 403 403 refused 404 404",
    "payments:deliver": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:file": "login ok 404 404 404 ok ok ok 404 404",
    "payments:request_changes": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:certify": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:default": "login invalid 404 404 404 invalid invalid invalid 404 404",
}


def test_each_visitor_gets_exactly_the_expected_answer(world):
    observed = _observe(world)
    expected = {
        name: dict(zip(VISITORS, row.split(), strict=True)) for name, row in EXPECTED.items()
    }
    differences = {
        name: {
            v: (expected[name][v], observed[name][v])
            for v in VISITORS
            if expected[name][v] != observed[name][v]
        }
        for name in observed
        if name in expected
    }
    assert {k: v for k, v in differences.items() if v} == {}
    assert set(observed) == set(expected)
