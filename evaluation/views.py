"""Evaluation pages. Nothing here reaches a bid or a supplier before the buyer's reveal:
evaluator pages work on `Packet` rows only."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lifecycle import award
from marketplace.files import private_file_response
from marketplace.forms import add_service_errors
from marketplace.models import AuditEvent
from marketplace.services import audit_event_record
from marketplace.sessions import reauthentication_required
from marketplace.shortcuts import get_visible_or_404
from marketplace.views_support import message_service_error
from opportunities.models import Opportunity

from . import draw, marking, panel, permissions, selectors, services, verification
from .forms import AppointForm, DeclarationForm, MarksForm
from .models import (
    ConsensusMark,
    Evaluation,
    EvaluationQuerySet,
    Mark,
    Packet,
    PacketAttachment,
    PanelMember,
)

Status = Evaluation.Status


def _evaluations() -> EvaluationQuerySet:
    return Evaluation.objects.select_related("opportunity").prefetch_related(
        Prefetch("panel", queryset=PanelMember.objects.select_related("evaluator"))
    )


def _evaluation(request, pk: int) -> Evaluation:
    """The evaluation of opportunity `pk`, for those who take part in it; a 404 for others."""
    return get_visible_or_404(_evaluations(), request.user, opportunity_id=pk)


def _member_with_packets(request, evaluation: Evaluation) -> PanelMember:
    member = permissions.seat(request.user, evaluation)
    if not permissions.may_see_packets(request.user, member):
        raise Http404
    return member


def _back(evaluation: Evaluation, error: ValidationError | None = None, request=None):
    if error is not None and request is not None:
        message_service_error(request, error)
    return redirect("evaluation:overview", pk=evaluation.opportunity_id)


def overview_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    user = request.user
    member = permissions.seat(user, evaluation)
    is_buyer = permissions.can_manage_panel(user, evaluation)
    context = {
        "evaluation": evaluation,
        "opportunity": evaluation.opportunity,
        "panel": list(evaluation.panel.all()),
        "member": member,
        "is_buyer": is_buyer,
        "packet_count": evaluation.packets.count(),
        "panel_complete": panel.panel_is_complete(evaluation),
        "can_view_access_log": permissions.can_view_access_log(user, evaluation),
    }
    if is_buyer and evaluation.status in (Status.PANEL, Status.SCORING):
        context["appoint_form"] = AppointForm(
            evaluation=evaluation, action=reverse("evaluation:appoint", args=[pk])
        )
    if evaluation.status in (Status.SELECTED, Status.REVEALED, Status.AWARDED):
        context["ranked"] = evaluation.packets.filter(rank__isnull=False).order_by("rank")
    if is_buyer and evaluation.revealed_at:
        # After the reveal only: which supplier sent which labelled packet.
        context["identities"] = evaluation.packets.select_related(
            "bid__supplier__supplier_profile"
        ).order_by("rank", "label")
        context["offers"] = evaluation.offers.select_related("packet__bid__contract")
    return render(request, "evaluation/overview.html", context)


@require_POST
def appoint_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    if not permissions.can_manage_panel(request.user, evaluation):
        raise Http404
    form = AppointForm(
        request.POST, evaluation=evaluation, action=reverse("evaluation:appoint", args=[pk])
    )
    if not form.is_valid():
        messages.error(request, _("Choose an evaluator from the list."))
        return _back(evaluation)
    try:
        panel.panel_appoint(
            actor=request.user,
            evaluation=evaluation,
            evaluator=form.cleaned_data["evaluator"],
            is_chair=form.cleaned_data["is_chair"],
        )
    except ValidationError as error:
        return _back(evaluation, error, request)
    messages.success(request, _("The evaluator was appointed and told by email."))
    return _back(evaluation)


@require_POST
def make_chair_view(request, pk: int, member_pk: int):
    evaluation = _evaluation(request, pk)
    if not permissions.can_manage_panel(request.user, evaluation):
        raise Http404
    member = get_object_or_404(PanelMember, pk=member_pk, evaluation=evaluation)
    try:
        panel.panel_make_chair(actor=request.user, member=member)
    except ValidationError as error:
        return _back(evaluation, error, request)
    return _back(evaluation)


def declare_view(request, pk: int):
    # Any panel member, even one with a bid: recusing must stay possible (`seating`).
    evaluation = get_object_or_404(_evaluations().seating(request.user), opportunity_id=pk)
    member = permissions.seat(request.user, evaluation)
    if member is None:
        raise Http404
    if member.declaration != PanelMember.Declaration.PENDING:
        return redirect("evaluation:packets", pk=pk) if member.active else _back(evaluation)
    form = DeclarationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            panel.panel_declare(
                evaluator=request.user,
                member=member,
                conflict=form.cleaned_data["conflict"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            member.refresh_from_db()
            if member.declaration != PanelMember.Declaration.PENDING:
                # Declared already (a double click, another tab): where the declaration lands.
                return redirect("evaluation:packets", pk=pk) if member.active else _back(evaluation)
            add_service_errors(form, error)
        else:
            if form.cleaned_data["conflict"]:
                messages.success(request, _("You recused yourself. The buyer was told."))
                return _back(evaluation)
            return redirect("evaluation:packets", pk=pk)
    return render(
        request,
        "evaluation/declare.html",
        {"evaluation": evaluation, "opportunity": evaluation.opportunity, "form": form},
        status=400 if form.errors else 200,
    )


def packet_list_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    member = _member_with_packets(request, evaluation)
    criteria_count = evaluation.opportunity.criteria.count()
    done = defaultdict(int)
    for mark in member.marks.all():
        if mark.rationale and (mark.passed is not None or mark.score is not None):
            done[mark.packet_id] += 1
    packets = [(p, done[p.pk], criteria_count) for p in evaluation.packets.all()]
    return render(
        request,
        "evaluation/packet_list.html",
        {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "member": member,
            "packets": packets,
            "missing": len(marking.missing_marks(member)) if not member.marks_submitted_at else 0,
        },
    )


def packet_view(request, pk: int, packet_pk: int):
    evaluation = _evaluation(request, pk)
    member = _member_with_packets(request, evaluation)
    packet = get_object_or_404(Packet, pk=packet_pk, evaluation=evaluation)
    criteria = list(evaluation.opportunity.criteria.all())
    final = bool(member.marks_submitted_at) or evaluation.status not in (
        Status.PANEL,
        Status.SCORING,
    )
    own = Mark.objects.filter(member=member, packet=packet)
    form = MarksForm(
        request.POST or None,
        criteria=criteria,
        submit_label=_("Save my marks"),
        disabled=final,
        initial=MarksForm.initial_from(own),
    )
    if request.method == "POST" and not final and form.is_valid():
        try:
            marking.marks_save(evaluator=request.user, packet=packet, values=form.values())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Your marks on %(label)s were saved.") % {"label": packet.display_label}
            )
            return redirect("evaluation:packet", pk=pk, packet_pk=packet.pk)
    if request.method == "GET":
        audit_event_record(
            actor=request.user, verb="packet.viewed", target=packet, data={"label": packet.label}
        )
    answers = {a["criterion"]: a["text"] for a in packet.answers}
    others = []
    if member.marks_submitted_at:
        # Independence: the others' marks only once one's own are final.
        others = (
            Mark.objects.filter(packet=packet, member__marks_submitted_at__isnull=False)
            .exclude(member=member)
            .select_related("member__evaluator")
        )
    return render(
        request,
        "evaluation/packet_detail.html",
        {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "packet": packet,
            "criteria_answers": [(c, answers.get(c.pk, "")) for c in criteria],
            "form": form,
            "final": final,
            "others": others,
            "attachments": packet.attachments.all(),
        },
        status=400 if form.errors else 200,
    )


def packet_attachment_view(request, pk: int, packet_pk: int, number: int):
    evaluation = _evaluation(request, pk)
    _member_with_packets(request, evaluation)
    attachment = get_object_or_404(
        PacketAttachment,
        packet_id=packet_pk,
        packet__evaluation=evaluation,
        number=number,
        withheld=False,
    )
    audit_event_record(
        actor=request.user,
        verb="packet.attachment_viewed",
        target=attachment.packet,
        data={"label": attachment.packet.label, "number": number},
    )
    return private_file_response(attachment.file, filename=attachment.name)


# Each irreversible step answers a GET with its confirmation page (what will happen, then one
# button that posts back here) and does the step on the POST. The page carries the digest of
# what it showed where the step acts on marks: a change in another tab since is refused.
CONFIRMS = require_http_methods(["GET", "HEAD", "POST"])


def _reviewed(request) -> str:
    return str(request.POST.get("reviewed", ""))


def _changed_since_review(error: ValidationError) -> bool:
    return getattr(error, "code", None) == "reviewed_changed"


@CONFIRMS
def marks_submit_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    member = _member_with_packets(request, evaluation)
    if request.method != "POST":
        scoring = evaluation.status in (Status.PANEL, Status.SCORING)
        context = {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "member": member,
            "scoring": scoring,
            "review": selectors.marks_review(member),
            "missing": (
                len(marking.missing_marks(member))
                if scoring and not member.marks_submitted_at
                else 0
            ),
            "others": sum(1 for m in evaluation.panel.all() if m.active and m.pk != member.pk),
        }
        return render(request, "evaluation/confirm_marks.html", context)
    try:
        marking.marks_submit(
            evaluator=request.user, evaluation=evaluation, reviewed=_reviewed(request)
        )
    except ValidationError as error:
        message_service_error(request, error)
        if _changed_since_review(error):
            return redirect("evaluation:submit", pk=pk)
    else:
        messages.success(request, _("Your marks are submitted. They are final."))
    return redirect("evaluation:packets", pk=pk)


def _chair(request, evaluation: Evaluation) -> None:
    if not permissions.is_chair(request.user, evaluation):
        raise Http404


def consensus_list_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    _chair(request, evaluation)
    criteria_count = evaluation.opportunity.criteria.count()
    recorded = defaultdict(int)
    for mark in ConsensusMark.objects.filter(packet__evaluation=evaluation):
        recorded[mark.packet_id] += 1
    return render(
        request,
        "evaluation/consensus_list.html",
        {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "packets": [(p, recorded[p.pk], criteria_count) for p in evaluation.packets.all()],
            "complete": all(recorded[p.pk] == criteria_count for p in evaluation.packets.all()),
        },
    )


def consensus_packet_view(request, pk: int, packet_pk: int):
    evaluation = _evaluation(request, pk)
    _chair(request, evaluation)
    packet = get_object_or_404(Packet, pk=packet_pk, evaluation=evaluation)
    criteria = list(evaluation.opportunity.criteria.all())
    locked = evaluation.status != Status.CONSENSUS
    form = MarksForm(
        request.POST or None,
        criteria=criteria,
        submit_label=_("Record the consensus"),
        disabled=locked,
        initial=MarksForm.initial_from(packet.consensus.all()),
    )
    if request.method == "POST" and not locked and form.is_valid():
        try:
            marking.consensus_save(chair=request.user, packet=packet, values=form.values())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Consensus on %(label)s recorded.") % {"label": packet.display_label}
            )
            return redirect("evaluation:consensus", pk=pk)
    if request.method == "GET":
        audit_event_record(
            actor=request.user, verb="packet.viewed", target=packet, data={"label": packet.label}
        )
    marks = list(
        Mark.objects.filter(packet=packet, member__marks_submitted_at__isnull=False)
        .select_related("member__evaluator")
        .order_by("member_id")
    )
    members = sorted({m.member for m in marks}, key=lambda m: m.pk)
    answers = {a["criterion"]: a["text"] for a in packet.answers}
    rows = []
    for criterion in criteria:
        row = [m for m in marks if m.criterion_id == criterion.pk]
        values = [m.score if m.score is not None else m.passed for m in row]
        spread = (
            max(values) - min(values)
            if criterion.kind == "rated" and values
            else int(len(set(values)) > 1)
        )
        rows.append((criterion, answers.get(criterion.pk, ""), row, spread))
    return render(
        request,
        "evaluation/consensus_packet.html",
        {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "packet": packet,
            "members": members,
            "rows": rows,
            "form": form,
            "locked": locked,
        },
        status=400 if form.errors else 200,
    )


@CONFIRMS
def lock_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    _chair(request, evaluation)
    if request.method != "POST":
        context = {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "review": (
                selectors.lock_review(evaluation) if evaluation.status == Status.CONSENSUS else None
            ),
        }
        return render(request, "evaluation/confirm_lock.html", context)
    try:
        evaluation = services.evaluation_lock(
            chair=request.user, evaluation=evaluation, reviewed=_reviewed(request)
        )
    except ValidationError as error:
        if Evaluation.objects.filter(pk=evaluation.pk, locked_at__isnull=False).exists():
            # Locked already (a double click, another tab): where the lock lands.
            messages.info(request, _("The consensus is already locked."))
            return _back(evaluation)
        message_service_error(request, error)
        if _changed_since_review(error):
            return redirect("evaluation:lock", pk=pk)
        return redirect("evaluation:consensus", pk=pk)
    messages.success(request, _("The consensus is locked and the selection is made."))
    return _back(evaluation)


def _buyer_step(request, pk: int, step, success: str, *, done: Q, already: str):
    """The buyer's `step`. Done already (`done` holds: a double click, another tab), it lands
    where the step does, saying so."""
    evaluation = _evaluation(request, pk)
    if not permissions.can_manage_panel(request.user, evaluation):
        raise Http404
    try:
        step(actor=request.user, evaluation=evaluation)
    except ValidationError as error:
        if Evaluation.objects.filter(done, pk=evaluation.pk).exists():
            # Done already (a double click, another tab): where the step lands, saying so.
            messages.info(request, already)
            return _back(evaluation)
        return _back(evaluation, error, request)
    if success:
        messages.success(request, success)
    return _back(evaluation)


def _buyer_confirmation(request, pk: int, template: str, **context):
    """The buyer's confirmation page of a step (the reveal, the award): the same who as the
    step itself."""
    evaluation = _evaluation(request, pk)
    if not permissions.can_manage_panel(request.user, evaluation):
        raise Http404
    ranked = list(
        evaluation.packets.filter(rank__isnull=False)
        .select_related("bid__supplier__supplier_profile")
        .order_by("rank")
    )
    return render(
        request,
        template,
        {
            "evaluation": evaluation,
            "opportunity": evaluation.opportunity,
            "ranked": ranked,
            "unranked": evaluation.packets.filter(rank__isnull=True).count(),
            "awarded": evaluation.offers.exists(),
            **context,
        },
    )


@CONFIRMS
def reveal_view(request, pk: int):
    if request.method == "POST":
        return _reveal(request, pk)
    return _buyer_confirmation(request, pk, "evaluation/confirm_reveal.html")


@reauthentication_required(back="evaluation:reveal")
@require_POST
def _reveal(request, pk: int):
    return _buyer_step(
        request,
        pk,
        services.evaluation_reveal,
        "",
        done=Q(revealed_at__isnull=False),
        already=_("The identities are already revealed."),
    )


@CONFIRMS
def award_view(request, pk: int):
    if request.method == "POST":
        return _award(request, pk)
    return _buyer_confirmation(request, pk, "evaluation/confirm_award.html")


@reauthentication_required(back="evaluation:award")
@require_POST
def _award(request, pk: int):
    return _buyer_step(
        request,
        pk,
        award.evaluation_award,
        _("Awarded. Every bidder was told, with their debrief."),
        done=Q(offers__isnull=False),
        already=_("This opportunity is already awarded."),
    )


def access_log_view(request, pk: int):
    evaluation = _evaluation(request, pk)
    if not permissions.can_view_access_log(request.user, evaluation):
        raise Http404
    packet_ids = [str(pk_) for pk_ in evaluation.packets.values_list("pk", flat=True)]
    packets = ContentType.objects.get_for_model(Packet)
    evaluations = ContentType.objects.get_for_model(Evaluation)
    events = (
        AuditEvent.objects.filter(
            Q(target_type=packets, target_id__in=packet_ids)
            | Q(target_type=evaluations, target_id=str(evaluation.pk))
        )
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
    return render(
        request,
        "evaluation/access_log.html",
        {"evaluation": evaluation, "opportunity": evaluation.opportunity, "events": events},
    )


@login_not_required
def draw_view(request, pk: int):
    """The public record of the draw: the commitment from the close, the labels' digest from
    the packets, then the seed, the consensus scores and the whole recomputation, with the
    site's own check of it. Labels and scores only: never who bid."""
    opportunity = get_object_or_404(Opportunity.objects.public(), pk=pk)
    evaluation = Evaluation.objects.filter(opportunity=opportunity).first()
    if evaluation is None:
        raise Http404
    return render(
        request,
        "evaluation/draw.html",
        {
            "opportunity": opportunity,
            "evaluation": evaluation,
            "check": verification.draw_check(evaluation),
            "label_record_header": draw.LABEL_RECORD_HEADER,
        },
    )
