from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from marketplace import approvals
        from marketplace.models import Approval

        from . import limits

        # The changes this app owns that need a second program administrator.
        approvals.register_kind(
            Approval.Kind.CARD_LIMIT,
            check=limits.card_limit_approval_check,
            carry_out=limits.card_limit_approval_carry_out,
        )
