"""Attachments: PDF by content, nothing active at any depth, no metadata, no identity, private.

The hostile files are built here with pikepdf, fpdf2 and Pillow; what evaluators would receive is
read back with pypdf, a parser independent of the one (qpdf) that rebuilt it."""

import io
import zlib

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader

from bids import services
from bids.models import Attachment
from bids.pdf import PdfRefused, clean_pdf
from marketplace import services as marketplace_services
from tests.builders import fill
from tests.factories import SupplierProfileFactory
from tests.support.attachments import (
    XMP,
    action,
    assert_clean_for_evaluators,
    edit,
    jpeg_with_exif,
    stored,
    text_pdf,
    upload,
    with_image,
)
from tests.support.raw_http import blank_pages

pytestmark = pytest.mark.django_db


# --- Accepted, and rebuilt clean -------------------------------------------------------------


def test_a_pdf_is_stored_rebuilt_without_information_xmp_or_page_metadata(draft_bid, supplier):
    def decorate(pdf):
        pdf.docinfo["/Author"] = "Aurelie Tremblay"
        pdf.docinfo["/Producer"] = "MLCW Writer 9"
        pdf.Root.Metadata = pikepdf.Stream(pdf, XMP)
        pdf.pages[0].obj.Metadata = pikepdf.Stream(pdf, XMP)
        pdf.pages[0].obj.PieceInfo = pikepdf.Dictionary(MLCW=pikepdf.Dictionary())

    data = edit(text_pdf("First page.", "Second page."), decorate)
    attachment = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data))
    content = stored(attachment)
    assert content != data and attachment.size == len(content)
    assert_clean_for_evaluators(content)
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 2
    assert "Second page." in reader.pages[1].extract_text()
    assert "First page." in attachment.text


def test_annotations_comments_links_forms_and_outlines_are_left_out(draft_bid, supplier):
    def decorate(pdf):
        page = pdf.pages[0].obj
        comment = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Text,
            Rect=[10, 10, 30, 30],
            T=pikepdf.String("Aurelie Tremblay"),
            Contents=pikepdf.String("Reviewed by MLCW"),
        )
        link = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=[10, 40, 90, 60],
            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://mlcw.example")),
        )
        page.Annots = pdf.make_indirect(pikepdf.Array([comment, link]))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array())
        outline = pdf.make_indirect(
            pikepdf.Dictionary(
                Title=pikepdf.String("Maple Leaf"),
                A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://x.example")),
            )
        )
        pdf.Root.Outlines = pikepdf.Dictionary(First=outline, Last=outline, Count=1)

    data = edit(text_pdf(), decorate)
    attachment = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data))
    assert_clean_for_evaluators(stored(attachment))


def test_a_jpeg_loses_its_exif_xmp_and_comment_but_stays_a_picture(draft_bid, supplier):
    data = with_image(text_pdf(), jpeg_with_exif("Aurelie Tremblay"))
    assert b"Tremblay" in data  # the hostile file does carry the name
    attachment = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data))
    content = stored(attachment)
    assert_clean_for_evaluators(content)
    images = PdfReader(io.BytesIO(content)).pages[0].images
    assert len(images) == 1
    picture = images[0].image
    assert picture.size == (16, 16) and not picture.getexif()
    assert picture.getpixel((8, 8))[0] > 150  # still the red square


def test_inherited_resources_and_boxes_are_kept(draft_bid, supplier):
    def inherit(pdf):
        page = pdf.pages[0].obj
        pdf.Root.Pages.Resources = page.Resources
        pdf.Root.Pages.MediaBox = page.MediaBox
        del page["/Resources"], page["/MediaBox"]

    data = edit(text_pdf("Inherited resources."), inherit)
    attachment = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data))
    assert (
        "Inherited resources." in PdfReader(io.BytesIO(stored(attachment))).pages[0].extract_text()
    )


# --- Refused: active content at any depth ----------------------------------------------------


def _chain(pdf, last, depth: int):
    """`depth` harmless go-to actions, then `last`: what a nesting limit would never reach."""
    for _ in range(depth):
        last = pdf.make_indirect(
            pikepdf.Dictionary(
                S=pikepdf.Name.GoTo,
                D=pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit]),
                Next=last,
            )
        )
    return last


