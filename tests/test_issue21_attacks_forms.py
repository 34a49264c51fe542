"""Attacks on the amount and date fields and on the formats of issue 21, as a French-speaking
person types, confused or hostile: each amount is read exactly as written or refused with a
clear message on its field, never a 500 and never silently read as another amount; dates
likewise; and what the pages write reads as each language writes it."""

# French typography (’ « » –) is what these forms must keep.
# ruff: noqa: RUF001, RUF002, RUF003
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from marketplace import formats
from marketplace.forms import DateField, DateTimeField, MoneyField
from marketplace.models import Approval, Role
from opportunities.models import Criterion, Guardrails, Opportunity
from opportunities.publishing import opportunity_publish, opportunity_submit_for_review
from tests.factories import OpportunityFactory, StaffFactory
from tests.support.page_forms import _program_admins, form_on, form_read_both

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES]


# --- Amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed", "amount"),
    [
        ("fr", "2 500,50 $", "2500.50"),
        ("fr", "2\u00a0500,50\u00a0$", "2500.50"),
        ("fr", "2\u202f500,50", "2500.50"),
        ("fr", "2\u2009500,50", "2500.50"),
        ("fr", "  2500,50\t", "2500.50"),
        ("fr", "1 000 000", "1000000"),
        ("fr", "0,5", "0.5"),
        ("fr", ",5", "0.5"),
        ("fr", "5,", "5"),
        ("fr", "2500.50", "2500.50"),
        ("en", "$2,500.50", "2500.50"),
        ("en", "2,500", "2500"),
        ("en", "1 000 000", "1000000"),
        ("en", ".5", "0.5"),
    ],
)
def test_an_amount_is_read_exactly_as_written(language, typed, amount):
    with translation.override(language):
        assert MoneyField(min_value=0).clean(typed) == Decimal(amount)


# What one language writes and the other would read as another amount; and what nobody
# writes. Each is refused, not read as something else: "0,001" is not one dollar in English,
# "0,500" not five hundred, "2.500,50" not 2.5005.
MISREAD = {
    "fr": [
        "2.500,50",
        "2,500.50",
        "2'500.50",
        "2,500",
        "1.000",
        "0,001",
        "0 500",
        "00 500",
        "+5",
        "1_000",
        "Infinity",
        "١٢٣",
        "\uff12\uff15\uff10\uff10",
        "5 CAD",
    ],
    "en": [
        "2 500,50",
        "2.500,50",
        "2500,50",
        "0,001",
        "0,500",
        "0,250,050",
        "00,500",
        "2'500.50",
        "+5",
        "1_000",
        "Infinity",
        "١٢٣",
        "\uff12\uff15\uff10\uff10",
    ],
}


@pytest.mark.parametrize(
    ("language", "typed"),
    [(lang, typed) for lang, all_typed in MISREAD.items() for typed in all_typed],
)
def test_an_amount_that_could_be_misread_is_refused(language, typed):
    with translation.override(language), pytest.raises(ValidationError):
        MoneyField(min_value=0).clean(typed)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_english_grouping_of_a_french_decimal_is_refused_on_the_page(client, language):
    """A French speaker on the English page types "0,500" (fifty cents): refused, not $500."""
    admin, _second = _program_admins()
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    client.force_login(admin)
    prefix = f"holder{holder.pk}"
    for typed in ("0,001", "0,500", "0,250,050", "0 500"):
        response = client.post(
            f"/{language}/payments/card-limits/{holder.pk}/",
            {f"{prefix}-per_transaction": typed, f"{prefix}-monthly": "10000"},
        )
        assert response.status_code == 400, (language, typed, Approval.objects.first())
        assert not Approval.objects.exists()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("blank", [" ", "\u00a0", "\t \u202f"])
def test_a_blank_optional_amount_is_no_amount(client, language, blank):
    """An optional amount left as a space (or a no-break one, pasted) is left empty, as an
    empty box is, not refused as "not an amount"."""
    response = client.get(f"/{language}/opportunities/", {"value_min": blank, "q": "x"})
    assert response.status_code == 200
    assert not form_read_both(response.content.decode(), "value_min").invalid
    with translation.override(language):
        assert MoneyField(required=False).clean(blank) is None


