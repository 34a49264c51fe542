from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")

    def ready(self) -> None:
        from django.core import signals

        from . import logs

        # The request id spans the whole request, Django's own log line of its answer included.
        signals.request_started.connect(logs.request_started, dispatch_uid="request-id-start")
        signals.request_finished.connect(logs.request_finished, dispatch_uid="request-id-end")