def _open_js_deep(pdf):
    js = action(pdf, "JavaScript", JS=pikepdf.String("app.alert(1)"))
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=_chain(pdf, js, 14))


def _open_js_nested_direct(pdf):
    # 40 levels of direct (not indirect) dictionaries: the old check stopped at 12.
    inner = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    for _ in range(40):
        inner = pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([0, pikepdf.Name.Fit]),
                                   Next=inner)  # fmt: skip
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=inner)


def _page_open_uri(pdf):
    pdf.pages[0].obj.AA = pikepdf.Dictionary(
        O=action(pdf, "URI", URI=pikepdf.String("https://tracker.example/opened"))
    )


def _document_open_uri_chained(pdf):
    uri = action(pdf, "URI", URI=pikepdf.String("https://tracker.example/opened"))
    pdf.Root.OpenAction = _chain(pdf, uri, 3)


def _annotation_action(kind, **entries):
    def change(pdf):
        pdf.pages[0].obj.Annots = pdf.make_indirect(
            pikepdf.Array(
                [
                    pikepdf.Dictionary(
                        Type=pikepdf.Name.Annot,
                        Subtype=pikepdf.Name.Link,
                        Rect=[0, 0, 50, 50],
                        A=action(pdf, kind, **entries),
                    )
                ]
            )
        )

    return change


def _outline_javascript(pdf):
    item = pdf.make_indirect(
        pikepdf.Dictionary(
            Title=pikepdf.String("Chapter"),
            A=action(pdf, "JavaScript", JS=pikepdf.String("app.alert(1)")),
        )
    )
    pdf.Root.Outlines = pikepdf.Dictionary(First=item, Last=item, Count=1)


def _embedded_file(pdf):
    pdf.attachments["tool.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00")


def _file_attachment_annotation(pdf):
    pdf.pages[0].obj.Annots = pikepdf.Array(
        [pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FileAttachment,
                            Rect=[0, 0, 9, 9])]
    )  # fmt: skip


def _xfa(pdf):
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=pikepdf.Array(), XFA=pikepdf.Stream(pdf, b"<xdp:xdp/>")
    )


def _javascript_name_tree(pdf):
    js = action(pdf, "JavaScript", JS=pikepdf.String("app.alert(1)"))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), js]))
    )


HOSTILE = {
    "page-open-javascript-chained-14-deep": _open_js_deep,
    "javascript-nested-40-deep-direct": _open_js_nested_direct,
    "page-open-web-link": _page_open_uri,
    "document-open-web-link-chained": _document_open_uri_chained,
    "launch": _annotation_action("Launch", F=pikepdf.String("calc.exe")),
    "submit-form": _annotation_action("SubmitForm", F=pikepdf.String("https://x.example/s")),
    "remote-go-to": _annotation_action("GoToR", F=pikepdf.String("other.pdf"), D=pikepdf.Array()),
    "embedded-go-to": _annotation_action("GoToE", T=pikepdf.Dictionary()),
    "import-data": _annotation_action("ImportData", F=pikepdf.String("data.fdf")),
    "outline-javascript": _outline_javascript,
    "embedded-file": _embedded_file,
    "file-attachment-annotation": _file_attachment_annotation,
    "xfa": _xfa,
    "javascript-name-tree": _javascript_name_tree,
}


@pytest.mark.parametrize("change", HOSTILE.values(), ids=HOSTILE.keys())
def test_active_content_is_refused_at_any_depth(draft_bid, supplier, change):
    data = edit(text_pdf(), change)
    with pytest.raises(ValidationError, match="scripts, automatic actions"):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data))
    assert not Attachment.objects.exists()


def test_active_content_packed_in_an_object_stream_is_found():
    def pack(pdf):
        _open_js_deep(pdf)

    with pikepdf.open(io.BytesIO(edit(text_pdf(), pack))) as pdf:
        output = io.BytesIO()
        pdf.save(output, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert b"/JavaScript" not in output.getvalue()  # compressed out of plain sight
    with pytest.raises(PdfRefused, match="scripts, automatic actions"):
        clean_pdf(output.getvalue())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"MZ\x90\x00\x03" + b"\x00" * 200, "not a PDF"),
        (b"<html><script>alert(1)</script></html>", "not a PDF"),
        (text_pdf()[:400], "incomplete or damaged"),
        (b"%PDF-1.7\n%%EOF", "incomplete or damaged"),
        (b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 3 + b"%%EOF", "damaged"),
    ],
    ids=["renamed-executable", "html", "truncated", "empty", "no-pages"],
)
def test_refused_files_give_a_clear_error_and_keep_the_draft(draft_bid, supplier, data, message):
    before = list(draft_bid.answers.values_list("text", flat=True))
    with pytest.raises(ValidationError, match=message):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(data))
    assert not Attachment.objects.exists()
    assert list(draft_bid.answers.values_list("text", flat=True)) == before


