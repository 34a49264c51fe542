"""A supplier's watches (one opportunity) and alert (new postings matching skills and types;
sent by `tasks.opportunity_alerts_fanout` and the digests)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from marketplace.models import User
from marketplace.services import audit_event_record

from . import permissions
from .models import Alert, Opportunity, Watch


@transaction.atomic
def watch_toggle(*, user: User, opportunity: Opportunity, watching: bool | None = None) -> bool:
    """Start or stop watching: `watching` is the state wanted (the page's button says which, so
    that pressing it twice gives that state, not its opposite); None turns it over. Returns
    whether the user now watches it."""
    if not permissions.can_watch(user, opportunity):
        raise PermissionDenied
    if watching is None:
        deleted, _rows = Watch.objects.filter(user=user, opportunity=opportunity).delete()
        if deleted:
            return False
    elif not watching:
        Watch.objects.filter(user=user, opportunity=opportunity).delete()
        return False
    Watch.objects.get_or_create(user=user, opportunity=opportunity)
    return True


@transaction.atomic
def alert_save(*, user: User, skills: list, types: list[str], frequency: str) -> Alert:
    if not permissions.can_subscribe_to_alerts(user):
        raise PermissionDenied
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()  # one save at a time
    alert, created = Alert.objects.get_or_create(user=user)
    unchanged = (
        not created
        and (alert.types, alert.frequency) == (sorted(set(types)), frequency)
        and set(alert.skills.all()) == set(skills)
    )
    if unchanged:
        return alert  # the same alert saved again: nothing to record
    alert.types = sorted(set(types))
    alert.frequency = frequency
    alert.full_clean()
    alert.save()
    alert.skills.set(skills)
    audit_event_record(
        actor=user,
        verb="alert.created" if created else "alert.updated",
        target=alert,
        data={"skills": sorted(s.slug for s in skills), "types": alert.types},
    )
    return alert


@transaction.atomic
def alert_delete(*, user: User) -> None:
    deleted, _rows = Alert.objects.filter(user=user).delete()
    if deleted:  # a second delete (a double click) finds nothing and records nothing
        audit_event_record(actor=user, verb="alert.deleted", target=user)
