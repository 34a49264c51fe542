"""The draw bound end to end: labels bound before scoring, and the whole selection recomputed
from the published record by `verify_draw`, its command and the public draw page, which all fail
on any edit of the record in the database."""

import hashlib
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from bids.models import Bid
from evaluation import services
from evaluation.models import ConsensusMark, Evaluation, Packet
from marketplace.models import AuditEvent
from opportunities.models import Criterion, Opportunity, SelectionMethod
from tests.evaluation.conftest import IDENTITIES, close_with_bids, labels, run_to_consensus
from tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

CHECKS_OUT = {
    "en": "Checked by the site: the draw checks out.",
    "fr": "Vérifié par le site : le tirage est conforme.",
}
DOES_NOT = {
    "en": "The record does not check out:",
    "fr": "La vérification du registre a échoué :",
}


def _draw_page(client, opportunity_pk: int, language: str) -> str:
    with translation.override(language):
        url = reverse("evaluation:draw", args=[opportunity_pk])
    assert url.startswith(f"/{language}/")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _by_hand(evaluation: Evaluation) -> str:
    """The label digest rebuilt from the rule the page documents, independently of the code."""
    opportunity = Opportunity.objects.get(pk=evaluation.opportunity_id)
    margin = opportunity.draw_margin_points
    lines = [
        "marketplace-draw-labels v1",
        f"commitment {evaluation.commitment}",
        f"method {opportunity.selection_method}",
        f"margin {'none' if margin is None else margin}",
    ]
    for n, criterion in enumerate(opportunity.criteria.order_by("position", "id"), start=1):
        if criterion.kind == "mandatory":
            lines.append(f"criterion {n} mandatory")
        else:
            lines.append(f"criterion {n} rated weight {criterion.weight} max {criterion.max_score}")
    lines += [f"label {label}" for label in sorted(labels(evaluation))]
    text = "".join(line + "\n" for line in lines)
    return hashlib.sha256(text.encode()).hexdigest()


def _lock(program_admin, evaluators, capture, *, scores, **fields) -> Evaluation:
    """Through the services: close with three bids, score, reach consensus and lock.
    `scores`: one (passes the mandatory criterion, rated score) per label, in label order."""
    opportunity, _bids = close_with_bids(program_admin, capture, **fields)
    evaluation = opportunity.evaluation
    by_label = dict(zip(labels(evaluation), scores, strict=True))
    run_to_consensus(evaluation, evaluators, by_label)
    return services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)


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
    assert event.data == {"label_digest": evaluation.label_digest, "labels": labels(evaluation)}
    assert event.target_id == str(evaluation.pk)
    for language in ("en", "fr"):
        with translation.override(language):
            detail = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
        assert evaluation.label_digest in detail.content.decode()
        page = _draw_page(client, opportunity.pk, language)
        assert evaluation.label_digest in page
        assert "marketplace-draw-labels v1" in page  # the rule, written down
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
    assert services.draw_check(evaluation).binding_problems == []
    assert "does not check out" not in _draw_page(client, opportunity.pk, "en")


# --- The untouched record checks out -------------------------------------------------------------


def test_the_untouched_draw_checks_out_in_the_service_the_command_and_both_languages(
    locked, client
):
    evaluation = locked
    assert services.verify_draw(evaluation) == []
    out = StringIO()
    call_command("verify_draw", str(evaluation.opportunity_id), stdout=out)
    text = out.getvalue()
    for step in (
        evaluation.commitment,
        evaluation.seed,
        evaluation.label_digest,
        "marketplace-draw-labels v1",
        'SHA-256("<seed>:<label>")',
        "The draw checks out",
    ):
        assert step in text, step
    for label, key in services.draw_check(evaluation).order:
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
    assert services.draw_check(evaluation).packets == []


def test_the_draw_within_a_margin_checks_out(locked_margin):
    evaluation = locked_margin
    assert services.verify_draw(evaluation) == []
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
    problems = services.verify_draw(evaluation)
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
    problems = services.verify_draw(Evaluation.objects.get(pk=locked_margin.pk))
    assert any("The eligible bids on record" in p for p in problems)


def test_a_bid_moved_into_the_margin_by_its_consensus_score_is_caught(locked_margin, client):
    third = locked_margin.packets.get(rank=3)
    ConsensusMark.objects.filter(packet=third, criterion__kind="rated").update(score=8)
    _assert_caught(locked_margin, "The eligible bids on record", client)


def test_a_record_from_before_the_binding_does_not_pass_for_bound(locked, client):
    Evaluation.objects.filter(pk=locked.pk).update(label_digest="")
    _assert_caught(locked, "No digest of the labels was published before scoring", client)
