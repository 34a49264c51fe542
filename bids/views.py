from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, ListView, TemplateView

from evaluation.selectors import bid_debrief
from marketplace import formats
from marketplace.files import private_file_response
from marketplace.forms import add_service_errors
from marketplace.middleware import arrived_at
from marketplace.mixins import PredicateRequiredMixin
from marketplace.permissions import is_supplier
from marketplace.ratelimit import rate_limit_allows
from marketplace.selectors import discarded_by
from marketplace.shortcuts import get_visible_or_404
from marketplace.views_support import message_service_error
from opportunities.models import Opportunity
from reports import stages

from . import permissions, services
from .forms import BidForm
from .identity import identity_matches
from .models import Attachment, Bid, Receipt
from .pdf_worker import check_admitted


def _own_bid(request, pk: int) -> Bid:
    """The signed-in supplier's bid; anybody else's is a 404, staff included."""
    return get_visible_or_404(
        Bid.objects.select_related("opportunity", "supplier"), request.user, pk=pk
    )


def _refused(request, bid: Bid, error: ValidationError):
    if hasattr(error, "error_dict"):
        # Problems with what the bid says (a submission it cannot make yet): on the form,
        # each at its field, with the error summary; not as messages on another page.
        form = BidForm(BidForm.saved_data(bid), bid=bid)
        form.is_valid()
        form.add_problems(error.message_dict)
        return render(request, "bids/bid_form.html", _edit_context(bid, form), status=400)
    message_service_error(request, error)
    return redirect("bids:detail", pk=bid.pk)


@require_POST
def bid_start_view(request, opportunity_pk: int):
    opportunity = get_object_or_404(Opportunity.objects.public(), pk=opportunity_pk)
    try:
        bid = services.bid_start(
            supplier=request.user, opportunity=opportunity, arrived_at=arrived_at(request)
        )
    except ValidationError as error:
        message_service_error(request, error)
        return redirect("opportunities:detail", pk=opportunity.pk)
    return redirect("bids:edit", pk=bid.pk)


