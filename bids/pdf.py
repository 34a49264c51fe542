"""Accept a PDF only for what it is, and give evaluators a copy rebuilt from its pages alone.

A file is a PDF when its bytes say so (not its name) and when it parses. It is refused when it
carries anything that acts on its own: scripts, launch and remote actions, form submission, data
import, embedded files, XFA, media — found at any depth, however deeply an action is chained —
or a web address opened automatically. It is refused too when it is too big to read safely (pages,
objects, expanded size) or, given the supplier's identity, when its text names them (the words
are listed so the supplier can fix the file: DESIGN.md §5).

What we store, and what evaluators receive, is a new document made with pikepdf (qpdf) of the
pages alone: each page keeps only what draws it (content, resources, boxes, rotation), so
annotations, comments, links, form fields, outlines, the document catalogue's actions and names,
and every metadata entry (document information, XMP on the document, pages, images and fonts)
stay behind; every content stream is parsed and written again (comments and marked-content
properties dropped); JPEG images, inline ones too, lose their EXIF, XMP, comment and other
application segments. The identity check reads the copy as a reader could: its page text (by
pypdf, a second parser), the codes its operators draw, its strings, and the names and words its
fonts, images and layers carry.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pikepdf
from django.conf import settings
from django.utils.translation import gettext as _
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from pikepdf import Array, Dictionary, Name, Stream
from pypdf import PdfReader

from .identity import IdentityToken, identity_matches, strong

logger = logging.getLogger(__name__)

# Entries whose presence alone makes a file active: scripts, attached files, XFA forms, media.
REFUSED_KEYS = frozenset(
    {"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/XFA", "/RichMediaContent"}
)
# Actions that run code, open other files or programs, send or load data, or play media.
REFUSED_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/RichMediaExecute",
        "/Rendition",
        "/Movie",
        "/Sound",
    }
)
REFUSED_SUBTYPES = frozenset(
    {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}
)
# What a page keeps: what draws it. Annotations, actions, metadata, thumbnails, structure go.
PAGE_KEYS = frozenset(
    {
        "/Type",
        "/Parent",
        "/MediaBox",
        "/CropBox",
        "/BleedBox",
        "/TrimBox",
        "/ArtBox",
        "/Rotate",
        "/Resources",
        "/Contents",
        "/UserUnit",
        "/Group",
    }
)
# Removed wherever they remain in the rebuilt copy (fonts, images and forms of the pages).
STRIPPED_KEYS = (
    "/Metadata",
    "/PieceInfo",
    "/LastModified",
    "/OPI",
    "/Ref",
    "/AA",
    "/A",
    "/URI",
    "/Annots",
    "/StructParent",
    "/StructParents",
    "/Alternates",
)
# JPEG segments an image needs to be drawn; application segments (EXIF, XMP, ICC, Photoshop,
# comments…) are dropped, but for Adobe's APP14, which says how the colours are transformed.
JPEG_KEPT_APP = {0xEE: b"Adobe"}
ADOBE_SEGMENT_LENGTH = 14  # "Adobe", version, two flags, the transform: anything after is not


class PdfRefused(ValueError):
    """The upload is not a PDF we accept; the message says why, for the supplier."""

    def __init__(self, message: str, *, found: list[str] | None = None):
        super().__init__(message)
        self.found = found or []


@dataclass(frozen=True)
class CleanPdf:
    content: bytes
    sha256: str
    pages: int
    text: str  # what a reader can find in it, kept to check it against the supplier's identity


def _damaged() -> PdfRefused:
    return PdfRefused(_("This PDF is incomplete or damaged. Save it again and retry."))


def _active() -> PdfRefused:
    return PdfRefused(
        _(
            "This PDF contains scripts, automatic actions, form submissions, links to other "
            "files or embedded files, which are not allowed. Print it to a new PDF and retry."
        )
    )


def _too_complex() -> PdfRefused:
    return PdfRefused(
        _("This PDF is too complex to check. Save or print it to a new PDF and retry.")
    )


def _children(obj) -> Iterator:
    """The direct (not indirect) objects inside `obj`; indirect ones are visited on their own."""
    if isinstance(obj, Stream):
        obj = obj.stream_dict
    if isinstance(obj, Dictionary):
        values = obj.values()
    elif isinstance(obj, Array):
        values = list(obj)
    else:
        return
    for value in values:
        if isinstance(value, (Dictionary, Array, Stream)) and not value.is_indirect:
            yield value


def _walk(roots, budget: int | None = None) -> Iterator:
    """Every object under `roots`, iteratively: no nesting is too deep to be looked at. With a
    `budget`, a file holding more objects than that, nested ones counted, is refused."""
    stack = list(roots)
    seen = 0
    while stack:
        obj = stack.pop()
        seen += 1
        if budget is not None and seen > budget:
            raise _too_complex()
        yield obj
        stack.extend(_children(obj))


def _dictionary(obj) -> Dictionary | None:
    if isinstance(obj, Stream):
        return obj.stream_dict
    return obj if isinstance(obj, Dictionary) else None


def _name(value) -> str:
    return str(value) if isinstance(value, Name) else ""


def _automatic_actions(pdf: pikepdf.Pdf) -> Iterator[Dictionary]:
    """Actions run without a click: the document's OpenAction and every additional action
    (/AA: page open or close, field focus…), with the actions chained after them (/Next)."""
    starts = []
    for obj in _walk([pdf.trailer, *pdf.objects]):
        entries = _dictionary(obj)
        if entries is None:
            continue
        if "/OpenAction" in entries:
            starts.append(entries["/OpenAction"])
        triggers = entries.get("/AA")
        if isinstance(triggers, Dictionary):
            starts.extend(triggers.values())
    seen: set[tuple[int, int]] = set()
    while starts:
        action = starts.pop()
        if action.is_indirect:
            if action.objgen in seen:
                continue
            seen.add(action.objgen)
        if not isinstance(action, Dictionary):
            continue
        yield action
        follow = action.get("/Next")
        if isinstance(follow, Array):
            starts.extend(follow)
        elif follow is not None:
            starts.append(follow)


def _refuse_active_content(pdf: pikepdf.Pdf) -> None:
    for obj in _walk([pdf.trailer, *pdf.objects], settings.BID_ATTACHMENT_MAX_NODES):
        entries = _dictionary(obj)
        if entries is None:
            continue
        if any(key in REFUSED_KEYS for key in entries):
            raise _active()
        if _name(entries.get("/S")) in REFUSED_ACTIONS:
            raise _active()
        if _name(entries.get("/Subtype")) in REFUSED_SUBTYPES:
            raise _active()
    for action in _automatic_actions(pdf):
        # Going to a page of the document itself is all an opening action may do.
        if _name(action.get("/S")) not in ("", "/GoTo"):
            raise _active()


# Filters we decode (content, fonts, forms, colour profiles), and image filters, which only a
# viewer decodes. Anything else (old LZW and run-length coding, abbreviations that belong in
# inline images only) is refused: it could hide a bomb we cannot measure.
TEXT_FILTERS = ("/FlateDecode", "/ASCIIHexDecode", "/ASCII85Decode")
IMAGE_FILTERS = ("/DCTDecode", "/CCITTFaxDecode", "/JBIG2Decode", "/JPXDecode")


def _unusual() -> PdfRefused:
    return PdfRefused(
        _(
            "This PDF is encoded in a way we do not accept (an old or unusual compression). "
            "Save or print it to a new PDF and retry."
        )
    )


def _decode(data: bytes, name: str, limit: int) -> bytes:
    """One text filter undone, never past `limit` bytes (a Flate bomb stops there)."""
    if name == "/ASCIIHexDecode":
        data = bytes(c for c in data if c not in b" \t\r\n\f\x00").split(b">", 1)[0]
        return bytes.fromhex((data + b"0" * (len(data) % 2)).decode("ascii"))
    if name == "/ASCII85Decode":
        data = bytes(c for c in data if c not in b" \t\r\n\f\x00").removeprefix(b"<~")
        return base64.a85decode(data.split(b"~>", 1)[0] + b"~>", adobe=True)
    inflater = zlib.decompressobj()
    try:
        return inflater.decompress(data, limit + 1)
    except zlib.error:
        return b""  # qpdf reads what it can of a broken stream; nothing to expand


def _measure(pdf: pikepdf.Pdf) -> None:
    """Refuse a file whose streams would expand past the budget (a small file can hold
    gigabytes of zeros), or whose images are absurdly large. Streams are decoded here only as
    far as the budget allows; images are not decoded at all (nothing here reads their pixels),
    only their declared size is checked."""
    left = settings.BID_ATTACHMENT_MAX_EXPANDED_BYTES
    for obj in pdf.objects:
        if not isinstance(obj, Stream):
            continue
        entries = obj.stream_dict
        filters = entries.get("/Filter")
        names = [_name(f) for f in filters] if isinstance(filters, Array) else [_name(filters)]
        names = [name for name in names if name]
        if any(name not in TEXT_FILTERS + IMAGE_FILTERS for name in names):
            raise _unusual()
        if _name(entries.get("/Subtype")) == "/Image":
            pixels = int(entries.get("/Width", 0)) * int(entries.get("/Height", 0))
            if pixels > settings.BID_ATTACHMENT_MAX_IMAGE_PIXELS:
                raise PdfRefused(
                    _("This PDF contains an image too large to check. Make it smaller and retry.")
                )
            continue
        if any(name in IMAGE_FILTERS for name in names):
            continue  # a page thumbnail and the like: never read here, and left out of the copy
        data = obj.read_raw_bytes()
        for name in names:
            data = _decode(data, name, left)
            if len(data) > left:
                break
        left -= len(data)
        if left < 0:
            raise PdfRefused(_("This PDF is too large once opened. Save it again and retry."))


def _strip_jpeg(data: bytes) -> bytes:
    """The JPEG without its application segments and comments (EXIF, XMP, ICC, IPTC…), and
    without anything after its end. The picture itself is not re-encoded."""
    if data[:2] != b"\xff\xd8":
        raise PdfRefused(_("This PDF contains an image that cannot be read. Save it again."))
    out = bytearray(b"\xff\xd8")
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise PdfRefused(_("This PDF contains an image that cannot be read. Save it again."))
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position : position + 2 + length]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            kept = JPEG_KEPT_APP.get(marker)
            if kept is not None and segment[4 : 4 + len(kept)] == kept:
                out += b"\xff\xee" + ADOBE_SEGMENT_LENGTH.to_bytes(2, "big")
                out += segment[4 : 2 + ADOBE_SEGMENT_LENGTH].ljust(ADOBE_SEGMENT_LENGTH - 2, b"\0")
        else:
            out += segment
        position += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            end = position
            while end + 1 < len(data):
                if data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8)):
                    break
                end += 1
            out += data[position:end]
            position = end
            if data[position + 1 : position + 2] == b"\xd9":
                break
    out += b"\xff\xd9"
    return bytes(out)


def _clean_image(image: Stream) -> None:
    filters = image.stream_dict.get("/Filter")
    names = [_name(f) for f in filters] if isinstance(filters, Array) else [_name(filters)]
    if "/JPXDecode" in names:
        raise PdfRefused(
            _(
                "This PDF contains JPEG 2000 images, which we cannot check. Save or print it "
                "to a new PDF with ordinary images and retry."
            )
        )
    if "/DCTDecode" in names:
        if names != ["/DCTDecode"]:
            raise PdfRefused(_("This PDF contains an image that cannot be read. Save it again."))
        image.write(_strip_jpeg(image.read_raw_bytes()), filter=Name.DCTDecode)


def _rebuild(source: pikepdf.Pdf) -> pikepdf.Pdf:
    copy = pikepdf.new()
    for page in source.pages:
        # Inherited boxes and resources are made the page's own before it leaves its tree.
        for key in ("/Resources", "/MediaBox", "/CropBox", "/Rotate"):
            if key not in page.obj:
                node = page.obj.get("/Parent")
                while isinstance(node, Dictionary) and key not in node:
                    node = node.get("/Parent")
                if isinstance(node, Dictionary) and key in node:
                    page.obj[key] = node[key]
        for key in list(page.obj.keys()):
            if key not in PAGE_KEYS:
                del page.obj[key]
        copy.pages.append(page)
    for obj in _walk([copy.trailer, *copy.objects]):
        entries = _dictionary(obj)
        if entries is None:
            continue
        for key in STRIPPED_KEYS:
            if key in entries:
                del entries[key]
        resources = entries.get("/Resources")
        if isinstance(resources, Dictionary):
            # Only what draws: a made-up entry here could carry any file along.
            for key in list(resources.keys()):
                if key not in RESOURCE_KEYS:
                    del resources[key]
        if isinstance(obj, Stream) and _name(entries.get("/Subtype")) == "/Image":
            _clean_image(obj)
    if "/Info" in copy.trailer:
        del copy.trailer["/Info"]
    return copy


RESOURCE_KINDS = ("/Font", "/XObject", "/ExtGState", "/ColorSpace", "/Pattern", "/Shading")
RESOURCE_KEYS = frozenset((*RESOURCE_KINDS, "/Properties", "/ProcSet"))
NAMED_VALUES = ("/BaseFont", "/FontName")
CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])")


TEXT_OPERATORS = {"Tj": 0, "'": 0, '"': 2, "TJ": 0}


def _shown(operand) -> str:
    """What a text operand draws, read as simple one-byte codes (or UTF-16 with its mark)."""
    if isinstance(operand, Array):
        return "".join(_shown(item) for item in operand)
    if not isinstance(operand, pikepdf.String):
        return ""
    raw = bytes(operand)
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("latin-1")


def _content_streams(copy: pikepdf.Pdf) -> Iterator[tuple[Any, Stream | None]]:
    """Every content stream of the copy: pages, forms, tiling patterns, Type 3 glyphs: each with
    its holder (a `Page` or the stream itself, which `parse_content_stream` both take)."""
    for page in copy.pages:
        yield page, None
    for obj in copy.objects:
        if not isinstance(obj, Stream):
            continue
        entries = obj.stream_dict
        if _name(entries.get("/Subtype")) == "/Form" or entries.get("/PatternType") == 1:
            yield obj, obj
    for obj in copy.objects:
        if isinstance(obj, Dictionary) and _name(obj.get("/Subtype")) == "/Type3":
            procs = obj.get("/CharProcs")
            if isinstance(procs, Dictionary):
                for glyph in procs.values():
                    if isinstance(glyph, Stream):
                        yield glyph, glyph


def _tokens(contents) -> int:
    """About how many tokens (operands and operators) a content stream holds; no fewer."""
    streams = list(contents) if isinstance(contents, Array) else [contents]
    total = 0
    for stream in streams:
        if isinstance(stream, Stream):
            data = stream.read_bytes()
            total += sum(
                data.count(mark) for mark in (b" ", b"\t", b"\n", b"\r", b"(", b"[", b"/", b"<")
            )
    return total


def _inline_image(instruction) -> tuple[bytes | None, list[str]]:
    """A JPEG placed inline, as content-stream bytes without its EXIF and other segments (None
    for any other inline image, kept as it is), and the names and strings of its dictionary."""
    image = instruction.iimage
    head = image.unparse().split(b"\nID\n", 1)[0]
    said = [head.decode("latin-1").replace("/", " ")]
    if not any("DCT" in str(name) for name in image.filters):
        return None, said
    return head + b"\nID\n" + _strip_jpeg(image.read_raw_bytes()) + b"\nEI", said


def _font_map_cost(holder, sizes: dict) -> int:
    """Bytes of font maps (ToUnicode) a text reader decodes for this page or form: each font
    used there has its map read again, however many fonts share one."""
    resources = holder.obj.get("/Resources") if isinstance(holder, pikepdf.Page) else None
    if resources is None and isinstance(holder, Stream):
        resources = holder.stream_dict.get("/Resources")
    fonts = resources.get("/Font") if isinstance(resources, Dictionary) else None
    cost = 0
    for font in fonts.values() if isinstance(fonts, Dictionary) else ():
        mapping = font.get("/ToUnicode") if isinstance(font, Dictionary) else None
        if isinstance(mapping, Stream):
            if mapping.objgen not in sizes:
                sizes[mapping.objgen] = len(mapping.read_bytes())
            cost += sizes[mapping.objgen]
    return cost


def _rewrite_contents(copy: pikepdf.Pdf) -> str:
    """Each content stream parsed and written again: comments dropped, marked-content
    properties (/ActualText, /Alt…) dropped with their dictionaries, inline JPEG pictures
    stripped like the others. Returns what the operators carry as text: the codes they draw (a
    second reading of the page text that a lying font map cannot hide), and every other string
    and name they hold, where a name can hide too."""
    shown: list[str] = []
    said: list[str] = []
    operations = font_maps = 0
    sizes: dict = {}
    done: set[tuple[int, int]] = set()
    for holder, stream in _content_streams(copy):
        if stream is not None:
            if stream.objgen in done:
                continue
            done.add(stream.objgen)
        # Counted cheaply before parsing: a few kilobytes can hold millions of operations, or
        # make a text reader decode one big font map for every font of every page.
        estimate = _tokens(holder.obj.get("/Contents") if stream is None else stream)
        font_maps += _font_map_cost(holder, sizes)
        if (
            operations + estimate // 2 > settings.BID_ATTACHMENT_MAX_OPERATIONS
            or font_maps > settings.BID_ATTACHMENT_MAX_FONT_MAP_BYTES
        ):
            raise _too_complex()
        instructions = pikepdf.parse_content_stream(holder)
        operations += len(instructions)
        if operations > settings.BID_ATTACHMENT_MAX_OPERATIONS:
            raise _too_complex()
        pieces: list[bytes] = []
        run: list = []
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                replaced, words = _inline_image(instruction)
                said.extend(words)
                if replaced is not None:
                    pieces.append(pikepdf.unparse_content_stream(run))
                    pieces.append(replaced)
                    run = []
                    continue
                run.append(instruction)
                continue
            operator = str(instruction.operator)
            operands = list(instruction.operands)
            if operator in ("BDC", "DP") and operands and isinstance(operands[-1], Dictionary):
                plain = "BMC" if operator == "BDC" else "MP"
                instruction = pikepdf.ContentStreamInstruction(
                    operands[:1], pikepdf.Operator(plain)
                )
                operands = operands[:1]
            if operator in TEXT_OPERATORS and len(operands) > TEXT_OPERATORS[operator]:
                shown.append(_shown(operands[TEXT_OPERATORS[operator]]))
            else:
                said.extend(_shown(operand) for operand in operands)
                said.extend(_name(operand)[1:] for operand in operands if isinstance(operand, Name))
            run.append(instruction)
        pieces.append(pikepdf.unparse_content_stream(run))
        data = b"\n".join(pieces)
        if stream is None:
            holder.obj.Contents = copy.make_stream(data)
        else:
            stream.write(data)
    drawn = " ".join(shown)
    if len(drawn) + sum(map(len, said)) > settings.BID_ATTACHMENT_MAX_TEXT:
        raise PdfRefused(_("This PDF holds too much text to check. Split it and retry."))
    names = "\n".join(CAMEL_CASE.sub(" ", word) for word in said if word)
    # Letters drawn one by one from right to left read backwards in the stream.
    return drawn + "\n" + drawn[::-1] + "\n" + names


def _text(content: bytes, copy: pikepdf.Pdf) -> str:
    """What a reader of the copy can find: each page's text, read by a second, independent
    parser (pypdf), then the file's strings and the names its author chose (fonts, images,
    layers, glyphs), where a name can hide too."""
    parts = []
    reader = PdfReader(io.BytesIO(content))
    for page in reader.pages:
        parts.append(page.extract_text() or "")
    for obj in _walk([copy.trailer, *copy.objects]):
        entries = _dictionary(obj)
        if entries is not None:
            values = list(entries.values())
        else:
            values = list(obj) if isinstance(obj, Array) else [obj]
        parts.extend(str(value) for value in values if isinstance(value, pikepdf.String))
        if entries is None:
            if isinstance(obj, Array) and obj and _name(obj[0]) == "/ICCBased":
                profile = obj[1] if len(obj) > 1 else None
                if isinstance(profile, Stream):  # its description is free text
                    parts.append(profile.read_bytes().decode("latin-1"))
            continue
        names = [_name(entries[key]) for key in NAMED_VALUES if isinstance(entries.get(key), Name)]
        for kind in (*RESOURCE_KINDS, "/Properties"):
            named = entries.get(kind)
            if isinstance(named, Dictionary):
                names.extend(str(key) for key in named)
        differences = entries.get("/Differences")
        if isinstance(differences, Array):
            names.extend(_name(glyph) for glyph in differences if isinstance(glyph, Name))
        parts.extend(_font_words(entries))
        # "/ABCDEF+MapleLeafSans": the subset tag apart, and the words of a run-together name.
        parts.extend(CAMEL_CASE.sub(" ", name[1:].replace("+", " ")) for name in names)
    return "\n".join(parts)


HEX_STRING = re.compile(rb"<[0-9A-Fa-f\s]*>")


def _font_words(entries: Dictionary) -> list[str]:
    """The words a font carries besides its glyphs: its map's comments and registry, a Type 1
    program's notice, and the name table (copyright, designer, family) of a TrueType or
    OpenType program, where a supplier's own brand font names them."""
    words = []
    mapping = entries.get("/ToUnicode")
    if isinstance(mapping, Stream):
        # The codes and characters of the map are hexadecimal; only the rest is words.
        words.append(HEX_STRING.sub(b" ", mapping.read_bytes()).decode("latin-1"))
    program = entries.get("/FontFile")
    if isinstance(program, Stream):  # Type 1: the clear-text part holds /Notice and /FullName
        clear = int(program.stream_dict.get("/Length1", 0)) or None
        words.append(program.read_bytes()[:clear].decode("latin-1"))
    for key in ("/FontFile2", "/FontFile3"):
        program = entries.get(key)
        if isinstance(program, Stream):
            words.extend(_font_names(program.read_bytes()))
    return words


