"""Self-identification in a given quarter, for the diversity figures' tests: the quarters as
seen today, a supplier who answered (back in time if asked), and the cells of the figures'
table on the dashboard."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from reports import diversity, services
from reports.models import SelfIdentification
from tests.factories import SupplierFactory

TODAY = timezone.localdate()
# The last complete quarter, whatever day the tests run.
LAST_START = diversity.quarter_start(diversity.last_complete_quarter_end(TODAY))
LAST_END = diversity.quarter_end(LAST_START)
CURRENT_START = diversity.quarter_start(TODAY)
# The day after the current quarter ends: the night its figures may be computed.
NEXT_QUARTER = diversity.next_quarter_start(TODAY) + dt.timedelta(days=1)
# A period ending in the future, for reading the current quarter once it is published.
LATER = {"start": CURRENT_START.isoformat(), "end": NEXT_QUARTER.isoformat()}


def in_quarter(start: dt.date, day: int = 10) -> dt.datetime:
    zone = timezone.get_current_timezone()
    return dt.datetime.combine(start + dt.timedelta(days=day), dt.time(12), tzinfo=zone)


def answered(*groups, when: dt.datetime | None = None):
    """A supplier who self-identified through the service, optionally back in time."""
    user = SupplierFactory()
    services.self_identification_save(user=user, groups=list(groups), consent=True)
    if when is not None:
        SelfIdentification.objects.filter(user=user).update(consented_at=when)
    return user


def diversity_cells(html: str) -> list[str]:
    table = html[html.index('id="diversity-table"') :]
    table = table[: table.index("</table>")] if "</table>" in table else table[:400]
    return re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table, re.S)
