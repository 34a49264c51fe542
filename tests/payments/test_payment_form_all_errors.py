"""Recording a payment: every problem of the details typed is said at once (the form's own and
the ones the service would refuse), in the error summary and at each field, in both languages;
nothing is recorded and every value typed is kept."""

import datetime as dt
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from marketplace.models import AuditEvent
from payments.models import Payment
from tests.support.error_summary import assert_every_link_reaches_a_field, error_at_field
from tests.support.gcds import plain, scripted

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(r'<div class="gc-error-summary"[^>]*>(.*?)</div>', re.S)
LINK = re.compile(r'<a href="#([^"]+)" data-error-target="\1">(.*?)</a>', re.S)


def summary(page: str) -> dict[str, str]:
    found = SUMMARY.findall(page)
    assert len(found) == 1
    return {target: unescape(text).strip() for target, text in LINK.findall(found[0])}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_problem_of_a_payment_to_record_is_said_at_once(
    client, certified, card_holder, language
):
    _opportunity, _contract, payment = certified
    client.force_login(card_holder)
    with translation.override(language):
        address = reverse("payments:record", args=[payment.pk])
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    typed = {"amount": "1999.99", "paid_on": future, "method": "carrier pigeon", "reference": ""}
    response = client.get(address, typed)
    assert response.status_code == 400
    page = response.content.decode()
    problems = summary(page)
    # One try, four problems: the amount, the date, the method and the reference.
    assert set(problems) == {"id_amount", "id_paid_on", "id_method", "id_reference"}
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    assert set(problems) <= ids
    # Each link reaches its field's control (the component with scripts, the plain control
    # without), and each message is said again there, with scripts and without.
    assert_every_link_reaches_a_field(page, list(problems.items()))
    for target, message in problems.items():
        said = message.split(": ", 1)[-1].split("\u00a0: ", 1)[-1]
        assert unescape(scripted(page)).count(said) >= 2, said
        assert said in error_at_field(page, target), (target, said)
    if language == "en":
        assert "Record the invoice total" in problems["id_amount"]
        assert "cannot be in the future" in problems["id_paid_on"]
    else:
        assert "Il y a un problème sur cette page" in page
    for view in (scripted(page), plain(page)):
        assert 'value="1999.99"' in view and f'value="{future}"' in view
    assert Payment.objects.get(pk=payment.pk).status == payment.status
    assert not AuditEvent.objects.filter(verb="payment.recorded").exists()
