from django.contrib import admin

from .models import Criterion, Guardrails, Opportunity, Skill


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("title_en", "buyer", "status", "value_cents", "closes_at", "published_at")
    list_filter = ("status", "type")
    search_fields = ("title_en", "title_fr", "buyer__email")
    # Status moves only through the services (DESIGN.md §3, §8).
    readonly_fields = ("status", "submitted_at", "published_at", "closed_at", "cancelled_at")
    inlines = [CriterionInline]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_en", "name_fr")
    search_fields = ("slug", "name_en", "name_fr")


@admin.register(Guardrails)
class GuardrailsAdmin(admin.ModelAdmin):
    list_display = ("value_cap_cents", "min_open_business_days", "split_window_days")
