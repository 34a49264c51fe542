from __future__ import annotations

import sys
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import DetailView, FormView, ListView, TemplateView

from evaluation.selectors import panel_seats
from opportunities.models import Opportunity
from payments.selectors import payments_due, supplier_contracts
from reports import stages, waiting

from . import approvals, permissions, selectors, services
from .forms import (
    ApprovalNoteForm,
    FullNameForm,
    NotificationPreferencesForm,
    PreferredLanguageForm,
    RoleGrantForm,
    SupplierProfileForm,
    UserSearchForm,
    add_service_errors,
)
from .middleware import busy_response, database_busy
from .mixins import PredicateRequiredMixin
from .models import Approval, AuditEvent, Notification, Role, RoleGrant, SupplierProfile, User
from .notifications import CATALOGUE, kinds_for, render_link, unsubscribe_read
from .sessions import reauthentication_required
from .shortcuts import get_visible_or_404
from .templatetags.page_frame import holds_secret
from .views_support import message_service_error

# While the database restarts or fails over, every request that needs it fails alike: a short,
# static page (it cannot use the database either) that says so, and asks to try again.
DATABASE_UNAVAILABLE_RETRY_SECONDS = 30


def server_error(request):
    """handler500: a 503 when the database could not be reached (a restart, a failover),
    the 500 page otherwise. Called while the exception is being handled, so it can see it."""
    error = sys.exc_info()[1]
    if database_busy(error):  # raised outside a view (DatabaseBusyMiddleware answers those)
        return busy_response()
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(DATABASE_UNAVAILABLE_RETRY_SECONDS)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)


@login_not_required
@never_cache
@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@method_decorator(login_not_required, name="dispatch")
class HomeView(TemplateView):
    template_name = "marketplace/home.html"


@dataclass(frozen=True)
class HelpGuide:
    """A short guide for one role. Its prose is written once per language, in
    templates/marketplace/help/<slug>.<language>.html; only the chrome goes through gettext."""

    slug: str
    title: Promise
    audience: Promise
    summary: Promise


HELP_GUIDES = (
    HelpGuide(
        slug="post-an-opportunity",
        title=gettext_lazy("How to post an opportunity"),
        audience=gettext_lazy("For buyers"),
        summary=gettext_lazy(
            "From the draft to publication: the work in both languages, the fixed value, the "
            "deadlines, the criteria and the review by the program team."
        ),
    ),
    HelpGuide(
        slug="bid-in-under-two-hours",
        title=gettext_lazy("How to bid in under two hours"),
        audience=gettext_lazy("For suppliers"),
        summary=gettext_lazy(
            "Your profile, questions, answers within the word limits, the receipt with its "
            "SHA-256 digest, and what you can change until the deadline."
        ),
    ),
    HelpGuide(
        slug="evaluation-and-the-draw",
        title=gettext_lazy("How evaluation and the draw work"),
        audience=gettext_lazy("For evaluators, buyers and suppliers"),
        summary=gettext_lazy(
            "Anonymized bids, conflict of interest declarations, scoring and consensus, the "
            "draw anyone can check, the award and the debriefs."
        ),
    ),
    HelpGuide(
        slug="payment",
        title=gettext_lazy("How payment works"),
        audience=gettext_lazy("For card holders, buyers and suppliers"),
        summary=gettext_lazy(
            "Delivery and certification, the invoice, paying by acquisition card or through "
            "Stripe, and the supplier confirming receipt."
        ),
    ),
)
HELP_GUIDES_BY_SLUG = {guide.slug: guide for guide in HELP_GUIDES}


@method_decorator(login_not_required, name="dispatch")
class HelpIndexView(TemplateView):
    template_name = "marketplace/help/index.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "guides": HELP_GUIDES}


@method_decorator(login_not_required, name="dispatch")
class HelpGuideView(TemplateView):
    template_name = "marketplace/help/guide.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        guide = HELP_GUIDES_BY_SLUG.get(kwargs["slug"])
        if guide is None:
            raise Http404
        language = "fr" if (get_language() or "").startswith("fr") else "en"
        context.update(
            guide=guide,
            body_template=f"marketplace/help/{guide.slug}.{language}.html",
            other_guides=[other for other in HELP_GUIDES if other.slug != guide.slug],
        )
        return context


class PageFrameView(TemplateView):
    """A page about the service itself (privacy, terms, contact): its text in one template per
    language, marketplace/pages/<name>.<language>.html, like the help guides; only its title goes
    through gettext. Anyone may read it, signed in or not."""

    name = ""

    @method_decorator(login_not_required)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        language = "fr" if (get_language() or "").startswith("fr") else "en"
        return {
            **super().get_context_data(**kwargs),
            "body_template": f"marketplace/pages/{self.name}.{language}.html",
            "support_email": settings.SUPPORT_EMAIL,
        }


