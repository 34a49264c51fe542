"""Bids in the technical admin: read-only and identity-free (DESIGN.md §4, §5).

Kept (rather than left out) because running the service needs them: whether a bid arrived,
when, in which status, and which receipt was sealed are what a technical administrator checks
when a supplier says their bid was lost. Nothing here says who bid: no supplier column, filter,
search or link, a bid's text names no one (`Bid.__str__`), and neither the answers, the
attachments (their file names are the supplier's) nor a receipt's content are shown. Answers
and attachments are not registered. Filters accept only the status (`BlindLookupsMixin`).
"""

from django.contrib import admin

from marketplace.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Bid, Receipt


class ReceiptInline(ReadOnlyInline):
    model = Receipt
    fields = ("number", "submitted_at", "digest")
    readonly_fields = fields


@admin.register(Bid)
class BidAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "opportunity", "status", "submitted_at", "sealed_at")
    list_filter = ("status",)
    fields = ("opportunity", "status", "submitted_at", "withdrawn_at", "sealed_at")
    readonly_fields = fields
    inlines = [ReceiptInline]
