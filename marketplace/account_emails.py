"""The emails django-allauth sends about an account, written by the marketplace (issue 21).

allauth's own templates greet "Hello from 127.0.0.1:8611!" (the request's host stands in for
the site's name), in France's French, whatever the person reads. Each of its emails is here
instead: a subject and a few sentences from the catalogue, laid out like the notification
emails (`templates/marketplace/email/account.html` / `.txt`), in the recipient's language —
their preferred language when the address belongs to an account, the language of the page they
were on otherwise — greeting them by their name, or neutrally when the account has none.

`AccountAdapter.send_mail` and `render_mail` (marketplace/adapters.py) call this; an email
allauth adds in a later version and that is not listed here falls back to allauth's template,
still with the service's name in place of the host.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account import app_settings as allauth_settings
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import formats

if TYPE_CHECKING:
    from .models import User


@dataclass(frozen=True)
class AccountEmail:
    """One email: `lead` is a %-format string over the email's values (the recipient's
    address as `email`, the addresses a change concerns); `link` names the context entry
    allauth puts the link in, `action` labels it; `expires` names the allauth setting giving
    a code's lifetime in seconds. A `notice` tells of a change made to the account: where it
    came from, and what to do if it was not the owner."""

    subject: Promise
    lead: Promise
    action: Promise | None = None
    link: str = ""
    expires: str = ""
    closing: Promise | None = None
    notice: bool = False


_NOT_YOU_CODE = _("If you did not ask for it, ignore this email and give the code to nobody.")
_NOT_YOU_IGNORE = _("If you did not ask for this, ignore this email: nothing changes.")
_NOTICE_CLOSING = _(
    "If you did not make this change, someone else may be using your account: choose a new "
    "password now, then tell the program team."
)
_CONFIRM = _("Confirm my email address")
_NEW_PASSWORD = _("Choose a new password")

KINDS: dict[str, AccountEmail] = {
    "account/email/email_confirmation_signup": AccountEmail(
        subject=_("Confirm your email address"),
        lead=_(
            "Welcome to the Micro-acquisitions marketplace. To finish opening your account, "
            "confirm that this email address is yours."
        ),
        action=_CONFIRM,
        link="activate_url",
        expires="EMAIL_VERIFICATION_BY_CODE_TIMEOUT",
        closing=_(
            "If you did not sign up, ignore this email: nobody can use the account until the "
            "address is confirmed."
        ),
    ),
    "account/email/email_confirmation": AccountEmail(
        subject=_("Confirm your email address"),
        lead=_(
            "Confirm that this email address is yours to use it on the Micro-acquisitions "
            "marketplace."
        ),
        action=_CONFIRM,
        link="activate_url",
        expires="EMAIL_VERIFICATION_BY_CODE_TIMEOUT",
        closing=_(
            "If you did not ask for this, ignore this email: the address is not used until it "
            "is confirmed."
        ),
    ),
    "account/email/password_reset_key": AccountEmail(
        subject=_("Reset your password"),
        lead=_(
            "Someone, probably you, asked to reset the password of your account on the "
            "Micro-acquisitions marketplace. Choose a new one with this link."
        ),
        action=_NEW_PASSWORD,
        link="password_reset_url",
        closing=_("If you did not ask for this, ignore this email: your password stays as it is."),
    ),
    "account/email/password_reset_code": AccountEmail(
        subject=_("Your password reset code"),
        lead=_(
            "Someone, probably you, asked to reset the password of your account on the "
            "Micro-acquisitions marketplace. Enter this code on the page that asked for it."
        ),
        expires="PASSWORD_RESET_BY_CODE_TIMEOUT",
        closing=_NOT_YOU_CODE,
    ),
    "account/email/login_code": AccountEmail(
        subject=_("Your sign-in code"),
        lead=_(
            "Enter this code on the page that asked for it to sign in to the "
            "Micro-acquisitions marketplace."
        ),
        expires="LOGIN_BY_CODE_TIMEOUT",
        closing=_NOT_YOU_CODE,
    ),
    "account/email/account_already_exists": AccountEmail(
        subject=_("You already have an account"),
        lead=_(
            "Someone, probably you, tried to sign up on the Micro-acquisitions marketplace with "
            "this email address, but it already belongs to an account. Sign in instead; if you "
            "forgot your password, choose a new one."
        ),
        action=_NEW_PASSWORD,
        link="password_reset_url",
        closing=_("If you did not try to sign up, ignore this email: your account is unchanged."),
    ),
    "account/email/unknown_account": AccountEmail(
        subject=_("No account uses this email address"),
        lead=_(
            "Someone, probably you, asked to sign in to the Micro-acquisitions marketplace or "
            "to reset a password with the address %(email)s, but no account uses it. You can "
            "open one."
        ),
        action=_("Open an account"),
        link="signup_url",
        closing=_NOT_YOU_IGNORE,
    ),
    "account/email/password_changed": AccountEmail(
        subject=_("Your password was changed"),
        lead=_("The password of your account on the Micro-acquisitions marketplace was changed."),
        notice=True,
    ),
    "account/email/password_set": AccountEmail(
        subject=_("A password was set on your account"),
        lead=_("A password was set on your account on the Micro-acquisitions marketplace."),
        notice=True,
    ),
    "account/email/password_reset": AccountEmail(
        subject=_("Your password was reset"),
        lead=_(
            "The password of your account on the Micro-acquisitions marketplace was reset with "
            "a link sent to your email."
        ),
        notice=True,
    ),
    "account/email/email_changed": AccountEmail(
        subject=_("Your email address was changed"),
        lead=_(
            "The primary email address of your account on the Micro-acquisitions marketplace "
            "was changed from %(from_email)s to %(to_email)s. Our emails now go to the new "
            "address."
        ),
        notice=True,
    ),
    "account/email/email_confirm": AccountEmail(
        subject=_("Your email address is confirmed"),
        lead=_(
            "The address %(email)s is confirmed on your account on the Micro-acquisitions "
            "marketplace."
        ),
        notice=True,
    ),
    "account/email/email_deleted": AccountEmail(
        subject=_("An email address was removed from your account"),
        lead=_(
            "The address %(deleted_email)s was removed from your account on the "
            "Micro-acquisitions marketplace."
        ),
        notice=True,
    ),
    "mfa/email/totp_activated": AccountEmail(
        subject=_("Authenticator app turned on"),
        lead=_(
            "An authenticator app was turned on for your account on the Micro-acquisitions "
            "marketplace: signing in now also asks for its code."
        ),
        notice=True,
    ),
    "mfa/email/totp_deactivated": AccountEmail(
        subject=_("Authenticator app turned off"),
        lead=_(
            "The authenticator app was turned off for your account on the Micro-acquisitions "
            "marketplace: signing in no longer asks for its code."
        ),
        notice=True,
    ),
    "mfa/email/recovery_codes_generated": AccountEmail(
        subject=_("New recovery codes"),
        lead=_(
            "New recovery codes were made for your account on the Micro-acquisitions "
            "marketplace. The old ones no longer work."
        ),
        notice=True,
    ),
    "mfa/email/webauthn_added": AccountEmail(
        subject=_("Security key added"),
        lead=_("A security key was added to your account on the Micro-acquisitions marketplace."),
        notice=True,
    ),
    "mfa/email/webauthn_removed": AccountEmail(
        subject=_("Security key removed"),
        lead=_(
            "A security key was removed from your account on the Micro-acquisitions marketplace."
        ),
        notice=True,
    ),
}

# The context entries allauth puts a link of the site in, built in the request's language.
LINKS = ("activate_url", "password_reset_url", "signup_url")


@dataclass(frozen=True)
class Site:
    """What allauth's templates call `current_site`: the service, not the request's host."""

    name: str
    domain: str


def site() -> Site:
    return Site(
        name=gettext("Micro-acquisitions marketplace"),
        domain=urlsplit(settings.SITE_URL).netloc or "localhost",
    )


def subject_prefix() -> str:
    """The prefix of every account email's subject, in the active language."""
    return f"[{gettext('Micro-acquisitions')}] "