def _font_names(data: bytes) -> list[str]:
    try:
        if data[:1] in (b"\x00", b"O", b"t") or data[:4] == b"true":
            font = TTFont(io.BytesIO(data), lazy=True)
            return [record.toUnicode() for record in font["name"].names] if "name" in font else []
        fonts = CFFFontSet()
        fonts.decompile(io.BytesIO(data), None)
        top = fonts[fonts.fontNames[0]]
        return [str(getattr(top, key, "")) for key in ("Notice", "Copyright", "FullName",
                                                       "FamilyName")]  # fmt: skip
    except Exception:  # a program fontTools cannot read: its glyphs are still checked
        return []


def _readable(text: str) -> str:
    """Text fit to store: no NUL or other control characters (PostgreSQL refuses NUL)."""
    return "".join(c for c in text if c.isprintable() or c in "\n\t")


def clean_pdf(data: bytes, *, identity: list[IdentityToken] | None = None) -> CleanPdf:
    """Check `data` and return the copy we store and evaluators receive, or raise PdfRefused.
    With `identity`, a copy whose text names the supplier is refused with the words found."""
    # Readers accept a little before the header (a byte-order mark, a mail header) and after
    # the end; a file cut short has no end mark at all.
    if b"%PDF-" not in data[:1024]:
        raise PdfRefused(_("This file is not a PDF. Only PDF files can be attached."))
    if b"%%EOF" not in data[-65536:]:
        raise _damaged()  # cut short: qpdf would rebuild what it can, we want the whole file
    try:
        with pikepdf.open(io.BytesIO(data)) as source:
            if source.is_encrypted:
                raise PdfRefused(_("This PDF is password-protected. Attach an unprotected copy."))
            if len(source.objects) > settings.BID_ATTACHMENT_MAX_OBJECTS:
                raise _too_complex()
            pages = len(source.pages)
            if not pages:
                raise PdfRefused(_("This PDF has no pages."))
            if pages > settings.BID_ATTACHMENT_MAX_PAGES:
                raise PdfRefused(
                    _("This PDF has %(pages)s pages; attachments can have at most %(limit)s.")
                    % {"pages": pages, "limit": settings.BID_ATTACHMENT_MAX_PAGES}
                )
            _measure(source)
            _refuse_active_content(source)
            copy = _rebuild(source)
            drawn = _rewrite_contents(copy)
            output = io.BytesIO()
            copy.save(output, deterministic_id=True, compress_streams=True)
            content = output.getvalue()
            text = _readable(_text(content, copy) + "\n" + drawn)
    except PdfRefused:
        raise
    except pikepdf.PasswordError as exc:
        raise PdfRefused(_("This PDF is password-protected. Attach an unprotected copy.")) from exc
    except Exception as exc:  # broken files raise many kinds of errors in either parser
        logger.info("PDF refused as damaged: %s", type(exc).__name__)
        raise _damaged() from exc
    if identity:
        refuse_if_named(text, identity)
    return CleanPdf(
        content=content, sha256=hashlib.sha256(content).hexdigest(), pages=pages, text=text
    )


def refuse_if_named(text: str, identity: list[IdentityToken]) -> None:
    """Raise PdfRefused listing the words of `text` that give the supplier away."""
    found = [finding.value for finding in identity_matches([text], strong(identity))]
    if found:
        raise PdfRefused(
            _(
                "This PDF names you: %(found)s. Evaluators must not learn who you are; remove "
                "these from the document and attach it again."
            )
            % {"found": ", ".join(_("“%(word)s”") % {"word": value} for value in found[:10])},
            found=found,
        )
