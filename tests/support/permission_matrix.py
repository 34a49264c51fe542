"""The stage of the permission matrix (tests/test_permission_matrix.py) and of the hostile
input (tests/test_hostile_input.py): one file carried through its whole life (a draft, one in
review, one published with a question, one awarded, delivered with a file, certified and paid),
the visitors who ask for it, each URL's arguments on it, and the answer each visitor must get.
The `world` fixture (tests/conftest.py) builds it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bids import services as bid_services
from evaluation import marking as evaluation_marking
from evaluation import services as evaluation_services
from evaluation.models import Offer
from lifecycle import award, closing
from marketplace import approvals
from marketplace.models import Approval, Notification, Role
from marketplace.services import notification_send
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from opportunities.questions import question_ask
from payments import contracts
from payments.models import CardLimit
from tests.builders import fill, mark_values, seat_panel
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.attachments import make_pdf, upload

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


def build_world(django_capture_on_commit_callbacks) -> World:
    """The file carried through its whole life, and the people around it."""
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
    opportunity_submit_for_review(actor=buyer, opportunity=in_review)
    open_one = OpportunityFactory(buyer=buyer)
    opportunity_submit_for_review(actor=buyer, opportunity=open_one)
    opportunity_publish(actor=admin, opportunity=open_one)
    question = question_ask(asker=other_supplier, opportunity=open_one, text="Which browsers?")
    awarded = OpportunityFactory(buyer=buyer)
    opportunity_submit_for_review(actor=buyer, opportunity=awarded)
    awarded = opportunity_publish(actor=admin, opportunity=awarded)
    bids = {}
    for name, supplier in (("winner", winner), ("other_supplier", other_supplier)):
        bid = bid_services.bid_start(supplier=supplier, opportunity=awarded)
        fill(bid, supplier)
        bid_services.attachment_add(supplier=supplier, bid=bid, upload=upload(make_pdf()))
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids[name] = bid
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=awarded, now=awarded.closes_at + dt.timedelta(seconds=1)
        )
    evaluation = awarded.evaluation
    members = seat_panel(evaluation, [chair, second])
    winner_packet = evaluation.packets.get(bid=bids["winner"])
    for evaluator in (chair, second):
        for packet in evaluation.packets.all():
            score = 9 if packet == winner_packet else 4
            evaluation_marking.marks_save(
                evaluator=evaluator,
                packet=packet,
                values=mark_values(awarded, score=score, rationale="Clear."),
            )
        evaluation_marking.marks_submit(evaluator=evaluator, evaluation=evaluation)
    evaluation.refresh_from_db()
    for packet in evaluation.packets.all():
        score = 9 if packet == winner_packet else 4
        evaluation_marking.consensus_save(
            chair=chair,
            packet=packet,
            values=mark_values(awarded, score=score, rationale="Agreed."),
        )
    evaluation_services.evaluation_lock(chair=chair, evaluation=evaluation)
    evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    offer = award.evaluation_award(actor=buyer, evaluation=evaluation)
    contract = offer.packet.bid.contract
    contract = contracts.contract_accept_terms(supplier=winner, contract=contract)
    contract = contracts.contract_deliver(
        supplier=winner, contract=contract, url="https://github.com/x/y/pull/1", notes="Done.",
        upload=upload(make_pdf()),
    )  # fmt: skip
    contract = contracts.contract_certify(buyer=buyer, contract=contract, confirmed=True)
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


def url_args(world: World) -> dict[str, tuple[str, list]]:
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
        "opportunities:recall": ("get", [o["in_review"].pk]),
        "opportunities:discard": ("get", [o["draft"].pk]),
        "opportunities:amend": ("get", [o["open"].pk]),
        "opportunities:ask": ("post", [o["open"].pk]),
        "opportunities:answer": ("post", [o["open"].pk, o["question"].pk]),
        "opportunities:dismiss_question": ("post", [o["open"].pk, o["question"].pk]),
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
        "bids:discard": ("get", [bid.pk]),
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
        "payments:decline": ("post", [contract.pk]),
        "payments:deliver": ("post", [contract.pk]),
        "payments:file": ("get", [contract.pk, o["delivery_file"].pk]),
        "payments:request_changes": ("post", [contract.pk]),
        "payments:certify": ("post", [contract.pk]),
        "payments:default": ("post", [contract.pk]),
    }


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
    "opportunities:recall": "login ok 404 403 403 403 403 403 403 403",
    "opportunities:discard": "login ok 404 403 403 403 403 403 403 403",
    "opportunities:amend": "login ok 404 404 404 404 404 404 404 404",
    # An empty question or answer: the page again, with the error at the field.
    "opportunities:ask": (
        "login invalid invalid invalid invalid invalid invalid invalid invalid invalid"
    ),
    "opportunities:answer": "login invalid 404 404 404 404 404 404 404 404",
    "opportunities:dismiss_question": "login invalid 404 404 404 404 404 404 404 404",
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
    # Only a draft can be discarded: this bid is sealed, a 404 even for its owner.
    "bids:discard": "login 404 404 404 404 404 404 404 404 404",
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
    # Only the awardee may decline (the contract's other readers too get a 404).
    "payments:decline": "login 404 404 404 404 404 404 refused 404 404",
    "payments:deliver": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:file": "login ok 404 404 404 ok ok ok 404 404",
    "payments:request_changes": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:certify": "login invalid 404 404 404 invalid invalid invalid 404 404",
    "payments:default": "login invalid 404 404 404 invalid invalid invalid 404 404",
}
