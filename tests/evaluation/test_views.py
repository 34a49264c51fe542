"""Evaluation pages: nobody sees who bid before the reveal; outsiders get a 404."""

import pytest
from django.urls import reverse

from evaluation import panel as evaluation_panel
from evaluation import services as evaluation_services
from evaluation.models import Evaluation
from lifecycle import closing
from marketplace.models import AuditEvent, Role
from tests.builders import (
    IDENTITIES,
    consensus_all,
    labels,
    mark_all,
    seat_panel,
)
from tests.factories import StaffFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db


def _tokens(bids) -> list[str]:
    tokens = []
    for identity in IDENTITIES:
        tokens += [
            identity["github_handle"],
            identity["contact_name"],
            identity["legal_name"],
            identity["phone"],
        ]
        if identity["website"]:
            tokens.append(identity["website"].split("//")[1])
    tokens += [b.supplier.email for b in bids]
    return [t for t in tokens if t]


def _assert_anonymous(response, bids):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    for token in _tokens(bids):
        assert token.lower() not in html.lower(), token


def test_no_evaluation_page_shows_who_bid_before_the_reveal(client, closed, evaluators):
    opportunity, bids = closed
    evaluation = opportunity.evaluation
    pk = opportunity.pk
    seat_panel(evaluation, evaluators[:2])
    scores = {label: (True, 6) for label in labels(evaluation)}
    packet = evaluation.packets.first()
    chair = evaluators[0]

    client.force_login(chair)
    for url in (
        reverse("evaluation:overview", args=[pk]),
        reverse("evaluation:packets", args=[pk]),
        reverse("evaluation:packet", args=[pk, packet.pk]),
    ):
        _assert_anonymous(client.get(url), bids)
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    consensus_all(evaluation, chair, scores)
    for url in (
        reverse("evaluation:consensus", args=[pk]),
        reverse("evaluation:consensus_packet", args=[pk, packet.pk]),
        reverse("evaluation:packet", args=[pk, packet.pk]),
    ):
        _assert_anonymous(client.get(url), bids)
    evaluation_services.evaluation_lock(chair=chair, evaluation=evaluation)
    for viewer in (opportunity.buyer, chair, StaffFactory(roles=[Role.PROGRAM_ADMIN])):
        client.force_login(viewer)
        _assert_anonymous(client.get(reverse("evaluation:overview", args=[pk])), bids)
        _assert_anonymous(client.get(reverse("opportunities:detail", args=[pk])), bids)
    client.force_login(StaffFactory(roles=[Role.PROGRAM_ADMIN]))
    _assert_anonymous(client.get(reverse("evaluation:access_log", args=[pk])), bids)
    client.logout()
    _assert_anonymous(client.get(reverse("evaluation:draw", args=[pk])), bids)

    # The reveal: now, and only for the buyer, the overview names the suppliers.
    evaluation_services.evaluation_reveal(actor=opportunity.buyer, evaluation=evaluation)
    client.force_login(opportunity.buyer)
    html = client.get(reverse("evaluation:overview", args=[pk])).content.decode()
    assert "Maple Leaf Code Works" in html or "MLCW" in html
    client.force_login(chair)
    _assert_anonymous(client.get(reverse("evaluation:overview", args=[pk])), bids)


def test_packet_views_are_audited_and_listed_for_the_admin(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    packet = evaluation.packets.first()
    client.force_login(evaluators[1])
    client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk]))
    event = AuditEvent.objects.get(verb="packet.viewed")
    assert event.actor == evaluators[1] and event.data == {"label": packet.label}
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    client.force_login(admin)
    log = client.get(reverse("evaluation:access_log", args=[opportunity.pk])).content.decode()
    assert evaluators[1].email in log and "packet.viewed" in log


def test_an_evaluator_must_declare_before_any_packet(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    member = evaluation_panel.panel_appoint(
        actor=opportunity.buyer, evaluation=evaluation, evaluator=evaluators[0], is_chair=True
    )
    packet = evaluation.packets.first()
    client.force_login(evaluators[0])
    assert client.get(reverse("evaluation:packets", args=[opportunity.pk])).status_code == 404
    assert (
        client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk])).status_code
        == 404
    )
    response = client.post(reverse("evaluation:declare", args=[opportunity.pk]), {"conflict": "no"})
    assert response.url == reverse("evaluation:packets", args=[opportunity.pk])
    member.refresh_from_db()
    assert member.declaration == "no_conflict"
    assert client.get(reverse("evaluation:packets", args=[opportunity.pk])).status_code == 200