class PrivacyView(PageFrameView):
    template_name = "marketplace/privacy.html"
    name = "privacy"


class TermsView(PageFrameView):
    template_name = "marketplace/terms.html"
    name = "terms"


# The longest page address the contact page repeats back (a real one is far shorter).
REPORTED_PAGE_MAX_LENGTH = 500
# Control, format (zero-width, direction marks), private-use, unassigned and line or paragraph
# separator characters.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def reported_page(request) -> str:
    """The page a person came from by "Report a problem" (?page=), if it is an address of this
    site (a path, no scheme or host, nothing to smuggle in a mailto: link); "" otherwise."""
    page = request.GET.get("page", "")
    if (
        not page.startswith("/")
        or len(page) > REPORTED_PAGE_MAX_LENGTH
        or not url_has_allowed_host_and_scheme(page, allowed_hosts=None)
        or any(ch in page for ch in "\\\r\n\t\x00")
        # Invisible or direction-changing characters: the address would read other than it is.
        or any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in page)
        or holds_secret(page)
    ):
        return ""
    return page


class ContactView(PageFrameView):
    template_name = "marketplace/contact.html"
    name = "contact"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = reported_page(self.request)
        mailto = f"mailto:{settings.SUPPORT_EMAIL}"
        if page:
            # The email starts with the page's address, so nobody has to copy it.
            mailto += "?" + urlencode(
                {
                    "subject": _("Problem on a page of the marketplace"),
                    "body": _("Page: %(address)s") % {"address": settings.SITE_URL + page},
                },
                quote_via=quote,
            )
        context.update(reported_page=page, mailto=mailto)
        return context


class DashboardView(TemplateView):
    template_name = "marketplace/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        profile = SupplierProfile.objects.filter(user=user).first()
        now = timezone.now()
        # Task first (issue 23): what the person must do now, then where their things stand.
        context["waiting"] = waiting.waiting_for(user, now=now)
        context["show_roles"] = len(user.roles) > 1
        if Role.SUPPLIER in user.roles:
            context["watched"] = [
                (watch, stages.public_opportunity_stage(watch.opportunity, now=now))
                for watch in stages.watched(user)[:20]
            ]
            context["bid_rows"] = [
                (bid, stages.bid_stage(bid, now=now)) for bid in stages.supplier_bids(user)[:20]
            ]
            context["contracts"] = [
                (contract, stages.contract_stage(contract))
                for contract in supplier_contracts(user=user)[:20]
            ]
        if Role.EVALUATOR in user.roles:
            context["panel_seats"] = [
                (seat, stages.seat_stage(seat)) for seat in panel_seats(user=user)
            ]
        if Role.BUYER in user.roles:
            context["buyer_opportunities"] = [
                (opportunity, stages.opportunity_stage(opportunity, now=now))
                for opportunity in stages.buyer_opportunities(user)[:20]
            ]
        if Role.CARD_HOLDER in user.roles:
            due = payments_due()
            if settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER:
                # Not the work they certified: another card holder pays it (as in "Waiting for
                # you", payments.paying.card_holders_for).
                due = due.exclude(contract__certified_by=user)
            context["payments_due"] = due[:10]
        if Role.PROGRAM_ADMIN in user.roles:
            context["review_count"] = Opportunity.objects.filter(
                status=Opportunity.Status.IN_REVIEW
            ).count()
            context["approvals_waiting"] = approvals.waiting_for(user).count()
            context["second_admin_missing"] = approvals.second_admin_missing(user=user)
        context.update(
            roles=user.roles,
            suspended_roles=[Role(role).label for role in sorted(user.suspended_staff_roles)],
            Role=Role,
            supplier_profile=profile,
            has_any_role=bool(user.roles),
            language_form=PreferredLanguageForm(
                initial={"preferred_language": user.preferred_language}
            ),
        )
        context.setdefault("name_form", FullNameForm(initial={"full_name": user.full_name}))
        context["may_rename"] = services.user_may_rename(user=user)
        return context


