from __future__ import annotations

from decimal import Decimal

from crispy_forms.utils import render_crispy_form
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, FormView, ListView, TemplateView

from bids.selectors import opportunity_bid_panel
from evaluation.selectors import awarded_opportunities, opportunity_evaluation_panel
from marketplace import approvals, formats
from marketplace.caching import cache_public_page, cached_in
from marketplace.forms import add_service_errors
from marketplace.middleware import arrived_at
from marketplace.mixins import PredicateRequiredMixin
from marketplace.models import Approval
from marketplace.ratelimit import rate_limit_allows
from marketplace.selectors import discarded_by
from marketplace.views_support import message_service_error

from . import permissions, selectors
from .addenda import opportunity_amend
from .alerts import alert_delete, alert_save, watch_toggle
from .cancellation import opportunity_cancel, opportunity_revealed
from .drafting import (
    criterion_delete,
    criterion_save,
    opportunity_create,
    opportunity_discard,
    opportunity_update_draft,
)
from .forms import (
    CRITERION_FIELDS,
    AlertForm,
    AmendForm,
    AnswerForm,
    CancelForm,
    CriterionFormSet,
    DismissForm,
    GuardrailsForm,
    OpportunityFilterForm,
    OpportunityForm,
    PublishForm,
    QuestionForm,
    RequestChangesForm,
    as_posted,
)
from .markdown import render_markdown
from .models import Alert, Guardrails, Opportunity, Question, Skill, Watch
from .publishing import (
    CRITERIA,
    opportunity_publish,
    opportunity_recall,
    opportunity_request_changes,
    opportunity_submit_for_review,
    publication_problems,
    review_stamp,
    split_matches,
)
from .questions import question_answer, question_ask, question_dismiss

FILTER_FORM_SECONDS = 300


def _question_draft_key(pk: int) -> str:
    return f"question-draft-{pk}"


@method_decorator([login_not_required, cache_public_page], name="dispatch")
class OpportunityListView(ListView):
    template_name = "opportunities/opportunity_list.html"
    context_object_name = "opportunities"
    paginate_by = 20

    def get_queryset(self):
        self.filter_form = OpportunityFilterForm(self.request.GET or None)
        return selectors.opportunity_list(filters=self.filter_form.to_filters())

    def get_context_data(self, **kwargs):
        # The form is the same for everyone who asks the same question, and rendering it is a
        # good part of the page's work: kept five minutes (skills added since show after that).
        filter_form_html = cached_in(
            "opportunity-filters",
            f"{get_language()}:{self.request.GET.urlencode()}",
            lambda: render_crispy_form(self.filter_form),
            seconds=FILTER_FORM_SECONDS,
        )
        return super().get_context_data(
            filter_form=self.filter_form,
            filter_form_html=filter_form_html,  # SafeString, which the cache keeps as it is
            # Said on the folded filters (a phone), so that a narrowed list is not taken for all.
            filters_applied=any(
                value for key, value in self.request.GET.items() if key not in ("page", "sort")
            ),
            **kwargs,
        )


