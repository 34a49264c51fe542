"""Emails rendered in the recipient's language, as plain text and HTML."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from .models import User


def send_templated_email(*, template: str, to: User, context: dict[str, Any]) -> None:
    """Render `<template>_subject.txt`, `.txt` and `.html` in `to.preferred_language`."""
    with translation.override(to.preferred_language or settings.LANGUAGE_CODE):
        context = {"user": to, "site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.splitlines()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to.email],
    )
    message.attach_alternative(html, "text/html")
    message.send()