@pytest.mark.parametrize(
    ("language", "typed"),
    [("fr", "100 000 " * 12_800), ("en", "9" * 100_000), ("fr", " " * 100_000 + "5")],
)
def test_a_very_long_amount_is_an_error_not_a_crash(client, language, typed):
    opportunity = OpportunityFactory()
    client.force_login(opportunity.buyer)
    address = f"/{language}/opportunities/{opportunity.pk}/edit/"
    form = form_read_both(client.get(address).content.decode(), "value_dollars")
    response = client.post(address, form.submission(typed={"value_dollars": typed}))
    if typed.strip() == "5":
        assert response.status_code == 302
        opportunity.refresh_from_db()
        assert opportunity.value_cents == 500
    else:
        assert response.status_code == 400
        assert "value_dollars" in form_read_both(response.content.decode(), "value_dollars").invalid


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_value_ceiling_is_exact(client, language):
    """The guardrails' cap: exactly the legal ceiling ($10,000 tax included) is taken, one cent
    more is refused with the ceiling written in the reader's format."""
    admin, _second = _program_admins()
    client.force_login(admin)
    Guardrails.objects.update_or_create(pk=1, defaults={"value_cap_cents": 500_000})
    address = f"/{language}/opportunities/guardrails/"
    form = form_read_both(client.get(address).content.decode(), "value_cap_dollars")
    at, over = ("10 000,00 $", "10 000,01 $") if language == "fr" else ("$10,000.00", "10,000.01")
    response = client.post(address, form.submission(typed={"value_cap_dollars": over}))
    assert response.status_code in (200, 400)
    page = html.unescape(response.content.decode())
    # The form is read from the page as sent (its attributes escaped), the words unescaped.
    assert (
        "value_cap_dollars"
        in form_read_both(response.content.decode(), "value_cap_dollars").invalid
    )
    ceiling = "10\u00a0000,00\u00a0$" if language == "fr" else "$10,000.00"
    assert ceiling in page
    assert not Approval.objects.exists()
    form = form_read_both(client.get(address).content.decode(), "value_cap_dollars")
    response = client.post(address, form.submission(typed={"value_cap_dollars": at}))
    assert response.status_code == 302, form_on(response.content.decode(), "value_cap_dollars")
    assert Approval.objects.get().payload["value_cap_cents"] == 1_000_000


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_card_limit_maximum_is_exact(client, language):
    admin, _second = _program_admins()
    holder = StaffFactory(roles=[Role.CARD_HOLDER])
    client.force_login(admin)
    prefix = f"holder{holder.pk}"
    top = "10 000 000,00" if language == "fr" else "10,000,000.00"
    over = "10 000 000,01" if language == "fr" else "10,000,000.01"
    for monthly, accepted in ((over, False), ("99 999 999 999", False), (top, True)):
        response = client.post(
            f"/{language}/payments/card-limits/{holder.pk}/",
            {f"{prefix}-per_transaction": "1000", f"{prefix}-monthly": monthly},
        )
        if accepted:
            assert response.status_code == 302, monthly
            assert Approval.objects.get().payload["monthly_cents"] == 1_000_000_000
        else:
            assert response.status_code == 400, monthly
            assert not Approval.objects.exists()


@pytest.mark.parametrize("cents", [1, 99, 100, 250_050, 999_999, 1_000_000])
@pytest.mark.parametrize("opened_in", LANGUAGES)
def test_an_amount_shown_in_one_language_is_never_misread_in_the_other(client, cents, opened_in):
    """Opened in one language, sent to the other (the language switched mid-edit): the amount
    shown is read as itself, or refused; never as another amount."""
    opportunity = OpportunityFactory(value_cents=cents)
    client.force_login(opportunity.buyer)
    other = "fr" if opened_in == "en" else "en"
    shown = form_read_both(
        client.get(f"/{opened_in}/opportunities/{opportunity.pk}/edit/").content.decode(),
        "value_dollars",
    )
    response = client.post(f"/{other}/opportunities/{opportunity.pk}/edit/", shown.submission())
    opportunity.refresh_from_db()
    assert opportunity.value_cents == cents
    if response.status_code != 302:
        assert response.status_code == 400
        assert "value_dollars" in form_read_both(response.content.decode(), "value_dollars").invalid


# --- Dates -------------------------------------------------------------------------------------


