"""The demo data speaks the app's language (issue 22, point 4): every audit event the demo seed
writes — the live demo through the services, its past year through demo/builders.py — has a verb
of the registry (marketplace/audit_verbs.py), and every status move it records is one its
model's transition table allows. The benchmark's data set is built by the same builders
(bench/data.py), which refuse an unknown verb before anything is written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from demo import builders
from marketplace.audit_verbs import VERBS
from marketplace.models import AuditEvent
from marketplace.transitions import LifecycleModel
from payments.models import PaymentEvent


def test_the_builders_refuse_a_verb_the_registry_lacks():
    assert builders.verb("opportunity.published") == "opportunity.published"
    with pytest.raises(LookupError, match="audit_verbs"):
        builders.verb("opportunity.teleported")
    with pytest.raises(LookupError):
        builders.audit_event_row(
            at=None, verb_name="bid.vanished", actor_id=None, target_type_id=None,
            target_id=1, target_repr="",
        )  # fmt: skip


@pytest.mark.django_db
def test_every_event_the_demo_seed_writes_is_registered_and_allowed():
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert verbs, "the seed wrote no audit event"
    assert sorted(verbs - set(VERBS)) == []
    # A payment's history reads its kinds through the registry too ("payment.<kind>").
    kinds = set(PaymentEvent.objects.values_list("kind", flat=True))
    assert sorted(k for k in kinds if f"payment.{k}" not in VERBS) == []
    refused = set()
    for event in AuditEvent.objects.select_related("target_type").filter(data__has_key="to"):
        model = event.target_type.model_class()
        if not (isinstance(model, type) and issubclass(model, LifecycleModel)):
            continue
        was, to = event.data.get("from"), event.data["to"]
        if was is None:
            continue
        if to not in model.TRANSITIONS.get(was, frozenset()):
            refused.add((event.verb, was, to))
    assert sorted(refused) == []
