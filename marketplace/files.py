"""One way for a page to send a private file: `private_file_response`.

Bid attachments, evaluation packets' attachments, delivered documents and invoices are sent to
the people a page has already let in (`marketplace.shortcuts.get_visible_or_404`), never from
a public URL. Every one leaves with the same headers, so that none of them is kept where the
next person at the computer, or a shared cache, could find it:

- `Content-Disposition` with the file's name as RFC 6266 says (`filename*=utf-8''…` for a
  name beyond ASCII, Django's `content_disposition_header`): a download, or shown in the
  browser (`inline`) for what is made to be read there, like an invoice;
- `Cache-Control: private, no-store`: no browser or proxy keeps a copy;
- `X-Content-Type-Options: nosniff` (also set on every response by SecurityMiddleware): the
  browser never takes the file for something other than its declared type.

No `Content-Security-Policy: sandbox`: browsers refuse to show a PDF in their viewer under it,
and every file here is a PDF (rebuilt from its pages for bid attachments, bids/pdf.py).
"""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header


def private_file_response(
    content: FieldFile | bytes,
    *,
    filename: str,
    content_type: str = "application/pdf",
    as_attachment: bool = True,
) -> HttpResponseBase:
    """`content` sent as `filename`: a stored file, streamed (one gone from the disk is a 404,
    like a row that does not exist, not a server error), or bytes made for this request, sent
    whole."""
    response: HttpResponseBase
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=content_type)
        if disposition := content_disposition_header(as_attachment, filename):
            response["Content-Disposition"] = disposition
    else:
        try:
            handle = content.open("rb")
        except FileNotFoundError as missing:
            raise Http404 from missing
        response = FileResponse(
            handle, as_attachment=as_attachment, filename=filename, content_type=content_type
        )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
