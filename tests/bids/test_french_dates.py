"""A form saved in French keeps every value: the browser's date pickers are given their values
as the HTML standard writes them, whatever the page's language (marketplace.forms.DateInput)."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from bids import services
from opportunities.forms import AmendForm
from tests.support.forms import _form_data

pytestmark = pytest.mark.django_db


def _value(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def test_a_bid_saved_in_french_reopens_with_its_start_date(client, opportunity, supplier):
    client.force_login(supplier)
    bid = services.bid_start(supplier=supplier, opportunity=opportunity)
    start = (timezone.localdate() + dt.timedelta(days=9)).isoformat()
    url = f"/fr/bids/{bid.pk}/edit/"
    client.post(url, _form_data(bid, proposed_start_date=start))
    page = client.get(url).content.decode()
    assert _value(page, "proposed_start_date") == start
    # Saved again as it reopened, in French: still there.
    client.post(url, _form_data(bid, proposed_start_date=_value(page, "proposed_start_date")))
    bid.refresh_from_db()
    assert bid.proposed_start_date.isoformat() == start


def test_the_amend_form_shows_the_deadlines_in_french_as_the_picker_takes_them(opportunity):
    closes = timezone.localtime(opportunity.closes_at)
    with translation.override("fr"):
        page = str(AmendForm(instance=opportunity))
    assert _value(page, "closes_at") == closes.strftime("%Y-%m-%dT%H:%M")
    assert _value(page, "question_deadline") == timezone.localtime(
        opportunity.question_deadline
    ).strftime("%Y-%m-%dT%H:%M")


def test_the_amend_page_in_french_keeps_the_deadline(client, opportunity):
    client.force_login(opportunity.buyer)
    page = client.get(reverse("opportunities:amend", args=[opportunity.pk]).replace("/en/", "/fr/"))
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d$", _value(page.content.decode(), "closes_at"))
