"""A buyer's draft: its creation, its edits and its criteria (the review and the
publication: `publishing`). A draft is on no public page, so nothing here empties the public
cache."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import User
from marketplace.services import audit_event_record

from . import permissions
from .models import Criterion, Opportunity

Status = Opportunity.Status


EDITABLE_FIELDS = (
    "title_en",
    "title_fr",
    "summary_en",
    "summary_fr",
    "description_en",
    "description_fr",
    "deliverables_en",
    "deliverables_fr",
    "acceptance_criteria_en",
    "acceptance_criteria_fr",
    "type",
    "value_cents",
    "licence",
    "repository_url",
    "question_deadline",
    "closes_at",
    "expected_delivery_date",
    "remote_unclassified_only",
    "selection_method",
    "draw_margin_points",
    "evaluator_count",
    "attest_standalone",
    "attest_no_internal_capacity",
    "attest_not_split",
)


def apply_fields(opportunity: Opportunity, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"skills"}
    if unknown:
        raise TypeError(f"Unknown opportunity fields: {sorted(unknown)}")
    for name, value in fields.items():
        if name != "skills":
            setattr(opportunity, name, value)


# A draft, an addendum or a question identical to one the same person made this recently is
# the same one sent twice (a double click, a replayed form, a second tab): the first is
# returned, no second one is made.
REPEAT_SECONDS = 600


def _same_fields(opportunity: Opportunity, fields: dict[str, Any]) -> bool:
    if "skills" in fields and set(fields["skills"]) != set(opportunity.skills.all()):
        return False
    return all(
        getattr(opportunity, name) == value for name, value in fields.items() if name != "skills"
    )


def _repeated_draft(buyer: User, fields: dict[str, Any]) -> Opportunity | None:
    since = timezone.now() - dt.timedelta(seconds=REPEAT_SECONDS)
    recent = Opportunity.objects.filter(
        buyer=buyer, status=Status.DRAFT, created_at__gte=since
    ).prefetch_related("skills")
    return next((draft for draft in recent if _same_fields(draft, fields)), None)


@transaction.atomic
def opportunity_create(*, buyer: User, **fields: Any) -> Opportunity:
    if not permissions.can_create_opportunity(buyer):
        raise PermissionDenied
    opportunity = Opportunity(buyer=buyer)
    apply_fields(opportunity, fields)
    opportunity.full_clean()
    # One creation at a time per buyer, so that two copies sent at once find each other.
    User.objects.select_for_update(no_key=True).filter(pk=buyer.pk).first()
    repeated = _repeated_draft(buyer, fields)
    if repeated is not None:
        return repeated
    opportunity.save()
    if "skills" in fields:
        opportunity.skills.set(fields["skills"])
    audit_event_record(actor=buyer, verb="opportunity.created", target=opportunity)
    return opportunity


@transaction.atomic
def opportunity_update_draft(
    *, actor: User, opportunity: Opportunity, **fields: Any
) -> Opportunity:
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    if _same_fields(opportunity, fields):
        return opportunity  # the same values again (a repeated save): nothing to record
    apply_fields(opportunity, fields)
    opportunity.full_clean()
    opportunity.save()
    if "skills" in fields:
        opportunity.skills.set(fields["skills"])
    audit_event_record(
        actor=actor, verb="opportunity.edited", target=opportunity, data={"fields": sorted(fields)}
    )
    return opportunity


@transaction.atomic
def criterion_save(
    *, actor: User, opportunity: Opportunity, criterion: Criterion | None = None, **fields: Any
) -> Criterion:
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    if criterion is None:
        criterion = Criterion(opportunity=opportunity, position=opportunity.criteria.count())
    elif criterion.opportunity_id != opportunity.pk:
        raise PermissionDenied
    for name, value in fields.items():
        setattr(criterion, name, value)
    if criterion.kind == Criterion.Kind.MANDATORY:
        criterion.weight = criterion.max_score = None
    if criterion.pk is None and fields:
        # The same new criterion sent twice (the form saved twice) is added once.
        names = {*fields, "weight", "max_score"}
        same = opportunity.criteria.filter(**{name: getattr(criterion, name) for name in names})
        if (existing := same.first()) is not None:
            return existing
    criterion.full_clean()
    criterion.save()  # a draft's: no public page shows it before publication (no cache call)
    return criterion


@transaction.atomic
def criterion_delete(*, actor: User, criterion: Criterion) -> None:
    opportunity = Opportunity.objects.select_for_update().get(pk=criterion.opportunity_id)
    if not permissions.can_edit_draft(actor, opportunity):
        raise PermissionDenied
    criterion.delete()


@transaction.atomic
def opportunity_discard(*, actor: User, opportunity: Opportunity) -> None:
    """The buyer throws a draft away. It is deleted, not kept under a status: a draft was
    never public, has no bid, question, evaluation or contract, and a "discarded" status would
    have to be left out of every list, count and export by hand. What remains is the audit
    trail: who discarded which draft (its titles in both languages) and when."""
    locked = Opportunity.objects.select_for_update().filter(pk=opportunity.pk).first()
    if locked is None:
        # Discarded in another tab while this one waited for the row.
        raise ValidationError(_("This draft was discarded already."), code="discarded")
    opportunity = locked
    if not permissions.can_discard(actor, opportunity):
        raise PermissionDenied
    audit_event_record(
        actor=actor,
        verb="opportunity.discarded",
        target=opportunity,
        data={"title_en": opportunity.title_en, "title_fr": opportunity.title_fr},
    )
    opportunity.delete()
