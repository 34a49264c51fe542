from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "opportunities"
    verbose_name = _("Opportunities")

    def ready(self) -> None:
        from marketplace import approvals
        from marketplace.models import Approval

        from . import cancellation, guardrails

        # The changes this app owns that need a second program administrator.
        approvals.register_kind(
            Approval.Kind.GUARDRAILS,
            check=guardrails.guardrails_approval_check,
            carry_out=guardrails.guardrails_approval_carry_out,
        )
        approvals.register_kind(
            Approval.Kind.OPPORTUNITY_CANCEL,
            check=cancellation.opportunity_cancel_approval_check,
            carry_out=cancellation.opportunity_cancel_approval_carry_out,
            may_ask=cancellation.opportunity_cancel_approval_may_ask,
        )