def greeting(person: User | None) -> str:
    """The greeting, in the active language: "Hello Marie,", or "Hello," for no one or for an
    account without a name (never the email address)."""
    name = person.greeting_name if person is not None else ""
    return gettext("Hello %(name)s,") % {"name": name} if name else gettext("Hello,")


def recipient(email: str, user: User | None) -> User | None:
    """The account an email is about: the one allauth names, else the account the address is
    verified on (an unverified address says nothing about who reads it)."""
    if user is not None and getattr(user, "pk", None):
        return user
    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .first()
    )
    return address.user if address is not None else None


def language(person: User | None) -> str:
    """The person's language when they have an account, else the active one (the language of
    the page they were on)."""
    languages = dict(settings.LANGUAGES)
    if person is not None and person.preferred_language in languages:
        return person.preferred_language
    current = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    return current if current in languages else settings.LANGUAGE_CODE


def links_in(context: dict[str, Any], language_code: str) -> dict[str, Any]:
    """The context with its links to the site in `language_code`, at the site's address. Called
    in the language they were built in (the request's), which is the one `translate_url` reads
    them in."""
    return {
        key: on_site(translate_url(value, language_code))
        if key in LINKS and isinstance(value, str)
        else value
        for key, value in context.items()
    }


def on_site(url: str) -> str:
    """`url` at the site's address (SITE_URL), as every email's links are. allauth builds its
    links from the request's Host header: any name ALLOWED_HOSTS lets through, with any port
    ("Host: site.example:6666"), would otherwise be where a password reset link leads."""
    parts = urlsplit(url)
    return settings.SITE_URL + urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


