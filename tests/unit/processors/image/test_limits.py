"""Image headers read without decoding (issue 25, finding 3): the format from the magic bytes, the size
from the header, as OpenCV's own encoders write them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from processors.image.limits import ImageHeader, ImageLimits, ImageRefused, read_header

WIDTH, HEIGHT = 321, 123


def _encoded(extension: str, *params: int) -> bytes:
    ok, data = cv2.imencode(extension, np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8), list(params))
    assert ok
    return bytes(data.tobytes())


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (_encoded(".png"), "png"),
        (_encoded(".jpg"), "jpeg"),
        (_encoded(".jpg", cv2.IMWRITE_JPEG_PROGRESSIVE, 1), "jpeg"),
        (_encoded(".webp", cv2.IMWRITE_WEBP_QUALITY, 80), "webp"),  # lossy: VP8
        (_encoded(".webp", cv2.IMWRITE_WEBP_QUALITY, 101), "webp"),  # lossless: VP8L
    ],
    ids=["png", "jpeg", "jpeg-progressive", "webp-lossy", "webp-lossless"],
)
def test_the_header_gives_the_format_and_size(data: bytes, kind: str) -> None:
    assert read_header(data) == ImageHeader(kind, WIDTH, HEIGHT)


def test_an_extended_webp_gives_its_canvas() -> None:
    vp8x = b"VP8X" + (10).to_bytes(4, "little") + b"\x10\x00\x00\x00" + (4999).to_bytes(3, "little")
    data = b"RIFF" + (100).to_bytes(4, "little") + b"WEBP" + vp8x + (2999).to_bytes(3, "little")
    assert read_header(data) == ImageHeader("webp", 5000, 3000)


@pytest.mark.parametrize(
    "data",
    [
        _encoded(".tiff"),
        _encoded(".bmp"),
        b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 40,  # JPEG 2000
        b"GIF89a" + b"\x00" * 20,
        b"plain text",
        b"",
    ],
    ids=["tiff", "bmp", "jpeg2000", "gif", "text", "empty"],
)
def test_other_formats_are_refused_by_their_magic_bytes(data: bytes) -> None:
    with pytest.raises(ImageRefused, match=r"it is not a JPEG, PNG or WebP image"):
        read_header(data)


def test_a_jpeg_whose_scan_comes_before_any_frame_header_is_refused() -> None:
    with pytest.raises(ImageRefused, match="JPEG header is damaged"):
        read_header(b"\xff\xd8\xff\xe0\x00\x04ab\xff\xda\x00\x02")


def test_the_limits_name_what_they_refuse() -> None:
    limits = ImageLimits(max_bytes=2 * 1024 * 1024, max_pixels=WIDTH * HEIGHT - 1)
    with pytest.raises(ImageRefused, match=r"^it is 321 x 123 pixels; I take images up to 0\.039482 megapixels$"):
        limits.check(_encoded(".png"))
    with pytest.raises(ImageRefused, match=r"^it is 3\.1 MB; I take images up to 2 MB$"):
        limits.check_size(3 * 1024 * 1024 + 5)
    assert ImageLimits().check(_encoded(".jpg")).pixels == WIDTH * HEIGHT
