from django.contrib import admin

from .models import Bid, Receipt


class ReceiptInline(admin.TabularInline):
    model = Receipt
    fields = ("number", "submitted_at", "digest")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Bid)
class BidAdmin(admin.ModelAdmin):
    """Read-only, and without answers: bid content is sealed from staff (DESIGN.md §5)."""

    list_display = ("opportunity", "status", "submitted_at", "sealed_at")
    list_filter = ("status",)
    fields = ("opportunity", "status", "submitted_at", "withdrawn_at", "sealed_at")
    readonly_fields = fields
    inlines = [ReceiptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
