from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView, FormView, ListView, TemplateView

from opportunities.models import Opportunity

from . import permissions, selectors, services
from .forms import PreferredLanguageForm, RoleGrantForm, SupplierProfileForm, UserSearchForm
from .mixins import PredicateRequiredMixin
from .models import AuditEvent, Role, SupplierProfile, User


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


class DashboardView(TemplateView):
    template_name = "marketplace/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        profile = SupplierProfile.objects.filter(user=user).first()
        if Role.SUPPLIER in user.roles:
            context["watched"] = user.watches.select_related("opportunity").order_by("-created_at")[
                :20
            ]
        if Role.BUYER in user.roles:
            context["buyer_opportunities"] = Opportunity.objects.filter(buyer=user).order_by(
                "-created_at"
            )[:20]
        if Role.PROGRAM_ADMIN in user.roles:
            context["review_count"] = Opportunity.objects.filter(
                status=Opportunity.Status.IN_REVIEW
            ).count()
        context.update(
            roles=user.roles,
            Role=Role,
            supplier_profile=profile,
            has_any_role=bool(user.roles),
            language_form=PreferredLanguageForm(
                initial={"preferred_language": user.preferred_language}
            ),
        )
        return context


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
            form.add_error(None, error)
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
            staff_eligible=permissions.has_verified_staff_email(managed, verified_emails=verified),
            audit_events=AuditEvent.objects.for_target(managed).select_related("actor")[:20],
        )
        return context


def _role_action_redirect(user_pk: int):
    return redirect("marketplace:role_user_detail", pk=user_pk)


@require_POST
def role_grant_view(request, pk: int):
    if not permissions.can_manage_roles(request.user):
        raise PermissionDenied
    managed = get_object_or_404(User, pk=pk)
    form = RoleGrantForm(request.POST, action=reverse("marketplace:role_grant", args=[managed.pk]))
    if form.is_valid():
        try:
            services.role_grant(actor=request.user, user=managed, role=form.cleaned_data["role"])
        except ValidationError as error:
            form.add_error(None, error.message_dict.get("role", error.messages))
        else:
            messages.success(
                request,
                _("%(email)s now has the role “%(role)s”.")
                % {"email": managed.email, "role": Role(form.cleaned_data["role"]).label},
            )
            return _role_action_redirect(managed.pk)
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
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The role “%(role)s” was removed from %(email)s.")
            % {"email": managed.email, "role": Role(role).label},
        )
    return _role_action_redirect(managed.pk)
