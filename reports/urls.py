from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    # The program dashboard (program administrators).
    path("metrics/", views.MetricsDashboardView.as_view(), name="metrics"),
    path("metrics/refresh/", views.metrics_refresh_view, name="metrics_refresh"),
    path(
        "metrics/opportunities/",
        views.OpportunityMeasuresListView.as_view(),
        name="metrics_opportunities",
    ),
    path(
        "metrics/opportunities.csv",
        views.opportunity_measures_csv_view,
        name="metrics_opportunities_csv",
    ),
    path("metrics/<slug:slug>.csv", views.metrics_csv_view, name="metrics_csv"),
    # Self-identification: the supplier's own, optional answers.
    path(
        "self-identification/",
        views.SelfIdentificationView.as_view(),
        name="self_identification",
    ),
    path(
        "self-identification/delete/",
        views.SelfIdentificationDeleteView.as_view(),
        name="self_identification_delete",
    ),
    # Open data: public.
    path("open-data/", views.OpenDataView.as_view(), name="open_data"),
    path(
        "open-data/ocds-release-package.json",
        views.OcdsPackageView.as_view(),
        name="ocds_package",
    ),
    path("open-data/contracts.csv", views.ContractsCsvView.as_view(), name="contracts_csv"),
    path("what-we-bought/", views.PurchaseListView.as_view(), name="purchases"),
]