@require_http_methods(["GET", "POST"])
def full_name_view(request):
    """The name emails greet the person by. A refused name is shown on the dashboard's form,
    as typed, with the reason — at this address, which the page's language toggle and a reload
    from the address bar then open: they lead to the dashboard (issue 21, helper H)."""
    if request.method != "POST":
        return redirect("marketplace:dashboard")
    form = FullNameForm(request.POST)
    if form.is_valid():
        try:
            services.user_set_full_name(user=request.user, full_name=form.cleaned_data["full_name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Your name was saved."))
            return redirect("marketplace:dashboard")
    dashboard = DashboardView()
    dashboard.setup(request)
    return dashboard.render_to_response(dashboard.get_context_data(name_form=form))


@require_POST
def preferred_language_view(request):
    form = PreferredLanguageForm(request.POST)
    if form.is_valid():
        services.user_set_preferred_language(
            user=request.user, language=form.cleaned_data["preferred_language"]
        )
        messages.success(request, _("Your email language was saved."))
    else:
        messages.error(request, _("Choose English or French."))
    return redirect("marketplace:dashboard")


class SupplierProfileView(PredicateRequiredMixin, FormView):
    permission = staticmethod(permissions.can_edit_supplier_profile)
    template_name = "marketplace/supplierprofile_form.html"
    form_class = SupplierProfileForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = SupplierProfile.objects.filter(user=self.request.user).first()
        if kwargs["instance"] is None:
            kwargs["initial"] = {
                "email": self.request.user.email,
                "contact_name": self.request.user.full_name,
            }
        return kwargs

    def form_valid(self, form):
        try:
            services.supplier_profile_save(
                actor=self.request.user, user=self.request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Your supplier profile was saved."))
        return redirect("marketplace:supplier_profile")


class RoleUserListView(PredicateRequiredMixin, ListView):
    permission = staticmethod(permissions.can_manage_roles)
    template_name = "marketplace/user_list.html"
    context_object_name = "users"
    paginate_by = 25

    def get_queryset(self):
        self.search_form = UserSearchForm(self.request.GET or None)
        query = self.search_form.cleaned_data["q"] if self.search_form.is_valid() else ""
        return selectors.user_list_for_role_management(query=query)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["search_form"] = self.search_form
        return context


class RoleUserDetailView(PredicateRequiredMixin, DetailView):
    permission = staticmethod(permissions.can_manage_roles)
    template_name = "marketplace/user_detail.html"
    context_object_name = "managed_user"

    def get_queryset(self):
        return User.objects.prefetch_related("role_grants__granted_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        managed = self.object
        context.setdefault(
            "grant_form",
            RoleGrantForm(action=reverse("marketplace:role_grant", args=[managed.pk])),
        )
        verified = selectors.user_verified_emails(user=managed)
        context.update(
            email_verified=managed.email.lower() in verified,
            staff_eligible=permissions.can_hold_role(
                managed, Role.EVALUATOR, verified_emails=verified
            ),
            supplier_account=permissions.is_supplier_account(managed),
            suspended_roles=[Role(role).label for role in sorted(managed.suspended_staff_roles)],
            audit_events=AuditEvent.objects.for_target(managed).select_related("actor")[:20],
            pending_approvals=approvals.visible_to(self.request.user).filter(
                subject_user=managed, status=Approval.Status.PENDING
            ),
            is_self=managed.pk == self.request.user.pk,
            second_admin_missing=approvals.second_admin_missing(
                user=self.request.user, subject=managed
            ),
        )
        return context


def _role_action_redirect(user_pk: int):
    return redirect("marketplace:role_user_detail", pk=user_pk)


@require_POST
def role_grant_view(request, pk: int):
    """Ask for a staff role to be granted: a second program administrator approves it."""
    if not permissions.can_manage_roles(request.user):
        raise PermissionDenied
    managed = get_object_or_404(User, pk=pk)
    form = RoleGrantForm(request.POST, action=reverse("marketplace:role_grant", args=[managed.pk]))
    if form.is_valid():
        role = form.cleaned_data["role"]
        if RoleGrant.objects.filter(user=managed, role=role).exists():
            # Granted already (approved meanwhile, another tab): where the grant lands.
            messages.info(
                request,
                _("%(email)s already has the role “%(role)s”.")
                % {"email": managed.email, "role": Role(role).label},
            )
            return _role_action_redirect(managed.pk)
        try:
            approval = approvals.approval_request(
                actor=request.user,
                kind=Approval.Kind.ROLE_GRANT,
                payload={"user": managed.pk, "role": role},
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Your request to grant the role “%(role)s” to %(email)s is waiting for a "
                    "second program administrator."
                )
                % {"email": managed.email, "role": Role(role).label},
            )
            return redirect("marketplace:approval_detail", pk=approval.pk)
    view = RoleUserDetailView()
    view.setup(request, pk=pk)
    view.object = view.get_object()
    return view.render_to_response(view.get_context_data(grant_form=form), status=400)


@require_POST
def role_revoke_view(request, pk: int, role: str):
    if not permissions.can_manage_roles(request.user):
        raise PermissionDenied
    managed = get_object_or_404(User, pk=pk)
    try:
        services.role_revoke(actor=request.user, user=managed, role=role)
    except ValidationError as error:
        if role in Role.values and not RoleGrant.objects.filter(user=managed, role=role).exists():
            # Removed already (a double click, another tab): the same confirmation.
            messages.info(
                request,
                _("%(email)s no longer has the role “%(role)s”.")
                % {"email": managed.email, "role": Role(role).label},
            )
            return _role_action_redirect(managed.pk)
        message_service_error(request, error)
    else:
        messages.success(
            request,
            _("The role “%(role)s” was removed from %(email)s.")
            % {"email": managed.email, "role": Role(role).label},
        )
    return _role_action_redirect(managed.pk)


# --- Notifications: inbox, preferences, unsubscribe, operations ----------------------------------


class InboxView(ListView):
    template_name = "marketplace/notification_list.html"
    context_object_name = "notifications"
    paginate_by = 25

    def get_queryset(self):
        return Notification.objects.filter(recipient=self.request.user)


def _own_notification(request, pk: int) -> Notification:
    # Somebody else's notification does not exist, as far as this user can tell.
    return get_visible_or_404(Notification, request.user, pk=pk)


@require_POST
def notification_open_view(request, pk: int):
    notification = _own_notification(request, pk)
    services.notification_mark_read(user=request.user, notification=notification)
    return redirect(render_link(notification, get_language()))


@require_POST
def notification_read_view(request, pk: int):
    notification = _own_notification(request, pk)
    services.notification_mark_read(user=request.user, notification=notification)
    return redirect("marketplace:inbox")


@require_POST
def notifications_read_all_view(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s notification marked as read.",
            "%(count)s notifications marked as read.",
            count,
        )
        % {"count": count},
    )
    return redirect("marketplace:inbox")


