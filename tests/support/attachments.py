"""PDF and image files for attachment tests: clean ones, ones with metadata or pictures, and the
check that what evaluators would receive carries nothing identifying (tests/bids/test_attachments.py
and the tests that upload a proposal)."""

import io

import pikepdf
from django.core.files.uploadedfile import SimpleUploadedFile
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from bids.models import Attachment

XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:creator>Aurelie Tremblay</dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


# What must never reach an evaluator, whichever way it hides in a file.
IDENTITY = ("Tremblay", "Aurelie", "Aurélie", "MLCW", "Maple Leaf", "613-555-0142", "mlcw-dev")


FORBIDDEN_KEYS = {
    "/JS", "/JavaScript", "/OpenAction", "/AA", "/A", "/URI", "/Annots", "/Outlines",
    "/EmbeddedFiles", "/EmbeddedFile", "/XFA", "/AcroForm", "/Metadata", "/PieceInfo", "/Info",
    "/Names",
}  # fmt: skip


def text_pdf(*pages: str) -> bytes:
    document = FPDF()
    document.set_font("helvetica", size=12)
    for text in pages or ("Our approach to accessible forms.",):
        document.add_page()
        document.multi_cell(0, 10, text)
    return bytes(document.output())


def edit(data: bytes, change) -> bytes:
    """`data` changed by `change(pdf)` in pikepdf, saved again."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        change(pdf)
        output = io.BytesIO()
        pdf.save(output)
    return output.getvalue()


def action(pdf, kind: str, **entries):
    return pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name("/" + kind), **entries))


def jpeg_with_exif(artist: str) -> bytes:
    image = Image.new("RGB", (16, 16), (200, 30, 30))
    exif = Image.Exif()
    exif[0x013B] = artist  # Artist
    exif[0x010E] = f"Photo by {artist}"  # ImageDescription
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif.tobytes(), comment=artist.encode())
    # An XMP packet in its own APP1 segment, as cameras and editors write it.
    data = output.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00" + XMP
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    return data[:2] + segment + data[2:]


def with_image(data: bytes, jpeg: bytes, *, xmp: bool = True) -> bytes:
    def change(pdf):
        image = pikepdf.Stream(pdf, jpeg)
        image.Type = pikepdf.Name.XObject
        image.Subtype = pikepdf.Name.Image
        image.Width, image.Height = 16, 16
        image.ColorSpace = pikepdf.Name.DeviceRGB
        image.BitsPerComponent = 8
        image.Filter = pikepdf.Name.DCTDecode
        if xmp:
            image.Metadata = pikepdf.Stream(pdf, XMP)
        page = pdf.pages[0]
        page.obj.Resources.XObject = pikepdf.Dictionary(Photo=image)
        page.obj.Contents = pikepdf.Stream(
            pdf, page.obj.Contents.read_bytes() + b"\nq 100 0 0 100 50 50 cm /Photo Do Q\n"
        )

    return edit(data, change)


def pypdf_objects(content: bytes):
    """Every object of the file as pypdf reads it, nested ones included (iteratively)."""
    reader = PdfReader(io.BytesIO(content))
    stack = [reader.trailer]
    stack += [reader.get_object(i) for i in range(1, reader.trailer["/Size"])]
    seen = set()
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject) or obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, DictionaryObject):
            stack.extend(v for v in obj.values() if not isinstance(v, IndirectObject))
        elif isinstance(obj, ArrayObject):
            stack.extend(v for v in obj if not isinstance(v, IndirectObject))


def assert_clean_for_evaluators(content: bytes) -> None:
    """What an evaluator would receive: nothing active, no metadata, no identity, anywhere."""
    reader = PdfReader(io.BytesIO(content))
    assert reader.metadata in (None, {}) or not dict(reader.metadata)
    assert "/Info" not in reader.trailer
    for obj in pypdf_objects(content):
        if isinstance(obj, DictionaryObject):
            assert not FORBIDDEN_KEYS & set(obj.keys()), set(obj.keys())
            assert obj.get("/S") not in ("/JavaScript", "/Launch", "/URI", "/SubmitForm")
        if isinstance(obj, StreamObject):
            data = obj.get_data()
            for word in IDENTITY:
                assert word.encode() not in data, word
            assert b"Exif" not in data and b"xmpmeta" not in data and b"http://ns.adobe" not in data
    text = "\n".join(page.extract_text() for page in reader.pages)
    for word in IDENTITY:
        assert word not in text


def upload(data: bytes, name: str = "proposal.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def stored(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        return handle.read()


def make_pdf() -> bytes:
    """An ordinary one-page PDF, for tests elsewhere that need any acceptable attachment."""
    return text_pdf()
