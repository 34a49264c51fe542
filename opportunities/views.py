from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, ListView

from marketplace.models import AuditEvent

from . import selectors
from .forms import OpportunityFilterForm
from .markdown import render_markdown
from .models import Opportunity, Skill


@method_decorator(login_not_required, name="dispatch")
class OpportunityListView(ListView):
    template_name = "opportunities/opportunity_list.html"
    context_object_name = "opportunities"
    paginate_by = 20

    def get_queryset(self):
        self.filter_form = OpportunityFilterForm(self.request.GET or None)
        return selectors.opportunity_list(filters=self.filter_form.to_filters())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter_form=self.filter_form, query_string=query.urlencode())
        return context


@method_decorator(login_not_required, name="dispatch")
class OpportunityDetailView(DetailView):
    template_name = "opportunities/opportunity_detail.html"
    context_object_name = "opportunity"

    def get_object(self, queryset=None):
        return selectors.opportunity_get_visible(user=self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        opportunity = self.object
        criteria = list(opportunity.criteria.all())
        context.update(
            mandatory_criteria=[c for c in criteria if c.kind == "mandatory"],
            rated_criteria=[c for c in criteria if c.kind == "rated"],
            history=AuditEvent.objects.for_target(opportunity)
            .filter(
                verb__in=["opportunity.published", "opportunity.closed", "opportunity.cancelled"]
            )
            .order_by("created_at"),
        )
        return context


class OpenOpportunitiesFeed(Feed):
    feed_type = Atom1Feed
    title = _("Open micro-acquisition opportunities")
    subtitle = _("Small, fixed-price digital work for the Government of Canada.")

    def link(self):
        return reverse("opportunities:list")

    def items(self):
        return Opportunity.objects.open().order_by("-published_at")[:50]

    def item_title(self, item: Opportunity) -> str:
        return f"{item.title} — ${item.value_dollars}"

    def item_description(self, item: Opportunity) -> str:
        return render_markdown(item.summary)

    def item_link(self, item: Opportunity) -> str:
        return reverse("opportunities:detail", args=[item.pk])

    def item_pubdate(self, item: Opportunity):
        return item.published_at

    def item_updateddate(self, item: Opportunity):
        return item.updated_at


class SkillOpportunitiesFeed(OpenOpportunitiesFeed):
    def get_object(self, request, slug: str):
        return get_object_or_404(Skill, slug=slug)

    def title(self, obj: Skill) -> str:
        return _("Open opportunities: %(skill)s") % {"skill": obj.name}

    def link(self, obj: Skill) -> str:
        return reverse("opportunities:list") + f"?skill={obj.slug}"

    def items(self, obj: Skill):
        return Opportunity.objects.open().filter(skills=obj).order_by("-published_at")[:50]


open_feed = login_not_required(OpenOpportunitiesFeed())
skill_feed = login_not_required(SkillOpportunitiesFeed())