class BidListView(PredicateRequiredMixin, ListView):
    permission = staticmethod(is_supplier)
    template_name = "bids/bid_list.html"
    context_object_name = "bids"
    paginate_by = 25

    def get_queryset(self):
        # Every status, a sealed bid under evaluation included (issue 23), with what its stage
        # and expected decision read.
        return stages.supplier_bids(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        context["rows"] = [(bid, stages.bid_stage(bid, now=now)) for bid in context["bids"]]
        return context


class BidDetailView(DetailView):
    template_name = "bids/bid_detail.html"
    context_object_name = "bid"

    def get_object(self, queryset=None):
        return _own_bid(self.request, self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bid = self.object
        receipt = bid.last_receipt
        criteria = {c.pk: c for c in bid.opportunity.criteria.all()}
        latest_addendum = max((a.number for a in bid.opportunity.addenda.all()), default=0)
        context.update(
            receipt=receipt,
            receipts=bid.receipts.order_by("-number"),
            submitted_answers=[
                (criteria.get(item["criterion"]), item["text"])
                for item in (receipt.content["answers"] if receipt else [])
            ],
            can_change=permissions.can_change_bid(self.request.user, bid, now=timezone.now()),
            needs_confirmation=(
                bid.status == Bid.Status.SUBMITTED and latest_addendum > bid.confirmed_addendum
            ),
            latest_addendum=latest_addendum,
            debrief=bid_debrief(bid=bid),
            has_unsubmitted_changes=(
                receipt is not None
                and bid.status == Bid.Status.SUBMITTED
                and services.content_digest(services.bid_content(bid)) != receipt.digest
            ),
        )
        return context


def _edit_context(bid: Bid, form: BidForm, **extra):
    return {
        "bid": bid,
        "opportunity": bid.opportunity,
        "form": form,
        "attachments": bid.attachments.filter(removed_at__isnull=True),
        "attachments_enabled": settings.BID_ATTACHMENTS_ENABLED,
        **extra,
    }


def _closed(request, bid: Bid):
    messages.error(request, _("This opportunity is closed: your bid can no longer change."))
    return redirect("bids:detail", pk=bid.pk)


def bid_edit_view(request, pk: int):
    bid = _own_bid(request, pk)
    if not permissions.can_change_bid(request.user, bid, now=arrived_at(request)):
        return _closed(request, bid)
    if request.method != "POST":
        form = BidForm(bid=bid, initial=BidForm.initial_for(bid))
        return render(request, "bids/bid_form.html", _edit_context(bid, form))
    form = BidForm(request.POST, bid=bid)
    saved = _form_saved(request, bid, form)
    if not isinstance(saved, Bid):
        return saved
    bid = saved
    if "action_submit" not in request.POST:
        messages.success(request, _("Your draft was saved. It is not submitted yet."))
        return redirect("bids:edit", pk=bid.pk)
    problems = services.submission_problems(bid)
    if problems:
        # Every problem at once, in the error summary and at its field (bids/forms.py).
        form.add_problems(problems)
        messages.info(
            request, _("Your draft was saved. Fix the problems listed below, then submit it.")
        )
        return render(request, "bids/bid_form.html", _edit_context(bid, form), status=400)
    findings = _identity_findings(bid)
    if findings:
        return render(request, "bids/bid_identity_warning.html", {"bid": bid, "findings": findings})
    return _submit(request, bid)


def _form_saved(request, bid: Bid, form: BidForm):
    """The draft saved from the posted form; or, when it cannot be, the form shown again with
    its errors (nothing saved, everything typed still in it)."""
    if not form.is_valid():
        return render(request, "bids/bid_form.html", _edit_context(bid, form), status=400)
    try:
        return _save_draft(request, bid, form)
    except ValidationError as error:
        add_service_errors(form, error)
        return render(request, "bids/bid_form.html", _edit_context(bid, form), status=400)


def _save_draft(request, bid: Bid, form: BidForm) -> Bid:
    data = form.cleaned_data
    return services.bid_save_draft(
        supplier=request.user,
        bid=bid,
        answers=form.answers(),
        proposed_start_date=data.get("proposed_start_date"),
        attest_can_work_in_canada=data.get("attest_can_work_in_canada", False),
        attest_can_be_paid_by_card=data.get("attest_can_be_paid_by_card", False),
        attest_no_conflict=data.get("attest_no_conflict", False),
        accept_terms=data.get("accept_terms", False),
        arrived_at=arrived_at(request),
    )


def _identity_findings(bid: Bid):
    """The words of the answers that give the supplier away, as they wrote them."""
    texts = [answer.text for answer in bid.answers.all()]
    return identity_matches(texts, services.supplier_identity(bid.supplier, bid=bid))


def _submit(request, bid: Bid):
    limit, seconds = settings.BID_SUBMISSION_RATE_LIMIT
    if not rate_limit_allows(
        scope="bid-submit", who=str(request.user.pk), limit=limit, seconds=seconds
    ):
        messages.error(
            request,
            _(
                "You have submitted many times in a few minutes. Your draft is saved: wait a "
                "minute, then submit it again."
            ),
        )
        return redirect("bids:edit", pk=bid.pk)
    try:
        receipt = services.bid_submit(
            supplier=request.user, bid=bid, arrived_at=arrived_at(request)
        )
    except ValidationError as error:
        return _refused(request, bid, error)
    return redirect("bids:receipt", pk=bid.pk, number=receipt.number)


@require_POST
def bid_submit_view(request, pk: int):
    """'Submit anyway' from the identity warning: the saved working copy goes in as it is."""
    return _submit(request, _own_bid(request, pk))


@require_POST
def bid_autosave_view(request, pk: int):
    """The form saves itself as the supplier types (static/js/bid-form.js)."""
    bid = _own_bid(request, pk)
    form = BidForm(request.POST, bid=bid)
    if not form.is_valid():
        return JsonResponse({"saved": False, "errors": form.errors.get_json_data()}, status=400)
    try:
        bid = _save_draft(request, bid, form)
    except ValidationError as error:
        return JsonResponse({"saved": False, "errors": error.messages}, status=409)
    return JsonResponse(
        {
            "saved": True,
            # No final period: the English time already ends with one ("6:26 p.m.").
            "message": _("Draft saved at %(time)s") % {"time": formats.time(bid.draft_saved_at)},
        }
    )


class ReceiptView(TemplateView):
    template_name = "bids/receipt.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bid = _own_bid(self.request, kwargs["pk"])
        context.update(
            bid=bid, receipt=get_object_or_404(Receipt, bid=bid, number=kwargs["number"])
        )
        return context


def bid_withdraw_view(request, pk: int):
    bid = _own_bid(request, pk)
    if request.method == "POST":
        try:
            services.bid_withdraw(supplier=request.user, bid=bid, arrived_at=arrived_at(request))
        except ValidationError as error:
            if Bid.objects.filter(pk=bid.pk, status=Bid.Status.WITHDRAWN).exists():
                # Withdrawn already (a double click, another tab): where the withdrawal lands.
                messages.info(request, _("Your bid is already withdrawn."))
                return redirect("bids:detail", pk=bid.pk)
            return _refused(request, bid, error)
        messages.success(
            request, _("Your bid was withdrawn. You can submit it again until the deadline.")
        )
        return redirect("bids:detail", pk=bid.pk)
    return render(request, "bids/bid_withdraw.html", {"bid": bid})


def bid_discard_view(request, pk: int):
    """Discard a draft: a page that says what will go, then one button (POST). Only the
    supplier's own draft; any other bid of theirs is a 404 here, as is anybody else's."""
    try:
        bid = _own_bid(request, pk)
    except Http404:
        # Discarded already (a double click, another tab, a replay): said so, not "not found".
        if request.method == "POST" and discarded_by(request.user, Bid, pk, "bid.discarded"):
            messages.info(request, _("This draft bid was discarded already."))
            return redirect("bids:list")
        raise
    if bid.status != Bid.Status.DRAFT:
        raise Http404
    if request.method == "POST":
        try:
            services.bid_discard(supplier=request.user, bid=bid)
        except ValidationError as error:
            return _refused(request, bid, error)
        messages.success(
            request,
            _("Your draft bid on “%(title)s” was discarded.") % {"title": bid.opportunity.title},
        )
        return redirect("bids:list")
    return render(
        request,
        "bids/bid_discard.html",
        {
            "bid": bid,
            "opportunity": bid.opportunity,
            "answered": bid.answers.exclude(text="").count(),
            "attachment_count": bid.attachments.filter(removed_at__isnull=True).count(),
        },
    )


@require_POST
def bid_confirm_view(request, pk: int):
    bid = _own_bid(request, pk)
    try:
        services.bid_confirm(supplier=request.user, bid=bid, arrived_at=arrived_at(request))
    except ValidationError as error:
        return _refused(request, bid, error)
    messages.success(request, _("Your bid stands as submitted."))
    return redirect("bids:detail", pk=bid.pk)


def _posted_form(request, bid: Bid, button: str):
    """The bid form of a request sent by one of its buttons (`button`: "Upload", "Remove"):
    the draft it carries saved first, so nothing typed is lost; the saved bid, or the form
    shown again with its errors. A request without the form (a script sending only the file)
    gets the saved working copy, untouched."""
    if button in request.POST:
        form = BidForm(request.POST, request.FILES, bid=bid)
        saved = _form_saved(request, bid, form)
        return (saved, form) if isinstance(saved, Bid) else (saved, None)
    form = BidForm(BidForm.saved_data(bid), bid=bid)
    form.is_valid()
    return bid, form


@require_POST
def attachment_add_view(request, pk: int):
    """ "Upload" on the bid form posts the whole form here: the draft is saved, then the file
    is checked and attached. A refused file is said at the file box, in the error summary."""
    bid = _own_bid(request, pk)
    if not settings.BID_ATTACHMENTS_ENABLED:
        raise PermissionDenied
    if not permissions.can_change_bid(request.user, bid, now=arrived_at(request)):
        return _closed(request, bid)
    whole = "action_upload" in request.POST
    saved, form = _posted_form(request, bid, "action_upload")
    if form is None:
        return saved
    bid = saved
    upload = request.FILES.get("attachment") or request.FILES.get("file")
    if upload is None:
        form.add_error("attachment", _("Choose a PDF file to upload."))
        return render(request, "bids/bid_form.html", _edit_context(bid, form), status=400)
    try:
        # Counted and one at a time per person before the file is read (bids/pdf_worker.py).
        with check_admitted(who=request.user.pk):
            services.attachment_add(
                supplier=request.user, bid=bid, upload=upload, arrived_at=arrived_at(request)
            )
    except ValidationError as error:
        form.add_error("attachment", error.messages)
        return render(request, "bids/bid_form.html", _edit_context(bid, form), status=400)
    messages.success(
        request,
        _("Your draft was saved. The file was attached.") if whole else _("The file was attached."),
    )
    return redirect("bids:edit", pk=bid.pk)


@require_POST
def attachment_remove_view(request, pk: int, attachment_pk: int):
    bid = _own_bid(request, pk)
    # One removed already (a double click, another tab) lands where its removal did.
    attachment = get_object_or_404(Attachment, pk=attachment_pk, bid=bid)
    saved, form = _posted_form(request, bid, "action_remove")
    if form is None:
        return saved
    bid = saved
    try:
        services.attachment_remove(
            supplier=request.user, bid=bid, attachment=attachment, arrived_at=arrived_at(request)
        )
    except ValidationError as error:
        return _refused(request, bid, error)
    messages.success(request, _("The file was removed from your bid."))
    return redirect("bids:edit", pk=bid.pk)


def attachment_download_view(request, pk: int, attachment_pk: int):
    bid = _own_bid(request, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_pk, bid=bid)
    return private_file_response(attachment.file, filename=attachment.name)


@method_decorator(login_not_required, name="dispatch")
class TermsView(TemplateView):
    template_name = "bids/terms.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "version": settings.BID_TERMS_VERSION}
