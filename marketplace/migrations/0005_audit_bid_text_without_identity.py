"""Audit events about bids stored the bid's old text, "<supplier email> → <opportunity> (<status>)",
which named the bidder to anyone reading the trail. Rewrite it to the text `Bid.__str__` gives
now, "Bid <id> on opportunity <id> (<status>)", keeping the status the event recorded.

The audit trail is append-only for the application; this one-off correction removes an identity
the trail should never have held, and changes nothing else (who, what, when, the data).
Not reversible on purpose: the emails must not come back.
"""

import re

from django.db import migrations

# The old text ends with "→ <opportunity id> (<status>)"; the email before it may be anything.
OLD_TEXT = re.compile(r"→ (?P<opportunity>\d+) \((?P<status>[a-z_]+)\)$")
BATCH = 1000


def bid_text(target_id: str, old: str, opportunity_of: dict[int, int]) -> str:
    match = OLD_TEXT.search(old)
    if match:
        return f"Bid {target_id} on opportunity {match['opportunity']} ({match['status']})"
    # Cut at 255 characters (a long email), or written otherwise: say what is known for sure.
    opportunity = opportunity_of.get(int(target_id)) if target_id.isdigit() else None
    if opportunity is None:
        return f"Bid {target_id}"
    return f"Bid {target_id} on opportunity {opportunity}"


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    AuditEvent = apps.get_model("marketplace", "AuditEvent")
    Bid = apps.get_model("bids", "Bid")
    bid_type = ContentType.objects.filter(app_label="bids", model="bid").first()
    if bid_type is None:
        return
    # The base manager: the application's own manager refuses updates to the trail.
    events = (
        AuditEvent._base_manager.filter(target_type=bid_type)
        .exclude(target_repr="")
        .only("pk", "target_id", "target_repr")
        .order_by("pk")
    )
    batch = []
    for event in events.iterator(chunk_size=BATCH):
        if OLD_TEXT.search(event.target_repr) is None and event.target_repr.startswith("Bid "):
            continue  # already the new text
        batch.append(event)
        if len(batch) == BATCH:
            _rewrite(AuditEvent, Bid, batch)
            batch = []
    if batch:
        _rewrite(AuditEvent, Bid, batch)


def _rewrite(AuditEvent, Bid, events) -> None:
    ids = [int(e.target_id) for e in events if e.target_id.isdigit()]
    opportunity_of = dict(Bid.objects.filter(pk__in=ids).values_list("pk", "opportunity_id"))
    for event in events:
        event.target_repr = bid_text(event.target_id, event.target_repr, opportunity_of)[:255]
    AuditEvent._base_manager.bulk_update(events, ["target_repr"])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("bids", "0001_initial"),
        ("marketplace", "0004_profile_gst_help_text"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
