"""Packets, panel, independent marks, consensus, selection, the draw, reveal, award."""

import hashlib
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from bids.models import Bid
from evaluation import marking as evaluation_marking
from evaluation import packets as evaluation_packets
from evaluation import panel as evaluation_panel
from evaluation import services as evaluation_services
from evaluation import verification as evaluation_verification
from evaluation.draw import draw_order, selection_ranking
from evaluation.marking import MarkInput
from evaluation.models import Evaluation, Offer, PanelMember
from lifecycle import award
from marketplace import caching
from marketplace.models import AuditEvent, Role
from opportunities.models import Opportunity, SelectionMethod
from tests.builders import (
    ANSWERS,
    IDENTITIES,
    close_with_bids,
    consensus_all,
    labels,
    mark_all,
    run_to_consensus,
    seat_panel,
)
from tests.factories import StaffFactory, SupplierFactory

pytestmark = pytest.mark.django_db

Status = Evaluation.Status

IDENTITY_TOKENS = [
    "Maple Leaf", "MLCW", "mlcw-dev", "Tremblay", "Aurélie", "mapleleaf-code", "613",
    "Okafor", "Jamal", "Northern Lights", "nlac11y", "204", "Priya", "Raman", "praman-codes",
    "supplier",
]  # fmt: skip


def test_the_close_commits_to_a_seed_and_builds_one_packet_per_sealed_bid(closed):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    assert opportunity.status == Opportunity.Status.EVALUATING
    assert evaluation.status == Status.PANEL
    assert evaluation.commitment == hashlib.sha256(evaluation.seed.encode()).hexdigest()
    assert evaluation.public_seed == ""  # secret until the selection
    assert evaluation.packets.count() == 3
    for label in labels(evaluation):
        assert re.fullmatch(r"Bid [A-HJ-NP-Z2-9]{3}", label)
    event = AuditEvent.objects.get(verb="evaluation.committed")
    assert event.data == {"commitment": evaluation.commitment}


def test_packets_never_carry_the_bidders_identity(closed):
    opportunity, _bids = closed
    for packet in opportunity.evaluation.packets.all():
        for answer in packet.answers:
            text = answer["text"]
            assert "[redacted]" in text
            for token in IDENTITY_TOKENS:
                assert token.lower() not in text.lower(), (token, text)


def test_labels_do_not_follow_submission_order(program_admin, django_capture_on_commit_callbacks):
    """Over several closes, the label order is not always the submission order."""
    orders = set()
    for _ in range(6):
        opportunity, bids = close_with_bids(program_admin, django_capture_on_commit_callbacks)
        by_bid = dict(opportunity.evaluation.packets.values_list("bid_id", "label"))
        submitted = [by_bid[b.pk] for b in bids]
        orders.add(tuple(submitted) == tuple(sorted(submitted)))
        Bid.objects.filter(pk__in=[b.pk for b in bids]).update(status=Bid.Status.TERMINATED)
    assert orders == {True, False} or orders == {False}


def test_a_close_without_bids_is_unsuccessful(program_admin, django_capture_on_commit_callbacks):
    opportunity, _bids = close_with_bids(program_admin, django_capture_on_commit_callbacks, count=0)
    assert opportunity.status == Opportunity.Status.UNSUCCESSFUL
    assert opportunity.evaluation.status == Status.UNSUCCESSFUL


def test_packet_building_twice_builds_once(closed):
    opportunity, _bids = closed
    assert evaluation_packets.evaluation_build_packets(opportunity=opportunity) == 0
    assert opportunity.evaluation.packets.count() == 3


# --- Panel -------------------------------------------------------------------------------------


def test_only_the_buyer_appoints_evaluators_with_the_role(closed, evaluators, program_admin):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    with pytest.raises(PermissionDenied):
        evaluation_panel.panel_appoint(
            actor=program_admin, evaluation=evaluation, evaluator=evaluators[0]
        )
    with pytest.raises(ValidationError, match="evaluator role"):
        evaluation_panel.panel_appoint(
            actor=opportunity.buyer, evaluation=evaluation, evaluator=StaffFactory()
        )
    with pytest.raises(ValidationError, match="evaluator role"):
        evaluation_panel.panel_appoint(
            actor=opportunity.buyer, evaluation=evaluation, evaluator=SupplierFactory()
        )
    evaluation_panel.panel_appoint(
        actor=opportunity.buyer, evaluation=evaluation, evaluator=evaluators[0]
    )
    with pytest.raises(ValidationError, match="already on the panel"):
        evaluation_panel.panel_appoint(
            actor=opportunity.buyer, evaluation=evaluation, evaluator=evaluators[0]
        )


