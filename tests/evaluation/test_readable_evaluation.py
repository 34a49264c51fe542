"""What people read of an evaluation comes from the catalogue, in their language: a packet's
label ("Soumission K7Q"), the access log's sentences, the draw's headers. The label on record,
hashed and published, never changes, and nothing read names a bidder before the reveal."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from evaluation import draw as evaluation_draw
from evaluation import packets as evaluation_packets
from evaluation import services as evaluation_services
from evaluation import verification as evaluation_verification
from evaluation.models import Evaluation
from marketplace import audit_verbs
from marketplace.labels import LABEL_PREFIX, bid_label, bid_labels
from marketplace.models import Role
from tests.builders import (
    IDENTITIES,
    consensus_all,
    labels,
    mark_all,
    mark_values,
    seat_panel,
)
from tests.factories import StaffFactory

NBSP = "\u00a0"
LABEL = re.compile(r"\bBid [A-HJ-NP-Z2-9]{3}\b")


def fr(text: str) -> str:
    """French as the catalogue writes it: no-break spaces inside « » and before :."""
    return text.replace("« ", "«" + NBSP).replace(" »", NBSP + "»").replace(" :", NBSP + ":")


def _visible(html: str) -> str:
    """The page's text: no tags, no attributes, no scripts; <code> kept (it is read too)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", body))  # not no-break spaces


def _outside_code(html: str) -> str:
    """The visible text less what is in <code> or <pre> (codes and the record, as on file)."""
    return _visible(re.sub(r"<(code|pre)\b.*?</\1>", " ", html, flags=re.S))


def _assert_names_no_bidder(text: str) -> None:
    for identity in IDENTITIES:
        for value in identity.values():
            if value:
                assert value.lower() not in text.lower(), value


# --- The label: one code on record, read in each language ---------------------------------------


def test_a_label_reads_bid_in_english_and_soumission_in_french():
    with translation.override("en"):
        assert bid_label("Bid K7Q") == "Bid K7Q"
        assert bid_labels(["Bid K7Q", "Bid 2AB"]) == "Bid K7Q, Bid 2AB"
    with translation.override("fr"):
        assert bid_label("Bid K7Q") == "Soumission K7Q"
        assert bid_labels(["Bid K7Q", "Bid 2AB"]) == "Soumission K7Q, Soumission 2AB"
        assert bid_labels([]) == "—"


def test_a_label_of_another_form_is_shown_as_it_is():
    """The field is free text to the database: nothing else is turned into a bid label."""
    with translation.override("fr"):
        for odd in ("", "Bid ", "K7Q", "bid K7Q", "Bidder X", "<b>Bid</b>"):
            assert bid_label(odd) == odd
        assert bid_label("Bid <script>") == "Soumission <script>"  # escaped where shown


def test_the_label_on_record_stays_language_neutral(closed):
    """Built the same whatever the language of the request that closed the bids: it is what
    the label digest and the draw hash."""
    opportunity, _bids = closed
    for label in labels(opportunity.evaluation):
        assert label.startswith(LABEL_PREFIX) and len(label) == len(LABEL_PREFIX) + 3
    bound = evaluation_draw.label_record(
        commitment=opportunity.evaluation.commitment,
        seed=opportunity.evaluation.seed,
        opportunity=opportunity,
        criteria=list(opportunity.criteria.all()),
        receipts=evaluation_packets.receipt_digests(list(opportunity.evaluation.packets.all())),
    )
    with translation.override("fr"):
        again = evaluation_draw.label_record(
            commitment=opportunity.evaluation.commitment,
            seed=opportunity.evaluation.seed,
            opportunity=opportunity,
            criteria=list(opportunity.criteria.all()),
            receipts=evaluation_packets.receipt_digests(list(opportunity.evaluation.packets.all())),
        )
    assert again == bound and "Soumission" not in bound
    assert evaluation_draw.label_digest(bound) == opportunity.evaluation.label_digest


