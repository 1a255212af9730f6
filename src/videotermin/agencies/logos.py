"""Logos as an agency uploads them, made safe to serve: a PNG checked chunk by chunk, an SVG
rebuilt from an allow-list of elements and attributes.

Pillow and defusedxml are not dependencies, and a logo needs neither: the standard library
reads a PNG's chunks, checks their CRCs and inflates its image data to the size the header
promises, and expat (with the doctype refused) parses the SVG.
"""

import gzip
import hashlib
import re
import struct
import zlib
from dataclasses import dataclass
from typing import NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PNG = "image/png"
SVG = "image/svg+xml"
EXTENSIONS = {PNG: "png", SVG: "svg"}

# The citizen's first visit may weigh 100 KB compressed, the logo included; the pages, scripts
# and styles take about 77 KB today, so the logo may add at most 20 KB as sent.
PNG_MAX_BYTES = 20 * 1024
SVG_MAX_BYTES = 50 * 1024
SVG_MAX_COMPRESSED = 20 * 1024
MAX_PIXELS = 1000

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Text, time and Exif chunks can carry an author's name or a device; the logo needs none.
PNG_DROPPED_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"}
# Channels per pixel by colour type: grey, RGB, palette, grey+alpha, RGBA.
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Interlaced images come in seven passes: first column and row, and the steps between them.
ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# Shapes, text, grouping, paint servers and a few filter primitives: nothing that loads,
# scripts, animates (an animation can set an href) or embeds another document.
SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "symbol",
        "use",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "style",
        "filter",
        "feGaussianBlur",
        "feOffset",
        "feBlend",
        "feColorMatrix",
        "feFlood",
        "feComposite",
        "feMerge",
        "feMergeNode",
        "feDropShadow",
    ]
)
SVG_ATTRIBUTES = frozenset(
    [
        "id",
        "class",
        "d",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "dx",
        "dy",
        "width",
        "height",
        "viewBox",
        "preserveAspectRatio",
        "points",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-opacity",
        "opacity",
        "clip-path",
        "clip-rule",
        "mask",
        "filter",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "letter-spacing",
        "word-spacing",
        "text-decoration",
        "gradientUnits",
        "gradientTransform",
        "offset",
        "stop-color",
        "stop-opacity",
        "spreadMethod",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "clipPathUnits",
        "maskUnits",
        "maskContentUnits",
        "filterUnits",
        "primitiveUnits",
        "style",
        "version",
        "rotate",
        "textLength",
        "lengthAdjust",
        "color",
        "display",
        "visibility",
        "overflow",
        "stdDeviation",
        "in",
        "in2",
        "result",
        "mode",
        "values",
        "type",
        "operator",
        "k1",
        "k2",
        "k3",
        "k4",
        "flood-color",
        "flood-opacity",
        "vector-effect",
    ]
)
TEXT_ELEMENTS = frozenset({"title", "desc", "text", "tspan", "textPath", "style"})
# In a style: no url() at all, no @import, no escapes that could spell either.
UNSAFE_CSS = re.compile(r"url\s*\(|@import|expression\s*\(|javascript:|\\", re.IGNORECASE)
# In a presentation attribute, url() may only name a fragment of the logo itself.
URL_REFERENCE = re.compile(r"url\s*\(\s*['\"]?([^)'\"]*)", re.IGNORECASE)
LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$")


@dataclass(frozen=True)
class Logo:
    """A checked logo: the bytes to store and serve, and its natural size in pixels."""

    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_logo(data: bytes) -> Logo:
    """The logo in `data`, PNG or SVG by its content (never by its name), made safe."""
    if data.startswith(PNG_SIGNATURE):
        return read_png(data)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return read_svg(data)
    raise ValidationError(_("The logo must be a PNG or an SVG file."), code="type")