@method_decorator([login_not_required, cache_public_page], name="dispatch")
class OpportunityDetailView(DetailView):
    template_name = "opportunities/opportunity_detail.html"
    context_object_name = "opportunity"

    def get_object(self, queryset=None):
        return selectors.opportunity_get_visible(user=self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        # A form sent back with its errors (`_detail_page`) replaces the empty one.
        question_form = kwargs.pop("question_form", None)
        bound = {
            name: kwargs.pop(name)
            for name in ("answer_form", "dismiss_form")
            if kwargs.get(name) is not None
        }
        context = super().get_context_data(**kwargs)
        opportunity = self.object
        criteria = list(opportunity.criteria.all())
        user = self.request.user
        questions = list(opportunity.questions.all())
        can_answer = permissions.can_answer_questions(user, opportunity)
        if question_form is None:
            question_form = QuestionForm(
                initial={"text": self.request.session.pop(_question_draft_key(opportunity.pk), "")}
                if user.is_authenticated
                else None
            )
        context.update(
            can_edit=permissions.can_edit_draft(user, opportunity),
            can_recall=permissions.can_recall(user, opportunity),
            can_cancel=permissions.can_cancel(user, opportunity),
            can_amend=permissions.can_amend(user, opportunity),
            can_ask=permissions.can_ask_question(user, opportunity, now=timezone.now()),
            can_watch=permissions.can_watch(user, opportunity),
            watching=user.is_authenticated
            and Watch.objects.filter(user=user, opportunity=opportunity).exists(),
            answered_questions=[q for q in questions if q.answered_at],
            unanswered_questions=[
                _question_forms(q, bound)
                for q in questions
                if not q.answered_at and not q.dismissed_at
            ]
            if can_answer
            else [],
            # The asker's own questions not (yet) published, with a dismissal's reason: for
            # their eyes only (a signed-in page is never served from the public cache).
            own_questions=[q for q in questions if q.asker_id == user.pk and not q.answered_at]
            if user.is_authenticated
            else [],
            question_form=question_form,
            # The forms the error summary lists, named: left to itself it would look through
            # every value of the context, `csrf_token` too, and asking for the token makes the
            # anonymous page uncacheable (marketplace/caching.py, `_store`).
            error_forms=[question_form, *(form for _pk, form in bound.values())],
            addenda=opportunity.addenda.all(),
            mandatory_criteria=[c for c in criteria if c.kind == "mandatory"],
            rated_criteria=[c for c in criteria if c.kind == "rated"],
            bid_panel=opportunity_bid_panel(user=user, opportunity=opportunity, now=timezone.now()),
            evaluation_panel=opportunity_evaluation_panel(user=user, opportunity=opportunity),
        )
        return context


def _question_forms(question: Question, bound: dict) -> dict:
    """An unanswered question with its answer and dismissal forms (ids of their own, since the
    page holds one pair per question), the one sent back with errors in place of its blank."""
    forms = {}
    for name, form_class in (("answer_form", AnswerForm), ("dismiss_form", DismissForm)):
        sent = bound.get(name)
        if sent is not None and sent[0] == question.pk:
            forms[name] = sent[1]
        else:
            forms[name] = form_class(auto_id=f"q{question.pk}-{name}-%s")
    return {"question": question, **forms}


def _detail_page(request, pk: int, **forms) -> HttpResponseBase:
    """The opportunity's page with a form sent back, its errors at its fields and what was
    typed kept (rather than a redirect that would lose it)."""
    view = OpportunityDetailView()
    view.setup(request, pk=pk)
    view.object = view.get_object()
    return view.render_to_response(view.get_context_data(object=view.object, **forms), status=400)


class OpenOpportunitiesFeed(Feed):
    feed_type = Atom1Feed
    title = gettext_lazy("Open micro-acquisition opportunities")
    subtitle = gettext_lazy("Small, fixed-price digital work for the Government of Canada.")

    def link(self):
        return reverse("opportunities:list")

    def items(self):
        return Opportunity.objects.open().order_by("-published_at")[:50]

    def item_title(self, item: Opportunity) -> str:
        return f"{item.title} — {formats.money(item.value_cents)}"

    def item_description(self, item: Opportunity) -> str:
        return render_markdown(item.summary)

    def item_link(self, item: Opportunity) -> str:
        return reverse("opportunities:detail", args=[item.pk])

    def item_pubdate(self, item: Opportunity):
        return item.published_at

    def item_updateddate(self, item: Opportunity):
        return item.updated_at


class SkillOpportunitiesFeed(OpenOpportunitiesFeed):
    def get_object(self, request, slug: str):
        return get_object_or_404(Skill, slug=slug)

    def title(self, obj: Skill) -> str:
        return _("Open opportunities: %(skill)s") % {"skill": obj.name}

    def link(self, obj: Skill) -> str:
        return reverse("opportunities:list") + f"?skill={obj.slug}"

    def items(self, obj: Skill):
        return Opportunity.objects.open().filter(skills=obj).order_by("-published_at")[:50]


open_feed = login_not_required(cache_public_page(OpenOpportunitiesFeed()))
skill_feed = login_not_required(cache_public_page(SkillOpportunitiesFeed()))


# --- Buyer: drafting ---------------------------------------------------------------------------


class BuyerRequiredMixin(PredicateRequiredMixin):
    permission = staticmethod(permissions.can_create_opportunity)


def _own_opportunity(request, pk: int) -> Opportunity:
    """The requesting buyer's own opportunity (any status), for the pages that change it; 404
    for anyone else's. Narrower than `visible_to`, which lets program admins and other buyers
    see what they may not change."""
    return get_object_or_404(Opportunity, pk=pk, buyer=request.user)


class OpportunityCreateView(BuyerRequiredMixin, FormView):
    template_name = "opportunities/opportunity_form.html"
    form_class = OpportunityForm

    def form_valid(self, form):
        try:
            opportunity = opportunity_create(buyer=self.request.user, **form.service_fields())
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request, _("Draft saved. Add the evaluation criteria, then submit it for review.")
        )
        return redirect("opportunities:edit", pk=opportunity.pk)


