"""A one-page bilingual (English/French) invoice as a PDF, drawn with fpdf2's core fonts."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from marketplace import formats

from .tax import TaxSplit, tax_name

# Core fonts only know Windows-1252: Latin-1 plus curly quotes, dashes, the ellipsis, œ and €.
ENCODING = "windows-1252"
FONT = "Helvetica"

# Longest text drawn from each field, so that the invoice always fits on one page.
_MAX_LINE = 200
_MAX_CODE = 40  # invoice number, reference, registration number
_MAX_TITLE = 300
_MAX_ADDRESS_LINES = 6
_SCALES = (1.0, 0.9, 0.8, 0.7, 0.6)  # tried in turn until everything fits on one page

_MARGIN = 18.0
_LINE = 5.0
_GREY = (90, 90, 90)
_BLACK = (0, 0, 0)
_RULE = (180, 180, 180)
_HEADER_FILL = (235, 235, 235)


@dataclass(frozen=True)
class InvoiceData:
    """Everything printed on an invoice; amounts come from `tax`."""

    number: str
    issued_on: dt.date
    supplier_name: str
    supplier_address: str  # may contain newlines
    supplier_gst_hst_number: str  # "" if not registered
    buyer_name: str
    buyer_email: str
    department: str
    title_en: str
    title_fr: str
    reference: str  # the opportunity reference
    tax: TaxSplit
    certified_by: str
    certified_on: dt.date | None
    paid_on: dt.date | None


def format_amount(cents: int) -> str:
    """An amount in both languages, as every page writes it: $1,234.56 / 1 234,56 $ (the
    core font has no narrow no-break space: plain spaces)."""
    english = formats.money(cents, language="en")
    french = formats.money(cents, language="fr")
    return pdf_text(f"{english} / {french}")


def format_date(day: dt.date) -> str:
    """A date in both languages: June 2, 2025 / 2 juin 2025."""
    return f"{formats.date(day, language='en')} / {formats.date(day, language='fr')}"


def tax_line_label(tax: TaxSplit) -> str:
    """The tax line's label, e.g. "HST 13% / TVH 13 %"; "" when no tax is charged."""
    if not tax.label:
        return ""
    french = tax_name(tax.label, "fr")
    english_rate = formats.percent(tax.rate_ratio, decimals=tax.rate_decimals, language="en")
    french_rate = formats.percent(tax.rate_ratio, decimals=tax.rate_decimals, language="fr")
    return f"{tax.label} {english_rate} / {french} {french_rate}"


