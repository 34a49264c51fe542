"""The project's URLs, plus the benchmark's floor: `/<lang>/bench/floor/`.

The floor renders the site's base template (a tiny page extending `base.html`) through the same
middleware stack as every page, for an anonymous visitor: what Django itself costs here, with
no query of the app's own. Every page's figures are read against it.
"""

from django.conf.urls.i18n import i18n_patterns
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.generic import TemplateView

from marketplace.urls import handler500  # noqa: F401 (the project's error pages here too)
from marketplace.urls import urlpatterns as project_urlpatterns

floor = login_not_required(TemplateView.as_view(template_name="bench/floor.html"))

urlpatterns = [
    *project_urlpatterns,
    *i18n_patterns(path("bench/floor/", floor, name="bench_floor")),
]