def test_a_page_bomb_is_refused_quickly(settings):
    bomb = blank_pages(3000)
    with pytest.raises(PdfRefused, match="3000 pages; attachments can have at most 40"):
        clean_pdf(bomb)
    settings.BID_ATTACHMENT_MAX_OBJECTS = 1000
    with pytest.raises(PdfRefused, match="too complex"):
        clean_pdf(bomb)


def test_a_compression_bomb_is_refused(settings):
    def bomb(pdf):
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(
            Zeros=pikepdf.Stream(pdf, b"\x00" * (30 * 1024 * 1024))
        )

    data = edit(text_pdf(), bomb)
    assert len(data) < 100_000
    settings.BID_ATTACHMENT_MAX_EXPANDED_BYTES = 20 * 1024 * 1024
    with pytest.raises(PdfRefused, match="too large once opened"):
        clean_pdf(data)


def test_jpeg_2000_images_are_refused():
    def jpx(pdf):
        image = pikepdf.Stream(pdf, b"\x00\x00\x00\x0cjP  \r\n\x87\n")
        image.Subtype, image.Filter = pikepdf.Name.Image, pikepdf.Name.JPXDecode
        image.Width = image.Height = 1
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(Im=image)

    with pytest.raises(PdfRefused, match="JPEG 2000"):
        clean_pdf(edit(text_pdf(), jpx))


def test_an_oversized_file_is_refused_before_it_is_read(draft_bid, supplier, settings):
    settings.BID_ATTACHMENT_MAX_BYTES = 1024
    big = upload(text_pdf() + b"%" * 2048)
    with pytest.raises(ValidationError, match="larger than"):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=big)


# --- Refused: the file names the supplier ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Prepared by Aurelie Tremblay.",
        "Maple\nLeaf Code Works delivered it.",
        "Call 613 555 0142.",
        "See github.com/mlcw-dev.",
        "MLCW team.",
    ],
)
def test_a_file_whose_text_names_the_supplier_is_refused_with_the_words(draft_bid, supplier, text):
    with pytest.raises(ValidationError, match="This PDF names you") as refused:
        services.attachment_add(
            supplier=supplier, bid=draft_bid, upload=upload(text_pdf("Our work.", text))
        )
    assert "Our work" not in str(refused.value)
    assert not Attachment.objects.exists()


def test_a_name_hidden_in_a_font_name_is_refused(draft_bid, supplier):
    def rename_font(pdf):
        font = pdf.pages[0].obj.Resources.Font
        for name in list(font.keys()):
            font[name].BaseFont = pikepdf.Name("/ABCDEF+MapleLeafSans")

    with pytest.raises(ValidationError, match="Maple"):
        services.attachment_add(
            supplier=supplier, bid=draft_bid, upload=upload(edit(text_pdf(), rename_font))
        )


def test_another_suppliers_name_is_not_a_reason_to_refuse(draft_bid, supplier):
    services.attachment_add(
        supplier=supplier,
        bid=draft_bid,
        upload=upload(text_pdf("We reused the work of Northern Lights Accessibility Co-op.")),
    )
    assert Attachment.objects.count() == 1


def test_the_refusal_through_the_page_names_the_words_in_french(draft_bid, supplier, client):
    client.force_login(supplier)
    with translation.override("fr"):
        url = reverse("bids:attachment_add", args=[draft_bid.pk])
    response = client.post(
        url,
        {"file": upload(text_pdf("Prepared by Aurelie Tremblay."))},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Ce PDF vous nomme" in page and "«\u00a0Aurelie Tremblay\u00a0»" in page
    assert not Attachment.objects.exists()


def test_a_submission_is_refused_when_an_attachment_now_names_the_supplier(draft_bid, supplier):
    services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(text_pdf("Built with Blue Heron Labs."))
    )
    marketplace_services.supplier_profile_save(
        actor=supplier, user=supplier, trading_name="Blue Heron Labs"
    )
    with pytest.raises(ValidationError, match="names you") as refused:
        services.bid_submit(supplier=supplier, bid=draft_bid)
    assert "Blue Heron Labs" in str(refused.value)
    assert not draft_bid.receipts.exists()


