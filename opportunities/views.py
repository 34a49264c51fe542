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
from django.shortcuts import get_object_or_404, redirect
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
from marketplace.views_support import message_service_error

from . import permissions, selectors
from .addenda import opportunity_amend
from .alerts import alert_delete, alert_save, watch_toggle
from .cancellation import opportunity_cancel, opportunity_revealed
from .drafting import criterion_delete, criterion_save, opportunity_create, opportunity_update_draft
from .forms import (
    CRITERION_FIELDS,
    AlertForm,
    AmendForm,
    AnswerForm,
    CancelForm,
    CriterionFormSet,
    GuardrailsForm,
    OpportunityFilterForm,
    OpportunityForm,
    PublishForm,
    QuestionForm,
    RequestChangesForm,
)
from .markdown import render_markdown
from .models import Alert, Guardrails, Opportunity, Question, Skill, Watch
from .publishing import (
    opportunity_publish,
    opportunity_request_changes,
    opportunity_submit_for_review,
    possible_splits,
    publication_problems,
)
from .questions import question_answer, question_ask

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
            **kwargs,
        )


@method_decorator([login_not_required, cache_public_page], name="dispatch")
class OpportunityDetailView(DetailView):
    template_name = "opportunities/opportunity_detail.html"
    context_object_name = "opportunity"

    def get_object(self, queryset=None):
        return selectors.opportunity_get_visible(user=self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        opportunity = self.object
        criteria = list(opportunity.criteria.all())
        user = self.request.user
        questions = opportunity.questions.all()
        can_answer = permissions.can_answer_questions(user, opportunity)
        context.update(
            can_edit=permissions.can_edit_draft(user, opportunity),
            can_cancel=permissions.can_cancel(user, opportunity),
            can_amend=permissions.can_amend(user, opportunity),
            can_ask=permissions.can_ask_question(user, opportunity, now=timezone.now()),
            can_watch=permissions.can_watch(user, opportunity),
            watching=user.is_authenticated
            and Watch.objects.filter(user=user, opportunity=opportunity).exists(),
            answered_questions=[q for q in questions if q.answered_at],
            unanswered_questions=[q for q in questions if not q.answered_at] if can_answer else [],
            question_form=QuestionForm(
                initial={"text": self.request.session.pop(_question_draft_key(opportunity.pk), "")}
            )
            if user.is_authenticated
            else QuestionForm(),
            addenda=opportunity.addenda.all(),
            mandatory_criteria=[c for c in criteria if c.kind == "mandatory"],
            rated_criteria=[c for c in criteria if c.kind == "rated"],
            bid_panel=opportunity_bid_panel(user=user, opportunity=opportunity, now=timezone.now()),
            evaluation_panel=opportunity_evaluation_panel(user=user, opportunity=opportunity),
        )
        return context


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
            with transaction.atomic():
                opportunity_update_draft(
                    actor=request.user, opportunity=self.opportunity, **form.service_fields()
                )
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
                        opportunity=self.opportunity,
                        criterion=criterion_form.instance if criterion_form.instance.pk else None,
                        **data,
                    )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render_to_response(
                self.get_context_data(form=form, criteria_formset=formset), status=400
            )
        messages.success(request, _("Draft saved."))
        return redirect("opportunities:edit", pk=self.opportunity.pk)


@require_POST
def opportunity_submit_view(request, pk: int):
    opportunity = _own_opportunity(request, pk)
    if opportunity.status != Opportunity.Status.DRAFT:
        # Submitted already (a double click, another tab): where the submission lands.
        messages.info(request, _("This opportunity is already submitted."))
        return redirect("opportunities:detail", pk=pk)
    try:
        opportunity_submit_for_review(actor=request.user, opportunity=opportunity)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        if Opportunity.objects.filter(pk=pk).exclude(status=Opportunity.Status.DRAFT).exists():
            messages.info(request, _("This opportunity is already submitted."))
            return redirect("opportunities:detail", pk=pk)
        message_service_error(request, error)
        return redirect("opportunities:edit", pk=pk)
    messages.success(request, _("Submitted for review. The program team will publish it."))
    return redirect("opportunities:detail", pk=pk)


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
            splits=possible_splits(opportunity),
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
        if not moved_on():
            raise Http404
        messages.info(request, already)
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
        messages.error(request, _("Write your question (at most 2,000 characters)."))
        return redirect("opportunities:detail", pk=pk)
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
        message_service_error(request, error)
    else:
        messages.success(request, _("Your question was sent. The answer will appear on this page."))
    return redirect("opportunities:detail", pk=pk)


@require_POST
def question_answer_view(request, pk: int, question_pk: int):
    opportunity = _own_opportunity(request, pk)
    question = get_object_or_404(Question, pk=question_pk, opportunity=opportunity)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Answer in English and in French."))
        return redirect("opportunities:detail", pk=pk)
    try:
        question_answer(actor=request.user, question=question, **form.cleaned_data)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, _("Your answer is published."))
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