FAR_MOMENTS = [
    "9999-12-31T23:59-05:00",
    "9999-12-31T23:59-12:00",
    "9999-12-31T23:59:59.999999-01:00",
    "0001-01-01T00:00+05:00",
    "0001-01-01T00:00+14:00",
    "0001-01-01T00:00Z",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("typed", FAR_MOMENTS)
def test_a_far_moment_with_an_offset_is_an_error_not_a_crash(language, typed):
    with translation.override(language), pytest.raises(ValidationError):
        DateTimeField().clean(typed)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_far_moment_posted_to_a_draft_is_an_error_not_a_crash(client, language):
    opportunity = OpportunityFactory()
    client.force_login(opportunity.buyer)
    address = f"/{language}/opportunities/{opportunity.pk}/edit/"
    form = form_read_both(client.get(address).content.decode(), "closes_at")
    before = opportunity.closes_at
    for typed in FAR_MOMENTS:
        response = client.post(address, form.submission(typed={"closes_at": typed}))
        assert response.status_code == 400, typed
        assert "closes_at" in form_read_both(response.content.decode(), "closes_at").invalid
    opportunity.refresh_from_db()
    assert opportunity.closes_at == before


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "typed",
    ["2027-03-14T02:30", "2026-11-01T01:30"],  # skipped and repeated in Toronto
)
def test_a_time_the_clock_change_skips_or_repeats_is_explained_in_words(client, language, typed):
    """Not "2027-03-14 02:30:00 couldn’t be interpreted in time zone America/Toronto": the
    date as the page writes dates, and what to do."""
    opportunity = OpportunityFactory()
    client.force_login(opportunity.buyer)
    address = f"/{language}/opportunities/{opportunity.pk}/edit/"
    form = form_read_both(client.get(address).content.decode(), "closes_at")
    response = client.post(address, form.submission(typed={"closes_at": typed}))
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    # The form is read from the page as sent (its attributes escaped), the words unescaped.
    assert "closes_at" in form_read_both(response.content.decode(), "closes_at").invalid
    assert "America/Toronto" not in page
    assert typed.replace("T", " ") not in page
    day, _time = typed.split("T")
    with translation.override(language):
        assert formats.date(dt.date.fromisoformat(day)) in page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("typed", "day"),
    [("2028-02-29", dt.date(2028, 2, 29)), ("2027-02-29", None), ("2026-02-30", None)],
)
def test_a_leap_day(language, typed, day):
    with translation.override(language):
        if day is None:
            with pytest.raises(ValidationError):
                DateField().clean(typed)
        else:
            assert DateField().clean(typed) == day


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_moment_with_an_offset_is_that_moment(language):
    with translation.override(language):
        moment = DateTimeField().clean("2026-12-21T14:00+05:00")
    assert moment == dt.datetime(2026, 12, 21, 9, 0, tzinfo=dt.UTC)


# --- Forms the round trip does not seed --------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_draft_with_odd_values_reopens_and_saves_unchanged(client, language):
    """Criteria with CRLF line ends, straight and curly apostrophes and « », a value of a dollar
    and a cent, no delivery date: sent back as shown, nothing changes."""
    closes = timezone.localtime(timezone.now() + dt.timedelta(days=20)).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    opportunity = OpportunityFactory(
        value_cents=101,
        closes_at=closes,
        question_deadline=closes - dt.timedelta(days=3),
        expected_delivery_date=None,
        criteria=[
            Criterion(
                kind="mandatory",
                text_en="Has used ARIA.\r\nSay where.",
                text_fr="A déjà utilisé l'ARIA et l’ARIA « live ».\r\nDites où ; quand ?",
            ),
            Criterion(
                kind="rated",
                text_en="Describe it.",
                text_fr="Décrivez-la — « pas à pas ».",
                weight=2,
                max_score=5,
                word_limit=100,
            ),
        ],
    )
    client.force_login(opportunity.buyer)
    address = f"/{language}/opportunities/{opportunity.pk}/edit/"

    def stored():
        opportunity.refresh_from_db()
        return (
            opportunity.value_cents,
            opportunity.expected_delivery_date,
            opportunity.closes_at,
            opportunity.question_deadline,
            list(opportunity.criteria.order_by("position").values_list("text_en", "text_fr")),
        )

    before = stored()
    shown = form_read_both(client.get(address).content.decode(), "title_en")
    assert shown.values()["value_dollars"] == (["1,01"] if language == "fr" else ["1.01"])
    response = client.post(address, shown.submission())
    assert response.status_code == 302, form_on(response.content.decode(), "title_en").invalid
    assert stored() == before
    again = form_read_both(client.get(address).content.decode(), "title_en")
    assert again.values() == shown.values()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_amendment_names_only_what_was_changed(client, language):
    """A deadline kept to the second (the demo's, a service's) is shown to the minute, as the
    picker takes it; amending only the title must not publish "closing date changed"."""
    admin = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    closes = timezone.now() + dt.timedelta(days=20, seconds=17, microseconds=250)
    draft = OpportunityFactory(closes_at=closes, question_deadline=closes - dt.timedelta(days=3))
    opportunity_submit_for_review(actor=draft.buyer, opportunity=draft)
    opportunity = opportunity_publish(actor=admin, opportunity=draft)
    client.force_login(opportunity.buyer)
    address = f"/{language}/opportunities/{opportunity.pk}/amend/"
    shown = form_read_both(client.get(address).content.decode(), "closes_at")
    typed = {"title_en": "A clearer title", "note_en": "Title.", "note_fr": "Titre."}
    response = client.post(address, shown.submission(typed=typed))
    assert response.status_code == 302, form_on(response.content.decode(), "closes_at").invalid
    opportunity.refresh_from_db()
    assert opportunity.addenda.get().changed_fields == ["title_en"]
    assert opportunity.closes_at == closes