def test_scoring_needs_a_declaration_and_a_recusal_is_replaced(
    closed, evaluators, django_capture_on_commit_callbacks
):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    buyer = opportunity.buyer
    chair = evaluation_panel.panel_appoint(
        actor=buyer, evaluation=evaluation, evaluator=evaluators[0], is_chair=True
    )
    second = evaluation_panel.panel_appoint(
        actor=buyer, evaluation=evaluation, evaluator=evaluators[1]
    )
    packet = evaluation.packets.first()
    criterion = opportunity.criteria.get(kind="mandatory")
    with pytest.raises(PermissionDenied):  # no declaration yet: no packet
        evaluation_marking.marks_save(
            evaluator=evaluators[1],
            packet=packet,
            values={criterion.pk: MarkInput(passed=True, rationale="x")},
        )
    with pytest.raises(ValidationError):
        evaluation_panel.panel_declare(
            evaluator=evaluators[1], member=second, conflict=True, note=""
        )
    with django_capture_on_commit_callbacks(execute=True):
        evaluation_panel.panel_declare(
            evaluator=evaluators[1], member=second, conflict=True, note="I reviewed one bidder."
        )
    assert [m.to for m in mail.outbox][-1] == [buyer.email]
    evaluation_panel.panel_declare(evaluator=evaluators[0], member=chair, conflict=False)
    evaluation.refresh_from_db()
    assert evaluation.status == Status.PANEL  # one active member short
    third = evaluation_panel.panel_appoint(
        actor=buyer, evaluation=evaluation, evaluator=evaluators[2]
    )
    evaluation_panel.panel_declare(evaluator=evaluators[2], member=third, conflict=False)
    evaluation.refresh_from_db()
    assert evaluation.status == Status.SCORING
    verbs = list(
        AuditEvent.objects.filter(verb__startswith="panel.").values_list("verb", flat=True)
    )
    assert verbs.count("panel.recused") == 1 and verbs.count("panel.declared_no_conflict") == 2
    with pytest.raises(PermissionDenied):  # recused: never sees a packet
        evaluation_marking.marks_save(
            evaluator=evaluators[1],
            packet=packet,
            values={criterion.pk: MarkInput(passed=True, rationale="x")},
        )