# --- What a determined bidder tried next (each once found to get through) --------------------

HELVETICA = b"BT /F1 14 Tf 72 700 Td (Technical proposal) Tj ET\n"


def page_pdf(content: bytes, resources=None, font: dict | None = None) -> bytes:
    """One page drawn by `content`, with Helvetica as /F1 and `resources(pdf)` added."""
    with pikepdf.new() as pdf:
        entries = {"Type": pikepdf.Name.Font, "Subtype": pikepdf.Name.Type1}
        entries["BaseFont"] = pikepdf.Name.Helvetica
        helvetica = pdf.make_indirect(pikepdf.Dictionary(**{**entries, **(font or {})}))
        entries = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica))
        for key, value in (resources(pdf) if resources else {}).items():
            entries[key] = value
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 612, 792],
            Resources=entries,
            Contents=pdf.make_stream(content),
        )
        pdf.pages.append(pikepdf.Page(page))
        output = io.BytesIO()
        pdf.save(output)
    return output.getvalue()


def _tiling_pattern(pdf):
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    pattern = pdf.make_stream(
        b"BT /F1 20 Tf 0 5 Td (Aurelie Tremblay) Tj ET",
        Type=pikepdf.Name.Pattern,
        PatternType=1,
        PaintType=1,
        TilingType=1,
        BBox=[0, 0, 400, 30],
        XStep=400,
        YStep=30,
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
    )
    return {"/Pattern": pikepdf.Dictionary(P1=pattern)}


REVERSED = (
    b"BT /F1 24 Tf "
    + b"".join(
        b"1 0 0 1 %d 650 Tm (%s) Tj " % (72 + i * 14, c.encode())
        for i, c in reversed(list(enumerate("Tremblay")))
    )
    + b"ET"
)
LYING_MAP = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def
1 begincodespacerange <00> <FF> endcodespacerange
3 beginbfchar <54> <0051> <72> <006D> <65> <0063> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""

PATTERN = HELVETICA + b"/Pattern cs /P1 scn 72 600 400 30 re f"
NUL_SPACED = b"BT /F1 24 Tf 72 700 Td (T\\000r\\000e\\000m\\000b\\000l\\000a\\000y) Tj ET"
HYPHENATED = b"BT /F1 14 Tf 72 700 Td (Our lead, Aurelie Trem-) Tj 0 -16 Td (blay.) Tj ET"
NAMED = {
    "text in a tiling pattern": (PATTERN, _tiling_pattern, None),
    "letters drawn right to left": (REVERSED, None, None),
    "a font map that lies": (b"BT /F1 24 Tf 72 700 Td (Tremblay) Tj ET", None, "lying"),
    "NUL between the letters": (NUL_SPACED, None, None),
    "hyphenated at a line end": (HYPHENATED, None, None),
    "glyph names": (HELVETICA, None, "differences"),
    "colour profile description": (HELVETICA + b"q 50 0 0 50 72 400 cm /Im2 Do Q", "icc", None),
}


@pytest.mark.parametrize("case", NAMED, ids=NAMED.keys())
def test_a_name_drawn_or_hidden_in_unusual_ways_is_refused(case, supplier):
    content, resources, font = NAMED[case]
    extra_font = {}
    if font == "lying":
        extra_font = {"Encoding": pikepdf.Name.WinAnsiEncoding}
    if resources == "icc":

        def resources(pdf):
            profile = pdf.make_stream(b"\x00" * 128 + b"desc Aurelie Tremblay", N=3)
            image = pdf.make_stream(
                b"\x00" * 8 * 8 * 3,
                Type=pikepdf.Name.XObject,
                Subtype=pikepdf.Name.Image,
                Width=8,
                Height=8,
                ColorSpace=pikepdf.Array([pikepdf.Name.ICCBased, profile]),
                BitsPerComponent=8,
            )
            return {"/XObject": pikepdf.Dictionary(Im2=image)}

    data = page_pdf(content, resources, extra_font)
    if font in ("lying", "differences"):

        def change(pdf):
            helvetica = pdf.pages[0].obj.Resources.Font.F1
            if font == "lying":
                helvetica.ToUnicode = pdf.make_stream(LYING_MAP)
            else:
                helvetica.Encoding = pikepdf.Dictionary(
                    Differences=pikepdf.Array(
                        [200, pikepdf.Name("/Aurelie"), pikepdf.Name("/Tremblay")]
                    )
                )

        data = edit(data, change)
    identity = services.supplier_identity(supplier)
    with pytest.raises(PdfRefused, match="names you"):
        clean_pdf(data, identity=identity)
    clean_pdf(data)  # without an identity to look for, the same file is accepted


