"""GST/HST on invoices: split a tax-included total into subtotal and tax by province."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import get_language

# Federal GST/HST only, by province or territory code (`marketplace.models.Province`):
# (label, rate in basis points). Provincial sales taxes (QST in Quebec, PST in BC, MB and SK)
# are not charged on these invoices, so they do not appear here. NS has been 14 % since
# 1 April 2025.
RATES: dict[str, tuple[str, int]] = {
    "AB": ("GST", 500),
    "BC": ("GST", 500),
    "MB": ("GST", 500),
    "NB": ("HST", 1500),
    "NL": ("HST", 1500),
    "NS": ("HST", 1400),
    "NT": ("GST", 500),
    "NU": ("GST", 500),
    "ON": ("HST", 1300),
    "PE": ("HST", 1500),
    "QC": ("GST", 500),
    "SK": ("GST", 500),
    "YT": ("GST", 500),
}

# The tax's name in each language. Payments store the code ("GST", "HST"); the PDF invoice
# and the pages take the name from here: "TPS" and "TVH" in French.
NAMES: dict[str, dict[str, str]] = {
    "GST": {"en": "GST", "fr": "TPS"},
    "HST": {"en": "HST", "fr": "TVH"},
}

_BP = 10_000  # basis points in 100 %


def tax_name(code: str, language: str | None = None) -> str:
    """The name of the tax `code` in `language` (default: the current one); "" for no tax,
    and any other code as it is."""
    language = (language or get_language() or "en")[:2]
    names = NAMES.get(code, {})
    return names.get(language, names.get("en", code))


@dataclass(frozen=True)
class TaxSplit:
    """A tax-included total split into subtotal and GST/HST; label is "" when no tax."""

    subtotal_cents: int
    tax_cents: int
    total_cents: int
    rate_bp: int
    label: str

    @property
    def rate_percent(self) -> Decimal:
        """The rate in percent without trailing zeros: Decimal("13"), Decimal("9.975")."""
        percent = Decimal(self.rate_bp) / 100
        if percent == percent.to_integral_value():
            return percent.quantize(Decimal(1))
        return percent.normalize()

    @property
    def rate_ratio(self) -> Decimal:
        """The rate as a ratio, for formats.percent: Decimal("0.13")."""
        return Decimal(self.rate_bp) / 10000

    @property
    def rate_decimals(self) -> int:
        """How many decimals the percentage needs: 0 for 13 %, 3 for 9.975 %."""
        exponent = self.rate_percent.as_tuple().exponent
        # Only NaN and infinities carry a letter here; a rate from whole basis points is finite.
        assert isinstance(exponent, int)
        return max(0, -exponent)


def split_tax_included(total_cents: int, *, province: str, registered: bool) -> TaxSplit:
    """Split `total_cents` (tax included) for a supplier in `province`.

    Subtotal is total / (1 + rate) rounded half-up to the cent and tax is the remainder, so
    subtotal + tax == total. A supplier that is not registered charges no tax (the province
    is then not looked at)."""
    if isinstance(total_cents, bool) or not isinstance(total_cents, int):
        raise TypeError("total_cents must be an integer number of cents.")
    if total_cents < 0:
        raise ValueError("total_cents must not be negative.")
    if not registered:
        return TaxSplit(
            subtotal_cents=total_cents, tax_cents=0, total_cents=total_cents, rate_bp=0, label=""
        )
    try:
        label, rate_bp = RATES[province]
    except KeyError:
        raise ValueError(f"Unknown province or territory: {province!r}.") from None
    denominator = _BP + rate_bp
    subtotal, remainder = divmod(total_cents * _BP, denominator)
    if 2 * remainder >= denominator:  # half-up
        subtotal += 1
    return TaxSplit(
        subtotal_cents=subtotal,
        tax_cents=total_cents - subtotal,
        total_cents=total_cents,
        rate_bp=rate_bp,
        label=label,
    )
