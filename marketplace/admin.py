"""The technical admin site: a tool for the people who run the service, not a back door.

It shows no bidder identity and cannot change what the workflow guards (DESIGN.md §4):

- what the workflow guards (bids, opportunities once submitted, criteria, guardrails, the audit
  trail, the outbox, supplier profiles) is read-only here, because each change has a service
  that checks who may make it and writes its audit event, and an admin form does neither;
- nothing lets a technical administrator tell who bid: a bid's text names no one, bid pages have
  no supplier column, filter, search or link, evaluation rows are not registered at all, and
  wherever a supplier appears next to their own activity (the audit trail's actor, a
  notification's recipient) they are shown as "a supplier", with no way to filter, search or
  sort by them. Filters accept only the lookups the page offers (`BlindLookupsMixin`), since
  the admin otherwise accepts any local field in the address (`?supplier=12`).

"A supplier" means anyone who is or ever was one: the supplier role held or once granted (the
audit trail keeps the grant), a supplier profile or a bid in any status. Revoking the role must
not make a bidder's past activity readable.

Nor can the admin take over an account, which would let its holder read the bids of a supplier
or act as a program administrator with nothing in the audit trail:

- there is no password form for a user (the page answers 403 and the change page has no link
  to it): people reset their own password through allauth, by their verified address;
- allauth's email addresses are read-only here (which addresses an account has and whether they
  are verified is what support needs; the owner changes them through the pages that verify them
  and re-check the roles), and the user's own address is read-only on the user page;
- allauth's authenticators (TOTP, recovery codes) are not registered at all: their rows hold the
  TOTP secret and the recovery codes' seed, which even a read-only page would show, and deleting
  one would switch off a program administrator's second factor. A lost authenticator is reset
  by its owner with a recovery code.

A technical administrator can still add an account, deactivate one, give admin access and
manage the skills list (never delete a skill: see `opportunities/admin.py`): none of these
reveals or decides anything about a bid, and each account change is in the audit trail.

The admin site is a separate, technical role (`is_staff`), not the program administrators'
tool: marketplace roles, card limits and the guardrails are read-only here or absent, and
change only through the pages that ask a second program administrator (issue 20). Its sign-in
is allauth's, so MFA, email verification and the sign-in limits apply to it as to every page:
Django's own admin login form, which checked a password alone, is never shown.
"""

# Imported for their registrations, which must exist before they are replaced: this module is
# loaded first (the marketplace app comes first in INSTALLED_APPS), and the admin's autodiscovery
# does not run a module already imported.
import allauth.account.admin
import allauth.mfa.admin  # noqa: F401
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.decorators import login_not_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, CharField, Exists, ExpressionWrapper, OuterRef, Q
from django.db.models.functions import Cast
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _

from . import audit_verbs, services
from .models import (
    AuditEvent,
    Notification,
    Role,
    RoleGrant,
    SupplierProfile,
    User,
    supplier_stake,
)

# Shown instead of a supplier wherever their identity would sit next to their activity.
A_SUPPLIER = _("a supplier (hidden)")


