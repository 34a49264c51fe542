"""Audit events about bids and contracts stored their old texts, which named the supplier to
anyone reading the trail or searching the technical admin:

- a bid: "<supplier email> → <opportunity> (<status>)";
- a contract: "<opportunity> → <supplier email> (<status>)".

Rewrite them to the texts `Bid.__str__` and `Contract.__str__` give now, "Bid <id> on opportunity
<id> (<status>)" and "Contract <id> for opportunity <id> (<status>)", keeping the status the
event recorded. A text cut at 255 characters (a long email) keeps what is known for sure.

The audit trail is append-only for the application; this one-off correction removes an identity
the trail should never have held, and changes nothing else (who, what, when, the data).
Not reversible on purpose: the emails must not come back.
"""

import re
from dataclasses import dataclass

from django.db import migrations

BATCH = 1000


@dataclass(frozen=True)
class Target:
    app_label: str
    model: str
    old_text: re.Pattern  # with the groups "opportunity" and "status"
    noun: str  # "Bid", "Contract"
    link: str  # between the noun and the opportunity: "on", "for"

    def text(self, target_id: str, old: str, opportunity_of: dict[int, int]) -> str:
        match = self.old_text.search(old)
        if match:
            return (
                f"{self.noun} {target_id} {self.link} opportunity {match['opportunity']} "
                f"({match['status']})"
            )
        opportunity = opportunity_of.get(int(target_id)) if target_id.isdigit() else None
        if opportunity is None:
            return f"{self.noun} {target_id}"
        return f"{self.noun} {target_id} {self.link} opportunity {opportunity}"


TARGETS = (
    # The email before the arrow may be anything.
    Target(
        "bids", "bid", re.compile(r"→ (?P<opportunity>\d+) \((?P<status>[a-z_]+)\)$"), "Bid", "on"
    ),
    Target(
        "payments",
        "contract",
        re.compile(r"^(?P<opportunity>\d+) → .*\((?P<status>[a-z_]+)\)$", re.DOTALL),
        "Contract",
        "for",
    ),
)


def forwards(apps, schema_editor):
    for target in TARGETS:
        _rewrite_all(apps, target)


def _rewrite_all(apps, target: Target) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    AuditEvent = apps.get_model("marketplace", "AuditEvent")
    Model = apps.get_model(target.app_label, target.model)
    content_type = ContentType.objects.filter(
        app_label=target.app_label, model=target.model
    ).first()
    if content_type is None:
        return
    # The base manager: the application's own manager refuses updates to the trail.
    events = (
        AuditEvent._base_manager.filter(target_type=content_type)
        .exclude(target_repr="")
        .only("pk", "target_id", "target_repr")
        .order_by("pk")
    )
    batch = []
    for event in events.iterator(chunk_size=BATCH):
        new = target.old_text.search(event.target_repr) is None
        if new and event.target_repr.startswith(f"{target.noun} "):
            continue  # already the new text
        batch.append(event)
        if len(batch) == BATCH:
            _rewrite(AuditEvent, Model, target, batch)
            batch = []
    if batch:
        _rewrite(AuditEvent, Model, target, batch)


def _rewrite(AuditEvent, Model, target: Target, events) -> None:
    ids = [int(e.target_id) for e in events if e.target_id.isdigit()]
    opportunity_of = dict(Model.objects.filter(pk__in=ids).values_list("pk", "opportunity_id"))
    for event in events:
        event.target_repr = target.text(event.target_id, event.target_repr, opportunity_of)[:255]
    AuditEvent._base_manager.bulk_update(events, ["target_repr"])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("bids", "0001_initial"),
        ("payments", "0001_initial"),
        ("marketplace", "0004_profile_gst_help_text"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
