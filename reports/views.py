"""Program metrics for the program team, and open data for everyone."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.timezone import localdate
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import FormView, ListView, TemplateView

from marketplace.caching import cached_in
from marketplace.forms import add_service_errors
from marketplace.i18n import in_current_language
from marketplace.mixins import ForgivingPaginationMixin, PredicateRequiredMixin

from . import dashboard, ocds, permissions, selectors, services
from .dashboard import Period
from .forms import PeriodForm, PurchaseFilterForm, SelfIdentificationForm
from .models import SelfIdentification

# --- Self-identification (the supplier's own, optional answers) ---------------------------------


class SelfIdentificationView(PredicateRequiredMixin, FormView):
    permission = staticmethod(permissions.can_self_identify)
    template_name = "reports/selfidentification_form.html"
    form_class = SelfIdentificationForm

    def get_initial(self):
        record = SelfIdentification.objects.filter(user=self.request.user).first()
        return {"groups": record.groups, "consent": True} if record else {}

    def get_context_data(self, **kwargs):
        record = SelfIdentification.objects.filter(user=self.request.user).first()
        return super().get_context_data(record=record, **kwargs)

    def form_valid(self, form):
        try:
            record = services.self_identification_save(
                user=self.request.user,
                groups=form.cleaned_data["groups"],
                consent=form.cleaned_data["consent"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        if record is None:
            messages.success(self.request, _("Nothing is kept: you chose no group."))
        else:
            messages.success(
                self.request,
                _("Your answers are saved. Thank you: they are only ever counted in aggregate."),
            )
        return redirect("reports:self_identification")


class SelfIdentificationDeleteView(PredicateRequiredMixin, TemplateView):
    permission = staticmethod(permissions.can_self_identify)
    template_name = "reports/selfidentification_confirm_delete.html"

    def get(self, request, *args, **kwargs):
        if not SelfIdentification.objects.filter(user=request.user).exists():
            messages.info(request, _("You have no answers to delete: nothing is kept."))
            return redirect("reports:self_identification")
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        services.self_identification_delete(user=request.user)
        messages.success(request, _("Your answers are deleted. Nothing about them is kept."))
        return redirect("reports:self_identification")


# --- Open data (public) -------------------------------------------------------------------------


@method_decorator(login_not_required, name="dispatch")
class OpenDataView(TemplateView):
    """What the open data holds, what it leaves out, its licence, and where to get it."""

    template_name = "reports/open_data.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            licence_url=in_current_language(ocds.LICENCE_URL, ocds.LICENCE_URL_FR),
            standard_url=in_current_language(ocds.STANDARD_URL, ocds.STANDARD_URL_FR),
            ocid_prefix=settings.OCDS_OCID_PREFIX,
            **kwargs,
        )


@method_decorator(login_not_required, name="dispatch")
class OcdsPackageView(View):
    """Every published opportunity as an OCDS 1.1 release package."""

    def get(self, request, *args, **kwargs):
        package = ocds.release_package(selectors.ocds_opportunities())
        response = JsonResponse(package, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = 'inline; filename="ocds-release-package.json"'
        response["Access-Control-Allow-Origin"] = "*"  # open data: any site may read it
        return response


# Stable column names for machines (documented on the open data page), hence not translated.
CONTRACT_COLUMNS = [
    "ocid",
    "title_en",
    "title_fr",
    "type",
    "status",
    "supplier_name",
    "supplier_legal_name",
    "value_cad",
    "awarded_at",
    "contract_signed_at",
    "paid_at",
    "amount_paid_cad",
    "licence",
    "delivered_work_url",
    "notice_url",
]


def _csv_cell(value: object) -> str:
    """A spreadsheet must not run a formula a buyer or supplier typed (CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_response(filename: str, header, rows, *, attachment: bool = True) -> HttpResponse:
    """`rows` under `header` as a UTF-8 CSV that spreadsheets open with their accents and never
    run as formulas."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.write("\ufeff")  # so that spreadsheets read the accents as UTF-8
    writer = csv.writer(response)
    writer.writerow(_csv_cell(cell) for cell in header)
    for row in rows:
        writer.writerow(_csv_cell(cell) for cell in row)
    return response


@method_decorator(login_not_required, name="dispatch")
class ContractsCsvView(View):
    """What was bought, one row per purchase, as CSV."""

    def get(self, request, *args, **kwargs):
        response = _csv_response("contracts.csv", CONTRACT_COLUMNS, self.rows(), attachment=False)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    @staticmethod
    def rows():
        for opportunity in selectors.purchases():
            row = selectors.purchase(opportunity)
            yield (
                ocds.ocid(opportunity),
                opportunity.title_en,
                opportunity.title_fr,
                opportunity.type,
                opportunity.status,
                row.supplier_name,
                row.supplier_legal_name,
                f"{row.value_cents / 100:.2f}",
                ocds.timestamp(opportunity.awarded_at),
                ocds.timestamp(row.signed_at),
                ocds.timestamp(row.paid_at),
                f"{row.paid_cents / 100:.2f}" if row.paid_cents is not None else "",
                opportunity.licence,
                row.delivered_url,
                ocds.absolute_url("opportunities:detail", opportunity.pk),
            )


@method_decorator(login_not_required, name="dispatch")
class PurchaseListView(ForgivingPaginationMixin, ListView):
    """What we bought: each purchase, its supplier, value, dates and open-source outcome."""

    template_name = "reports/purchase_list.html"
    context_object_name = "purchases"
    paginate_by = 25

    def get_queryset(self):
        self.filter_form = PurchaseFilterForm(
            self.request.GET or None, years=selectors.purchase_fiscal_years()
        )
        return selectors.purchases(filters=self.filter_form.to_filters())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(filter_form=self.filter_form, **kwargs)
        context["rows"] = [selectors.purchase(o) for o in context["object_list"]]
        return context


# --- The program dashboard (program administrators) ---------------------------------------------


def _dashboard_period(request) -> tuple[PeriodForm, Period]:
    default = Period.default()
    if not request.GET:
        return PeriodForm(initial={"start": default.start, "end": default.end}), default
    form = PeriodForm(request.GET)
    return form, form.period(default)


class MetricsDashboardView(PredicateRequiredMixin, TemplateView):
    """The program's measures against the baseline, charted, each with its table and CSV."""

    permission = staticmethod(permissions.can_view_metrics)
    template_name = "reports/metrics_dashboard.html"

    def get_context_data(self, **kwargs):
        form, period = _dashboard_period(self.request)
        query = self.request.GET.urlencode()
        # Rendering the period form and a dozen tables and charts costs more than reading the
        # figures: the HTML is kept with them, per language, day and query (which holds the
        # period and goes into the CSV links), and goes when they do.
        page = cached_in(
            dashboard.METRICS_DASHBOARD,
            ":".join(("page", dashboard.FIGURES_FORMAT, get_language(), str(localdate()), query)),
            lambda: _dashboard_html(form, period, query),
            seconds=settings.METRICS_CACHE_SECONDS,
        )
        # Our own templates' output (SafeString, which the cache keeps as it is).
        return super().get_context_data(
            form=form,
            period=period,
            query=query,
            period_html=page["period"],
            tables_html=page["tables"],
            **kwargs,
        )


def _dashboard_html(form, period: Period, query: str) -> dict[str, str]:
    figures = dashboard.dashboard_figures_cached(period)
    context = {
        "form": form,
        "period": period,
        "query": query,
        "tables": figures.tables,
        "diversity": figures.diversity,
        "as_of": figures.as_of,
        "computed_at": figures.computed_at,
    }
    return {
        "period": render_to_string("reports/includes/metrics_period.html", context),
        "tables": render_to_string("reports/includes/metrics_tables.html", context),
    }


def metrics_csv_view(request, slug: str):
    """One table of the dashboard, for the same period, as CSV."""
    if not permissions.can_view_metrics(request.user):
        raise PermissionDenied
    _form, period = _dashboard_period(request)
    tables = dashboard.dashboard_figures_cached(period).tables
    table = next((t for t in tables if t.slug == slug), None)
    if table is None:
        raise Http404
    return _csv_response(
        f"{slug}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv", table.headers, table.rows
    )


@require_POST
def metrics_refresh_view(request):
    """Recompute the measures now rather than waiting for the nightly run. Never the
    self-identification figures: those are published once per complete quarter by the nightly
    job, and a refresh on demand is what let two readings be subtracted (reports/diversity.py)."""
    if not permissions.can_view_metrics(request.user):
        raise PermissionDenied
    count = services.measures_refresh()
    messages.success(
        request,
        ngettext(
            "The measures of %(count)s opportunity are up to date.",
            "The measures of %(count)s opportunities are up to date.",
            count,
        )
        % {"count": count},
    )
    return redirect(f"{reverse('reports:metrics')}?{request.POST.get('query', '')}")


class OpportunityMeasuresListView(PredicateRequiredMixin, ForgivingPaginationMixin, ListView):
    """Each opportunity of the period with its stages, touch and waiting time, and people."""

    permission = staticmethod(permissions.can_view_metrics)
    template_name = "reports/opportunitymeasures_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.form, self.period = _dashboard_period(self.request)
        return dashboard.measures_in(self.period)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(form=self.form, period=self.period, **kwargs)
        context["headers"] = dashboard.measures_headers()
        context["rows"] = [dashboard.measures_row(m) for m in context["object_list"]]
        query = self.request.GET.copy()
        query.pop(self.page_kwarg, None)
        context["query"] = query.urlencode()
        return context


def opportunity_measures_csv_view(request):
    """Every opportunity of the period with its measures, as CSV."""
    if not permissions.can_view_metrics(request.user):
        raise PermissionDenied
    _form, period = _dashboard_period(request)
    measures = dashboard.measures_in(period).iterator(chunk_size=2000)
    return _csv_response(
        f"opportunities-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv",
        dashboard.measures_headers(),
        (dashboard.measures_row(m) for m in measures),
    )
