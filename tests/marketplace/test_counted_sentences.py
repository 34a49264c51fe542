"""Sentences with a count agree with it in both languages: "1 day", "1 jour ouvrable", never
"1 days" or "toutes les 1 minutes" (issue 21)."""

import pytest
from django.utils import translation

from marketplace.approvals import _guardrail_values
from marketplace.selectors import _describe

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", {"days": "1 business day", "window": "1 day"}),
        ("fr", {"days": f"1{NBSP}jour ouvrable", "window": f"1{NBSP}jour"}),
    ],
)
def test_guardrails_of_one_day_are_singular(language, expected):
    values = {"value_cap_cents": 1_000_000, "min_open_business_days": 1, "split_window_days": 1}
    with translation.override(language):
        written = _guardrail_values(values)
    assert {key: written[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", {"days": "5 business days", "window": "90 days"}),
        ("fr", {"days": f"5{NBSP}jours ouvrables", "window": f"90{NBSP}jours"}),
    ],
)
def test_guardrails_of_several_days_are_plural(language, expected):
    values = {"value_cap_cents": 1_000_000, "min_open_business_days": 5, "split_window_days": 90}
    with translation.override(language):
        written = _guardrail_values(values)
    assert {key: written[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("language", "seconds", "expected"),
    [
        ("en", 60, "every minute"),
        ("en", 600, "every 10 minutes"),
        ("en", 3600, "every hour"),
        ("fr", 30, "toutes les 30 secondes"),
        ("fr", 60, "toutes les minutes"),
        ("fr", 21600, "toutes les 6 heures"),
    ],
)
def test_a_schedule_is_written_with_its_plural(language, seconds, expected):
    with translation.override(language):
        assert _describe(seconds) == expected
