"""A person's addresses on allauth's own page (/accounts/email/), changed as they would change
them: added and verified through the emailed link, made primary, removed."""

from __future__ import annotations

import re

from allauth.account.models import EmailAddress
from django.core import mail


def add_and_verify_email(client, email: str, language: str = "en") -> None:
    """Add an address on /accounts/email/ and follow the link allauth emails to it."""
    mail.outbox.clear()
    response = client.post(f"/{language}/accounts/email/", {"action_add": "", "email": email})
    assert response.status_code == 302, response.content.decode()[:500]
    [message] = [m for m in mail.outbox if email in m.to]
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", message.body).group(0)
    path = "/" + link.split("/", 3)[3]  # its path: the link is at SITE_URL
    assert client.post(path).status_code == 302
    assert EmailAddress.objects.get(email=email).verified


def make_primary(client, email: str) -> None:
    response = client.post("/en/accounts/email/", {"action_primary": "", "email": email})
    assert response.status_code == 302
    assert EmailAddress.objects.get(email=email).primary


def remove_email(client, email: str) -> None:
    response = client.post("/en/accounts/email/", {"action_remove": "", "email": email})
    assert response.status_code == 302
    assert not EmailAddress.objects.filter(email=email).exists()
