"""Reads of opportunities: discovery (search, filters, sorting) and scoped detail lookups."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from marketplace.shortcuts import get_visible_or_404

from .models import Opportunity

SORTS = {
    "closing": ("closes_at", "-published_at"),
    "newest": ("-published_at",),
    "value_high": ("-value_cents", "closes_at"),
    "value_low": ("value_cents", "closes_at"),
}


@dataclass(frozen=True)
class OpportunityFilters:
    query: str = ""
    skill: str = ""
    type: str = ""
    value_min_cents: int | None = None
    value_max_cents: int | None = None
    status: str = "open"  # open | closed | all
    closing_within_days: int | None = None
    sort: str = "closing"


def _search(queryset: QuerySet[Opportunity], query: str) -> QuerySet[Opportunity]:
    if connection.vendor == "postgresql":
        # The weighted English + French vector is a stored, GIN-indexed column that the model
        # does not declare (migration 0003: SQLite cannot have it); `@@` is what the index serves.
        vector = RawSQL(  # noqa: S611 - a constant column name  # nosec B611
            f'"{Opportunity._meta.db_table}"."search_vector"', [], output_field=SearchVectorField()
        )
        search = SearchQuery(query, config="english", search_type="websearch") | SearchQuery(
            query, config="french", search_type="websearch"
        )
        return (
            queryset.alias(stored_search_vector=vector)
            .filter(stored_search_vector=search)
            .annotate(search_rank=SearchRank(F("stored_search_vector"), search))
            .order_by("-search_rank", "closes_at")
        )
    # SQLite (the embedded default): every word must appear somewhere, in either language.
    for word in query.split():
        word_q = Q()
        for field in ("title", "summary", "description"):
            word_q |= Q(**{f"{field}_en__icontains": word}) | Q(**{f"{field}_fr__icontains": word})
        queryset = queryset.filter(word_q)
    return queryset


def opportunity_list(*, filters: OpportunityFilters) -> QuerySet[Opportunity]:
    now = timezone.now()
    queryset: QuerySet[Opportunity] = Opportunity.objects.public().prefetch_related("skills")
    if filters.status == "open":
        queryset = queryset.filter(status=Opportunity.Status.PUBLISHED, closes_at__gt=now)
    elif filters.status == "closed":
        queryset = queryset.exclude(status=Opportunity.Status.PUBLISHED, closes_at__gt=now)
    if filters.skill:
        queryset = queryset.filter(skills__slug=filters.skill)
    if filters.type:
        queryset = queryset.filter(type=filters.type)
    if filters.value_min_cents is not None:
        queryset = queryset.filter(value_cents__gte=filters.value_min_cents)
    if filters.value_max_cents is not None:
        queryset = queryset.filter(value_cents__lte=filters.value_max_cents)
    if filters.closing_within_days is not None:
        queryset = queryset.filter(
            closes_at__gt=now, closes_at__lte=now + dt.timedelta(days=filters.closing_within_days)
        )
    queryset = queryset.order_by(*SORTS.get(filters.sort, SORTS["closing"]))
    if filters.query.strip():
        queryset = _search(queryset, filters.query.strip())
    return queryset


def opportunity_get_visible(*, user, pk: int) -> Opportunity:
    """The opportunity if `user` may see it; Http404 otherwise (never a 403)."""
    return get_visible_or_404(
        Opportunity.objects.select_related("buyer").prefetch_related("skills", "criteria"),
        user,
        pk=pk,
    )
