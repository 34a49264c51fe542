"""Which email addresses are staff addresses: a pure rule on the address, read by the User model
(staff powers hold only on a verified staff address) and by the permissions."""

from __future__ import annotations

from django.conf import settings


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower() if "@" in email else ""


def is_staff_email(email: str) -> bool:
    """True for an address on a staff domain or one of its subdomains (`x@esdc-edsc.gc.ca`)."""
    domain = email_domain(email)
    if not domain:
        return False
    for allowed in settings.STAFF_EMAIL_DOMAINS:
        allowed = allowed.lower().lstrip(".")
        if domain == allowed or domain.endswith("." + allowed):
            return True
    return False
