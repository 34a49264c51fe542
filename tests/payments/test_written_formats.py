"""Money, dates and times as people read them on the pages and in the emails, in French and in
English (marketplace/formats.py, the `formats` filters; issue 21): "4 800,00 $", "14 h",
"21 décembre 2030 à 14 h" in French, "$4,800.00", "2:00 p.m." in English, never the other
language's way."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from marketplace.models import Role
from opportunities.models import Opportunity
from payments import paying
from payments.models import Payment
from tests.factories import OpportunityFactory, StaffFactory

pytestmark = pytest.mark.django_db

# 14:00 in Toronto (Eastern standard time), a Friday.
TWO_PM = dt.datetime(2030, 12, 20, 19, 0, tzinfo=dt.UTC)


def _spaces(text: str) -> str:
    """Babel writes French with no-break spaces (narrow between thousands): compare plainly."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _page(client, language: str, name: str, *args) -> str:
    with translation.override(language):
        url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 200, url
    return _spaces(response.content.decode())


def _text(page: str) -> str:
    """What people read: machine values in attributes (`datetime=`, `data-deadline=`) left out."""
    return re.sub(r"<[^>]*>", " ", page)


def _written_for(page: str, language: str, money: str) -> None:
    """`money` is on the page as `language` writes it, and no amount in the other way."""
    page = _text(page)
    if language == "fr":
        assert money in page
        assert not re.search(r"\$\s?\d", page), "English money on a French page"
        assert not re.search(r"\d,\d{3}\.\d\d", page), "English separators on a French page"
    else:
        assert money in page
        assert not re.search(r"\d,\d\d\s?\$", page), "French money on an English page"


@pytest.mark.parametrize(
    ("language", "money", "closes", "left"),
    [
        ("en", "$4,800.00", "December 20, 2030, 2:00 p.m.", r"\d+ days? (\d+ hours? )?left"),
        ("fr", "4 800,00 $", "20 décembre 2030 à 14 h", r"\d+ jours? (\d+ heures? )?restants?"),
    ],
)
def test_an_opportunity_page_writes_its_value_deadline_and_time_left(
    client, language, money, closes, left
):
    opportunity = OpportunityFactory(
        status=Opportunity.Status.PUBLISHED,
        published_at=timezone.now(),
        value_cents=480_000,
        closes_at=TWO_PM,
        question_deadline=TWO_PM - dt.timedelta(days=3, hours=4, minutes=30),
    )
    page = _page(client, language, "opportunities:detail", opportunity.pk)
    _written_for(page, language, money)
    assert closes in page
    questions = "December 17, 2030, 9:30 a.m." if language == "en" else "17 décembre 2030 à 9 h 30"
    assert questions in page
    assert "14:00" not in _text(page) and "2:00 PM" not in _text(page)
    # The countdown is written by the server (site.js only keeps it up to date).
    countdown = re.search(r'data-deadline="[^"]+">([^<]+)<', page)
    assert countdown and re.fullmatch(left, countdown.group(1)), countdown


@pytest.fixture
def due(certified, card_holder):
    """A payment of $2,000.00 due since 14:00 on 20 December 2030, issued that day."""
    opportunity, contract, payment = certified
    Payment.objects.filter(pk=payment.pk).update(due_since=TWO_PM, issued_on=TWO_PM.date())
    payment.refresh_from_db()
    return opportunity, contract, payment


@pytest.mark.parametrize(
    ("language", "money", "since", "issued"),
    [
        ("en", "$2,000.00", "December 20, 2030, 2:00 p.m.", "December 20, 2030"),
        ("fr", "2 000,00 $", "20 décembre 2030 à 14 h", "20 décembre 2030"),
    ],
)
def test_the_payment_invoice_and_dashboard_write_money_and_dates_in_the_pages_language(
    client, due, card_holder, language, money, since, issued
):
    _opportunity, _contract, payment = due
    client.force_login(card_holder)
    detail = _page(client, language, "payments:detail", payment.pk)
    _written_for(detail, language, money)
    assert since in detail
    invoice = _page(client, language, "payments:invoice", payment.pk)
    _written_for(invoice, language, money)
    assert issued in invoice and "2030-12-20" not in invoice
    listing = _page(client, language, "payments:list")
    _written_for(listing, language, money)
    limits = "$10,000.00" if language == "en" else "10 000,00 $"  # the card holder's limit
    assert limits in listing
    dashboard = _page(client, language, "marketplace:dashboard")
    _written_for(dashboard, language, money)
    assert issued in dashboard  # "due since December 20, 2030"


@pytest.mark.parametrize(
    ("language", "money", "paid_on"),
    [("en", "$2,000.00", "December 20, 2030"), ("fr", "2 000,00 $", "20 décembre 2030")],
)
def test_a_notification_email_writes_money_and_dates_in_the_recipients_language(
    due, card_holder, django_capture_on_commit_callbacks, monkeypatch, language, money, paid_on
):
    _opportunity, contract, payment = due
    supplier = contract.supplier
    supplier.preferred_language = language
    supplier.save(update_fields=["preferred_language"])
    monkeypatch.setattr(timezone, "localdate", lambda *args: TWO_PM.date())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        paying.payment_start(
            payer=card_holder,
            payment=payment,
            provider=Payment.Provider.RECORDED_CARD,
            amount_cents=payment.total_cents,
            paid_on=TWO_PM.date(),
            reference="AUTH-1",
            method=Payment.Method.CARD_TERMINAL,
        )
    [message] = [m for m in mail.outbox if m.to == [supplier.email]]
    body = _spaces(message.body)
    assert money in body and paid_on in body
    assert "2030-12-20" not in body
    html = _spaces(message.alternatives[0][0])
    assert money in html and paid_on in html


@pytest.mark.parametrize(
    ("language", "closes"),
    [("en", "December 20, 2030, 2:00 p.m."), ("fr", "20 décembre 2030 à 14 h")],
)
def test_a_published_notice_writes_the_deadline_in_the_recipients_language(
    django_capture_on_commit_callbacks, language, closes
):
    from opportunities.publishing import opportunity_publish

    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    opportunity = OpportunityFactory(status=Opportunity.Status.IN_REVIEW, closes_at=TWO_PM)
    opportunity.buyer.preferred_language = language
    opportunity.buyer.save(update_fields=["preferred_language"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_publish(actor=admin, opportunity=opportunity)
    [message] = [m for m in mail.outbox if m.to == [opportunity.buyer.email]]
    assert closes in _spaces(message.body)
    assert "14:00" not in message.body