class NotificationPreferencesView(FormView):
    template_name = "marketplace/notification_preferences.html"
    form_class = NotificationPreferencesForm

    def kinds(self):
        return kinds_for(self.request.user.roles)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        optional = [kind for kind in self.kinds() if not kind.mandatory]
        off = set(self.request.user.notification_opt_outs.values_list("kind", flat=True))
        kwargs["kinds"] = optional
        kwargs["initial"] = {"emailed": [kind.code for kind in optional if kind.code not in off]}
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mandatory_kinds"] = [kind for kind in self.kinds() if kind.mandatory]
        context["has_alert_kinds"] = permissions.is_supplier(self.request.user)
        return context

    def form_valid(self, form):
        services.notification_preferences_save(
            user=self.request.user, emailed_kinds=form.cleaned_data["emailed"]
        )
        messages.success(self.request, _("Your notification choices were saved."))
        return redirect("marketplace:notification_preferences")


@method_decorator([login_not_required, csrf_exempt], name="dispatch")
class UnsubscribeView(TemplateView):
    """From an email, without signing in: the signed token says who and which kind.

    GET shows a confirmation (mail scanners follow links); POST unsubscribes. POST needs no
    CSRF token because the signed token, not a session, is what authorizes it (RFC 8058)."""

    template_name = "marketplace/unsubscribe.html"

    def dispatch(self, request, *args, **kwargs):
        found = unsubscribe_read(kwargs["token"])
        if found is None:
            raise Http404
        user_id, kind = found
        self.person = get_object_or_404(User, pk=user_id, is_active=True)
        self.kind = CATALOGUE[kind]
        if self.kind.mandatory:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kind"] = self.kind
        context["already"] = self.person.notification_opt_outs.filter(kind=self.kind.code).exists()
        return context

    def post(self, request, *args, **kwargs):
        services.notification_unsubscribe(user=self.person, kind=self.kind.code)
        return self.render_to_response(self.get_context_data(done=True))


class OperationsView(PredicateRequiredMixin, ListView):
    permission = staticmethod(permissions.can_operate)
    template_name = "marketplace/operations.html"
    context_object_name = "notifications"
    paginate_by = 50

    def get_queryset(self):
        return selectors.notifications_needing_attention()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = selectors.notification_status_counts()
        context.update(
            jobs=selectors.scheduled_jobs(),
            status_counts=[(label, counts[value]) for value, label in Notification.Status.choices],
            gave_up_count=counts[Notification.Status.GAVE_UP],
        )
        return context