def test_marks_are_checked_final_once_submitted_and_consensus_waits_for_all(closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    rated = opportunity.criteria.get(kind="rated")
    packet = evaluation.packets.first()
    with pytest.raises(ValidationError):
        evaluation_marking.marks_save(
            evaluator=evaluators[0],
            packet=packet,
            values={rated.pk: MarkInput(score=rated.max_score + 1, rationale="Too generous")},
        )
    with pytest.raises(ValidationError, match="left"):
        evaluation_marking.marks_submit(evaluator=evaluators[0], evaluation=evaluation)
    scores = {label: (True, 7) for label in labels(evaluation)}
    mark_all(evaluation, evaluators[0], scores)
    with pytest.raises(ValidationError, match="final"):
        evaluation_marking.marks_save(
            evaluator=evaluators[0],
            packet=packet,
            values={rated.pk: MarkInput(score=1, rationale="changed my mind")},
        )
    evaluation.refresh_from_db()
    assert evaluation.status == Status.SCORING  # the other evaluator has not submitted
    with pytest.raises(ValidationError, match="Consensus is not open"):
        consensus_all(evaluation, evaluators[0], scores)
    mark_all(evaluation, evaluators[1], scores)
    evaluation.refresh_from_db()
    assert evaluation.status == Status.CONSENSUS


def test_only_the_chair_records_consensus_and_locks(closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    scores = {label: (True, 5) for label in labels(evaluation)}
    seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    evaluation.refresh_from_db()
    with pytest.raises(PermissionDenied):
        consensus_all(evaluation, evaluators[1], scores)
    with pytest.raises(ValidationError, match="left"):
        evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    with pytest.raises(ValidationError, match=r"Consensus is not open|not possible"):
        evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    consensus_all(evaluation, evaluators[0], scores)
    with pytest.raises(PermissionDenied):
        evaluation_services.evaluation_lock(chair=evaluators[1], evaluation=evaluation)
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    with pytest.raises(ValidationError):  # the lock is final
        consensus_all(evaluation, evaluators[0], scores)


# --- Selection and the draw --------------------------------------------------------------------


SEED = "a" * 64


def test_highest_score_wins_and_ties_are_settled_by_the_draw():
    scores = {"Bid AAA": Decimal(80), "Bid BBB": Decimal(90), "Bid CCC": Decimal(90)}
    eligible, _order, ranking = selection_ranking(
        method=SelectionMethod.HIGHEST_SCORE, seed=SEED, scores=scores, margin=None
    )
    tied = draw_order(SEED, ["Bid BBB", "Bid CCC"])
    assert ranking == [*tied, "Bid AAA"]
    assert eligible == sorted(scores)
    other_seed = next(
        seed
        for seed in (f"{n:064x}" for n in range(100))
        if draw_order(seed, ["Bid BBB", "Bid CCC"]) != tied
    )
    _e, _o, other = selection_ranking(
        method=SelectionMethod.HIGHEST_SCORE, seed=other_seed, scores=scores, margin=None
    )
    assert other[:2] == list(reversed(tied))  # only the draw decided the tie


def test_draw_among_passing_ignores_scores():
    scores = {"Bid AAA": Decimal(10), "Bid BBB": Decimal(99), "Bid CCC": Decimal(50)}
    eligible, order, ranking = selection_ranking(
        method=SelectionMethod.DRAW_AMONG_PASSING, seed=SEED, scores=scores, margin=None
    )
    assert eligible == sorted(scores)
    assert order == ranking == draw_order(SEED, sorted(scores))


def test_draw_within_margin_draws_among_the_top_then_ranks_the_rest_by_score():
    scores = {
        "Bid AAA": Decimal(95),
        "Bid BBB": Decimal("88.50"),
        "Bid CCC": Decimal(80),
        "Bid DDD": Decimal(60),
    }
    eligible, _order, ranking = selection_ranking(
        method=SelectionMethod.DRAW_WITHIN_MARGIN, seed=SEED, scores=scores, margin=10
    )
    assert eligible == ["Bid AAA", "Bid BBB"]
    assert ranking == [*draw_order(SEED, eligible), "Bid CCC", "Bid DDD"]


def test_the_draw_is_the_documented_function_of_seed_and_labels():
    labels_ = ["Bid K7Q", "Bid 2AB", "Bid ZZZ"]
    expected = sorted(
        labels_, key=lambda label: hashlib.sha256(f"{SEED}:{label}".encode()).hexdigest()
    )
    assert draw_order(SEED, labels_) == expected
    assert draw_order(SEED, list(reversed(labels_))) == expected  # input order does not matter


def _locked(closed, evaluators, scores_for):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    scores = scores_for(labels(evaluation))
    run_to_consensus(evaluation, evaluators, scores)
    return evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)


def test_lock_reveals_the_seed_and_the_public_record_verifies(closed, evaluators):
    evaluation = _locked(
        closed, evaluators, lambda ls: {ls[0]: (True, 6), ls[1]: (True, 6), ls[2]: (False, 9)}
    )
    assert evaluation.status == Status.SELECTED
    assert evaluation.public_seed == evaluation.seed
    assert evaluation_verification.verify_draw(evaluation) == []
    qualified = sorted(evaluation.packets.filter(qualified=True).values_list("label", flat=True))
    assert evaluation.eligible_labels == qualified
    assert evaluation.selected_label == draw_order(evaluation.seed, qualified)[0]
    disqualified = evaluation.packets.get(qualified=False)
    assert disqualified.rank is None
    assert disqualified.bid.status == Bid.Status.DISQUALIFIED
    out = StringIO()
    call_command("verify_draw", str(evaluation.opportunity_id), stdout=out)
    assert "The draw checks out" in out.getvalue()
    assert evaluation.selected_label in out.getvalue()


def test_tampering_with_the_seed_is_detected(closed, evaluators):
    evaluation = _locked(closed, evaluators, lambda ls: {label: (True, 5) for label in ls})
    Evaluation.objects.filter(pk=evaluation.pk).update(seed="0" * 64)
    evaluation.refresh_from_db()
    assert "does not match the commitment" in evaluation_verification.verify_draw(evaluation)[0]
    with pytest.raises(CommandError, match="does not match"):
        call_command("verify_draw", str(evaluation.opportunity_id), stdout=StringIO())


def test_nobody_qualifies_makes_the_opportunity_unsuccessful_and_tells_bidders(
    closed, evaluators, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = _locked(closed, evaluators, lambda ls: {label: (False, 9) for label in ls})
    assert evaluation.status == Status.UNSUCCESSFUL
    opportunity = Opportunity.objects.get(pk=evaluation.opportunity_id)
    assert opportunity.status == Opportunity.Status.UNSUCCESSFUL
    told = {m.to[0] for m in mail.outbox if m.subject.startswith("No award:")}
    assert told == {b.supplier.email for b in closed[1]}


# --- Reveal, award, debrief, re-award ------------------------------------------------------------


def test_reveal_then_award_with_debriefs_in_each_language(
    closed, evaluators, django_capture_on_commit_callbacks
):
    opportunity, bids = closed
    bids[1].supplier.preferred_language = "fr"
    bids[1].supplier.save()
    evaluation = _locked(
        closed, evaluators, lambda ls: {ls[0]: (True, 9), ls[1]: (True, 4), ls[2]: (True, 2)}
    )
    buyer = opportunity.buyer
    with pytest.raises(ValidationError):  # award before reveal
        award.evaluation_award(actor=buyer, evaluation=evaluation)
    with pytest.raises(PermissionDenied):
        evaluation_services.evaluation_reveal(actor=evaluators[0], evaluation=evaluation)
    evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    assert AuditEvent.objects.filter(verb="evaluation.revealed", actor=buyer).exists()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        offer = award.evaluation_award(actor=buyer, evaluation=evaluation)
    winner = evaluation.packets.get(rank=1)
    assert offer.packet == winner
    assert Bid.objects.get(pk=winner.bid_id).status == Bid.Status.AWARDED
    assert set(Bid.objects.exclude(pk=winner.bid_id).values_list("status", flat=True)) == {
        Bid.Status.NOT_AWARDED
    }
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.AWARDED and opportunity.awarded_at
    by_person = {m.to[0]: m for m in mail.outbox}
    winner_supplier = winner.bid.supplier
    winner_supplier.refresh_from_db()
    assert by_person[winner_supplier.email].subject.startswith(
        "Attribution en votre faveur"
        if winner_supplier.preferred_language == "fr"
        else "You are awarded"
    )
    for bid in bids:
        if bid.pk == winner.bid_id:
            continue
        bid.supplier.refresh_from_db()
        debrief = by_person[bid.supplier.email]
        rank = evaluation.packets.get(bid=bid).rank
        if bid.supplier.preferred_language == "fr":
            assert debrief.subject.startswith("Soumission non retenue")
            assert f"Votre rang\u00a0: {rank}." in debrief.body
        else:
            assert debrief.subject.startswith("Not awarded")
            assert f"Your rank: {rank}." in debrief.body
        assert "Strong, specific example." in debrief.body


def test_a_decline_passes_the_award_to_the_next_in_rank_then_unsuccessful(
    closed, evaluators, django_capture_on_commit_callbacks
):
    opportunity, _bids = closed
    evaluation = _locked(
        closed, evaluators, lambda ls: {ls[0]: (True, 9), ls[1]: (True, 4), ls[2]: (False, 2)}
    )
    buyer = opportunity.buyer
    evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    first = award.evaluation_award(actor=buyer, evaluation=evaluation)
    with pytest.raises(PermissionDenied):  # only the awardee declines
        award.offer_end(actor=SupplierFactory(), offer=first, outcome=Offer.Outcome.DECLINED)
    with django_capture_on_commit_callbacks(execute=True):
        second = award.offer_end(
            actor=first.packet.bid.supplier, offer=first, outcome=Offer.Outcome.DECLINED
        )
    assert second.packet.rank == 2 and second.number == 2
    assert Bid.objects.get(pk=first.packet.bid_id).status == Bid.Status.TERMINATED
    assert Bid.objects.get(pk=second.packet.bid_id).status == Bid.Status.AWARDED
    assert mail.outbox[-1].to == [second.packet.bid.supplier.email]
    with pytest.raises(ValidationError, match="reason"):
        award.offer_end(actor=buyer, offer=second, outcome=Offer.Outcome.DEFAULTED)
    assert (
        award.offer_end(
            actor=buyer, offer=second, outcome=Offer.Outcome.DEFAULTED, reason="No delivery."
        )
        is None
    )  # the third bid did not qualify: nobody left
    evaluation.refresh_from_db()
    assert evaluation.status == Status.UNSUCCESSFUL
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.UNSUCCESSFUL
    assert AuditEvent.objects.filter(verb="evaluation.offer_defaulted").exists()


@pytest.mark.caching
def test_the_award_and_its_end_change_the_public_pages_the_lock_and_reveal_do_not(
    closed, evaluators, django_capture_on_commit_callbacks
):
    """The public cache is emptied by the writes that change what public pages show (the award
    notice, the end without an award), not by the steps they do not show."""
    opportunity, _bids = closed
    buyer = opportunity.buyer
    version = lambda: caching.content_version(caching.PUBLIC_PAGES)  # noqa: E731
    before = version()
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = _locked(
            closed, evaluators, lambda ls: {ls[0]: (True, 9), ls[1]: (False, 4), ls[2]: (False, 2)}
        )
        evaluation_services.evaluation_reveal(actor=buyer, evaluation=evaluation)
    assert version() == before
    with django_capture_on_commit_callbacks(execute=True):
        offer = award.evaluation_award(actor=buyer, evaluation=evaluation)
    awarded = version()
    assert awarded != before
    moves = AuditEvent.objects.filter(
        verb__in=["bid.qualified", "bid.disqualified", "bid.awarded", "bid.not_awarded"]
    ).values_list("verb", flat=True)
    assert sorted(moves) == [
        "bid.awarded",
        "bid.disqualified",
        "bid.disqualified",
        "bid.not_awarded",
        "bid.not_awarded",
        "bid.qualified",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            award.offer_end(
                actor=offer.packet.bid.supplier, offer=offer, outcome=Offer.Outcome.DECLINED
            )
            is None
        )
    assert version() != awarded
    assert AuditEvent.objects.filter(verb="bid.terminated").count() == 1


def test_every_identity_token_stays_out_of_packets_for_each_form(closed):
    """Case, inside URLs, possessives, accents, punctuation: see conftest.ANSWERS."""
    opportunity, _bids = closed
    texts = " ".join(
        a["text"] for p in opportunity.evaluation.packets.all() for a in p.answers
    ).lower()
    for identity in IDENTITIES:
        for value in (identity["github_handle"], identity["contact_name"]):
            assert value.lower() not in texts
    assert "mapleleaf-code.example" not in texts and "nlac11y.example" not in texts
    assert len(ANSWERS) == 3


def test_panel_member_str_and_active_flag(closed, evaluators):
    opportunity, _bids = closed
    member = evaluation_panel.panel_appoint(
        actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluators[0]
    )
    assert member.active and member.declaration == PanelMember.Declaration.PENDING
    assert Role.EVALUATOR in evaluators[0].roles


def test_marks_are_checked_against_the_current_state_not_a_stale_instance(
    program_admin, evaluators
):
    import contextlib

    # Closed, but the packet task has not run yet (its after-commit callback is held back).
    opportunity, _bids = close_with_bids(program_admin, lambda execute: contextlib.nullcontext())
    stale = Evaluation.objects.get(opportunity=opportunity)
    assert stale.status == Status.PREPARING
    evaluation_packets.evaluation_build_packets(opportunity=opportunity)
    packet = stale.packets.first()  # carries the evaluation as it was: still preparing
    seat_panel(Evaluation.objects.get(pk=stale.pk), evaluators[:2])
    criterion = opportunity.criteria.get(kind="mandatory")
    [mark] = evaluation_marking.marks_save(
        evaluator=evaluators[0],
        packet=packet,
        values={criterion.pk: MarkInput(passed=True, rationale="Shown in the answer.")},
    )
    assert mark.passed is True
