"""Opportunities in the technical admin: read-only, in every status, drafts included.

Criteria, weights, the value and the dates decide who wins; the services that change them
(`opportunity_update`, `opportunity_amend`, the review and publication steps) check who may
change what and when, re-check the guardrails and write an audit event. An admin form would do
none of that, so even a draft is only viewed here: its buyer edits it on the draft page, where
the value cap and the other guardrails are checked. Guardrails are changed on the program
admin's guardrails page (`opportunities:guardrails`), which audits the change; skills are a
reference list that decides nothing about a bid: added and renamed here, never deleted, since a
deletion would take the skill out of published opportunities and people's saved alerts with no
audit event (and its confirmation page would list those alerts' owners).
"""

from django.contrib import admin

from marketplace.admin import ReadOnlyAdmin, ReadOnlyInline
from marketplace.caching import public_pages_changed_on_commit

from .models import Criterion, Guardrails, Opportunity, Skill


class CriterionInline(ReadOnlyInline):
    model = Criterion
    fields = ("position", "kind", "text_en", "text_fr", "weight", "max_score", "word_limit")
    readonly_fields = fields


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdmin):
    list_display = ("title_en", "buyer", "status", "value_cents", "closes_at", "published_at")
    list_filter = ("status", "type")
    search_fields = ("title_en", "title_fr", "buyer__email")
    inlines = [CriterionInline]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_en", "name_fr")
    search_fields = ("slug", "name_en", "name_fr")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        public_pages_changed_on_commit()  # skill names show on the public list, pages and feeds

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Guardrails)
class GuardrailsAdmin(ReadOnlyAdmin):
    list_display = ("value_cap_cents", "min_open_business_days", "split_window_days", "updated_at")
