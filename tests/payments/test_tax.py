"""GST/HST split of tax-included totals (no database)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from marketplace.models import Province
from payments.tax import RATES, TaxSplit, split_tax_included


def _expected_subtotal(total_cents: int, rate_bp: int) -> int:
    """total / (1 + rate), half-up to the cent, computed independently with Decimal."""
    rate = Decimal(rate_bp) / Decimal(10_000)
    return int((Decimal(total_cents) / (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_rates_cover_every_province_and_territory():
    assert set(RATES) == set(Province.values)


@pytest.mark.parametrize(
    ("province", "label", "rate_bp"),
    [
        ("AB", "GST", 500),
        ("BC", "GST", 500),
        ("MB", "GST", 500),
        ("NB", "HST", 1500),
        ("NL", "HST", 1500),
        ("NS", "HST", 1400),
        ("NT", "GST", 500),
        ("NU", "GST", 500),
        ("ON", "HST", 1300),
        ("PE", "HST", 1500),
        ("QC", "GST", 500),
        ("SK", "GST", 500),
        ("YT", "GST", 500),
    ],
)
def test_rates_table(province, label, rate_bp):
    assert RATES[province] == (label, rate_bp)


@pytest.mark.parametrize(
    ("province", "total", "subtotal", "tax", "label", "percent"),
    [
        ("AB", 105_000, 100_000, 5_000, "GST", "5"),
        ("BC", 105_000, 100_000, 5_000, "GST", "5"),
        ("MB", 105_000, 100_000, 5_000, "GST", "5"),
        ("NB", 115_000, 100_000, 15_000, "HST", "15"),
        ("NL", 115_000, 100_000, 15_000, "HST", "15"),
        ("NS", 114_000, 100_000, 14_000, "HST", "14"),
        ("NT", 105_000, 100_000, 5_000, "GST", "5"),
        ("NU", 105_000, 100_000, 5_000, "GST", "5"),
        ("ON", 113_000, 100_000, 13_000, "HST", "13"),
        ("PE", 115_000, 100_000, 15_000, "HST", "15"),
        ("QC", 105_000, 100_000, 5_000, "GST", "5"),
        ("SK", 105_000, 100_000, 5_000, "GST", "5"),
        ("YT", 105_000, 100_000, 5_000, "GST", "5"),
    ],
)
def test_split_by_province(province, total, subtotal, tax, label, percent):
    split = split_tax_included(total, province=province, registered=True)
    assert split == TaxSplit(
        subtotal_cents=subtotal,
        tax_cents=tax,
        total_cents=total,
        rate_bp=RATES[province][1],
        label=label,
    )
    assert split.rate_percent == Decimal(percent)
    assert str(split.rate_percent) == percent


@pytest.mark.parametrize("province", sorted(RATES))
@pytest.mark.parametrize(
    "total", [0, 1, 2, 3, 10, 11, 21, 99, 100, 101, 12_345, 123_456, 999_999, 2_147_483_647]
)
def test_rounding_is_half_up_and_the_parts_add_up(province, total):
    split = split_tax_included(total, province=province, registered=True)
    assert split.subtotal_cents + split.tax_cents == split.total_cents == total
    assert split.subtotal_cents == _expected_subtotal(total, RATES[province][1])
    assert 0 <= split.tax_cents <= split.subtotal_cents


@pytest.mark.parametrize(
    ("province", "total", "subtotal", "tax"),
    [
        ("AB", 1, 1, 0),  # 0.952 -> 1
        ("ON", 1, 1, 0),  # 0.885 -> 1
        ("NS", 1, 1, 0),  # 0.877 -> 1
        ("NB", 1, 1, 0),  # 0.870 -> 1
        ("AB", 99, 94, 5),  # 94.286 -> 94
        ("ON", 99, 88, 11),  # 87.611 -> 88
        ("NS", 99, 87, 12),  # 86.842 -> 87
        ("NB", 99, 86, 13),  # 86.087 -> 86
        ("AB", 999_999, 952_380, 47_619),  # exactly 952380
        ("ON", 999_999, 884_955, 115_044),  # 884954.867 -> 884955
        ("NS", 999_999, 877_192, 122_807),  # 877192.105 -> 877192
        ("NB", 999_999, 869_564, 130_435),  # 869564.348 -> 869564
    ],
)
def test_known_roundings(province, total, subtotal, tax):
    split = split_tax_included(total, province=province, registered=True)
    assert (split.subtotal_cents, split.tax_cents) == (subtotal, tax)


def test_an_exact_half_cent_rounds_up(monkeypatch):
    # With today's rates no total divides to an exact half cent, so use a made-up 60 % rate:
    # 4 / 1.6 = 2.5 -> 3 (banker's rounding would give 2), 12 / 1.6 = 7.5 -> 8, 8 / 1.6 = 5.
    monkeypatch.setitem(RATES, "ZZ", ("TST", 6000))
    assert split_tax_included(4, province="ZZ", registered=True).subtotal_cents == 3
    assert split_tax_included(12, province="ZZ", registered=True).subtotal_cents == 8
    assert split_tax_included(8, province="ZZ", registered=True).subtotal_cents == 5


@pytest.mark.parametrize("province", [*sorted(RATES), "", "XX"])
def test_not_registered_charges_no_tax(province):
    split = split_tax_included(113_000, province=province, registered=False)
    assert split == TaxSplit(
        subtotal_cents=113_000, tax_cents=0, total_cents=113_000, rate_bp=0, label=""
    )
    assert split.rate_percent == 0


@pytest.mark.parametrize("province", ["", "XX", "on", "Ontario", "PQ"])
def test_unknown_province_is_refused_when_registered(province):
    with pytest.raises(ValueError, match="province"):
        split_tax_included(113_000, province=province, registered=True)


@pytest.mark.parametrize("registered", [True, False])
def test_negative_total_is_refused(registered):
    with pytest.raises(ValueError, match="negative"):
        split_tax_included(-1, province="ON", registered=registered)


@pytest.mark.parametrize("total", [1.0, Decimal("100"), "100", True])
def test_total_must_be_integer_cents(total):
    with pytest.raises(TypeError):
        split_tax_included(total, province="ON", registered=True)


def test_rate_percent_strips_trailing_zeros_only():
    def percent(bp):
        return TaxSplit(subtotal_cents=0, tax_cents=0, total_cents=0, rate_bp=bp, label="X")

    assert str(percent(500).rate_percent) == "5"
    assert str(percent(1000).rate_percent) == "10"
    assert str(percent(1350).rate_percent) == "13.5"
    assert str(percent(975).rate_percent) == "9.75"


def test_split_is_frozen():
    split = split_tax_included(113_000, province="ON", registered=True)
    with pytest.raises(AttributeError):
        split.tax_cents = 0  # type: ignore[misc]
