"""Project URLconf. Every page lives under a language prefix (/en/…, /fr/…)."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from payments.views import stripe_webhook_view

from . import views

admin.site.site_header = "Micro-acquisitions — technical administration"
handler500 = "marketplace.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Stripe posts its events to one fixed address, outside the language prefixes.
    path("stripe/webhook/", stripe_webhook_view, name="stripe_webhook"),
]

urlpatterns += i18n_patterns(
    path("", include("marketplace.app_urls")),
    path("opportunities/", include("opportunities.urls")),
    path("bids/", include("bids.urls")),
    path("evaluation/", include("evaluation.urls")),
    path("payments/", include("payments.urls")),
    path("reports/", include("reports.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
)