def test_marked_content_properties_comments_and_made_up_resources_are_left_out():
    content = (
        b"% author Aurelie Tremblay\n/Span <</ActualText (Aurelie Tremblay) /Alt (MLCW)>> BDC "
        + HELVETICA
        + b" EMC\n"
    )

    def resources(pdf):
        return {
            "/Tremblay": pdf.make_stream(b"Aurelie Tremblay, 613-555-0142"),
            "/Extra": pikepdf.Name("/AurelieTremblay"),
        }

    clean = clean_pdf(page_pdf(content, resources))
    assert_clean_for_evaluators(clean.content)
    assert "Technical proposal" in PdfReader(io.BytesIO(clean.content)).pages[0].extract_text()


def test_inline_and_adobe_jpeg_segments_are_stripped():
    jpeg = jpeg_with_exif("Aurelie Tremblay")
    inline = HELVETICA + b"q 80 0 0 80 72 500 cm BI /W 16 /H 16 /CS /RGB /BPC 8 /F /DCT ID "
    clean = clean_pdf(page_pdf(inline + jpeg + b"\nEI Q\n"))
    assert_clean_for_evaluators(clean.content)
    assert PdfReader(io.BytesIO(clean.content)).pages[0].images[0].image.size == (16, 16)
    payload = b"Adobe\x00\x64\x00\x00\x00\x00\x01 Aurelie Tremblay"
    segment = b"\xff\xee" + (len(payload) + 2).to_bytes(2, "big") + payload
    clean = clean_pdf(with_image(text_pdf(), jpeg[:2] + segment + jpeg[2:]))
    assert_clean_for_evaluators(clean.content)
    picture = PdfReader(io.BytesIO(clean.content)).pages[0].images[0].image
    assert picture.size == (16, 16)


def _brand_font(family: str) -> bytes:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef"])
    builder.setupCharacterMap({})
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable(
        {"familyName": "Brand", "styleName": "Regular", "copyright": f"(c) {family}"}
    )
    builder.setupOS2()
    builder.setupPost()
    output = io.BytesIO()
    builder.save(output)
    return output.getvalue()


HIDING_PLACES = {
    "a brand font's name table": None,
    "a marked-content tag": b"/AurelieTremblay BMC " + HELVETICA + b" EMC",
    "a string of an unknown operator": b"BX (Aurelie Tremblay) zz EX " + HELVETICA,
    "a font map's comments": "map",
    "an inline image's dictionary": b"BI /W 1 /H 1 /CS /G /BPC 8 /AurelieTremblay 1 ID \x00\nEI",
}


@pytest.mark.parametrize("place", HIDING_PLACES, ids=HIDING_PLACES.keys())
def test_a_name_hidden_where_no_viewer_shows_it_is_found_too(place, supplier):
    content = HIDING_PLACES[place]

    def font(pdf):
        helvetica = pdf.pages[0].obj.Resources.Font.F1
        if place == "a font map's comments":
            helvetica.ToUnicode = pdf.make_stream(b"%% Aurelie Tremblay\n" + LYING_MAP)
        else:
            helvetica.FontDescriptor = pikepdf.Dictionary(
                Type=pikepdf.Name.FontDescriptor,
                FontName=pikepdf.Name("/Brand"),
                FontFile2=pdf.make_stream(_brand_font("Aurelie Tremblay")),
            )

    data = page_pdf(content if isinstance(content, bytes) else HELVETICA)
    if not isinstance(content, bytes):
        data = edit(data, font)
    with pytest.raises(PdfRefused, match="names you"):
        clean_pdf(data, identity=services.supplier_identity(supplier))


