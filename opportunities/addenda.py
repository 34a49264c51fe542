"""Changes after publishing: every change to a published opportunity is a numbered,
bilingual addendum (an answered question may be one too: `questions`); those who follow it
are told, and those who submitted must confirm or revise their bid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.models import User
from marketplace.services import audit_event_record, notification_send

from . import permissions
from .drafting import EDITABLE_FIELDS, REPEAT_SECONDS, apply_fields
from .models import Addendum, Guardrails, Opportunity
from .notices import followers, notice_context
from .progress import opportunity_close_schedule

Status = Opportunity.Status


AMENDABLE_FIELDS = tuple(
    f for f in EDITABLE_FIELDS if not f.startswith("attest_") and f != "selection_method"
)


def _submitted_bidders(opportunity: Opportunity):
    return User.objects.filter(bids__opportunity=opportunity, bids__status="submitted")


def addendum_create(
    *, actor: User, opportunity: Opportunity, note_en: str, note_fr: str, changed: list[str]
) -> Addendum:
    if not note_en.strip() or not note_fr.strip():
        raise ValidationError(_("An addendum needs a note in English and in French."))
    number = (opportunity.addenda.aggregate(top=Max("number"))["top"] or 0) + 1
    addendum = Addendum(
        opportunity=opportunity,
        number=number,
        note_en=note_en.strip(),
        note_fr=note_fr.strip(),
        changed_fields=changed,
        created_by=actor,
    )
    addendum.full_clean()
    addendum.save()
    audit_event_record(
        actor=actor,
        verb="opportunity.amended",
        target=opportunity,
        data={"addendum": number, "fields": changed},
    )
    public_pages_changed_on_commit()  # the addendum, and what it changed
    context = notice_context(
        opportunity, number=number, note=notices.bilingual(addendum.note_en, addendum.note_fr)
    )
    bidders = _submitted_bidders(opportunity)
    notification_send(
        kind="opportunity.amended",
        recipients=followers(opportunity).exclude(pk__in=bidders.values("pk")),
        event_key=f"{opportunity.pk}:{number}",
        context=context,
    )
    # Those who submitted must confirm their bid or revise it (bids.services.bid_confirm).
    notification_send(
        kind="bid.addendum",
        recipients=bidders,
        event_key=f"{opportunity.pk}:{number}",
        context=context,
    )
    return addendum


@transaction.atomic
def opportunity_amend(
    *, actor: User, opportunity: Opportunity, note_en: str, note_fr: str, **fields: Any
) -> Addendum:
    """Change a published opportunity; every change is a numbered, bilingual addendum."""
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not permissions.is_owning_buyer(actor, opportunity) or (
        opportunity.status != Status.PUBLISHED
    ):
        raise PermissionDenied
    if not permissions.can_amend(actor, opportunity):
        raise ValidationError(_("The deadline has passed: this opportunity can no longer change."))
    unknown = set(fields) - set(AMENDABLE_FIELDS) - {"skills"}
    if unknown:
        raise TypeError(f"Fields that cannot be amended: {sorted(unknown)}")
    old_closes_at = opportunity.closes_at
    changed = sorted(
        name
        for name, value in fields.items()
        if name != "skills" and getattr(opportunity, name) != value
    )
    if "skills" in fields and set(fields["skills"]) != set(opportunity.skills.all()):
        changed.append("skills")
    if not changed:
        latest = opportunity.addenda.order_by("-number").first()
        if (
            latest is not None
            and latest.created_by_id == actor.pk
            and (latest.note_en, latest.note_fr) == (note_en.strip(), note_fr.strip())
            and latest.created_at >= timezone.now() - dt.timedelta(seconds=REPEAT_SECONDS)
        ):
            return latest  # this very amendment, sent again: it is published already
        raise ValidationError(_("Nothing was changed."))
    apply_fields(opportunity, fields)
    opportunity.full_clean()
    now = timezone.now()
    if opportunity.closes_at is None or opportunity.closes_at <= now:
        raise ValidationError(_("The closing date must stay in the future."))
    if opportunity.question_deadline and opportunity.question_deadline >= opportunity.closes_at:
        raise ValidationError(_("The question deadline must come before the closing date."))
    if opportunity.value_cents > Guardrails.current().value_cap_cents:
        raise ValidationError(_("The value exceeds the cap."))
    opportunity.save()
    if "skills" in fields:
        opportunity.skills.set(fields["skills"])
    addendum = addendum_create(
        actor=actor, opportunity=opportunity, note_en=note_en, note_fr=note_fr, changed=changed
    )
    if opportunity.closes_at != old_closes_at:
        opportunity_close_schedule(opportunity)
    return addendum
