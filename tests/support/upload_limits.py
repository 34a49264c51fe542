"""PDFs for the tests of the upload limits (issue 19), made with pikepdf: an ordinary proposal
and one within every limit that takes seconds to check. Bid attachments
(tests/bids/test_upload_limits.py) and deliveries (tests/payments/test_delivery_upload_limits.py)
are checked within the same limits."""

from __future__ import annotations

import io
from functools import cache

import pikepdf

# Beyond the limit, for the fork server's first start and a busy test machine.
MARGIN = 3.0


def pdf_of(contents: list[bytes], change=None) -> bytes:
    """A page for each content stream, drawn with Helvetica as /F1; `change(pdf)` adds to it."""
    with pikepdf.new() as pdf:
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
            )
        )
        for content in contents:
            page = pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, 612, 792],
                Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                Contents=pdf.make_stream(content),
            )
            pdf.pages.append(pikepdf.Page(page))
        if change is not None:
            change(pdf)
        output = io.BytesIO()
        pdf.save(output, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()


def proposal(text: str = "Our approach to accessible forms.") -> bytes:
    return pdf_of([b"BT /F1 14 Tf 72 700 Td (%s) Tj ET" % text.encode()])


@cache
def slow_pdf() -> bytes:
    """Within every limit of the check, and seconds of work: 40 pages drawn a letter an
    operation (about 390,000 operations), as a browser prints at some font sizes."""
    letters = "We will audit every form against WCAG 2.1 AA and fix what we find. " * 70
    page = b"".join(b"(%s) Tj 5 0 Td " % letter.encode() for letter in letters)
    return pdf_of([b"BT /F1 10 Tf " + page + b"ET"] * 40)
