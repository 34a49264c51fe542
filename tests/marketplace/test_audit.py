import pytest

from marketplace.models import AuditEvent
from marketplace.services import audit_event_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_audit_event_records_actor_verb_target_and_data():
    actor, target = UserFactory(), UserFactory()
    event = audit_event_record(actor=actor, verb="thing.done", target=target, data={"n": 1})
    assert (event.actor, event.verb, event.target_id, event.data) == (
        actor,
        "thing.done",
        str(target.pk),
        {"n": 1},
    )
    assert list(AuditEvent.objects.for_target(target)) == [event]


def test_audit_events_are_append_only():
    event = audit_event_record(actor=None, verb="system.tick")
    event.verb = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(verb="rewritten")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().verb == "system.tick"


def test_audit_event_of_anonymous_actor_is_system():
    from django.contrib.auth.models import AnonymousUser

    event = audit_event_record(actor=AnonymousUser(), verb="public.view")
    assert event.actor is None
