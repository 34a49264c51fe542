"""The draw bound end to end: labels bound before scoring, and the whole selection recomputed
from the published record by `verify_draw`, its command and the public draw page, which all fail
on any edit of the record in the database."""

import datetime as dt
import hashlib
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import models
from django.urls import reverse
from django.utils import translation

from bids.models import Bid, Receipt
from evaluation import services as evaluation_services
from evaluation import verification as evaluation_verification
from evaluation.models import ConsensusMark, Evaluation, Offer, Packet
from lifecycle import award
from marketplace.models import AuditEvent
from opportunities.cancellation import opportunity_cancel
from opportunities.models import Criterion, Opportunity, SelectionMethod
from tests.builders import IDENTITIES, close_with_bids, labels, run_to_consensus
from tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

CHECKS_OUT = {
    "en": "Checked by the site: the draw checks out.",
    "fr": "Vérifié par le site\u00a0: le tirage est conforme.",
}
DOES_NOT = {
    "en": "The record does not check out:",
    "fr": "La vérification du registre a échoué\u00a0:",
}


def _draw_page(client, opportunity_pk: int, language: str) -> str:
    with translation.override(language):
        url = reverse("evaluation:draw", args=[opportunity_pk])
    assert url.startswith(f"/{language}/")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _by_hand(evaluation: Evaluation) -> str:
    """The label digest rebuilt from the rule the page documents, independently of the code."""
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    opportunity = Opportunity.objects.get(pk=evaluation.opportunity_id)
    margin = opportunity.draw_margin_points
    lines = [
        "marketplace-draw-labels v2",
        f"commitment {evaluation.commitment}",
        f"method {opportunity.selection_method}",
        f"margin {'none' if margin is None else margin}",
    ]
    for n, c in enumerate(opportunity.criteria.order_by("position", "id"), start=1):
        texts = f"en {_sha(c.text_en)} fr {_sha(c.text_fr)}"
        if c.kind == "mandatory":
            lines.append(f"criterion {n} id {c.pk} mandatory {texts}")
        else:
            lines.append(
                f"criterion {n} id {c.pk} rated weight {c.weight} max {c.max_score} {texts}"
            )
    for packet in sorted(evaluation.packets.all(), key=lambda p: p.label):
        receipt = Receipt.objects.filter(bid=packet.bid_id).order_by("number").last()
        binding = _sha(f"{evaluation.seed}:{packet.label}:{receipt.digest}")
        lines.append(f"label {packet.label} receipt {binding}")
    return _sha("".join(line + "\n" for line in lines))


def _lock(program_admin, evaluators, capture, *, scores, **fields) -> Evaluation:
    """Through the services: close with three bids, score, reach consensus and lock.
    `scores`: one (passes the mandatory criterion, rated score) per label, in label order."""
    opportunity, _bids = close_with_bids(program_admin, capture, **fields)
    evaluation = opportunity.evaluation
    by_label = dict(zip(labels(evaluation), scores, strict=True))
    run_to_consensus(evaluation, evaluators, by_label)
    return evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)


@pytest.fixture
def locked(program_admin, evaluators, django_capture_on_commit_callbacks) -> Evaluation:
    """Highest score: two qualify (80, 60), one fails the mandatory criterion."""
    return _lock(
        program_admin,
        evaluators,
        django_capture_on_commit_callbacks,
        scores=[(True, 8), (True, 6), (False, 9)],
    )


@pytest.fixture
def locked_margin(program_admin, evaluators, django_capture_on_commit_callbacks) -> Evaluation:
    """A draw within 10 points of the top: 80 and 70 are eligible, 60 is ranked after."""
    return _lock(
        program_admin,
        evaluators,
        django_capture_on_commit_callbacks,
        scores=[(True, 8), (True, 7), (True, 6)],
        selection_method=SelectionMethod.DRAW_WITHIN_MARGIN,
        draw_margin_points=10,
    )


# --- Binding the labels before scoring ----------------------------------------------------------