def _reset_password_url() -> str:
    return settings.SITE_URL + reverse("account_reset_password")


def _pair(label: str, value: str) -> str:
    return gettext("%(label)s: %(value)s") % {"label": label, "value": value}


# The browsers and systems a notice names, by the token their User-Agent header carries. The
# header is text whoever made the change wrote ("Mozilla/5.0 visit https://… or call …"): a
# notice names what it recognises, in its own words, and quotes nothing (issue 21, helper H).
# In order: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux", iOS
# says "Mac OS X".
_BROWSERS = (
    (r"Edg(?:e|A|iOS)?", "Edge"),
    (r"OPR", "Opera"),
    (r"SamsungBrowser", "Samsung Internet"),
    (r"Firefox|FxiOS", "Firefox"),
    (r"Chrome|CriOS", "Chrome"),
    (r"Version(?=/[0-9.]+ (?:Mobile/\S+ )?Safari/)", "Safari"),
)
_SYSTEMS = (
    (r"Windows", "Windows"),
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"CrOS", "ChromeOS"),
    (r"Macintosh|Mac OS X", "macOS"),
    (r"Linux", "Linux"),
)


def browser_named(user_agent: str) -> str:
    """ "Firefox 140 on Windows", or "" for a browser this does not recognise."""
    found = next(
        (
            (browser, version.group(1))
            for token, browser in _BROWSERS
            if (version := re.search(rf"\b(?:{token})/([0-9]{{1,4}})\b", user_agent))
        ),
        None,
    )
    if found is None:
        return ""
    named = " ".join(found)  # a product's name and its version: in no language
    system = next((name for token, name in _SYSTEMS if re.search(token, user_agent)), "")
    if not system:
        return named
    return gettext("%(browser)s on %(system)s") % {"browser": named, "system": system}


def _details(context: dict[str, Any]) -> list[str]:
    """Where a change came from, as allauth saw it."""
    details = []
    if context.get("ip"):
        details.append(_pair(gettext("IP address"), str(context["ip"])))
    browser = browser_named(str(context.get("user_agent") or ""))
    if browser:
        details.append(_pair(gettext("Browser"), browser))
    moment = context.get("timestamp")
    if isinstance(moment, dt.datetime):
        when = gettext("%(moment)s (Eastern time)") % {"moment": formats.datetime(moment)}
        details.append(_pair(gettext("When"), when))
    return details


def render(
    kind: AccountEmail,
    *,
    email: str,
    context: dict[str, Any],
    subject: str,
    from_email: str,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The email, in the active language (the caller's `translation.override`)."""
    values: defaultdict[str, str] = defaultdict(lambda: "—")
    values.update((key, value) for key, value in context.items() if isinstance(value, str))
    values["email"] = email
    code = str(context.get("code") or "") if kind.expires else ""
    url = "" if code else str(context.get(kind.link) or "")
    action = str(kind.action or "")
    if kind.notice:
        action, url = str(_NEW_PASSWORD), _reset_password_url()
    expires = ""
    if code and kind.expires:
        seconds = getattr(allauth_settings, kind.expires)
        span = formats.duration(dt.timedelta(seconds=seconds))
        expires = gettext("The code works once, for %(duration)s.") % {"duration": span}
    layout = {
        "subject": subject,
        "greeting": greeting(context.get("recipient")),
        "lead": str(kind.lead) % values,
        "code": code,
        "expires": expires,
        "action": action,
        "url": url,
        "action_line": gettext("%(action)s: %(url)s") % {"action": action, "url": url},
        "details_heading": gettext("Where the change came from:") if kind.notice else "",
        "details": _details(context) if kind.notice else [],
        "closing": str(_NOTICE_CLOSING if kind.notice else kind.closing or ""),
        "notice": kind.notice,
        "service": gettext("Micro-acquisitions marketplace"),
        "site_url": settings.SITE_URL,
        "sent_to": gettext("This email was sent to %(email)s.") % {"email": email},
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("marketplace/email/account.txt", layout).strip() + "\n",
        from_email=from_email,
        to=[email],
        headers=headers,
    )
    message.attach_alternative(
        render_to_string("marketplace/email/account.html", layout), "text/html"
    )
    return message
