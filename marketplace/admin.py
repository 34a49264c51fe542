from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Notification, RoleGrant, SupplierProfile, User


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    fields = ("role", "granted_by", "granted_at")
    # Roles change through the role management page, which checks the staff-domain rule.
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "preferred_language", "is_active", "date_joined")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_staff", "role_grants__role")
    inlines = [RoleGrantInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "preferred_language")}),
        (_("Technical admin access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(SupplierProfile)
class SupplierProfileAdmin(admin.ModelAdmin):
    list_display = ("legal_name", "trading_name", "kind", "province", "user")
    search_fields = ("legal_name", "trading_name", "user__email")
    list_filter = ("kind", "province")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "verb", "target_repr")
    list_filter = ("verb",)
    search_fields = ("verb", "target_repr", "actor__email")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are retried from the Operations page, which audits it."""

    list_display = ("created_at", "recipient", "kind", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("recipient__email", "dedupe_key")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
