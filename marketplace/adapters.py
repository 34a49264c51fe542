from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.httpkit import HTTP_USER_AGENT_MAX_LENGTH
from allauth.core.internal.ratelimit import get_ip
from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import get_language, ngettext

from . import account_emails, ratelimit, services


def _login_email(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "").strip().lower()


def _wait_error(seconds: int) -> forms.ValidationError:
    return forms.ValidationError(
        ngettext(
            "Too many failed sign-in attempts for this account. Wait %(seconds)d "
            "second, then try again, or sign in with a code sent to your email.",
            "Too many failed sign-in attempts for this account. Wait %(seconds)d "
            "seconds, then try again, or sign in with a code sent to your email.",
            seconds,
        )
        % {"seconds": seconds},
        code="signin_wait",
    )


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        language = (get_language() or settings.LANGUAGE_CODE)[:2]
        if language in dict(settings.LANGUAGES):
            user.preferred_language = language
        # Cleaned by the sign-up form (marketplace.forms.PersonNameField).
        user.full_name = form.cleaned_data.get("full_name", "")
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            services.user_signup_complete(user=user)
        return user

    # --- Account emails: the service's, in the person's language (marketplace/account_emails) ---

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Written in the language of the account the address belongs to (else the page's),
        its links leading to pages in that language, greeting the person by name."""
        person = account_emails.recipient(email, context.get("user"))
        language = account_emails.language(person)
        context = account_emails.links_in(context, language)
        with translation.override(language):
            context.update(recipient=person, current_site=account_emails.site())
            super().send_mail(template_prefix, email, context)

    def send_notification_mail(self, template_prefix, user, context=None, email=None) -> None:
        # allauth leaves the account out of a notice's context: it is whom the notice is about.
        # Its "Unspecified" for a request without a browser name would be English in French.
        agent = self.request.META.get("HTTP_USER_AGENT", "") if self.request else ""
        agent = agent[:HTTP_USER_AGENT_MAX_LENGTH]
        context = {"user_agent": agent, **(context or {}), "user": user}
        super().send_notification_mail(template_prefix, user, context=context, email=email)

    def format_email_subject(self, subject: str) -> str:
        return account_emails.subject_prefix() + str(subject)

    def render_mail(self, template_prefix, email, context, headers=None):
        kind = account_emails.KINDS.get(template_prefix)
        if kind is None or not isinstance(email, str):
            return super().render_mail(template_prefix, email, context, headers=headers)
        return account_emails.render(
            kind,
            email=email,
            context=context,
            subject=self.format_email_subject(kind.subject),
            from_email=self.get_from_email(),
            headers=headers,
        )

    def get_reauthentication_methods(self, user):
        """With an authenticator, re-authenticating asks for its code: a password alone does
        not prove it is still the owner (marketplace/sessions.py; issue 20, helper B)."""
        methods = super().get_reauthentication_methods(user)
        codes = [method for method in methods if method["id"].startswith("mfa_reauthenticate")]
        return codes or methods

    # --- Failed sign-ins: limited per source, slowed per account, never locked (issue 20) ---

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """allauth's per-"key" failed-login limit (ACCOUNT_RATE_LIMITS["login_failed"]) counts
        per email alone, so five wrong passwords from anyone locked the owner out. Counting per
        (email, client address) pair keeps that hard limit for whoever floods from one place
        and leaves the owner, elsewhere, untouched. A password reset clears the pair it came
        from (allauth calls this for that too)."""
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{get_ip(request)}"

    def pre_authenticate(self, request, **credentials) -> None:
        """Refuse, without checking the password, while the account's wait runs or another
        password for it is being checked (guesses sent together: see `ratelimit`); then
        allauth's per-address and per-pair limits."""
        email = _login_email(credentials)
        wait = ratelimit.signin_wait_seconds(email=email) if email else 0
        if wait:
            raise _wait_error(wait)
        super().pre_authenticate(request, **credentials)
        if email:
            if not ratelimit.signin_check_claim(email=email):
                raise _wait_error(1)
            self._signin_checking = email

    def authenticate(self, request, **credentials):
        try:
            user = super().authenticate(request, **credentials)
        finally:
            # After a failure is counted (authentication_failed), so the next guess waits.
            checking = self.__dict__.pop("_signin_checking", None)
            if checking:
                ratelimit.signin_check_release(email=checking)
        if user is not None:
            ratelimit.signin_failures_clear(email=_login_email(credentials))
        return user

    def authentication_failed(self, request, **credentials) -> None:
        email = _login_email(credentials)
        if email:  # counted whether or not the account exists: the wait tells nothing
            ratelimit.signin_failure_record(email=email)
        super().authentication_failed(request, **credentials)