def test_packets_publish_a_label_digest_that_follows_the_documented_rule(closed, client):
    opportunity, _bids = closed
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    assert evaluation.status == Evaluation.Status.PANEL  # before anyone scores
    assert evaluation.labels_bound_at is not None
    assert evaluation.label_digest == _by_hand(evaluation)
    event = AuditEvent.objects.get(verb="evaluation.labels_bound")
    assert event.actor is None
    assert event.data == {
        "label_digest": evaluation.label_digest,
        "labels": labels(evaluation),
        "record": evaluation_verification.draw_check(evaluation).label_record,
    }
    assert _sha(event.data["record"]) == evaluation.label_digest
    assert event.target_id == str(evaluation.pk)
    for language in ("en", "fr"):
        with translation.override(language):
            detail = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
        assert evaluation.label_digest in detail.content.decode()
        page = _draw_page(client, opportunity.pk, language)
        assert evaluation.label_digest in page
        assert "marketplace-draw-labels v2" in page  # the rule, written down
        assert evaluation.seed not in page
        for label in labels(evaluation):  # the labels come out with the scores, not before
            assert label not in page


def test_the_draw_page_flags_a_label_renamed_before_the_selection(closed, client):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    page = _draw_page(client, opportunity.pk, "en")
    assert "the labels on record match the digest" in page
    Packet.objects.filter(pk=evaluation.packets.first().pk).update(label="Bid ZZZ")
    for language in ("en", "fr"):
        assert DOES_NOT[language] in _draw_page(client, opportunity.pk, language)
    assert "do not match the digest" in _draw_page(client, opportunity.pk, "en")


def test_no_bids_binds_nothing_and_raises_no_alarm(
    program_admin, client, django_capture_on_commit_callbacks
):
    opportunity, _bids = close_with_bids(program_admin, django_capture_on_commit_callbacks, count=0)
    evaluation = opportunity.evaluation
    assert evaluation.status == Evaluation.Status.UNSUCCESSFUL
    assert evaluation.label_digest == ""
    assert not AuditEvent.objects.filter(verb="evaluation.labels_bound").exists()
    assert evaluation_verification.draw_check(evaluation).binding_problems == []
    assert "does not check out" not in _draw_page(client, opportunity.pk, "en")


# --- The untouched record checks out -------------------------------------------------------------


def test_the_untouched_draw_checks_out_in_the_service_the_command_and_both_languages(
    locked, client
):
    evaluation = locked
    assert evaluation_verification.verify_draw(evaluation) == []
    out = StringIO()
    call_command("verify_draw", str(evaluation.opportunity_id), stdout=out)
    text = out.getvalue()
    for step in (
        evaluation.commitment,
        evaluation.seed,
        evaluation.label_digest,
        "marketplace-draw-labels v2",
        '"<seed>:<label>:<SHA-256 digest on the last receipt of the bid behind it>"',
        'SHA-256("<seed>:<label>")',
        "The draw checks out",
    ):
        assert step in text, step
    for label, key in evaluation_verification.draw_check(evaluation).order:
        assert f"{key}  {label}" in text
    qualified, failed = (
        evaluation.packets.filter(qualified=True).order_by("-score"),
        evaluation.packets.get(qualified=False),
    )
    assert f"{qualified[0].label}  c1 pass; c2 8/10 w1  ->  qualified, score 80.00" in text
    assert f"{failed.label}  c1 fail; c2 9/10 w1  ->  not qualified, score 90.00" in text
    assert f"selected        {evaluation.selected_label}" in text
    for language in ("en", "fr"):
        page = _draw_page(client, evaluation.opportunity_id, language)
        assert CHECKS_OUT[language] in page
        assert DOES_NOT[language] not in page
        assert evaluation.seed in page and evaluation.label_digest in page


def test_the_draw_page_publishes_each_labels_consensus_and_never_who_bid(locked, client):
    evaluation = locked
    page = _draw_page(client, evaluation.opportunity_id, "en")
    rows = {
        p.label: page.split(f'<th scope="row">{p.label}</th>', 1)[1].split("</tr>", 1)[0]
        for p in evaluation.packets.all()
    }
    best = evaluation.packets.get(rank=1)
    assert rows[best.label].startswith("<td>Pass</td><td>8 / 10</td><td>80.00</td><td>Yes</td>")
    failed = evaluation.packets.get(qualified=False)
    assert rows[failed.label].startswith("<td>Fail</td><td>9 / 10</td><td>90.00</td><td>No</td>")
    assert "Describe a similar fix." in page  # the criteria, with their weights
    assert f"label {failed.label}" in page  # the text of the digest, rebuilt
    assert "Strong, specific example." not in page  # rationales stay with the bidders
    for identity in IDENTITIES:
        for value in (identity["legal_name"], identity["contact_name"], identity["github_handle"]):
            assert value not in page
    for bid in Bid.objects.filter(opportunity_id=evaluation.opportunity_id):
        assert bid.supplier.email not in page


