from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect

from . import permissions, selectors

# Pages a staff member without MFA may still reach: setting up MFA, signing out.
MFA_SETUP_URL_NAMES = frozenset({"account_logout", "account_reauthenticate", "account_login"})


class StaffMFARequiredMiddleware:
    """Outside the demo, staff must set up an authenticator app before doing anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not settings.STAFF_MFA_REQUIRED:  # the demo: no question to ask the database
            return None
        if not user.is_authenticated or not permissions.is_marketplace_staff(user):
            return None
        match = request.resolver_match
        url_name = match.url_name if match else ""
        if url_name and (url_name.startswith("mfa_") or url_name in MFA_SETUP_URL_NAMES):
            return None
        if match and match.app_name == "admin" and not user.is_staff:
            return None
        if permissions.must_set_up_mfa(
            user, has_authenticator=selectors.user_has_authenticator(user=user)
        ):
            return redirect("mfa_activate_totp")
        return None
