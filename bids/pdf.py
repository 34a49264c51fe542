"""Accept a PDF only for what it is, and keep only its pages.

A file is a PDF when its bytes say so (not its name), when it parses to the end, and when it
carries nothing active: no JavaScript, no launch action, no embedded file, no XFA form. What we
store is a new document made of its pages alone — the author, producer, XMP packet and any
other document metadata stay behind.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/XFA"})
ACTIVE_VALUES = frozenset(
    {"/JavaScript", "/Launch", "/EmbeddedFile", "/FileAttachment", "/RichMedia", "/ImportData"}
)
# Per-page entries that describe the producing application rather than the page.
PAGE_METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")


class PdfRefused(ValueError):
    """The upload is not a PDF we accept; the message says why, for the supplier."""


@dataclass(frozen=True)
class CleanPdf:
    content: bytes
    sha256: str
    pages: int


def _is_active(obj, depth: int = 0) -> bool:
    if depth > 12:
        return False
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            if key in ACTIVE_KEYS:
                return True
            if key in ("/S", "/Type", "/Subtype") and str(value) in ACTIVE_VALUES:
                return True
            if not isinstance(value, IndirectObject) and _is_active(value, depth + 1):
                return True
    elif isinstance(obj, ArrayObject):
        return any(
            not isinstance(item, IndirectObject) and _is_active(item, depth + 1) for item in obj
        )
    return False


def _objects(reader: PdfReader):
    """Every object of the file, including those packed in object streams."""
    ids = {(idnum, generation) for generation, table in reader.xref.items() for idnum in table}
    ids |= {(idnum, 0) for idnum in reader.xref_objStm}
    for idnum, generation in sorted(ids):
        try:
            yield reader.get_object(IndirectObject(idnum, generation, reader))
        except (PdfReadError, ValueError, KeyError, AttributeError, TypeError):
            continue


def clean_pdf(data: bytes) -> CleanPdf:
    """Check `data` and return the PDF we store, or raise PdfRefused."""
    if not data.lstrip(b"\x00\t\n\r ")[:5] == b"%PDF-":
        raise PdfRefused(_("This file is not a PDF. Only PDF files can be attached."))
    if b"%%EOF" not in data[-2048:]:
        raise PdfRefused(_("This PDF is incomplete or damaged. Save it again and retry."))
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfRefused(_("This PDF is password-protected. Attach an unprotected copy."))
        if any(_is_active(obj) for obj in _objects(reader)) or _is_active(reader.trailer["/Root"]):
            raise PdfRefused(
                _(
                    "This PDF contains scripts, actions or embedded files, which are not "
                    "allowed. Print it to a new PDF and retry."
                )
            )
        writer = PdfWriter()
        for page in reader.pages:
            for key in PAGE_METADATA_KEYS:
                if NameObject(key) in page:
                    del page[NameObject(key)]
            writer.add_page(page)
        if not writer.pages:
            raise PdfRefused(_("This PDF has no pages."))
        writer.metadata = None
        output = io.BytesIO()
        writer.write(output)
    except PdfRefused:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on broken files
        raise PdfRefused(_("This PDF is incomplete or damaged. Save it again and retry.")) from exc
    content = output.getvalue()
    return CleanPdf(
        content=content, sha256=hashlib.sha256(content).hexdigest(), pages=len(writer.pages)
    )
