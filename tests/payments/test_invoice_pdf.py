"""The bilingual invoice PDF (no database): rendered with fpdf2, read back with pypdf."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from payments.invoice_pdf import (
    InvoiceData,
    format_amount,
    pdf_text,
    render_invoice_pdf,
    tax_line_label,
)
from payments.tax import split_tax_included

DEPARTMENT = "Employment and Social Development Canada / Emploi et Développement social Canada"


def _invoice(**changes) -> InvoiceData:
    invoice = InvoiceData(
        number="MP-2025-000123",
        issued_on=dt.date(2025, 6, 2),
        supplier_name="Rivière Digital Ltée",
        supplier_address="12, rue de l'Église\nGatineau QC  J8X 1A1",
        supplier_gst_hst_number="123456789 RT0001",
        buyer_name="Émilie Côté",
        buyer_email="emilie.cote@hrsdc-rhdcc.gc.ca",
        department=DEPARTMENT,
        title_en="Fix the keyboard focus order in the benefits estimator",
        title_fr="Corriger l'ordre du focus clavier dans l'estimateur de prestations — ça",
        reference="OPP-2025-0042",
        tax=split_tax_included(123_456, province="ON", registered=True),
        certified_by="Émilie Côté",
        certified_on=dt.date(2025, 6, 1),
        paid_on=None,
    )
    return dataclasses.replace(invoice, **changes)


def _read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def _text(invoice: InvoiceData) -> str:
    pdf = render_invoice_pdf(invoice)
    reader, text = _read(pdf)
    assert len(reader.pages) == 1
    return text


def test_renders_one_bilingual_page():
    pdf = render_invoice_pdf(_invoice())
    assert isinstance(pdf, bytes)
    assert pdf.startswith(b"%PDF")
    reader, text = _read(pdf)
    assert len(reader.pages) == 1
    for expected in (
        "MP-2025-000123",
        "Invoice",
        "Facture",
        "Invoice number / Numéro de facture",
        "June 2, 2025 / 2 juin 2025",
        "OPP-2025-0042",
        "Supplier / Fournisseur",
        "Rivière Digital Ltée",
        "12, rue de l'Église",
        "GST/HST registration / N° d\u2019inscription TPS/TVH",
        "123456789 RT0001",
        "Billed to / Facturé à",
        "Émilie Côté",
        "emilie.cote@hrsdc-rhdcc.gc.ca",
        "Emploi et Développement social Canada",
        "Description",
        "Fix the keyboard focus order",
        "Corriger l'ordre du focus clavier",
        "— ça",
        "Subtotal / Sous-total",
        "Total (CAD)",
        "$1,234.56 / 1 234,56 $",
        "Certified under section 34 of the Financial Administration Act by",
        "Certifié en vertu de l\u2019article 34",
        "June 1, 2025 / 1er juin 2025",
    ):
        assert expected in text, expected


def test_metadata_title_is_the_invoice_number_and_nothing_personal():
    reader, _text = _read(render_invoice_pdf(_invoice()))
    assert reader.metadata.title == "MP-2025-000123"
    assert reader.metadata.author is None
    assert reader.metadata.subject is None
    assert reader.metadata.creation_date.date() == dt.date(2025, 6, 2)


def test_rendering_is_deterministic():
    assert render_invoice_pdf(_invoice()) == render_invoice_pdf(_invoice())


def test_accents_come_out_right():
    name = "Études Lumière à Gaspé, ça va — «Œuvre» €"
    text = _text(_invoice(supplier_name=name))
    assert name in text
    for char in "éèàçÉ":
        assert char in text


def test_hst_line_for_ontario():
    text = _text(_invoice(tax=split_tax_included(113_000, province="ON", registered=True)))
    assert "HST 13% / TVH 13\u00a0%" in text
    assert "$130.00 / 130,00 $" in text  # the tax
    assert "$1,000.00 / 1 000,00 $" in text  # the subtotal
    assert "$1,130.00 / 1 130,00 $" in text  # the total
    assert "GST 5%" not in text


@pytest.mark.parametrize(
    ("province", "line"),
    [
        ("AB", "GST 5% / TPS 5\u00a0%"),
        ("NS", "HST 14% / TVH 14\u00a0%"),
        ("NB", "HST 15% / TVH 15\u00a0%"),
    ],
)
def test_tax_line_for_other_provinces(province, line):
    tax = split_tax_included(100_000, province=province, registered=True)
    assert tax_line_label(tax) == line
    assert line in _text(_invoice(tax=tax))


def test_no_tax_line_when_not_registered():
    tax = split_tax_included(123_456, province="ON", registered=False)
    assert tax_line_label(tax) == ""
    text = _text(_invoice(tax=tax, supplier_gst_hst_number=""))
    for absent in ("HST", "GST", "N° d\u2019inscription", "$0.00"):
        assert absent not in text, absent
    assert "Subtotal / Sous-total $1,234.56 / 1 234,56 $" in text
    assert "Total (CAD) $1,234.56 / 1 234,56 $" in text


def test_paid_only_when_paid():
    assert "Paid / Payée" not in _text(_invoice())
    text = _text(_invoice(paid_on=dt.date(2025, 6, 20)))
    assert "Paid / Payée" in text
    assert "June 20, 2025 / 20 juin 2025" in text


def test_certification_only_when_certified():
    text = _text(_invoice(certified_by="", certified_on=None))
    assert "Financial Administration Act" not in text


def test_characters_outside_the_font_are_replaced_not_raised():
    text = _text(
        _invoice(
            supplier_name="Łódź 🚀 Ltd",
            supplier_address="北京市\n\tSuite 5\u200b",
            buyer_name="Zoë \u202fO\u2019Brien",
            title_en="Emoji 🎉 title with ﬁ ligature",
            title_fr="Titre 😀",
        )
    )
    assert "?ódz ? Ltd" in text
    assert "Suite 5" in text
    assert "Zoë O\u2019Brien" in text  # curly apostrophe kept
    assert "Emoji ? title with fi ligature" in text
    assert "Titre ?" in text


def test_long_fields_wrap_and_stay_on_one_page():
    word = "accessibilité "
    invoice = _invoice(
        supplier_name="S" * 200,
        supplier_address="\n".join(f"Line {n} " + "x" * 150 for n in range(20)),
        buyer_name="B" * 200,
        buyer_email="e" * 240 + "@gc.ca",
        department=DEPARTMENT * 3,
        title_en=("Improve " + word * 20) * 5,
        title_fr=("Améliorer " + word * 20) * 5,
        reference="R" * 100,
        number="N" * 100,
        certified_by="C" * 300,
        paid_on=dt.date(2025, 6, 20),
        tax=split_tax_included(2_147_483_647, province="NB", registered=True),
    )
    text = _text(invoice)
    assert "Paid / Payée" in text
    assert "$2,147,483,647" not in text  # cents, not dollars
    assert "$21,474,836.47 / 21 474 836,47 $" in text


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (0, "$0.00 / 0,00 $"),
        (5, "$0.05 / 0,05 $"),
        (123_456, "$1,234.56 / 1 234,56 $"),
        (100_000_000, "$1,000,000.00 / 1 000 000,00 $"),
    ],
)
def test_amounts_in_both_styles(cents, expected):
    assert format_amount(cents) == expected


def test_pdf_text_cleans_one_line():
    assert pdf_text("  a\n b\tc  ") == "a b c"
    assert pdf_text("e\u0301cole") == "école"  # decomposed accents are recomposed
    assert pdf_text("x" * 50, 10) == "x" * 9 + "…"
    assert pdf_text("") == ""