def test_page_thumbnails_are_accepted_and_left_out():
    def thumbnail(pdf):
        picture = io.BytesIO()
        Image.new("RGB", (8, 8)).save(picture, "JPEG")
        stream = pikepdf.Stream(pdf, picture.getvalue())
        stream.Filter, stream.Width, stream.Height = pikepdf.Name.DCTDecode, 8, 8
        stream.ColorSpace, stream.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        pdf.pages[0].obj.Thumb = stream

    assert_clean_for_evaluators(clean_pdf(edit(text_pdf(), thumbnail)).content)


def test_a_dense_proposal_drawn_a_letter_at_a_time_is_accepted():
    """A browser's print to PDF draws one letter an operation at some font sizes."""
    letters = "We will audit every form against WCAG 2.1 AA and fix what we find. " * 35
    page = (
        b"BT /F1 10 Tf "
        + b"".join(b"(%s) Tj 5 0 Td " % letter.encode() for letter in letters)
        + b"ET"
    )
    with pikepdf.open(io.BytesIO(page_pdf(page))) as pdf:
        for _ in range(29):
            pdf.pages.append(pdf.pages[0])
        output = io.BytesIO()
        pdf.save(output)
    assert clean_pdf(output.getvalue()).pages == 30  # about 140,000 operations


def test_too_much_drawn_text_or_shared_font_maps_are_refused(settings):
    settings.BID_ATTACHMENT_MAX_TEXT = 100_000
    with pytest.raises(PdfRefused, match="too much text"):
        clean_pdf(page_pdf(b"BT /F1 1 Tf (" + b"a" * 200_000 + b") Tj ET"))
    settings.BID_ATTACHMENT_MAX_FONT_MAP_BYTES = 50_000

    def shared_map(pdf):
        mapping = pdf.make_stream(LYING_MAP + b"\n%" + b" " * 20_000)
        fonts = pdf.pages[0].obj.Resources.Font
        for number in range(2, 6):
            fonts[f"/F{number}"] = pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
                ToUnicode=mapping,
            )

    with pytest.raises(PdfRefused, match="too complex"):
        clean_pdf(edit(text_pdf(), shared_map))


def test_many_operations_or_nested_objects_are_refused_quickly(settings):
    import time

    started = time.monotonic()
    with pytest.raises(PdfRefused, match="too complex"):
        clean_pdf(page_pdf(b"BT /F1 1 Tf " + b"(a) Tj " * 400_000 + b"ET"))
    settings.BID_ATTACHMENT_MAX_NODES = 5_000

    def nested(pdf):
        pdf.pages[0].obj.Resources.Properties = pikepdf.Dictionary(
            Deep=pikepdf.Array([pikepdf.Dictionary() for _ in range(20_000)])
        )

    with pytest.raises(PdfRefused, match="too complex"):
        clean_pdf(edit(text_pdf(), nested))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("filters", [["/ASCIIHexDecode", "/FlateDecode"], ["/Fl"], ["/LZWDecode"]])
def test_bombs_behind_other_filters_are_measured_or_refused(settings, filters):
    settings.BID_ATTACHMENT_MAX_EXPANDED_BYTES = 5 * 1024 * 1024
    zeros = zlib.compress(b"\x00" * (10 * 1024 * 1024))
    raw = zeros.hex().encode() + b">" if filters[0] == "/ASCIIHexDecode" else zeros

    def bomb(pdf):
        stream = pikepdf.Stream(pdf, b"")
        stream.write(raw, filter=[pikepdf.Name(f) for f in filters])
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(Zeros=stream)

    with pytest.raises(PdfRefused, match=r"too large once opened|old or unusual"):
        clean_pdf(edit(text_pdf(), bomb))


def test_ordinary_files_that_were_once_refused_are_accepted(supplier):
    identity = services.supplier_identity(supplier)
    screenshots = FPDF()
    for shot in range(6):
        screenshots.add_page()
        picture = io.BytesIO()
        Image.effect_noise((1920, 1080), 40 + shot).convert("RGB").save(picture, "PNG")
        screenshots.image(picture, x=10, y=10, w=190)
    accepted = [
        bytes(screenshots.output()),  # big pictures are not decoded, only measured
        b"\xef\xbb\xbf" + text_pdf(),  # a byte-order mark before the header
        text_pdf() + b"\x00" * 4096,  # padding after the end
        page_pdf(HELVETICA, font={"BaseFont": pikepdf.Name("/ABCDEF+AurelieSans")}),
    ]
    for data in accepted:
        clean = clean_pdf(data, identity=identity)
        assert "\x00" not in clean.text
    # A given name alone (in a font's name, a town) only warns in answers; it refuses no file.
    assert "Aurelie" in clean.text