@require_POST
def notification_retry_view(request, pk: int):
    if not permissions.can_operate(request.user):
        raise PermissionDenied
    notification = get_object_or_404(Notification, pk=pk)
    try:
        services.notification_retry(actor=request.user, notification=notification)
    except ValidationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, _("The notification will be sent again."))
    return redirect("marketplace:operations")


@require_POST
def notifications_retry_all_view(request):
    if not permissions.can_operate(request.user):
        raise PermissionDenied
    count = services.notifications_retry_given_up(actor=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s notification will be sent again.",
            "%(count)s notifications will be sent again.",
            count,
        )
        % {"count": count},
    )
    return redirect("marketplace:operations")


# --- Two people for what matters: approval requests ----------------------------------------------


class ApprovalListView(PredicateRequiredMixin, TemplateView):
    """What waits for a second program administrator, and what was decided lately."""

    permission = staticmethod(permissions.is_program_admin)
    template_name = "marketplace/approvals/approval_list.html"
    RECENT = 25

    def get_context_data(self, **kwargs):
        user = self.request.user
        visible = approvals.visible_to(user)
        return super().get_context_data(
            pending=list(visible.filter(status=Approval.Status.PENDING)),
            recent=list(visible.exclude(status=Approval.Status.PENDING)[: self.RECENT]),
            second_admin_missing=approvals.second_admin_missing(user=user),
            **kwargs,
        )


def _visible_approval(request, pk: int) -> Approval:
    # Someone else's request is not there, for whoever may not see it.
    return get_visible_or_404(
        Approval.objects.select_related("requested_by", "decided_by", "subject_user"),
        request.user,
        pk=pk,
    )


class ApprovalDetailView(DetailView):
    template_name = "marketplace/approvals/approval_detail.html"
    context_object_name = "approval"

    def get_object(self, queryset=None):
        return _visible_approval(self.request, self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        approval = self.object
        user = self.request.user
        pk = approval.pk
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "approve_form",
            ApprovalNoteForm(
                action=reverse("marketplace:approval_approve", args=[pk]),
                submit=_("Approve and carry it out"),
                button_class="gc-btn-primary",
                prefix="approve",
            ),
        )
        context.setdefault(
            "reject_form",
            ApprovalNoteForm(
                action=reverse("marketplace:approval_reject", args=[pk]),
                submit=_("Reject"),
                button_class="gc-btn-danger",
                prefix="reject",
            ),
        )
        context.update(
            description=approvals.describe(approval),
            can_decide=approvals.can_decide(user, approval),
            can_withdraw=approvals.can_withdraw(user, approval),
            is_requester=user.pk == approval.requested_by_id,
            is_subject=user.pk == approval.subject_user_id,
            is_admin=permissions.is_program_admin(user),
            nobody_can_decide=approval.is_pending
            and not approvals.approvers_for(
                requested_by=approval.requested_by, subject=approval.subject_user
            ).exists(),
            before=approvals.describe_before(approval),
        )
        return context


def _decision_refused(request, approval: Approval, error: ValidationError):
    if getattr(error, "code", None) == "decided":
        # Decided already (a double click, another tab): say how it ended.
        messages.info(request, error.messages[0])
    else:
        message_service_error(request, error)
    return redirect("marketplace:approval_detail", pk=approval.pk)


@reauthentication_required(back="marketplace:approval_detail")
@require_POST
def approval_approve_view(request, pk: int):
    approval = _visible_approval(request, pk)
    form = ApprovalNoteForm(request.POST, prefix="approve")
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        approvals.approval_approve(actor=request.user, approval=approval, note=note)
    except ValidationError as error:
        return _decision_refused(request, approval, error)
    messages.success(request, _("Approved: the change is made."))
    return redirect("marketplace:approval_detail", pk=approval.pk)


@require_POST
def approval_reject_view(request, pk: int):
    approval = _visible_approval(request, pk)
    form = ApprovalNoteForm(request.POST, prefix="reject")
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        approvals.approval_reject(actor=request.user, approval=approval, note=note)
    except ValidationError as error:
        return _decision_refused(request, approval, error)
    messages.success(request, _("Rejected: nothing is changed, and the requester is told why."))
    return redirect("marketplace:approval_detail", pk=approval.pk)


@require_POST
def approval_withdraw_view(request, pk: int):
    approval = _visible_approval(request, pk)
    try:
        approvals.approval_withdraw(actor=request.user, approval=approval)
    except ValidationError as error:
        return _decision_refused(request, approval, error)
    messages.success(request, _("Your request is withdrawn."))
    return redirect("marketplace:approval_detail", pk=approval.pk)