def _admin_next(request) -> str:
    """Where to go once signed in: the admin page asked for, never another site."""
    wanted = request.GET.get(REDIRECT_FIELD_NAME, "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


@login_not_required
def admin_login(request, extra_context=None):
    """The admin's sign-in is allauth's (its password, email verification, MFA and limits).

    Someone signed in without admin access is refused here rather than sent to sign in
    again: allauth would send them straight back, round and round."""
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect(_admin_next(request))
        raise PermissionDenied
    return redirect(f"{reverse('account_login')}?{urlencode({'next': _admin_next(request)})}")


def admin_password_change(request, extra_context=None):
    """One password form for everyone: allauth's, which asks for the current password and
    signs the other sessions out."""
    return redirect("account_change_password")


admin.site.login = admin_login
admin.site.password_change = admin_password_change


class BlindLookupsMixin:
    """Filtering by address is limited to the filters and date drill-down the page shows.

    Django's admin accepts any lookup on a local field from the query string, so without this
    `/admin/bids/bid/?supplier=12` would list one supplier's bids."""

    def lookup_allowed(self, lookup, value, request):
        offered = {name for name in self.list_filter if isinstance(name, str)}
        if self.date_hierarchy:
            offered.add(self.date_hierarchy)
        if lookup.split("__")[0] not in {name.split("__")[0] for name in offered}:
            return False
        return super().lookup_allowed(lookup, value, request)


class ViewOnlyMixin:
    """Viewable only: every change to these rows has a service that checks and audits it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ViewOnlyMixin, BlindLookupsMixin, admin.ModelAdmin):
    """A page of rows that only the workflow's services change."""


class ReadOnlyInline(ViewOnlyMixin, admin.TabularInline):
    """Rows shown under their parent, changed only by the workflow's services."""

    extra = 0
    can_delete = False


def _ever_a_supplier(user_field: str) -> ExpressionWrapper:
    """True when the user in `user_field` is or ever was a supplier (see the module's text)."""
    user = OuterRef(user_field)
    user_type = ContentType.objects.get_for_model(User)
    once_granted = AuditEvent.objects.filter(
        verb__in=(audit_verbs.verb("role.granted"), audit_verbs.verb("role.revoked")),
        target_type=user_type,
        target_id=Cast(user, CharField()),
        data__role=Role.SUPPLIER,
    )
    condition = (
        Q(Exists(RoleGrant.objects.filter(user=user, role=Role.SUPPLIER)))
        | supplier_stake(user_field)
        | Q(Exists(once_granted))
    )
    return ExpressionWrapper(condition, output_field=BooleanField())


class RoleGrantInline(ReadOnlyInline):
    model = RoleGrant
    fk_name = "user"
    fields = ("role", "granted_by", "granted_at")
    # Roles change through the role management page, which checks the staff-domain rule.
    readonly_fields = fields


@admin.register(User)
class UserAdmin(BlindLookupsMixin, BaseUserAdmin):
    """No bids here, as an inline or otherwise: a person's page must not list what they bid on.

    Accounts are deactivated, never deleted: the confirmation page of a deletion would list the
    supplier's bids (they protect the account), and the audit trail keeps its actors. The
    address is changed by its owner, through the email pages that verify it and re-check roles;
    the password too, through allauth's reset: no password form here (see the module's text).
    """

    ordering = ("email",)
    list_display = ("email", "full_name", "preferred_language", "is_active", "date_joined")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_staff", "role_grants__role")
    inlines = [RoleGrantInline]
    fieldsets = (
        (None, {"fields": ("email",)}),
        (_("Personal info"), {"fields": ("full_name", "preferred_language")}),
        (_("Technical admin access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_readonly_fields(self, request, obj=None):
        return ("email",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def user_change_password(self, request, id, form_url=""):
        # Setting someone's password would let the technical admin sign in as them, unaudited.
        raise PermissionDenied

    # Who may sign in and with what power: every change made here is in the audit trail, by
    # whom (the admin's change log alone can be deleted by a superuser). Never the password.
    AUDITED_FLAGS = ("is_active", "is_staff", "is_superuser")

    def save_model(self, request, obj, form, change):
        before = {name: form.initial.get(name) for name in self.AUDITED_FLAGS}
        super().save_model(request, obj, form, change)
        actor = request.user
        if not change:
            services.audit_event_record(
                actor=actor,
                verb="user.created_in_admin",
                target=obj,
                data={name: getattr(obj, name) for name in self.AUDITED_FLAGS},
            )
            if obj.has_usable_password():
                services.audit_event_record(
                    actor=actor, verb="user.password_set_in_admin", target=obj
                )
            return
        for name in self.AUDITED_FLAGS:
            if name in form.changed_data:
                services.audit_event_record(
                    actor=actor,
                    verb=f"user.{name}_changed_in_admin",
                    target=obj,
                    data={"from": bool(before[name]), "to": getattr(obj, name)},
                )
        others = sorted(set(form.changed_data) - set(self.AUDITED_FLAGS))
        if others:
            services.audit_event_record(
                actor=actor, verb="user.changed_in_admin", target=obj, data={"fields": others}
            )


admin.site.unregister(Authenticator)
admin.site.unregister(EmailAddress)
if admin.site.is_registered(EmailConfirmation):  # only without HMAC keys: it holds the keys
    admin.site.unregister(EmailConfirmation)


@admin.register(EmailAddress)
class EmailAddressAdmin(ReadOnlyAdmin):
    """Read-only: an address decides whose account it is and, on a staff domain, the roles; a
    change here would let the admin receive a bidder's password reset, unaudited."""

    list_display = ("email", "user", "primary", "verified")
    list_filter = ("primary", "verified")
    search_fields = ("email",)
    fields = ("email", "user", "primary", "verified")
    readonly_fields = fields


@admin.register(SupplierProfile)
class SupplierProfileAdmin(ReadOnlyAdmin):
    """Read-only, and no bids: a profile is who a supplier is, never what they bid on.

    Its names, emails and phones are the identity tokens redaction removes from bids, so only
    the supplier changes them (through their profile page, audited); an edit here would weaken
    the redaction of their sealed bids without a trace."""

    list_display = ("legal_name", "trading_name", "kind", "province", "user")
    search_fields = ("legal_name", "trading_name", "user__email")
    list_filter = ("kind", "province")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only (the trail is append-only) and blind.

    A bid's target text names no one (see `Bid.__str__`), but its actor is the supplier: a
    supplier acting is shown as "a supplier", as is anyone acting on a bid. Nothing filters,
    searches or sorts by actor, or the list would still tell whose events these are."""

    # Appended: the columns' positions are the list's sort keys (?o=2 sorts by verb).
    list_display = ("created_at", "actor_shown", "verb", "target_repr", "what_happened")
    list_filter = ("verb",)
    search_fields = ("verb", "target_repr")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor_shown",
        "what_happened",
        "verb",
        "target_type",
        "target_id",
        "target_repr",
        "data",
    )
    readonly_fields = fields

    # Events that are a supplier's activity whoever holds the role today (a role can be revoked).
    BLIND_VERBS = ("bid.", "question.asked")
    BLIND_TARGET_APPS = ("bids",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("actor", "target_type")
            .annotate(actor_is_supplier=_ever_a_supplier("actor"))
        )

    @admin.display(description=_("what happened"))
    def what_happened(self, event: AuditEvent) -> str:
        """The verb's sentence (marketplace/audit_verbs.py), from the event's own data."""
        return audit_verbs.sentence(event.verb, event.data)

    @admin.display(description=_("actor"))
    def actor_shown(self, event: AuditEvent) -> str:
        if event.actor_id is None:
            return _("the system")
        if (
            getattr(event, "actor_is_supplier", True)
            or event.verb.startswith(self.BLIND_VERBS)
            or (event.target_type and event.target_type.app_label in self.BLIND_TARGET_APPS)
        ):
            return A_SUPPLIER
        return event.actor.email


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Read-only: notifications are retried from the Operations page, which audits it.

    Blind: a supplier's notifications (bid received, withdrawn, closing soon…) would say who
    bid on what, so their recipient, error text (a mail server's refusal quotes the address)
    and key (it ends with the person's id) are hidden, and nothing searches or filters by
    recipient. The message context is never shown: the email itself is the place for it."""

    list_display = ("created_at", "recipient_shown", "kind", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("kind",)
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "recipient_shown",
        "kind",
        "language",
        "status",
        "attempts",
        "error_shown",
        "next_attempt_at",
        "sent_at",
        "read_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("recipient")
            .annotate(recipient_is_supplier=_ever_a_supplier("recipient"))
        )

    def _blind(self, notification: Notification) -> bool:
        return getattr(notification, "recipient_is_supplier", True) or notification.kind.startswith(
            "bid."
        )

    @admin.display(description=_("recipient"))
    def recipient_shown(self, notification: Notification) -> str:
        return A_SUPPLIER if self._blind(notification) else notification.recipient.email

    @admin.display(description=_("last error"))
    def error_shown(self, notification: Notification) -> str:
        return _("(hidden)") if self._blind(notification) else notification.last_error