def test_a_recusal_needs_a_reason(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation_panel.panel_appoint(
        actor=opportunity.buyer, evaluation=opportunity.evaluation, evaluator=evaluators[0]
    )
    client.force_login(evaluators[0])
    response = client.post(
        reverse("evaluation:declare", args=[opportunity.pk]), {"conflict": "yes", "note": ""}
    )
    assert response.status_code == 400
    assert "Say briefly what the conflict is." in response.content.decode()


def test_marks_form_errors_are_clear_and_nothing_is_saved(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    packet = evaluation.packets.first()
    rated = opportunity.criteria.get(kind="rated")
    client.force_login(evaluators[0])
    response = client.post(
        reverse("evaluation:packet", args=[opportunity.pk, packet.pk]),
        {f"score_{rated.pk}": "999", f"rationale_{rated.pk}": "Great"},
    )
    assert response.status_code == 400
    assert "less than or equal to 10" in response.content.decode()
    assert not packet.marks.exists()


@pytest.mark.parametrize(
    "name",
    ["overview", "declare", "packets", "consensus", "access_log"],
)
def test_outsiders_get_a_404(client, closed, evaluators, name):
    opportunity, bids = closed
    seat_panel(opportunity.evaluation, evaluators[:2])
    url = reverse(f"evaluation:{name}", args=[opportunity.pk])
    outsiders = [
        bids[0].supplier,
        SupplierProfileFactory().user,
        StaffFactory(roles=[Role.BUYER]),
        evaluators[2],  # an evaluator, but not on this panel
        StaffFactory(roles=[Role.CARD_HOLDER]),
    ]
    for outsider in outsiders:
        client.force_login(outsider)
        assert client.get(url).status_code == 404, (name, outsider)
    client.logout()
    assert client.get(url).status_code == 302


def test_the_public_draw_page_shows_the_commitment_then_the_seed(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    page = client.get(reverse("evaluation:draw", args=[opportunity.pk])).content.decode()
    assert evaluation.commitment in page and evaluation.seed not in page
    scores = {label: (True, 6) for label in labels(evaluation)}
    seat_panel(evaluation, evaluators[:2])
    for evaluator in evaluators[:2]:
        mark_all(evaluation, evaluator, scores)
    consensus_all(evaluation, evaluators[0], scores)
    evaluation_services.evaluation_lock(chair=evaluators[0], evaluation=evaluation)
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    page = client.get(reverse("evaluation:draw", args=[opportunity.pk])).content.decode()
    assert evaluation.seed in page
    for label in evaluation.draw_order:
        assert label in page
    assert "Checked by the site" in page


def test_awarded_work_is_public_and_the_loser_reads_a_debrief(client, awarded):
    # Marked 9, 5 and fails the mandatory criterion, in label order (builders.DEFAULT_MARKS).
    opportunity, contract = awarded
    evaluation = opportunity.evaluation
    offer = evaluation.offers.get(packet__bid=contract.bid)
    winner_name = offer.packet.bid.supplier.supplier_profile.display_name
    listing = client.get(reverse("opportunities:awarded")).content.decode()
    assert winner_name in listing and opportunity.title_en in listing
    detail = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert f"Awarded to {winner_name}" in detail
    loser = evaluation.packets.get(rank=2).bid
    client.force_login(loser.supplier)
    page = client.get(reverse("bids:detail", args=[loser.pk])).content.decode()
    assert "Your debrief" in page and "ranked 2" in page
    assert "Strong, specific example." in page
    assert "Decline the award" not in page
    client.force_login(offer.packet.bid.supplier)
    page = client.get(reverse("bids:detail", args=[offer.packet.bid_id])).content.decode()
    assert "Decline the award" in page
    client.force_login(loser.supplier)
    contract = offer.packet.bid.contract
    assert client.post(reverse("payments:decline", args=[contract.pk])).status_code == 404


def test_the_access_log_lists_only_this_evaluations_events(
    client, closed, evaluators, program_admin, django_capture_on_commit_callbacks
):
    from tests.builders import close_with_bids

    opportunity, _bids = closed
    other, _other_bids = close_with_bids(program_admin, django_capture_on_commit_callbacks)
    seat_panel(opportunity.evaluation, evaluators[:2])
    seat_panel(other.evaluation, evaluators[:2])
    mine = opportunity.evaluation.packets.first()
    theirs = other.evaluation.packets.exclude(label=mine.label).first()
    client.force_login(evaluators[0])
    client.get(reverse("evaluation:packet", args=[opportunity.pk, mine.pk]))
    client.get(reverse("evaluation:packet", args=[other.pk, theirs.pk]))
    client.force_login(program_admin)
    log = client.get(reverse("evaluation:access_log", args=[opportunity.pk])).content.decode()
    assert f"The packet “{mine.label}” was opened." in log
    assert f"“{theirs.label}”" not in log


def test_no_peeking_at_other_marks_before_submitting_ones_own(client, closed, evaluators):
    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    scores = {label: (True, 7) for label in labels(evaluation)}
    mark_all(evaluation, evaluators[0], scores)  # the first evaluator submits
    packet = evaluation.packets.first()
    url = reverse("evaluation:packet", args=[opportunity.pk, packet.pk])
    client.force_login(evaluators[1])
    page = client.get(url).content.decode()
    assert "Clear and relevant." not in page  # the first evaluator's rationale
    assert "The other evaluators" not in page
    mark_all(evaluation, evaluators[1], scores)
    page = client.get(url).content.decode()
    assert "Clear and relevant." in page and evaluators[0].get_full_name() in page


def test_packet_attachments_carry_no_metadata_and_their_views_are_audited(
    client, program_admin, evaluators, django_capture_on_commit_callbacks
):
    import datetime as dt

    import pikepdf
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bids import services as bid_services
    from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
    from tests.builders import fill
    from tests.factories import OpportunityFactory
    from tests.support.attachments import (
        XMP,
        assert_clean_for_evaluators,
        edit,
        jpeg_with_exif,
        text_pdf,
        with_image,
    )

    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=program_admin, opportunity=draft)
    supplier = SupplierProfileFactory().user
    bid = fill(bid_services.bid_start(supplier=supplier, opportunity=opportunity), supplier)

    def metadata(pdf):
        pdf.docinfo["/Author"] = "Aurelie Tremblay"
        pdf.docinfo["/Producer"] = "MLCW Writer"
        pdf.Root.Metadata = pikepdf.Stream(pdf, XMP)

    hostile = with_image(edit(text_pdf(), metadata), jpeg_with_exif("Aurelie Tremblay"))
    bid_services.attachment_add(
        supplier=supplier,
        bid=bid,
        upload=SimpleUploadedFile("Tremblay-CV.pdf", hostile, "application/pdf"),
    )
    bid_services.bid_submit(supplier=supplier, bid=bid)
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    packet = opportunity.evaluation.packets.get()
    [attachment] = packet.attachments.all()
    stored = attachment.file.open("rb").read()
    assert b"Aurelie Tremblay" not in stored and b"MLCW Writer" not in stored
    assert_clean_for_evaluators(stored)
    assert attachment.name == f"{packet.label}-1.pdf"  # not the supplier's file name
    seat_panel(opportunity.evaluation, evaluators[:2])
    client.force_login(evaluators[1])
    response = client.get(
        reverse("evaluation:packet_attachment", args=[opportunity.pk, packet.pk, 1])
    )
    assert response.status_code == 200
    assert "Tremblay" not in response["Content-Disposition"]
    assert AuditEvent.objects.filter(verb="packet.attachment_viewed", actor=evaluators[1]).exists()


def test_an_attachment_that_names_the_bidder_at_the_close_is_withheld_not_shown(
    client, program_admin, evaluators, django_capture_on_commit_callbacks
):
    """Accepted at upload; the supplier then took a trading name the file carries. At the close
    the evaluators' copy is withheld: they read that it was, never a page of it."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import translation

    from bids import services as bid_services
    from marketplace import services as marketplace_services
    from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
    from tests.builders import fill
    from tests.factories import OpportunityFactory
    from tests.support.attachments import text_pdf

    draft = OpportunityFactory()
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=program_admin, opportunity=draft)
    supplier = SupplierProfileFactory().user
    bid = fill(bid_services.bid_start(supplier=supplier, opportunity=opportunity), supplier)
    bid_services.attachment_add(
        supplier=supplier,
        bid=bid,
        upload=SimpleUploadedFile(
            "a.pdf", text_pdf("Built by Blue Heron Labs."), "application/pdf"
        ),
    )
    bid_services.bid_submit(supplier=supplier, bid=bid)
    # After the submission (which would now be refused): the record says what was sent.
    marketplace_services.supplier_profile_save(
        actor=supplier, user=supplier, trading_name="Blue Heron Labs"
    )
    with django_capture_on_commit_callbacks(execute=True):
        closing.opportunity_close(
            opportunity=opportunity, now=opportunity.closes_at + dt.timedelta(seconds=1)
        )
    packet = opportunity.evaluation.packets.get()
    [attachment] = packet.attachments.all()
    assert attachment.withheld and not attachment.file
    assert AuditEvent.objects.filter(verb="packet.attachment_withheld").count() == 1
    seat_panel(opportunity.evaluation, evaluators[:2])
    client.force_login(evaluators[1])
    url = reverse("evaluation:packet_attachment", args=[opportunity.pk, packet.pk, 1])
    assert client.get(url).status_code == 404
    page = client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk]))
    assert "withheld: it named the bidder" in page.content.decode()
    assert url not in page.content.decode()
    with translation.override("fr"):
        french = client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk]))
    assert "non transmise\u00a0: elle nommait le soumissionnaire" in french.content.decode()


def test_a_redaction_is_shown_as_a_mark_in_the_readers_language(client, closed, evaluators):
    from django.utils import translation

    opportunity, _bids = closed
    evaluation = opportunity.evaluation
    seat_panel(evaluation, evaluators[:2])
    packet = next(p for p in evaluation.packets.all() if "[redacted]" in p.answers[0]["text"])
    client.force_login(evaluators[1])
    url = reverse("evaluation:packet", args=[opportunity.pk, packet.pk])
    english = client.get(url).content.decode()
    assert '<span class="redacted">[redacted]</span>' in english
    with translation.override("fr"):
        french = client.get(reverse("evaluation:packet", args=[opportunity.pk, packet.pk]))
    page = french.content.decode()
    assert '<span class="redacted">[caviardé]</span>' in page and "[redacted]" not in page