class OpportunityUpdateView(TemplateView):
    template_name = "opportunities/opportunity_form.html"

    def dispatch(self, request, *args, **kwargs):
        if not permissions.can_create_opportunity(request.user):
            raise PermissionDenied
        self.opportunity = _own_opportunity(request, kwargs["pk"])
        if self.opportunity.status != Opportunity.Status.DRAFT:
            messages.info(request, _("Only drafts can be edited here."))
            return redirect("opportunities:detail", pk=self.opportunity.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", OpportunityForm(instance=self.opportunity))
        context.setdefault(
            "criteria_formset", CriterionFormSet(instance=self.opportunity, prefix="criteria")
        )
        context.update(
            opportunity=self.opportunity,
            problems=publication_problems(self.opportunity),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = OpportunityForm(request.POST, instance=self.opportunity)
        formset = CriterionFormSet(request.POST, instance=self.opportunity, prefix="criteria")
        if not (form.is_valid() and formset.is_valid()):
            return self.render_to_response(
                self.get_context_data(form=form, criteria_formset=formset), status=400
            )
        try:
            _save_draft(request, self.opportunity, form, formset)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render_to_response(
                self.get_context_data(form=form, criteria_formset=formset), status=400
            )
        messages.success(request, _("Draft saved."))
        return redirect("opportunities:edit", pk=self.opportunity.pk)


@transaction.atomic
def _save_draft(request, opportunity: Opportunity, form, formset) -> None:
    """The posted draft and its criteria (valid forms), saved together or not at all."""
    opportunity_update_draft(actor=request.user, opportunity=opportunity, **form.service_fields())
    for criterion_form in formset.forms:
        if not criterion_form.has_changed() and not criterion_form.instance.pk:
            continue
        if criterion_form in formset.deleted_forms:
            if criterion_form.instance.pk:
                criterion_delete(actor=request.user, criterion=criterion_form.instance)
            continue
        data = {name: criterion_form.cleaned_data[name] for name in CRITERION_FIELDS}
        criterion_save(
            actor=request.user,
            opportunity=opportunity,
            criterion=criterion_form.instance if criterion_form.instance.pk else None,
            **data,
        )


def _draft_page(
    request, opportunity: Opportunity, form, formset, *, problems_shown: bool = False
) -> HttpResponseBase:
    """The draft's form again, with its errors at their fields and in the error summary
    (`problems_shown`: the errors are what stops the submission, not listed again below)."""
    return render(
        request,
        "opportunities/opportunity_form.html",
        {
            "form": form,
            "criteria_formset": formset,
            "opportunity": opportunity,
            "problems": publication_problems(opportunity),
            "problems_shown": problems_shown,
        },
        status=400,
    )


def _draft_with_problems(opportunity: Opportunity, problems: dict[str, list[str]]):
    """The saved draft as its form and criteria (bound, as the page would post them), each
    problem of `publication_problems_by_field` at its field: the value's at the box in dollars,
    one criterion's at that criterion's box, the criteria's as a whole at the empty row."""
    unbound_form = OpportunityForm(instance=opportunity)
    unbound_formset = CriterionFormSet(instance=opportunity, prefix="criteria")
    data = as_posted(unbound_form, unbound_formset)
    form = OpportunityForm(data, instance=opportunity)
    formset = CriterionFormSet(data, instance=opportunity, prefix="criteria")
    form.is_valid()
    formset.is_valid()
    rows = {row.instance.pk: row for row in formset.forms if row.instance.pk}
    for key, messages_ in problems.items():
        if key == CRITERIA:
            formset.add_problems(messages_)
        elif key.startswith(f"{CRITERIA}:"):
            _criteria, pk, name = key.split(":", 2)
            row = rows.get(int(pk))
            if row is not None and name in row.fields:
                row.add_error(name, messages_)
            else:
                formset.non_form_errors().extend(messages_)
        else:
            name = "value_dollars" if key == "value_cents" else key
            form.add_error(name if name in form.fields else None, messages_)
    return form, formset


@require_POST
def opportunity_submit_view(request, pk: int):
    """Submit the draft for review. From the draft's page, the form comes with it: what was
    typed is saved first. What stops the submission is shown on the draft's form, every
    problem at its field and in the error summary, with nothing typed lost."""
    opportunity = _own_opportunity(request, pk)

    def moved_on() -> bool:
        return Opportunity.objects.filter(pk=pk).exclude(status=Opportunity.Status.DRAFT).exists()

    def already():
        # Submitted already (a double click, another tab): where the submission lands.
        messages.info(request, _("This opportunity is already submitted."))
        return redirect("opportunities:detail", pk=pk)

    if opportunity.status != Opportunity.Status.DRAFT:
        return already()
    if "criteria-TOTAL_FORMS" in request.POST:  # the draft's form, as typed
        form = OpportunityForm(request.POST, instance=opportunity)
        formset = CriterionFormSet(request.POST, instance=opportunity, prefix="criteria")
        if not (form.is_valid() and formset.is_valid()):
            return _draft_page(request, opportunity, form, formset)
        try:
            _save_draft(request, opportunity, form, formset)
        except PermissionDenied:
            if moved_on():
                return already()
            raise Http404 from None
        except ValidationError as error:
            add_service_errors(form, error)
            return _draft_page(request, opportunity, form, formset)
        opportunity = Opportunity.objects.get(pk=pk)
    try:
        opportunity_submit_for_review(actor=request.user, opportunity=opportunity)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        if moved_on():
            return already()
        if not hasattr(error, "error_dict"):
            message_service_error(request, error)
            return redirect("opportunities:edit", pk=pk)
        form, formset = _draft_with_problems(opportunity, error.message_dict)
        return _draft_page(request, opportunity, form, formset, problems_shown=True)
    messages.success(request, _("Submitted for review. The program team will publish it."))
    return redirect("opportunities:detail", pk=pk)


class OpportunityRecallView(BuyerRequiredMixin, TemplateView):
    """The buyer takes a posting back from review: a page that says what will happen, then
    one button."""

    template_name = "opportunities/opportunity_recall.html"

    def dispatch(self, request, *args, **kwargs):
        if not permissions.can_create_opportunity(request.user):
            raise PermissionDenied
        self.opportunity = _own_opportunity(request, kwargs["pk"])
        return self._not_recallable(request) or super().dispatch(request, *args, **kwargs)

    def _not_recallable(self, request):
        """Where to go when it is no longer in review: said the same before and after a POST."""
        if self.opportunity.status == Opportunity.Status.DRAFT:
            # Taken back already (a double click, another tab) or sent back by the reviewer.
            messages.info(request, _("This opportunity is already back in your drafts."))
            return redirect("opportunities:edit", pk=self.opportunity.pk)
        if not permissions.can_recall(request.user, self.opportunity):
            messages.info(
                request, _("This opportunity has been reviewed already: it cannot be taken back.")
            )
            return redirect("opportunities:detail", pk=self.opportunity.pk)
        return None

    def get_context_data(self, **kwargs):
        return super().get_context_data(opportunity=self.opportunity, **kwargs)

    def post(self, request, *args, **kwargs):
        # Each recall (and each submission after it) notifies every program administrator: a
        # loop would flood them.
        limit, seconds = settings.RECALL_RATE_LIMIT
        if not rate_limit_allows(
            scope="opportunity_recall", who=str(request.user.pk), limit=limit, seconds=seconds
        ):
            messages.error(
                request,
                _(
                    "You have taken postings back from review too many times this hour: leave "
                    "this one in review, or try again later."
                ),
            )
            return redirect("opportunities:detail", pk=self.opportunity.pk)
        try:
            opportunity_recall(actor=request.user, opportunity=self.opportunity)
        except ValidationError as error:
            # Taken back in another tab, or the reviewer acted in between: what happened stands.
            self.opportunity.refresh_from_db()
            moved_on = self._not_recallable(request)
            if moved_on is None:
                raise error
            return moved_on
        messages.success(
            request,
            _(
                "Back in your drafts. The program team no longer sees it in the review queue; "
                "submit it again when it is ready."
            ),
        )
        return redirect("opportunities:edit", pk=self.opportunity.pk)


class OpportunityDiscardView(BuyerRequiredMixin, TemplateView):
    """The buyer throws a draft away: a page that says what will happen, then one button."""

    template_name = "opportunities/opportunity_discard.html"

    def dispatch(self, request, *args, **kwargs):
        if not permissions.can_create_opportunity(request.user):
            raise PermissionDenied
        try:
            self.opportunity = _own_opportunity(request, kwargs["pk"])
        except Http404:
            # Discarded already (a double click, another tab, a replay): said so, not "not found".
            if request.method == "POST" and discarded_by(
                request.user, Opportunity, kwargs["pk"], "opportunity.discarded"
            ):
                messages.info(request, _("This draft was discarded already."))
                return redirect("marketplace:dashboard")
            raise
        if not permissions.can_discard(request.user, self.opportunity):
            messages.info(
                request,
                _("Only a draft can be discarded. A published opportunity can be cancelled."),
            )
            return redirect("opportunities:detail", pk=self.opportunity.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(opportunity=self.opportunity, **kwargs)

    def post(self, request, *args, **kwargs):
        title = self.opportunity.title
        try:
            opportunity_discard(actor=request.user, opportunity=self.opportunity)
        except (ValidationError, PermissionDenied) as error:
            # Submitted in between (another tab): it is no longer a draft; or discarded there.
            if isinstance(error, ValidationError):
                message_service_error(request, error)
            if not Opportunity.objects.filter(pk=self.opportunity.pk).exists():
                return redirect("marketplace:dashboard")
            return redirect("opportunities:detail", pk=self.opportunity.pk)
        messages.success(request, _("Draft discarded: “%(title)s”.") % {"title": title})
        return redirect("marketplace:dashboard")


class OpportunityCancelView(FormView):
    template_name = "opportunities/opportunity_cancel.html"
    form_class = CancelForm

    def dispatch(self, request, *args, **kwargs):
        self.opportunity = selectors.opportunity_get_visible(user=request.user, pk=kwargs["pk"])
        if self._cancelled_already():
            return self._already()
        if not permissions.can_cancel(request.user, self.opportunity):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def _cancelled_already(self) -> bool:
        """A cancel sent again (a double click, another tab) lands where the first did."""
        if self.request.method != "POST":
            return False
        opportunity = Opportunity.objects.get(pk=self.opportunity.pk)
        return opportunity.status == Opportunity.Status.CANCELLED and permissions.is_canceller(
            self.request.user, opportunity
        )

    def _already(self):
        messages.info(self.request, _("The opportunity is already cancelled."))
        return redirect("opportunities:detail", pk=self.opportunity.pk)

    def get_context_data(self, **kwargs):
        revealed = opportunity_revealed(self.opportunity)
        return super().get_context_data(
            opportunity=self.opportunity,
            needs_approval=revealed,
            pending=self._pending() if revealed else None,
            second_admin_missing=revealed
            and approvals.second_admin_missing(
                user=self.request.user, subject=self.opportunity.buyer
            ),
            **kwargs,
        )

    def _pending(self) -> Approval | None:
        return Approval.objects.filter(
            kind=Approval.Kind.OPPORTUNITY_CANCEL,
            status=Approval.Status.PENDING,
            subject_key=f"opportunity_cancel:{self.opportunity.pk}",
        ).first()

    def _ask_for_approval(self, form):
        """After the reveal the buyer has seen who bid: a cancellation is asked for, and made
        when a second program administrator approves it."""
        try:
            approval = approvals.approval_request(
                actor=self.request.user,
                kind=Approval.Kind.OPPORTUNITY_CANCEL,
                payload={"opportunity": self.opportunity.pk, "reason": form.cleaned_data["reason"]},
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _(
                "The bidders were revealed: your cancellation is waiting for a second program "
                "administrator to approve it."
            ),
        )
        return redirect("marketplace:approval_detail", pk=approval.pk)

    def form_valid(self, form):
        if opportunity_revealed(self.opportunity):
            return self._ask_for_approval(form)
        try:
            opportunity_cancel(
                actor=self.request.user,
                opportunity=self.opportunity,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            if self._cancelled_already():
                return self._already()
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The opportunity was cancelled."))
        return redirect("opportunities:detail", pk=self.opportunity.pk)


# --- Program admin: review ---------------------------------------------------------------------


class ReviewQueueView(PredicateRequiredMixin, ListView):
    permission = staticmethod(permissions.can_review)
    template_name = "opportunities/review_queue.html"
    context_object_name = "opportunities"
    paginate_by = 25

    def get_queryset(self):
        return (
            Opportunity.objects.filter(status=Opportunity.Status.IN_REVIEW)
            .select_related("buyer")
            .order_by("submitted_at")
        )


class ReviewView(PredicateRequiredMixin, TemplateView):
    permission = staticmethod(permissions.can_review)
    template_name = "opportunities/review.html"

    def get(self, request, *args, **kwargs):
        opportunity = get_object_or_404(Opportunity, pk=kwargs["pk"])
        if opportunity.status != Opportunity.Status.IN_REVIEW:
            # A link from an older notification: published, sent back or taken back since.
            messages.info(
                request,
                _("“%(title)s” is no longer waiting for review.") % {"title": opportunity.title},
            )
            return redirect("opportunities:review_queue")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        opportunity = get_object_or_404(
            Opportunity.objects.select_related("buyer"),
            pk=self.kwargs["pk"],
            status=Opportunity.Status.IN_REVIEW,
        )
        context.setdefault("publish_form", PublishForm())
        context.setdefault("changes_form", RequestChangesForm())
        context.update(
            opportunity=opportunity,
            problems=publication_problems(opportunity),
            splits=split_matches(opportunity),
            review_stamp=review_stamp(opportunity),
        )
        return context


def _review_action(request, pk: int, action, *, done: str, already: str) -> HttpResponseBase:
    """Review step `action` on an opportunity in review. One already moved on to `done` (the
    same step sent twice: a double click, another tab) lands where the step does, saying so."""
    if not permissions.can_review(request.user):
        raise PermissionDenied
    opportunity = get_object_or_404(Opportunity, pk=pk)

    def moved_on() -> bool:
        return Opportunity.objects.filter(pk=pk, status=done).exists()

    if opportunity.status != Opportunity.Status.IN_REVIEW:
        # Done already (a double click, another tab), or taken back by its buyer since the
        # page was opened: said, never a dead end.
        messages.info(
            request,
            already
            if moved_on()
            else _("“%(title)s” is no longer waiting for review.") % {"title": opportunity.title},
        )
        return redirect("opportunities:review_queue")
    try:
        action(opportunity)
    except ValidationError as error:
        if moved_on():
            messages.info(request, already)
            return redirect("opportunities:review_queue")
        message_service_error(request, error)
        return redirect("opportunities:review", pk=pk)
    return redirect("opportunities:review_queue")


@require_POST
def opportunity_publish_view(request, pk: int):
    form = PublishForm(request.POST)
    form.is_valid()

    def publish(opportunity):
        opportunity_publish(
            actor=request.user,
            opportunity=opportunity,
            acknowledge_split=form.cleaned_data.get("acknowledge_split", False),
            reviewed=request.POST.get("reviewed"),
        )
        messages.success(request, _("Published: “%(title)s”.") % {"title": opportunity.title})

    return _review_action(
        request,
        pk,
        publish,
        done=Opportunity.Status.PUBLISHED,
        already=_("This opportunity is already published."),
    )


@require_POST
def opportunity_request_changes_view(request, pk: int):
    form = RequestChangesForm(request.POST)

    def request_changes(opportunity):
        if not form.is_valid():
            raise ValidationError(_("Say what needs to change."))
        opportunity_request_changes(
            actor=request.user, opportunity=opportunity, note=form.cleaned_data["note"]
        )
        messages.success(request, _("Sent back to the buyer with your note."))

    return _review_action(
        request,
        pk,
        request_changes,
        done=Opportunity.Status.DRAFT,
        already=_("This opportunity is already back with its buyer."),
    )


# --- Changes after publishing, questions, watching, alerts ---------------------------------------


class OpportunityAmendView(BuyerRequiredMixin, FormView):
    template_name = "opportunities/opportunity_amend.html"
    form_class = AmendForm

    def dispatch(self, request, *args, **kwargs):
        self.opportunity = _own_opportunity(request, kwargs["pk"])
        if not permissions.can_amend(request.user, self.opportunity):
            opportunity = self.opportunity
            if opportunity.status != Opportunity.Status.PUBLISHED or opportunity.accepts_bids_at(
                timezone.now()
            ):
                raise Http404
            messages.error(
                request, _("The deadline has passed: this opportunity can no longer change.")
            )
            return redirect("opportunities:detail", pk=self.opportunity.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.opportunity}

    def get_context_data(self, **kwargs):
        return super().get_context_data(opportunity=self.opportunity, **kwargs)

    def form_valid(self, form):
        # The form wrote the values on the instance while validating; work on a fresh copy.
        opportunity = Opportunity.objects.get(pk=self.opportunity.pk)
        try:
            addendum = opportunity_amend(
                actor=self.request.user,
                opportunity=opportunity,
                note_en=form.cleaned_data["note_en"],
                note_fr=form.cleaned_data["note_fr"],
                **form.service_fields(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request, _("Addendum %(number)s published.") % {"number": addendum.number}
        )
        return redirect("opportunities:detail", pk=opportunity.pk)


@require_POST
def question_ask_view(request, pk: int):
    opportunity = selectors.opportunity_get_visible(user=request.user, pk=pk)
    form = QuestionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, question_form=form)
    limit, seconds = settings.QUESTION_RATE_LIMIT
    if not rate_limit_allows(
        scope="question", who=str(request.user.pk), limit=limit, seconds=seconds
    ):
        # Kept for the form on the page, so that nothing typed is lost.
        request.session[_question_draft_key(pk)] = form.cleaned_data["text"]
        messages.error(
            request,
            _("You have asked many questions in the last hour. Wait a while, then send it again."),
        )
        return redirect("opportunities:detail", pk=pk)
    try:
        question_ask(
            asker=request.user,
            opportunity=opportunity,
            text=form.cleaned_data["text"],
            arrived_at=arrived_at(request),
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            add_service_errors(form, error)
            return _detail_page(request, pk, question_form=form)
        message_service_error(request, error)
    else:
        messages.success(request, _("Your question was sent. The answer will appear on this page."))
    return redirect("opportunities:detail", pk=pk)


def _own_question(request, pk: int, question_pk: int) -> Question:
    """A question on the requesting buyer's own opportunity; 404 for anyone else."""
    return get_object_or_404(Question, pk=question_pk, opportunity=_own_opportunity(request, pk))


@require_POST
def question_answer_view(request, pk: int, question_pk: int):
    question = _own_question(request, pk, question_pk)
    form = AnswerForm(request.POST, auto_id=f"q{question.pk}-answer_form-%s")
    if not form.is_valid():
        return _detail_page(request, pk, answer_form=(question.pk, form))
    try:
        question_answer(actor=request.user, question=question, **form.cleaned_data)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            add_service_errors(form, error)
            return _detail_page(request, pk, answer_form=(question.pk, form))
        message_service_error(request, error)
    else:
        messages.success(request, _("Your answer is published."))
    return redirect("opportunities:detail", pk=pk)


@require_POST
def question_dismiss_view(request, pk: int, question_pk: int):
    question = _own_question(request, pk, question_pk)
    form = DismissForm(request.POST, auto_id=f"q{question.pk}-dismiss_form-%s")
    if not form.is_valid():
        return _detail_page(request, pk, dismiss_form=(question.pk, form))
    try:
        question_dismiss(actor=request.user, question=question, **form.cleaned_data)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            add_service_errors(form, error)
            return _detail_page(request, pk, dismiss_form=(question.pk, form))
        message_service_error(request, error)
    else:
        messages.success(
            request,
            _("The question is dismissed. Only the supplier who asked it is told why."),
        )
    return redirect("opportunities:detail", pk=pk)


@require_POST
def watch_toggle_view(request, pk: int):
    opportunity = selectors.opportunity_get_visible(user=request.user, pk=pk)
    wanted = {"yes": True, "no": False}.get(request.POST.get("watching", ""))
    try:
        watching = watch_toggle(user=request.user, opportunity=opportunity, watching=wanted)
    except PermissionDenied:
        raise Http404 from None
    messages.success(
        request,
        _("You are watching this opportunity.") if watching else _("You stopped watching it."),
    )
    return redirect("opportunities:detail", pk=pk)


class AlertView(PredicateRequiredMixin, FormView):
    permission = staticmethod(permissions.can_subscribe_to_alerts)
    template_name = "opportunities/alert_form.html"
    form_class = AlertForm

    def get_initial(self):
        alert = Alert.objects.filter(user=self.request.user).first()
        if alert is None:
            return {"frequency": Alert.Frequency.DAILY}
        return {"skills": alert.skills.all(), "types": alert.types, "frequency": alert.frequency}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            has_alert=Alert.objects.filter(user=self.request.user).exists(),
            open_count=Opportunity.objects.open().count(),
            **kwargs,
        )

    def form_valid(self, form):
        alert_save(
            user=self.request.user,
            skills=list(form.cleaned_data["skills"]),
            types=form.cleaned_data["types"],
            frequency=form.cleaned_data["frequency"],
        )
        messages.success(self.request, _("Your alert is saved."))
        return redirect("opportunities:alert")


@require_POST
def alert_delete_view(request):
    if not permissions.can_subscribe_to_alerts(request.user):
        raise PermissionDenied
    alert_delete(user=request.user)
    messages.success(request, _("Your alert is deleted."))
    return redirect("opportunities:alert")


class GuardrailsView(PredicateRequiredMixin, FormView):
    permission = staticmethod(permissions.can_review)
    template_name = "opportunities/guardrails_form.html"
    form_class = GuardrailsForm

    def get_initial(self):
        guardrails = Guardrails.current()
        return {
            "value_cap_dollars": Decimal(guardrails.value_cap_cents) / 100,
            "min_open_business_days": guardrails.min_open_business_days,
            "allowed_types": guardrails.allowed_types,
            "split_window_days": guardrails.split_window_days,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            pending=Approval.objects.filter(
                kind=Approval.Kind.GUARDRAILS, status=Approval.Status.PENDING
            ).first(),
            second_admin_missing=approvals.second_admin_missing(user=self.request.user),
            ceiling=formats.money(settings.OPPORTUNITY_VALUE_CEILING_CENTS),
            floor_days=settings.OPPORTUNITY_MIN_OPEN_BUSINESS_DAYS_FLOOR,
            **kwargs,
        )

    def form_valid(self, form):
        """Ask for the change: a second program administrator approves it."""
        try:
            approval = approvals.approval_request(
                actor=self.request.user,
                kind=Approval.Kind.GUARDRAILS,
                payload=form.service_fields(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Your change of the guardrails is waiting for a second program administrator."),
        )
        return redirect("marketplace:approval_detail", pk=approval.pk)


@method_decorator(login_not_required, name="dispatch")
class AwardedListView(ListView):
    """The public history of awarded work: who got what, for how much, when."""

    template_name = "opportunities/award_list.html"
    context_object_name = "awards"
    paginate_by = 25

    def get_queryset(self):
        return awarded_opportunities()
