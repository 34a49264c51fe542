"""Audit events about contracts stored the contract's old text, "<opportunity> → <supplier email>
(<status>)", which named the awardee to anyone reading the trail or searching the technical
admin. Rewrite it to the text `Contract.__str__` gives now, "Contract <id> for opportunity <id>
(<status>)", keeping the status the event recorded: as 0005 did for bids.

The audit trail is append-only for the application; this one-off correction removes an identity
the trail should never have held, and changes nothing else (who, what, when, the data).
Not reversible on purpose: the emails must not come back.
"""

import re

from django.db import migrations

# The old text is "<opportunity id> → <email> (<status>)"; the email may be anything.
OLD_TEXT = re.compile(r"^(?P<opportunity>\d+) → .*\((?P<status>[a-z_]+)\)$", re.DOTALL)
BATCH = 1000


def contract_text(target_id: str, old: str, opportunity_of: dict[int, int]) -> str:
    match = OLD_TEXT.match(old)
    if match:
        return f"Contract {target_id} for opportunity {match['opportunity']} ({match['status']})"
    # Cut at 255 characters (a long email), or written otherwise: say what is known for sure.
    opportunity = opportunity_of.get(int(target_id)) if target_id.isdigit() else None
    if opportunity is None:
        return f"Contract {target_id}"
    return f"Contract {target_id} for opportunity {opportunity}"


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    AuditEvent = apps.get_model("marketplace", "AuditEvent")
    Contract = apps.get_model("payments", "Contract")
    contract_type = ContentType.objects.filter(app_label="payments", model="contract").first()
    if contract_type is None:
        return
    # The base manager: the application's own manager refuses updates to the trail.
    events = (
        AuditEvent._base_manager.filter(target_type=contract_type)
        .exclude(target_repr="")
        .only("pk", "target_id", "target_repr")
        .order_by("pk")
    )
    batch = []
    for event in events.iterator(chunk_size=BATCH):
        if OLD_TEXT.match(event.target_repr) is None and event.target_repr.startswith("Contract "):
            continue  # already the new text
        batch.append(event)
        if len(batch) == BATCH:
            _rewrite(AuditEvent, Contract, batch)
            batch = []
    if batch:
        _rewrite(AuditEvent, Contract, batch)


def _rewrite(AuditEvent, Contract, events) -> None:
    ids = [int(e.target_id) for e in events if e.target_id.isdigit()]
    opportunity_of = dict(Contract.objects.filter(pk__in=ids).values_list("pk", "opportunity_id"))
    for event in events:
        event.target_repr = contract_text(event.target_id, event.target_repr, opportunity_of)[:255]
    AuditEvent._base_manager.bulk_update(events, ["target_repr"])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("payments", "0001_initial"),
        ("marketplace", "0005_audit_bid_text_without_identity"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