def _encodable(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _pdf_char(char: str) -> str:
    """`char` as the core font can draw it: itself, a near equivalent, or "?"."""
    if char.isspace():  # tabs, line breaks, no-break and thin spaces
        return " "
    category = unicodedata.category(char)
    if category in ("Cc", "Cf"):  # control and invisible formatting characters
        return ""
    if _encodable(char):
        return char
    compatible = unicodedata.normalize("NFKC", char)  # ligatures, full-width forms, ...
    if compatible != char and _encodable(compatible):
        return compatible
    base = "".join(
        c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
    )  # letters with accents the encoding lacks: ź -> z
    if base and base != char and _encodable(base):
        return base
    if category.startswith("M"):  # a lone combining mark
        return ""
    return "?"


def pdf_text(text: str, limit: int = _MAX_LINE) -> str:
    """One line of user text the core font can draw, never longer than `limit` characters."""
    cleaned = "".join(_pdf_char(c) for c in unicodedata.normalize("NFC", text or ""))
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def _address_lines(address: str) -> list[str]:
    lines = [pdf_text(line) for line in (address or "").splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > _MAX_ADDRESS_LINES:
        lines = [*lines[: _MAX_ADDRESS_LINES - 1], ", ".join(lines[_MAX_ADDRESS_LINES - 1 :])]
        lines[-1] = pdf_text(lines[-1])
    return lines


class _InvoicePDF(FPDF):
    """FPDF with the few drawing helpers the invoice needs, all sizes multiplied by `scale`."""

    def __init__(self, scale: float) -> None:
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.scale = scale
        self.core_fonts_encoding = ENCODING
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_MARGIN)
        self.c_margin = 1.0

    def mm(self, length: float) -> float:
        return length * self.scale

    def font(self, style: str = "", size: float = 10) -> None:
        self.set_font(FONT, style, size * self.scale)

    def text_block(
        self, x: float, w: float, text: str, *, style: str = "", size: float = 10
    ) -> None:
        """Wrapped text in a column starting at `x`; the cursor moves below it."""
        self.font(style, size)
        self.set_x(x)
        self.multi_cell(w, self.mm(_LINE), text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)

    def heading(self, x: float, w: float, text: str) -> None:
        self.set_text_color(*_GREY)
        self.text_block(x, w, text, style="B", size=9)
        self.set_text_color(*_BLACK)

    def rule(self, gap: float = 2.0) -> None:
        self.set_draw_color(*_RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(self.mm(gap))

    def label_value(self, label_w: float, label: str, value: str, *, size: float = 10) -> None:
        """A bold label, then its value wrapped in the rest of the line."""
        self.font("B", size)
        self.cell(label_w, self.mm(_LINE + 1), label)
        self.font("", size)
        self.multi_cell(0, self.mm(_LINE + 1), value, align="L", new_x=XPos.LMARGIN)


def render_invoice_pdf(invoice: InvoiceData) -> bytes:
    """The invoice as a one-page PDF (US Letter), every label in English and French.

    Realistic invoices are drawn at full size; one with very long fields is drawn smaller
    until it fits on the page."""
    for scale in _SCALES:
        pdf = _draw(invoice, scale)
        if pdf.page == 1:
            break
    return bytes(pdf.output())


def _draw(invoice: InvoiceData, scale: float) -> _InvoicePDF:
    pdf = _InvoicePDF(scale)
    number = pdf_text(invoice.number, _MAX_CODE)
    # Metadata: only what is on the page, and a creation date that does not depend on the clock
    # (the same invoice always gives the same bytes).
    pdf.set_title(number)
    pdf.set_creation_date(dt.datetime.combine(invoice.issued_on, dt.time(), tzinfo=dt.UTC))
    pdf.add_page()
    left, width, mm = pdf.l_margin, pdf.epw, pdf.mm

    pdf.font("B", 20)
    pdf.cell(width, mm(10), "Invoice / Facture", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(mm(3))
    label_w = mm(70)
    pdf.label_value(label_w, "Invoice number / Numéro de facture", number)
    pdf.label_value(label_w, "Date", format_date(invoice.issued_on))
    pdf.label_value(label_w, "Reference / Référence", pdf_text(invoice.reference, _MAX_CODE))
    pdf.ln(mm(4))
    pdf.rule(4)

    # Supplier and buyer side by side.
    gap = 8.0
    column = (width - gap) / 2
    top = pdf.get_y()
    pdf.heading(left, column, "Supplier / Fournisseur")
    pdf.text_block(left, column, pdf_text(invoice.supplier_name), style="B")
    for line in _address_lines(invoice.supplier_address):
        pdf.text_block(left, column, line)
    registration = pdf_text(invoice.supplier_gst_hst_number, _MAX_CODE)
    if registration:
        pdf.ln(mm(1))
        pdf.heading(left, column, "GST/HST registration / N° d\u2019inscription TPS/TVH")
        pdf.text_block(left, column, registration)
    supplier_bottom = pdf.get_y()

    right = left + column + gap
    pdf.set_y(top)
    pdf.heading(right, column, "Billed to / Facturé à")
    pdf.text_block(right, column, pdf_text(invoice.buyer_name), style="B")
    for value in (invoice.department, invoice.buyer_email):
        if text := pdf_text(value):
            pdf.text_block(right, column, text)
    pdf.set_y(max(supplier_bottom, pdf.get_y()) + mm(6))

    # What is billed, then the totals under the amount column.
    tax = invoice.tax
    pdf.font("B", 11)  # the total, the widest amount
    amount_w = max(mm(62), pdf.get_string_width(format_amount(tax.total_cents)) + 4)
    description_w = width - amount_w
    pdf.set_fill_color(*_HEADER_FILL)
    pdf.font("B", 10)
    pdf.cell(description_w, mm(_LINE + 2), "Description", fill=True)
    pdf.cell(
        amount_w,
        mm(_LINE + 2),
        "Amount / Montant",
        align="R",
        fill=True,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(mm(2))
    row_top = pdf.get_y()
    title_en = pdf_text(invoice.title_en, _MAX_TITLE)
    title_fr = pdf_text(invoice.title_fr, _MAX_TITLE)
    pdf.text_block(left, description_w - 4, title_en)
    if title_fr and title_fr != title_en:
        pdf.set_text_color(*_GREY)
        pdf.text_block(left, description_w - 4, title_fr, style="I")
        pdf.set_text_color(*_BLACK)
    row_bottom = pdf.get_y()
    pdf.set_xy(left + description_w, row_top)
    pdf.font("", 10)
    pdf.cell(amount_w, mm(_LINE), format_amount(tax.subtotal_cents), align="R")
    pdf.set_y(row_bottom + mm(2))
    pdf.rule(2)

    totals = [("Subtotal / Sous-total", tax.subtotal_cents, "")]
    if tax.label:
        totals.append((tax_line_label(tax), tax.tax_cents, ""))
    totals.append(("Total (CAD)", tax.total_cents, "B"))
    for label, cents, style in totals:
        pdf.font(style, 11 if style else 10)
        pdf.cell(description_w, mm(_LINE + 1.5), label, align="R")
        pdf.cell(
            amount_w,
            mm(_LINE + 1.5),
            format_amount(cents),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.ln(mm(6))

    if invoice.certified_by or invoice.certified_on:
        pdf.rule(4)
        pdf.heading(
            left,
            width,
            "Certified under section 34 of the Financial Administration Act by / Certifié en "
            "vertu de l\u2019article 34 de la Loi sur la gestion des finances publiques par",
        )
        certified = [pdf_text(invoice.certified_by)]
        if invoice.certified_on:
            certified.append(format_date(invoice.certified_on))
        pdf.text_block(left, width, ", ".join(part for part in certified if part))
        pdf.ln(mm(4))

    if invoice.paid_on:
        pdf.set_text_color(0, 100, 0)
        pdf.label_value(label_w, "Paid / Payée", format_date(invoice.paid_on), size=12)
        pdf.set_text_color(*_BLACK)
    return pdf
