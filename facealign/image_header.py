"""What an image file's header says before any pixel is decoded: its size and its EXIF orientation.

Both are read from the bytes of the file with no image library, so that a pixel bomb (a small file
that declares a huge image) is refused before a decoder allocates it, and so that phone photos stored
sideways are turned upright (OpenCV's ``IMREAD_UNCHANGED``, which facealign needs for 16-bit and alpha
files, ignores the EXIF orientation).

Formats: JPEG (SOFn marker; EXIF in the APP1 segment), PNG (IHDR; EXIF in the ``eXIf`` chunk), TIFF
(tags 256 / 257 / 274 of the first IFD), WebP (``VP8 `` / ``VP8L`` / ``VP8X`` chunk; EXIF in the ``EXIF``
chunk), BMP and the Netpbm family (PBM / PGM / PPM; no EXIF). Anything else, or a header that is cut
short, reads as "unknown" (``None`` / orientation 1): the decoder then has the last word.
"""

from __future__ import annotations

import re
import struct

import numpy as np

__all__ = ["apply_orientation", "exif_orientation", "header_size", "image_format"]

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, 0xD8, *range(0xD0, 0xD8)}
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_ORIENTATION = 256, 257, 274
_TIFF_TYPE_SIZE = {3: 2, 4: 4}  # SHORT, LONG: the only types these three tags use
_NETPBM = re.compile(rb"\AP[1-7](?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)")


def _tiff_tags(tiff: bytes, wanted: set[int]) -> dict[int, int]:
    """Integer values of the ``wanted`` tags in the first IFD of a TIFF structure (a TIFF file or an
    EXIF block); ``{}`` when it is not one or is cut short."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return {}
    end = "<" if tiff[:2] == b"II" else ">"
    magic, ifd = struct.unpack(end + "HI", tiff[2:8])
    if magic != 42 or ifd + 2 > len(tiff):
        return {}
    (count,) = struct.unpack(end + "H", tiff[ifd : ifd + 2])
    found: dict[int, int] = {}
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            break
        tag, kind, n = struct.unpack(end + "HHI", tiff[at : at + 8])
        if tag in wanted and kind in _TIFF_TYPE_SIZE and n >= 1:
            fmt = end + ("H" if kind == 3 else "I")
            found[tag] = struct.unpack(fmt, tiff[at + 8 : at + 8 + _TIFF_TYPE_SIZE[kind]])[0]
    return found


def _jpeg_segments(data: bytes):
    """``(marker, payload)`` of each JPEG header segment up to the first scan."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        yield marker, data[at + 4 : at + 2 + length]
        if marker == 0xDA or length < 2:  # start of scan: the header is over
            return
        at += 2 + length


def _chunks(data: bytes, kind: str):
    """``(name, payload)`` of each chunk of a PNG (length, name, payload, CRC; big-endian) or of a RIFF
    file such as WebP (name, length, payload padded to an even size; little-endian)."""
    png = kind == "png"
    at = 8 if png else 12
    while at + 8 <= len(data):
        length, name = struct.unpack(">I4s", data[at : at + 8]) if png else struct.unpack("<4sI", data[at : at + 8])[::-1]
        yield name, data[at + 8 : at + 8 + length]
        if name == b"IEND":
            return
        at += 8 + length + (4 if png else length & 1)


def image_format(data: bytes) -> str:
    """The format of a file's bytes by its signature: ``jpeg``, ``png``, ``tiff``, ``webp``, ``bmp``,
    ``netpbm``, or ``""`` for any other."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if _NETPBM.match(data[:4096]):
        return "netpbm"
    return ""


def header_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` the file's header declares, or ``None`` when the format is not one of the
    module's or the header is cut short. Reads the header only (no decoding)."""
    try:
        kind = image_format(data)
        if kind == "png" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if kind == "jpeg":
            for marker, seg in _jpeg_segments(data):
                if marker in _JPEG_SOF and len(seg) >= 5:
                    height, width = struct.unpack(">HH", seg[1:5])
                    return width, height
        if kind == "tiff":
            tags = _tiff_tags(data, {_TIFF_WIDTH, _TIFF_HEIGHT})
            if len(tags) == 2:
                return tags[_TIFF_WIDTH], tags[_TIFF_HEIGHT]
        if kind == "webp":
            return _webp_size(data)
        if kind == "bmp" and len(data) >= 26:
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
        if kind == "netpbm":
            m = _NETPBM.match(data[:4096])
            return int(m.group(1)), int(m.group(2))
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    for kind, chunk in _chunks(data, "webp"):
        if kind == b"VP8X" and len(chunk) >= 10:
            return 1 + int.from_bytes(chunk[4:7], "little"), 1 + int.from_bytes(chunk[7:10], "little")
        if kind == b"VP8 " and len(chunk) >= 10 and chunk[3:6] == b"\x9d\x01\x2a":
            width, height = struct.unpack("<HH", chunk[6:10])
            return width & 0x3FFF, height & 0x3FFF
        if kind == b"VP8L" and len(chunk) >= 5 and chunk[0] == 0x2F:
            bits = int.from_bytes(chunk[1:5], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def _exif_block(data: bytes, kind: str) -> bytes:
    """The TIFF structure of the file's EXIF data (``b""`` when it has none)."""
    if kind == "tiff":
        return data
    if kind not in ("jpeg", "png", "webp"):
        return b""
    for name, payload in _jpeg_segments(data) if kind == "jpeg" else _chunks(data, kind):
        if (name == 0xE1 and payload[:6] == b"Exif\x00\x00") or name in (b"eXIf", b"EXIF"):
            return payload[6:] if payload[:6] == b"Exif\x00\x00" else payload
    return b""


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1 to 8) of a JPEG / PNG / TIFF / WebP file's bytes; 1 (upright) when the
    file has none or it is unreadable. 6: the stored image must turn 90 degrees clockwise to display."""
    try:
        value = _tiff_tags(_exif_block(data, image_format(data)), {_TIFF_ORIENTATION}).get(_TIFF_ORIENTATION, 1)
    except struct.error:
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels ``(H, W, ...)`` turned to the displayed frame of EXIF ``orientation``
    (TIFF 6.0 / EXIF 2.3 tag 274): 2 mirror, 3 turn 180, 4 flip, 5 transpose, 6 turn 90 clockwise,
    7 transverse, 8 turn 90 counter-clockwise; 1 (or anything else) unchanged."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: a[::-1].swapaxes(0, 1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: a[:, ::-1].swapaxes(0, 1),
    }
    op = ops.get(orientation)
    return image if op is None else np.ascontiguousarray(op(image))