def test_evaluators_read_the_label_in_their_language(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    packet = evaluation.packets.first()
    code = packet.label.removeprefix(LABEL_PREFIX)
    client.force_login(evaluators[1])
    for name, args in (
        ("evaluation:packets", [opportunity.pk]),
        ("evaluation:packet", [opportunity.pk, packet.pk]),
    ):
        english = client.get(reverse(name, args=args)).content.decode()
        assert f"Bid {code}" in english
        with translation.override("fr"):
            french = client.get(reverse(name, args=args)).content.decode()
        assert f"Soumission {code}" in french
        assert not LABEL.search(_outside_code(french)), name
        _assert_names_no_bidder(_visible(french))
    with translation.override("fr"):
        title = re.search(r"<title>(.*?)</title>", french, flags=re.S).group(1)
    assert title.startswith(f"Soumission {code}")


def test_the_message_after_saving_marks_names_the_packet_in_french(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    packet = evaluation.packets.first()
    client.force_login(evaluators[0])
    data = {}
    for criterion_id, mark in mark_values(opportunity, score=7, rationale="Clear.").items():
        if mark.passed is not None:
            data[f"passed_{criterion_id}"] = "yes"
        else:
            data[f"score_{criterion_id}"] = mark.score
        data[f"rationale_{criterion_id}"] = mark.rationale
    with translation.override("fr"):
        url = reverse("evaluation:packet", args=[opportunity.pk, packet.pk])
    response = client.post(url, data)
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    code = packet.label.removeprefix(LABEL_PREFIX)
    assert any(f"Soumission {code}" in m for m in said), said
    assert not any(LABEL.search(m) for m in said), said


def test_the_access_log_says_what_happened_in_sentences(client, closed, evaluators):
    opportunity, _bids = closed
    seat_panel(opportunity.evaluation, evaluators[:2])
    packet = opportunity.evaluation.packets.first()
    client.force_login(evaluators[1])
    client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk]))
    client.force_login(StaffFactory(roles=[Role.PROGRAM_ADMIN]))
    code = packet.label.removeprefix(LABEL_PREFIX)
    english = _visible(client.get(f"/en/evaluation/{opportunity.pk}/access-log/").content.decode())
    assert f"The packet “Bid {code}” was opened." in english
    assert "An evaluator was appointed to the panel." in english
    french = _visible(client.get(f"/fr/evaluation/{opportunity.pk}/access-log/").content.decode())
    assert fr(f"Le dossier « Soumission {code} » a été consulté.") in french
    assert "Un évaluateur a été nommé au comité." in french
    assert not LABEL.search(french)
    for page in (english, french):
        # No verb code ("packet.viewed"), and not the evaluation's status code ("12 (panel)").
        assert not [verb for verb in audit_verbs.VERBS if verb in page]
        assert not re.search(rf"\b{opportunity.pk} \([a-z_]+\)", page), page
        _assert_names_no_bidder(page)


# --- Redaction: a mark in the reader's language, naming no one -----------------------------------


def test_the_consensus_page_shows_the_redaction_mark_in_french_and_no_bidder(
    client, closed, evaluators
):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    scores = {label: (True, 6) for label in labels(evaluation)}
    seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    evaluation.refresh_from_db()
    packet = next(p for p in evaluation.packets.all() if "[redacted]" in p.answers[0]["text"])
    client.force_login(evaluators[0])  # the chair
    with translation.override("fr"):
        url = reverse("evaluation:consensus_packet", args=[opportunity.pk, packet.pk])
    french = client.get(url).content.decode()
    assert '<span class="redacted">[caviardé]</span>' in french and "[redacted]" not in french
    _assert_names_no_bidder(_visible(french))
    english = client.get(url.replace("/fr/", "/en/")).content.decode()
    assert '<span class="redacted">[redacted]</span>' in english
    # The mark is the same for every bidder: it says a word was hidden, not whose.
    assert french.count("[caviardé]") == english.count("[redacted]")


# --- The public draw ------------------------------------------------------------------------------


def _locked(closed, evaluators) -> Evaluation:
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    scores = {label: (True, 6) for label in labels(evaluation)}
    seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    consensus_all(evaluation, evaluators[0], scores)
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    return Evaluation.objects.get(pk=evaluation.pk)


def test_the_draw_page_reads_in_french_and_keeps_the_labels_on_record_to_check(
    client, closed, evaluators
):
    evaluation = _locked(closed, evaluators)
    url = reverse("evaluation:draw", args=[evaluation.opportunity_id])
    english = client.get(url).content.decode()
    assert "SHA-256 of <code>&lt;seed&gt;:&lt;label&gt;</code>" in english
    assert 'SHA-256("seed:label")' not in english
    with translation.override("fr"):
        french = client.get(reverse("evaluation:draw", args=[evaluation.opportunity_id]))
    french = french.content.decode()
    assert "SHA-256 de <code>&lt;graine&gt;:&lt;étiquette&gt;</code>" in french
    assert 'SHA-256("seed:label")' not in french and "seed:label" not in french
    # Eligible, selected, the consensus table and the order: read as "Soumission …".
    readable = _outside_code(french)
    assert not LABEL.search(readable), LABEL.findall(readable)
    for label in evaluation.draw_order:
        assert bid_label(label) in english
        with translation.override("fr"):
            assert bid_label(label) in readable
        # The text of the digest keeps each label as hashed, for anyone to recompute it.
        assert f"label {label} receipt" in french
    assert "Checked by the site" in english
    _assert_names_no_bidder(_visible(french))


def test_a_check_that_fails_names_the_packet_in_the_readers_language(closed, evaluators):
    evaluation = _locked(closed, evaluators)
    wrong = next(
        label for label in evaluation.eligible_labels if label != evaluation.selected_label
    )
    Evaluation.objects.filter(pk=evaluation.pk).update(selected_label=wrong)
    evaluation.refresh_from_db()
    with translation.override("fr"):
        problems = evaluation_verification.verify_draw(evaluation)
    assert problems
    assert not any(LABEL.search(str(p)) for p in problems), problems
    assert any("Soumission" in str(p) for p in problems), problems
