from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")

    def ready(self) -> None:
        from allauth.account import signals as account_signals
        from django.contrib.auth import signals as auth_signals
        from django.core import signals

        from . import logs, receivers
        from .celery import app as celery_app

        # Domain code enqueues tasks by name (marketplace/jobs.py) and never imports a tasks
        # module, so every process registers all of them now, not only a worker.
        celery_app.autodiscover_tasks(force=True)
        # The request id spans the whole request, Django's own log line of its answer included.
        signals.request_started.connect(logs.request_started, dispatch_uid="request-id-start")
        signals.request_finished.connect(logs.request_finished, dispatch_uid="request-id-end")
        # Staff powers follow the account's email addresses at every request (User.roles);
        # the receiver records when they stop or resume and tells the program administrators.
        for name in ("email_added", "email_confirmed", "email_removed", "email_changed"):
            getattr(account_signals, name).connect(
                receivers.emails_changed, dispatch_uid=f"marketplace-{name}"
            )
        # A staff session's idle and absolute limits count from sign-in (marketplace/sessions.py).
        auth_signals.user_logged_in.connect(
            receivers.user_logged_in, dispatch_uid="marketplace-staff-session"
        )