def test_no_score_is_published_before_the_lock(
    program_admin, evaluators, client, django_capture_on_commit_callbacks
):
    opportunity, _bids = close_with_bids(program_admin, django_capture_on_commit_callbacks)
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, evaluators, {label: (True, 7) for label in labels(evaluation)})
    page = _draw_page(client, opportunity.pk, "en")
    assert "7 / 10" not in page and "70.00" not in page
    assert evaluation_verification.draw_check(evaluation).packets == []


def test_the_draw_within_a_margin_checks_out(locked_margin):
    evaluation = locked_margin
    assert evaluation_verification.verify_draw(evaluation) == []
    assert len(evaluation.eligible_labels) == 2


# --- Each kind of tampering is caught ------------------------------------------------------------


def _packet(evaluation: Evaluation, **filters) -> Packet:
    return evaluation.packets.filter(**filters).order_by("label").first()


def _seed(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(seed="0" * 64)
    return "does not match the commitment"


def _commitment(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(commitment="f" * 64)
    return "does not match the commitment"


def _seed_and_commitment_rewritten_together(evaluation):
    seed = "1" * 64
    Evaluation.objects.filter(pk=evaluation.pk).update(
        seed=seed, commitment=Evaluation.commit(seed)
    )
    return "not the one recorded when bids closed"


def _label_renamed(evaluation):
    Packet.objects.filter(pk=_packet(evaluation, qualified=False).pk).update(label="Bid 222")
    return "do not match the digest published before scoring"


def _packet_added(evaluation):
    opportunity = evaluation.opportunity
    bid = Bid.objects.create(
        opportunity=opportunity, supplier=SupplierFactory(), status=Bid.Status.SEALED
    )
    packet = Packet.objects.create(evaluation=evaluation, bid=bid, label="Bid 999")
    for criterion in opportunity.criteria.all():
        ConsensusMark.objects.create(
            packet=packet,
            criterion=criterion,
            passed=True if criterion.kind == Criterion.Kind.MANDATORY else None,
            score=None if criterion.kind == Criterion.Kind.MANDATORY else 1,
            rationale="Added later.",
            recorded_by=opportunity.buyer,
        )
    Packet.objects.filter(pk=packet.pk).update(qualified=True, score=Decimal("10.00"), rank=3)
    return "do not match the digest published before scoring"


def _packet_deleted(evaluation):
    _packet(evaluation, qualified=False).delete()
    return "do not match the digest published before scoring"


def _label_digest(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(label_digest="a" * 64)
    return "not the one recorded when the packets were built"


def _eligible_labels(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(
        eligible_labels=[*evaluation.eligible_labels, _packet(evaluation, qualified=False).label]
    )
    return "The eligible bids on record"


def _consensus_score(evaluation):
    runner_up = _packet(evaluation, rank=2)
    ConsensusMark.objects.filter(packet=runner_up, criterion__kind="rated").update(score=10)
    return f"{runner_up.label}: the recorded result (qualified, 60.00) does not follow"


def _consensus_score_with_the_packet_rewritten(evaluation):
    runner_up = _packet(evaluation, rank=2)
    ConsensusMark.objects.filter(packet=runner_up, criterion__kind="rated").update(score=7)
    Packet.objects.filter(pk=runner_up.pk).update(score=Decimal("70.00"))
    return "The selection recorded when the consensus was locked differs in: scores"


def _consensus_pass(evaluation):
    failed = _packet(evaluation, qualified=False)
    ConsensusMark.objects.filter(packet=failed, criterion__kind="mandatory").update(passed=True)
    return f"{failed.label}: the recorded result (not qualified, 90.00) does not follow"


def _qualified_flag(evaluation):
    failed = _packet(evaluation, qualified=False)
    Packet.objects.filter(pk=failed.pk).update(qualified=True)
    return f"{failed.label}: the recorded result (qualified, 90.00) does not follow"


def _draw_order(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(
        draw_order=list(reversed(evaluation.draw_order))
    )
    return "The order does not follow from the seed and the eligible labels."


def _selected_label(evaluation):
    Evaluation.objects.filter(pk=evaluation.pk).update(
        selected_label=_packet(evaluation, rank=2).label
    )
    return "The selected bid on record"


def _rank(evaluation):
    first, second = _packet(evaluation, rank=1), _packet(evaluation, rank=2)
    Packet.objects.filter(pk=first.pk).update(rank=2)
    Packet.objects.filter(pk=second.pk).update(rank=1)
    return "the recorded rank (2) is not the recomputed one (1)"


def _method(evaluation):
    Opportunity.objects.filter(pk=evaluation.opportunity_id).update(
        selection_method=SelectionMethod.DRAW_AMONG_PASSING
    )
    return "do not match the digest published before scoring"


def _criterion_weight(evaluation):
    Criterion.objects.filter(opportunity_id=evaluation.opportunity_id, kind="rated").update(
        weight=3
    )
    return "do not match the digest published before scoring"


TAMPERING = [
    _seed,
    _commitment,
    _seed_and_commitment_rewritten_together,
    _label_renamed,
    _packet_added,
    _packet_deleted,
    _label_digest,
    _eligible_labels,
    _consensus_score,
    _consensus_score_with_the_packet_rewritten,
    _consensus_pass,
    _qualified_flag,
    _draw_order,
    _selected_label,
    _rank,
    _method,
    _criterion_weight,
]


def _assert_caught(evaluation: Evaluation, expected: str, client) -> None:
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    problems = evaluation_verification.verify_draw(evaluation)
    assert any(expected in problem for problem in problems), problems
    with pytest.raises(CommandError, match="The draw does not check out") as failed:
        call_command("verify_draw", str(evaluation.opportunity_id), stdout=StringIO())
    assert expected in str(failed.value)
    assert failed.value.returncode != 0  # what `manage.py` exits with
    for language in ("en", "fr"):
        page = _draw_page(client, evaluation.opportunity_id, language)
        assert DOES_NOT[language] in page
        assert CHECKS_OUT[language] not in page
    assert expected in _draw_page(client, evaluation.opportunity_id, "en")


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__.strip("_"))
def test_verify_draw_the_command_and_the_page_catch_tampering(locked, client, tamper):
    expected = tamper(locked)
    _assert_caught(locked, expected, client)


def test_a_margin_changed_after_the_close_is_caught(locked_margin, client):
    Opportunity.objects.filter(pk=locked_margin.opportunity_id).update(draw_margin_points=30)
    _assert_caught(locked_margin, "do not match the digest published before scoring", client)
    problems = evaluation_verification.verify_draw(Evaluation.objects.get(pk=locked_margin.pk))
    assert any("The eligible bids on record" in p for p in problems)


def test_a_bid_moved_into_the_margin_by_its_consensus_score_is_caught(locked_margin, client):
    third = locked_margin.packets.get(rank=3)
    ConsensusMark.objects.filter(packet=third, criterion__kind="rated").update(score=8)
    _assert_caught(locked_margin, "The eligible bids on record", client)


def test_a_record_from_before_the_binding_does_not_pass_for_bound(locked, client):
    Evaluation.objects.filter(pk=locked.pk).update(label_digest="")
    _assert_caught(locked, "No digest of the labels was published before scoring", client)


# --- Tampering that used to pass: each bid bound to its label, the trail read strictly -----------


def _three_criteria(*kinds_and_texts) -> list[Criterion]:
    return [
        Criterion(kind=kind, text_en=en, text_fr=fr, weight=weight, max_score=top)
        for kind, en, fr, weight, top in kinds_and_texts
    ]


def _lock_with(program_admin, evaluators, capture, criteria, per_label) -> Evaluation:
    """Close with three bids on `criteria`; `per_label`: one list of values per label in label
    order (pass/fail for a mandatory criterion, a score for a rated one), then lock."""
    opportunity, _bids = close_with_bids(program_admin, capture, criteria=criteria)
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, evaluators, {label: (True, 5) for label in labels(evaluation)})
    ordered = list(opportunity.criteria.all())
    for packet, values in zip(evaluation.packets.order_by("label"), per_label, strict=True):
        for criterion, value in zip(ordered, values, strict=True):
            field = "passed" if criterion.kind == Criterion.Kind.MANDATORY else "score"
            ConsensusMark.objects.filter(packet=packet, criterion=criterion).update(
                **{field: value}
            )
    return evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)


def _raw(queryset_filter: dict) -> models.QuerySet:
    """The audit trail as a database user sees it: the model refuses updates and deletes, the
    database itself does not."""
    return models.QuerySet(AuditEvent).filter(**queryset_filter)


def _backdated(evaluation: Evaluation, verb: str, data: dict) -> AuditEvent:
    """An insert, the one write the trail allows, dated before the genuine rows."""
    first = AuditEvent.objects.for_target(evaluation).order_by("created_at").first()
    return AuditEvent.objects.create(
        verb=verb,
        target_type=first.target_type,
        target_id=str(evaluation.pk),
        target_repr=str(evaluation),
        data=data,
        created_at=first.created_at - dt.timedelta(seconds=1),
    )


def _runner_up_made_winner(evaluation: Evaluation) -> Packet:
    """Rewrite the record consistently so the runner-up wins on 90 points."""
    first, second = evaluation.packets.get(rank=1), evaluation.packets.get(rank=2)
    ConsensusMark.objects.filter(packet=second, criterion__kind="rated").update(score=9)
    Packet.objects.filter(pk=second.pk).update(score=Decimal("90.00"), rank=1)
    Packet.objects.filter(pk=first.pk).update(rank=2)
    Evaluation.objects.filter(pk=evaluation.pk).update(selected_label=second.label)
    return second


def test_each_label_is_bound_to_its_bids_receipt_by_the_documented_rule(locked, client):
    page = _draw_page(client, locked.opportunity_id, "en")
    for packet in locked.packets.select_related("bid"):
        # What a supplier does with the digest on their own receipt, once the seed is public.
        digest = packet.bid.last_receipt.digest
        line = f"label {packet.label} receipt {_sha(f'{locked.seed}:{packet.label}:{digest}')}"
        assert line in page
    assert locked.label_digest == _by_hand(locked)


def test_bids_swapped_between_the_winner_and_the_runner_up_are_caught(locked, client):
    first, second = locked.packets.get(rank=1), locked.packets.get(rank=2)
    spare = Bid.objects.create(
        opportunity=locked.opportunity, supplier=SupplierFactory(), status=Bid.Status.SEALED
    )
    Packet.objects.filter(pk=first.pk).update(bid=spare)
    Packet.objects.filter(pk=second.pk).update(bid=first.bid_id)
    Packet.objects.filter(pk=first.pk).update(bid=second.bid_id)
    spare.delete()
    _assert_caught(
        locked,
        f"{first.label}: the bid behind this label is not the one bound to it before scoring.",
        client,
    )
    problems = evaluation_verification.verify_draw(Evaluation.objects.get(pk=locked.pk))
    assert any(f"{second.label}: the bid behind this label" in p for p in problems)


def test_bids_swapped_before_the_lock_show_on_the_page_without_naming_a_label(
    program_admin, evaluators, client, django_capture_on_commit_callbacks
):
    opportunity, _bids = close_with_bids(program_admin, django_capture_on_commit_callbacks)
    evaluation = opportunity.evaluation
    a, b, _c = evaluation.packets.order_by("label")
    spare = Bid.objects.create(
        opportunity=opportunity, supplier=SupplierFactory(), status=Bid.Status.SEALED
    )
    Packet.objects.filter(pk=a.pk).update(bid=spare)
    Packet.objects.filter(pk=b.pk).update(bid=a.bid_id)
    Packet.objects.filter(pk=a.pk).update(bid=b.bid_id)
    spare.delete()
    page = _draw_page(client, opportunity.pk, "en")
    assert DOES_NOT["en"] in page
    assert "the bids behind the labels" in page
    for label in labels(evaluation):
        assert label not in page


def test_a_failed_bids_consensus_and_score_rewritten_are_caught(locked, client):
    failed = locked.packets.get(qualified=False)
    ConsensusMark.objects.filter(packet=failed, criterion__kind="rated").update(score=1)
    Packet.objects.filter(pk=failed.pk).update(score=Decimal("10.00"))
    _assert_caught(locked, f"differs in: the consensus on {failed.label}", client)


def test_a_failed_bid_made_to_fail_another_mandatory_criterion_is_caught(
    program_admin, evaluators, client, django_capture_on_commit_callbacks
):
    criteria = _three_criteria(
        ("mandatory", "M1", "M1", None, None),
        ("mandatory", "M2", "M2", None, None),
        ("rated", "R", "R", 1, 10),
    )
    evaluation = _lock_with(
        program_admin,
        evaluators,
        django_capture_on_commit_callbacks,
        criteria,
        [[True, True, 8], [True, True, 6], [False, True, 9]],
    )
    failed = evaluation.packets.get(qualified=False)
    m1, m2 = evaluation.opportunity.criteria.filter(kind="mandatory")
    ConsensusMark.objects.filter(packet=failed, criterion=m1).update(passed=True)
    ConsensusMark.objects.filter(packet=failed, criterion=m2).update(passed=False)
    _assert_caught(evaluation, f"differs in: the consensus on {failed.label}", client)


def test_scores_swapped_between_criteria_of_equal_weight_are_caught(
    program_admin, evaluators, client, django_capture_on_commit_callbacks
):
    criteria = _three_criteria(
        ("mandatory", "M", "M", None, None),
        ("rated", "R1", "R1", 1, 10),
        ("rated", "R2", "R2", 1, 10),
    )
    evaluation = _lock_with(
        program_admin,
        evaluators,
        django_capture_on_commit_callbacks,
        criteria,
        [[True, 9, 3], [True, 5, 5], [True, 2, 2]],
    )
    winner = evaluation.packets.get(rank=1)
    r1, r2 = evaluation.opportunity.criteria.filter(kind="rated")
    ConsensusMark.objects.filter(packet=winner, criterion=r1).update(score=3)
    ConsensusMark.objects.filter(packet=winner, criterion=r2).update(score=9)
    _assert_caught(evaluation, f"differs in: the consensus on {winner.label}", client)


@pytest.mark.parametrize("how", ["positions_and_weights", "texts"])
def test_criteria_reshuffled_after_the_binding_are_caught(
    program_admin, evaluators, client, django_capture_on_commit_callbacks, how
):
    criteria = _three_criteria(
        ("mandatory", "M", "M", None, None),
        ("rated", "Price", "Prix", 3, 10),
        ("rated", "Experience", "Expérience", 1, 10),
    )
    opportunity, _bids = close_with_bids(
        program_admin, django_capture_on_commit_callbacks, criteria=criteria
    )
    _mandatory, price, experience = opportunity.criteria.all()
    if how == "texts":  # same positions and weights: only what each criterion says moves
        Criterion.objects.filter(pk=price.pk).update(text_en="Experience", text_fr="Expérience")
        Criterion.objects.filter(pk=experience.pk).update(text_en="Price", text_fr="Prix")
    else:
        Criterion.objects.filter(pk=price.pk).update(position=2, weight=1)
        Criterion.objects.filter(pk=experience.pk).update(position=1, weight=3)
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, evaluators, {label: (True, 7) for label in labels(evaluation)})
    evaluation = evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    _assert_caught(
        evaluation,
        "What differs from the text recorded when the packets were built: the criteria",
        client,
    )


def test_a_backdated_lock_record_does_not_shadow_the_genuine_one(locked, client):
    genuine = AuditEvent.objects.get(verb="evaluation.selected").data
    second = _runner_up_made_winner(locked)
    forged = dict(
        genuine, selected=second.label, scores={**genuine["scores"], second.label: "90.00"}
    )
    _backdated(locked, "evaluation.selected", forged)
    _assert_caught(
        locked,
        "The audit trail holds 2 records of the lock where there must be exactly one",
        client,
    )


def test_an_empty_backdated_lock_record_does_not_switch_the_comparison_off(locked, client):
    _runner_up_made_winner(locked)
    _backdated(locked, "evaluation.selected", {})
    _assert_caught(locked, "The audit trail holds 2 records of the lock", client)


def test_seed_commitment_and_digest_rewritten_with_backdated_records_are_caught(locked, client):
    seed = "ab" * 32
    commitment = Evaluation.commit(seed)
    Evaluation.objects.filter(pk=locked.pk).update(seed=seed, commitment=commitment)
    rewritten = Evaluation.objects.get(pk=locked.pk)
    check = evaluation_verification.draw_check(rewritten)
    Evaluation.objects.filter(pk=locked.pk).update(
        label_digest=check.label_digest,
        eligible_labels=check.eligible,
        draw_order=[label for label, _key in check.order],
        selected_label=check.selected,
    )
    for packet, result in zip(locked.packets.order_by("label"), check.packets, strict=True):
        Packet.objects.filter(pk=packet.pk).update(rank=result.rank)
    _backdated(locked, "evaluation.committed", {"commitment": commitment})
    _backdated(
        locked,
        "evaluation.labels_bound",
        {
            "label_digest": check.label_digest,
            "labels": labels(locked),
            "record": check.label_record,
        },
    )
    _backdated(locked, "evaluation.selected", {"seed": seed})
    _assert_caught(locked, "2 records of the commitment at the close", client)
    problems = evaluation_verification.verify_draw(Evaluation.objects.get(pk=locked.pk))
    assert any("2 records of the labels bound when the packets were built" in p for p in problems)


def test_a_lock_record_removed_from_the_database_is_caught(locked, client):
    _raw({"verb": "evaluation.selected"}).delete()
    _assert_caught(locked, "The audit trail has no record of the lock.", client)


def test_a_lock_record_missing_a_key_is_caught(locked, client):
    event = AuditEvent.objects.get(verb="evaluation.selected")
    data = {key: value for key, value in event.data.items() if key != "seed"}
    _raw({"pk": event.pk}).update(data=data)
    _assert_caught(locked, "The record kept at the lock lacks: seed.", client)


def test_the_lock_records_every_bids_consensus_failed_ones_included(locked):
    lock = AuditEvent.objects.get(verb="evaluation.selected").data
    mandatory, rated = locked.opportunity.criteria.all()
    failed = locked.packets.get(qualified=False)
    assert lock["packets"][failed.label] == {
        "marks": {str(mandatory.pk): False, str(rated.pk): 9},
        "qualified": False,
        "score": "90.00",
    }
    assert set(lock["packets"]) == set(labels(locked))


# --- An unsuccessful lock, the status, and the older records --------------------------------------


@pytest.fixture
def nobody_qualified(program_admin, evaluators, django_capture_on_commit_callbacks) -> Evaluation:
    return _lock(
        program_admin,
        evaluators,
        django_capture_on_commit_callbacks,
        scores=[(False, 5), (False, 7), (False, 9)],
    )


def test_an_unsuccessful_lock_is_recorded_like_a_selection_and_checks_out(nobody_qualified, client):
    evaluation = nobody_qualified
    assert evaluation.status == Evaluation.Status.UNSUCCESSFUL
    lock = AuditEvent.objects.get(verb="evaluation.unsuccessful").data
    assert lock["seed"] == evaluation.seed
    assert (lock["eligible"], lock["order"], lock["selected"], lock["scores"]) == ([], [], "", {})
    assert {p["qualified"] for p in lock["packets"].values()} == {False}
    assert evaluation_verification.verify_draw(evaluation) == []
    for language in ("en", "fr"):
        assert CHECKS_OUT[language] in _draw_page(client, evaluation.opportunity_id, language)


def test_an_unsuccessful_evaluation_rewritten_into_a_selection_is_caught(nobody_qualified, client):
    evaluation = nobody_qualified
    packet = evaluation.packets.order_by("label").first()
    ConsensusMark.objects.filter(packet=packet, criterion__kind="mandatory").update(passed=True)
    Packet.objects.filter(pk=packet.pk).update(qualified=True, rank=1)
    Evaluation.objects.filter(pk=evaluation.pk).update(
        selected_label=packet.label, eligible_labels=[packet.label], draw_order=[packet.label]
    )
    _assert_caught(
        evaluation, "The lock recorded that no bid qualified, yet a selection is on record", client
    )
    problems = evaluation_verification.verify_draw(Evaluation.objects.get(pk=evaluation.pk))
    assert any(f"the consensus on {packet.label}" in p for p in problems)


def test_a_selection_whose_status_and_selected_bid_were_cleared_is_caught(locked, client):
    Evaluation.objects.filter(pk=locked.pk).update(
        status=Evaluation.Status.UNSUCCESSFUL, selected_label=""
    )
    _assert_caught(
        locked, "The lock recorded a selection, yet no selected bid is on record.", client
    )
    problems = evaluation_verification.verify_draw(Evaluation.objects.get(pk=locked.pk))
    assert any("does not agree with the evaluation's status" in p for p in problems)


def test_every_ranked_bid_declining_after_the_award_still_checks_out(locked):
    evaluation_services.evaluation_reveal(actor=locked.opportunity.buyer, evaluation=locked)
    offer = award.evaluation_award(actor=locked.opportunity.buyer, evaluation=locked)
    while offer is not None:
        offer = award.offer_end(
            actor=offer.packet.bid.supplier, offer=offer, outcome=Offer.Outcome.DECLINED
        )
    evaluation = Evaluation.objects.get(pk=locked.pk)
    assert evaluation.status == Evaluation.Status.UNSUCCESSFUL
    assert evaluation_verification.verify_draw(evaluation) == []


def test_records_bound_by_the_earlier_rules_are_reported_as_not_bound_by_the_current_ones(
    locked, client
):
    bound = AuditEvent.objects.get(verb="evaluation.labels_bound")
    _raw({"pk": bound.pk}).update(
        data={"label_digest": bound.data["label_digest"], "labels": bound.data["labels"]}
    )
    lock = AuditEvent.objects.get(verb="evaluation.selected")
    _raw({"pk": lock.pk}).update(
        data={key: value for key, value in lock.data.items() if key != "packets"}
    )
    _assert_caught(locked, "The labels were bound by an earlier rule", client)
    problems = evaluation_verification.verify_draw(Evaluation.objects.get(pk=locked.pk))
    assert any("this draw is not bound by the current rules" in p for p in problems)
    assert any("The record kept at the lock has no consensus for each bid" in p for p in problems)
    assert not any("do not match the digest" in p for p in problems)


# --- States the check must survive ---------------------------------------------------------------


def test_lock_and_reveal_are_refused_once_the_opportunity_is_cancelled(
    program_admin, evaluators, client, django_capture_on_commit_callbacks
):
    opportunity, _bids = close_with_bids(program_admin, django_capture_on_commit_callbacks)
    evaluation = opportunity.evaluation
    run_to_consensus(evaluation, evaluators, {label: (True, 7) for label in labels(evaluation)})
    opportunity_cancel(
        actor=program_admin, opportunity=Opportunity.objects.get(pk=opportunity.pk), reason="x"
    )
    with pytest.raises(ValidationError, match="The opportunity is cancelled"):
        evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    client.force_login(evaluators[0])
    response = client.post(reverse("evaluation:lock", args=[opportunity.pk]), follow=True)
    assert "The opportunity is cancelled" in response.content.decode()
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == Evaluation.Status.CONSENSUS
    assert not evaluation.seed_revealed_at


def test_reveal_is_refused_when_the_opportunity_is_cancelled_after_the_lock(locked):
    Opportunity.objects.filter(pk=locked.opportunity_id).update(status=Opportunity.Status.CANCELLED)
    with pytest.raises(ValidationError, match="The opportunity is cancelled"):
        evaluation_services.evaluation_reveal(actor=locked.opportunity.buyer, evaluation=locked)
    assert Evaluation.objects.get(pk=locked.pk).revealed_at is None


def test_a_seed_that_is_not_ascii_is_a_mismatch_not_a_crash(locked, client):
    Evaluation.objects.filter(pk=locked.pk).update(seed="é" * 10)
    _assert_caught(locked, "The seed does not match the commitment published at the close.", client)


def test_a_maximum_score_of_zero_is_reported_not_a_crash(locked, client):
    Criterion.objects.filter(opportunity_id=locked.opportunity_id, kind="rated").update(max_score=0)
    _assert_caught(locked, "Criterion 2 has no maximum score", client)


def test_a_missing_margin_shows_no_none_on_the_page_and_is_caught(locked_margin, client):
    Opportunity.objects.filter(pk=locked_margin.opportunity_id).update(draw_margin_points=None)
    _assert_caught(locked_margin, "the margin", client)
    for language in ("en", "fr"):
        page = _draw_page(client, locked_margin.opportunity_id, language)
        assert "None" not in page
