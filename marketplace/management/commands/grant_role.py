"""Grant a role from the command line: how the first program administrator is appointed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from marketplace import services
from marketplace.models import Role, User


class Command(BaseCommand):
    help = "Grant a marketplace role to an existing user (recorded in the audit trail)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("role", choices=Role.values)

    def handle(self, *args, email: str, role: str, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with the email {email}.")
        try:
            services.role_grant(actor=None, user=user, role=role)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS(f"{email} is now {Role(role).label}."))
