"""What the image worker agrees to decode: JPEG, PNG or WebP, within a byte and a pixel limit.

A decoder allocates the whole picture before it reads a pixel: a 20,000 x 20,000 PNG of a few hundred KB
becomes 1.2 GB. So the format comes from the file's magic bytes (never from the MIME type a client
claims: OpenCV would otherwise reach its TIFF or JPEG 2000 decoders) and the size from its header, both
read here in pure Python, before any decoder runs. Data over the byte limit is refused, never cut to fit.
The bot shares this module (it ships no OpenCV).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from ganger.errors import GangerError

FORMATS = "JPEG, PNG or WebP"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000  # 120 MB decoded (BGR), twice that with the annotated copy
_PNG = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers (baseline, progressive, lossless, arithmetic...); not DHT (C4), JPG (C8), DAC (CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0..7 carry no length


class ImageRefused(GangerError, ValueError):
    """The data is not an image the worker decodes, or it is over a limit; ``reason`` is fit for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ImageHeader:
    format: str  # "jpeg", "png" or "webp"
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS

    def check_size(self, size: int) -> None:
        """Refuse ``size`` bytes over the limit (before they are read, when the size is known)."""
        if size > self.max_bytes:
            raise ImageRefused(f"it is {_amount(size, up=True)}; I take images up to {_amount(self.max_bytes)}")

    def check(self, data: bytes) -> ImageHeader:
        """The image's header, or ImageRefused naming the format or the limit it breaks."""
        self.check_size(len(data))
        header = read_header(data)
        if header.pixels > self.max_pixels:
            raise ImageRefused(
                f"it is {header.width} x {header.height} pixels; "
                f"I take images up to {self.max_pixels / 1e6:g} megapixels"
            )
        return header


def read_header(data: bytes) -> ImageHeader:
    """Format and dimensions from the magic bytes and the header; ImageRefused for anything else."""
    if data.startswith(_PNG):
        return _png(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    raise ImageRefused(f"it is not a {FORMATS} image")


def _png(data: bytes) -> ImageHeader:
    if data[12:16] != b"IHDR" or len(data) < 24:
        raise ImageRefused("its PNG header is damaged")
    width, height = struct.unpack(">II", data[16:24])
    return _sized("png", width, height)


def _jpeg(data: bytes) -> ImageHeader:
    """Walk the markers to the first start-of-frame (its height and width); scan data before it is refused."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan: no frame header came first
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return _sized("jpeg", width, height)
        if length < 2:
            break
        at += 2 + length
    raise ImageRefused("its JPEG header is damaged")


def _webp(data: bytes) -> ImageHeader:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:  # extended: the canvas size, 24-bit minus one
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return _sized("webp", width, height)
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame
        width, height = struct.unpack("<HH", data[26:30])
        return _sized("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:  # lossless: 14-bit sizes minus one
        bits = int.from_bytes(data[21:25], "little")
        return _sized("webp", 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    raise ImageRefused("its WebP header is damaged")


def _sized(kind: str, width: int, height: int) -> ImageHeader:
    if width <= 0 or height <= 0:
        raise ImageRefused(f"its {kind.upper()} header gives no size")
    return ImageHeader(kind, width, height)


def _amount(size: int, up: bool = False) -> str:
    """``20 MB``, ``87.1 KB``: to a tenth, rounded up for a size and down for a limit, so a size over a
    limit never reads as the same number."""
    unit, scale = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    tenths = (math.ceil if up else math.floor)(size * 10 / scale)
    return f"{tenths / 10:g} {unit}"