# --- What pages write --------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_published_opportunity_writes_money_and_times_in_its_language(client, language):
    closes = timezone.make_aware(dt.datetime(2030, 12, 21, 14, 0))
    opportunity = OpportunityFactory(
        status=Opportunity.Status.PUBLISHED,
        published_at=timezone.now(),
        closes_at=closes,
        question_deadline=closes - dt.timedelta(days=2),
        value_cents=480_000,
    )
    page = html.unescape(
        client.get(f"/{language}/opportunities/{opportunity.pk}/").content.decode()
    )
    text = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[1])
    if language == "fr":
        assert "4\u00a0800,00\u00a0$" in text
        assert "21 décembre 2030 à 14\u00a0h" in text
        assert not re.search(r"\$\s?[0-9]", text), "a dollar sign before an amount"
        assert not re.search(r"[0-9],[0-9]{3}\.[0-9]{2}", text), "an English amount"
        assert not re.search(r"\b[0-9]{1,2}:[0-9]{2}\b", text), "a time written 14:00"
        assert not re.search(r"\b[0-9]{1,2}\s?[ap]\.m\.", text), "an English time"
        assert not re.search(r"\b1\s+jours\b", text)
    else:
        assert "$4,800.00" in text
        assert "December 21, 2030, 2:00\u202fp.m." in text
        assert not re.search(r"[0-9]\s?\$", text), "a dollar sign after an amount"
        assert not re.search(r"[0-9]\s?h\s?[0-9]{0,2}\b", text), "a time written 14 h"
        assert "décembre" not in text


# The countdown at its edges, as the server writes it and as site.js rewrites it.
EDGES = [
    dt.timedelta(seconds=-3600),
    dt.timedelta(0),
    dt.timedelta(seconds=1),
    dt.timedelta(seconds=59),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=1, seconds=1),
    dt.timedelta(minutes=59, seconds=30),
    dt.timedelta(hours=1),
    dt.timedelta(hours=1, minutes=1),
    dt.timedelta(hours=23, minutes=59, seconds=30),
    dt.timedelta(days=1),
    dt.timedelta(days=1, minutes=30),
    dt.timedelta(days=1, hours=1),
    dt.timedelta(days=2),
    dt.timedelta(days=9, hours=19, minutes=9),
    dt.timedelta(days=400),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_countdown_at_its_edges(language):
    now = timezone.now()
    written = {span: formats.remaining(now + span, now=now, language=language) for span in EDGES}
    plain = {span: text.replace("\u00a0", " ") for span, text in written.items()}
    for span, text in plain.items():
        assert not re.search(r"\b0 (minute|heure|jour|hour|day)", text), (span, text)
        assert "1 jours" not in text and "1 days" not in text, text
        assert "1 heures" not in text and "1 hours" not in text, text
        assert "1 minutes" not in text, text
    closed = "Fermée" if language == "fr" else "Closed"
    with translation.override(language):
        closed = translation.gettext("Closed")
    assert plain[dt.timedelta(seconds=-3600)] == plain[dt.timedelta(0)] == closed
    one_minute = "1 minute restante" if language == "fr" else "1 minute left"
    assert plain[dt.timedelta(seconds=1)] == plain[dt.timedelta(minutes=1)] == one_minute
    one_day = "1 jour restant" if language == "fr" else "1 day left"
    assert plain[dt.timedelta(days=1)] == one_day
    if language == "fr":
        # A number and its unit are held together ("9\u00a0jours", as "19\u00a0heures" is).
        for text in written.values():
            assert not re.search(r"[0-9] [^\W\d_]", text), repr(text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "value",
    [
        dt.datetime.min.replace(tzinfo=dt.UTC),  # before year 1 once moved to Eastern time
        dt.datetime.max.replace(tzinfo=dt.UTC),
        dt.datetime(2030, 12, 21, 14, 0),  # naive: a value from JSON, a bug elsewhere
    ],
)
def test_the_filters_never_break_a_page(language, value):
    """The filters' promise: an odd value writes nothing, or reads right; never an error."""
    from django.template import Context, Template

    template = Template(
        "{% load formats %}{{ v|day }}|{{ v|moment }}|{{ v|clock }}|{{ v|remaining }}|"
        "{{ v|figure }}"
    )
    with translation.override(language):
        written = template.render(Context({"v": value}))
    if timezone.is_naive(value):
        left = "restants" if language == "fr" else "left"
        assert left in written.split("|")[3]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("seconds", "one"), [(60, True), (3600, True), (120, False)])