def test_a_palette_string_puts_no_nul_in_the_stored_text(draft_bid, supplier):
    def palette(pdf):
        image = pdf.make_stream(
            b"\x00\x01" * 32,
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=8,
            Height=8,
            BitsPerComponent=8,
            ColorSpace=pikepdf.Array(
                [
                    pikepdf.Name.Indexed,
                    pikepdf.Name.DeviceRGB,
                    1,
                    pikepdf.String(b"\x00\x00\x00\xff\xff\xff"),
                ]
            ),
        )
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(Im=image)

    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(edit(text_pdf(), palette))
    )
    assert "\x00" not in attachment.text


# --- Limits and privacy ------------------------------------------------------------------------


def test_at_most_three_attachments(draft_bid, supplier):
    for number in range(3):
        part = upload(text_pdf(f"Our approach, part {number}."))
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=part)
    with pytest.raises(ValidationError, match="at most 3"):
        services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(text_pdf()))


def test_the_same_file_sent_twice_is_attached_once(draft_bid, supplier):
    first = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(text_pdf()))
    again = services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(text_pdf()))
    assert again == first
    assert draft_bid.attachments.filter(removed_at__isnull=True).count() == 1


def test_a_removed_attachment_stays_available_to_the_receipt_that_names_it(draft_bid, supplier):
    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(text_pdf())
    )
    receipt = services.bid_submit(supplier=supplier, bid=draft_bid)
    assert receipt.content["attachments"][0]["sha256"] == attachment.sha256
    services.attachment_remove(supplier=supplier, bid=draft_bid, attachment=attachment)
    attachment.refresh_from_db()
    assert attachment.removed_at is not None and attachment.file.storage.exists(
        attachment.file.name
    )
    fill(draft_bid, supplier)
    assert services.bid_content(draft_bid)["attachments"] == []


def test_attachments_are_served_to_their_owner_only(draft_bid, supplier, client, opportunity):
    attachment = services.attachment_add(
        supplier=supplier, bid=draft_bid, upload=upload(text_pdf(), name="../../etc/passwd")
    )
    assert attachment.name == "passwd.pdf"
    assert not attachment.file.name.endswith("passwd.pdf")
    url = reverse("bids:attachment", args=[draft_bid.pk, attachment.pk])
    client.force_login(supplier)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == stored(attachment)
    other = SupplierProfileFactory().user
    client.force_login(other)
    assert client.get(url).status_code == 404


def test_upload_through_the_page_shows_the_refusal(draft_bid, supplier, client):
    client.force_login(supplier)
    response = client.post(
        reverse("bids:attachment_add", args=[draft_bid.pk]),
        {"file": upload(edit(text_pdf(), _open_js_deep))},
        follow=True,
    )
    assert "not allowed" in response.content.decode()
    assert not Attachment.objects.exists()


def test_the_bid_form_tells_suppliers_what_happens_to_their_files(draft_bid, supplier, client):
    client.force_login(supplier)
    english = client.get(reverse("bids:edit", args=[draft_bid.pk])).content.decode()
    assert "A file that names you" in english and "copy rebuilt from your pages" in english
    with translation.override("fr"):
        french = client.get(reverse("bids:edit", args=[draft_bid.pk])).content.decode()
    assert "Un fichier qui vous nomme" in french


def test_a_submission_reads_its_attachments_before_it_locks_the_opportunity(
    draft_bid, supplier, monkeypatch
):
    """Reading a file's text takes time; under the lock it would hold up everyone's bids."""
    services.attachment_add(supplier=supplier, bid=draft_bid, upload=upload(text_pdf()))
    order = []
    checks, lock = services.attachment_problems, services._locked_bid
    monkeypatch.setattr(
        services, "attachment_problems", lambda bid: order.append("files") or checks(bid)
    )
    monkeypatch.setattr(
        services, "_locked_bid", lambda **kwargs: order.append("lock") or lock(**kwargs)
    )
    services.bid_submit(supplier=supplier, bid=draft_bid)
    assert order == ["files", "lock"]
