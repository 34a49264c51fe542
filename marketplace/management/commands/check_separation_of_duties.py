"""Report existing rows that break separation of duties (DESIGN.md §4), for ops to run by cron.

The rules are enforced when roles are granted, emails change, panels are appointed and bids
are started; this finds what was written before the rules, or around them (the technical
admin, a database edit). It changes nothing: each finding is one line on standard output, and
the command exits with status 1 when there is any, 0 when the data is clean.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Exists, F, OuterRef

from marketplace.models import STAFF_ROLES, Role, RoleGrant, SupplierProfile, User


def _roles(user: User) -> str:
    return ",".join(sorted(user.granted_roles))


def separation_of_duties_findings() -> Iterator[str]:
    """One line per row that breaks a rule, in a stable order."""
    # Higher apps are read by name: the core app does not import them (DESIGN.md §2).
    Bid = apps.get_model("bids", "Bid")
    PanelMember = apps.get_model("evaluation", "PanelMember")

    staff_ids = RoleGrant.objects.filter(role__in=STAFF_ROLES).values("user")
    staff = (
        User.objects.with_roles()
        .filter(pk__in=staff_ids)
        .annotate(has_supplier_profile=Exists(SupplierProfile.objects.filter(user=OuterRef("pk"))))
    )
    bids_of = defaultdict(list)  # one query for every staff account's bids, in any status
    for user_id, bid_id, opportunity_id, status in (
        Bid.objects.filter(supplier__in=staff_ids)
        .order_by("supplier_id", "pk")
        .values_list("supplier_id", "pk", "opportunity_id", "status")
    ):
        bids_of[user_id].append((bid_id, opportunity_id, status))
    for user in staff.order_by("pk"):
        if Role.SUPPLIER in user.granted_roles:
            yield (
                f"supplier-and-staff: user {user.pk} <{user.email}> holds the supplier role "
                f"and a staff role ({_roles(user)})"
            )
        if not user.has_verified_staff_primary_email:
            yield (
                f"staff-without-verified-staff-email: user {user.pk} <{user.email}> holds "
                f"staff roles ({_roles(user)}) without a verified staff-domain primary email"
            )
        # Whatever roles it holds now: a revoked supplier role leaves the profile and the bids.
        if user.has_supplier_profile:
            yield (
                f"staff-with-supplier-profile: user {user.pk} <{user.email}> holds staff roles "
                f"({_roles(user)}) and has a supplier profile"
            )
        for bid_id, opportunity_id, status in bids_of[user.pk]:
            yield (
                f"staff-with-bid: user {user.pk} <{user.email}> holds staff roles "
                f"({_roles(user)}) and bid {bid_id} ({status}) on opportunity {opportunity_id}"
            )

    bidders_on_panels = (
        Bid.objects.filter(supplier__panel_seats__evaluation__opportunity=F("opportunity"))
        .values_list("opportunity_id", "supplier_id", "supplier__email", "pk", "status")
        .order_by("opportunity_id", "supplier_id", "pk")
        .distinct()
    )
    for opportunity_id, user_id, email, bid_id, status in bidders_on_panels:
        yield (
            f"bidder-on-panel: opportunity {opportunity_id}: panel member user {user_id} "
            f"<{email}> has bid {bid_id} ({status}) on it"
        )

    buyers_on_panels = (
        PanelMember.objects.filter(evaluator=F("evaluation__opportunity__buyer"))
        .values_list("evaluation__opportunity_id", "evaluator_id", "evaluator__email")
        .order_by("evaluation__opportunity_id", "evaluator_id")
    )
    for opportunity_id, user_id, email in buyers_on_panels:
        yield (
            f"buyer-on-panel: opportunity {opportunity_id}: its buyer, user {user_id} "
            f"<{email}>, sits on its panel"
        )

    buyer_bids = (
        Bid.objects.filter(supplier=F("opportunity__buyer"))
        .values_list("opportunity_id", "supplier_id", "supplier__email", "pk", "status")
        .order_by("opportunity_id", "pk")
    )
    for opportunity_id, user_id, email, bid_id, status in buyer_bids:
        yield (
            f"buyer-bid: opportunity {opportunity_id}: its buyer, user {user_id} <{email}>, "
            f"has bid {bid_id} ({status}) on it"
        )


class Command(BaseCommand):
    help = (
        "Report accounts and rows that break separation of duties: supplier and staff roles "
        "together, staff roles on an account with a supplier profile or a bid in any status, "
        "staff roles without a verified staff-domain primary email, bidders or the "
        "buyer on an opportunity's panel, bids by an opportunity's buyer. Exits 1 if any."
    )

    def handle(self, *args, **options):
        count = 0
        for line in separation_of_duties_findings():
            self.stdout.write(line)
            count += 1
        if count:
            raise CommandError(f"{count} separation-of-duties finding(s): see above.", returncode=1)
        self.stdout.write(self.style.SUCCESS("No separation-of-duties finding."))