def test_a_schedule_of_one_unit_is_not_written_every_1_minutes(language, seconds, one):
    """The operations page wrote "toutes les 1 minutes" / "every 1 minutes": the schedule is
    now a plural form ("every minute" / "toutes les minutes")."""
    from marketplace.selectors import _describe

    with translation.override(language):
        written = _describe(seconds).replace("\u00a0", " ")
    if one:
        assert not re.search(r"\b1 (minutes|hours|heures)\b", written), written
        assert "les 1 " not in written and "every 1 " not in written, written


@pytest.mark.parametrize(("language", "amount"), [("en", "2 500,50"), ("fr", "2,500.50")])
def test_the_language_toggle_on_a_search_with_an_amount_keeps_the_other_filters(
    client, language, amount
):
    """The toggle carries the query to the other language, where the amount, written as the
    first language writes it, is refused (not misread): shown as an error and ignored, but the
    search words and the other filters still apply; the whole search was dropped."""
    now = timezone.now()
    wanted = OpportunityFactory(
        status=Opportunity.Status.PUBLISHED, published_at=now, title_en="Zanzibar widget"
    )
    wanted.title_fr = "Widget Zanzibar"
    wanted.save(update_fields=["title_fr"])
    other = OpportunityFactory(status=Opportunity.Status.PUBLISHED, published_at=now)
    response = client.get(f"/{language}/opportunities/", {"q": "Zanzibar", "value_min": amount})
    assert response.status_code == 200
    page = response.content.decode()
    assert "value_min" in form_read_both(page, "value_min").invalid
    assert f"/opportunities/{wanted.pk}/" in page
    assert f"/opportunities/{other.pk}/" not in page


def test_a_blank_required_amount_is_asked_for():
    with pytest.raises(ValidationError) as refused:
        MoneyField(min_value=0).clean("\u00a0 ")
    assert refused.value.code == "required"


def test_a_moment_kept_to_the_second_is_unchanged_when_sent_back_to_the_minute():
    stored = dt.datetime(2030, 6, 1, 18, 30, 17, 250, tzinfo=dt.UTC)
    field = DateTimeField()
    assert not field.has_changed(stored, "2030-06-01T14:30")  # 14 h 30 in Toronto (EDT)
    assert field.has_changed(stored, "2030-06-01T14:31")
    assert field.has_changed(stored, "not a moment")


@pytest.mark.parametrize(("language", "amount"), [("en", "10,000,000.00"), ("fr", "10 000 000,00")])
def test_both_card_limits_take_the_largest_limit_the_service_allows(language, amount):
    """The single-purchase field stopped at 9 999 999,99 $ while the service allows
    10 000 000,00 $: a limit set at the maximum could not be shown and saved again."""
    from payments.forms import CardLimitForm
    from payments.limits import CARD_LIMIT_MAX_CENTS

    with translation.override(language):
        form = CardLimitForm(data={"per_transaction": amount, "monthly": amount}, action="/limits/")
        assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "per_transaction": CARD_LIMIT_MAX_CENTS,
        "monthly": CARD_LIMIT_MAX_CENTS,
    }