def read_png(data: bytes) -> Logo:
    if len(data) > PNG_MAX_BYTES:
        raise ValidationError(
            _("A PNG logo may be at most %(limit)d KB; this one has %(size)d KB.")
            % {"limit": PNG_MAX_BYTES // 1024, "size": -(-len(data) // 1024)},
            code="size",
        )
    broken = ValidationError(_("This PNG file is damaged or incomplete."), code="broken")
    chunks: list[tuple[bytes, bytes]] = []
    position = len(PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise broken
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(
            ">I", data[position + 8 + length : position + 12 + length] or b"\0" * 4
        )
        if len(body) != length or zlib.crc32(kind + body) != crc:
            raise broken
        chunks.append((kind, body))
        position += 12 + length
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND" or len(chunks[0][1]) != 13:
        raise broken
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    if colour not in PNG_CHANNELS or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        raise broken
    _check_pixels(width, height)
    # Inflate the image data, never more than the header allows: the picture is really there
    # and is no decompression bomb.
    bits = PNG_CHANNELS[colour] * depth
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    expected = 0
    for x, y, step_x, step_y in passes:
        columns, rows = -(-(width - x) // step_x), -(-(height - y) // step_y)
        if columns > 0 and rows > 0:
            expected += rows * ((columns * bits + 7) // 8 + 1)
    inflater = zlib.decompressobj()
    try:
        pixels = inflater.decompress(
            b"".join(body for kind, body in chunks if kind == b"IDAT"), expected + 1
        )
    except zlib.error as error:
        raise broken from error
    if not inflater.eof or len(pixels) != expected:
        raise broken
    kept = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
        if kind not in PNG_DROPPED_CHUNKS
    )
    return Logo(PNG_SIGNATURE + kept, PNG, width, height)


def read_svg(data: bytes) -> Logo:
    if len(data) > SVG_MAX_BYTES:
        raise ValidationError(
            _("An SVG logo may be at most %(limit)d KB; this one has %(size)d KB.")
            % {"limit": SVG_MAX_BYTES // 1024, "size": -(-len(data) // 1024)},
            code="size",
        )
    root = _parse_svg(data)
    if root.name != "svg":
        raise ValidationError(_("This file is not an SVG image."), code="type")
    width, height = _svg_size(root.attributes)
    _check_pixels(width, height)
    clean = _serialise(root).encode()
    if len(gzip.compress(clean, 9)) > SVG_MAX_COMPRESSED:
        raise ValidationError(
            _("This SVG logo would add more than %(limit)d KB to a citizen's first visit.")
            % {"limit": SVG_MAX_COMPRESSED // 1024},
            code="size",
        )
    return Logo(clean, SVG, width, height)


def _check_pixels(width: int, height: int) -> None:
    if width > MAX_PIXELS or height > MAX_PIXELS:
        raise ValidationError(
            _(
                "A logo may be at most %(limit)d × %(limit)d pixels; this one has "
                "%(width)d × %(height)d."
            )
            % {"limit": MAX_PIXELS, "width": width, "height": height},
            code="pixels",
        )


@dataclass
class _Node:
    name: str
    attributes: dict[str, str]
    children: list["_Node | str"]
    keep: bool


def _parse_svg(data: bytes) -> _Node:
    """The document's SVG elements; a doctype (and with it every entity) is refused outright."""
    refused = ValidationError(
        _("The SVG file contains a document type or entities, which are not allowed."),
        code="doctype",
    )

    def refuse(*args: object) -> NoReturn:
        raise refused

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    document = _Node("", {}, [], True)
    stack = [document]

    def start(tag: str, attributes: dict[str, str]) -> None:
        namespace, _space, name = tag.rpartition(" ")
        parent = stack[-1]
        node = _Node(
            name,
            _safe_attributes(attributes),
            [],
            keep=parent.keep and namespace == SVG_NS and name in SVG_ELEMENTS,
        )
        if node.keep:
            parent.children.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text(content: str) -> None:
        node = stack[-1]
        if node.keep and node.name in TEXT_ELEMENTS:
            node.children.append(content)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except ValidationError:
        raise
    except expat.ExpatError as error:
        raise ValidationError(
            _("This SVG file cannot be read: %(error)s") % {"error": expat.ErrorString(error.code)},
            code="broken",
        ) from error
    elements = [child for child in document.children if isinstance(child, _Node)]
    if not elements:
        raise ValidationError(_("This file is not an SVG image."), code="type")
    root = elements[0]
    _drop_unsafe_styles(root)
    return root


def _safe_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """The allowed attributes: no event handler (none is on the list), no link to elsewhere."""
    kept = {}
    for qualified, value in attributes.items():
        namespace, _space, name = qualified.rpartition(" ")
        if name == "href" and namespace in ("", XLINK_NS):
            # Only a fragment of the logo itself (a gradient, a symbol): never a URL or javascript:.
            if re.fullmatch(r"#[A-Za-z_][\w.-]*", value.strip()):
                kept["xlink:href" if namespace else "href"] = value.strip()
            continue
        if namespace == XML_NS and name == "space":
            kept["xml:space"] = value
            continue
        if namespace or name not in SVG_ATTRIBUTES:
            continue
        if name == "style":
            if not UNSAFE_CSS.search(value):
                kept[name] = value
            continue
        if any(not target.strip().startswith("#") for target in URL_REFERENCE.findall(value)):
            continue
        if "javascript:" in value.lower():
            continue
        kept[name] = value
    return kept


def _drop_unsafe_styles(node: _Node) -> None:
    node.children = [
        child
        for child in node.children
        if not (
            isinstance(child, _Node)
            and child.name == "style"
            and UNSAFE_CSS.search("".join(c for c in child.children if isinstance(c, str)))
        )
    ]
    for child in node.children:
        if isinstance(child, _Node):
            _drop_unsafe_styles(child)


def _svg_size(attributes: dict[str, str]) -> tuple[int, int]:
    """The logo's size in pixels from width and height, else from its viewBox."""
    width, height = (
        LENGTH.match(attributes.get("width", "")),
        LENGTH.match(attributes.get("height", "")),
    )
    if width and height:
        size = float(width.group(1)), float(height.group(1))
    else:
        parts = re.split(r"[\s,]+", attributes.get("viewBox", "").strip())
        try:
            size = float(parts[2]), float(parts[3])
        except (IndexError, ValueError):
            size = (0.0, 0.0)
    if size[0] <= 0 or size[1] <= 0:
        raise ValidationError(
            _("The SVG logo gives no size: it needs a viewBox or a width and a height."),
            code="no_size",
        )
    return max(1, round(size[0])), max(1, round(size[1]))


def _serialise(root: _Node) -> str:
    def element(node: _Node) -> str:
        attributes = "".join(
            f" {name}={quoteattr(value)}" for name, value in node.attributes.items()
        )
        inner = "".join(
            escape(child) if isinstance(child, str) else element(child) for child in node.children
        )
        return f"<{node.name}{attributes}>{inner}</{node.name}>"

    body = element(root)
    namespaces = f' xmlns="{SVG_NS}"'
    if "xlink:href" in body:
        namespaces += f' xmlns:xlink="{XLINK_NS}"'
    return f"<svg{namespaces}{body[len('<svg') :]}"
