"""Image headers read without decoding: EXIF orientation of every format that carries it, declared
sizes, and the pixel limit that refuses a pixel bomb before it is decoded."""

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from facealign import imageio
from facealign.image_header import apply_orientation, exif_orientation, header_size
from facealign.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"
REPO = Path(__file__).resolve().parents[1]


def _with_orientation(rgb: np.ndarray, fmt: str, orientation: int) -> bytes:
    """``rgb`` saved by Pillow (an encoder independent of the code under test) with EXIF tag 274."""
    exif = Image.Exif()
    exif[274] = orientation
    extra = {"JPEG": {"quality": 100}, "WEBP": {"lossless": True}}.get(fmt, {})
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, exif=exif.tobytes(), **extra)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_every_orientation_of_every_format_reads_as_pillow_displays_it(tmp_path, fmt):
    rgb = np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    for orientation in range(1, 9):
        data = _with_orientation(rgb, fmt, orientation)
        assert exif_orientation(data) == orientation
        assert header_size(data) == (9, 6)
        path = tmp_path / f"o{orientation}.{fmt.lower()}"
        path.write_bytes(data)
        shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
        got = read_image(path)
        assert got.shape == shown.shape, (fmt, orientation)
        tolerance = 40 if fmt == "JPEG" else 0  # JPEG at quality 100 still rounds colours
        assert np.abs(got.astype(int) - shown).max() <= tolerance, (fmt, orientation)


def test_apply_orientation_hand_worked():
    a = np.array([[1, 2, 3], [4, 5, 6]])  # stored 2 x 3
    assert apply_orientation(a, 1).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert apply_orientation(a, 2).tolist() == [[3, 2, 1], [6, 5, 4]]
    assert apply_orientation(a, 3).tolist() == [[6, 5, 4], [3, 2, 1]]
    assert apply_orientation(a, 4).tolist() == [[4, 5, 6], [1, 2, 3]]
    assert apply_orientation(a, 5).tolist() == [[1, 4], [2, 5], [3, 6]]
    assert apply_orientation(a, 6).tolist() == [[4, 1], [5, 2], [6, 3]]  # turned 90 degrees clockwise
    assert apply_orientation(a, 7).tolist() == [[6, 3], [5, 2], [4, 1]]
    assert apply_orientation(a, 8).tolist() == [[3, 6], [2, 5], [1, 4]]  # turned counter-clockwise


def test_no_exif_or_garbage_reads_as_upright():
    jpeg = (SAMPLES / "300w/einstein.jpg").read_bytes()
    assert exif_orientation(jpeg) == 1
    assert exif_orientation(b"") == 1 and exif_orientation(b"\xff\xd8\xff\xe1\x00") == 1
    assert exif_orientation(jpeg[:40]) == 1
    assert header_size(b"not an image") is None and header_size(b"\x89PNG\r\n\x1a\n") is None


def test_header_sizes_of_real_files_match_the_decoder():
    for path in [SAMPLES / "300w/einstein.jpg", SAMPLES / "300w/indoor_020.png", SAMPLES / "300w/takeo.ppm"]:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert header_size(path.read_bytes()) == (img.shape[1], img.shape[0]), path.name
    img = cv2.imread(str(SAMPLES / "300w/einstein.jpg"))
    for ext in [".bmp", ".webp", ".tiff", ".pgm"]:
        ok, buf = cv2.imencode(ext, img if ext != ".pgm" else img[..., 0])
        assert ok and header_size(buf.tobytes()) == (img.shape[1], img.shape[0]), ext
    ok, buf = cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, 101])  # lossless: the VP8L header
    assert header_size(buf.tobytes()) == (img.shape[1], img.shape[0])


def _blank_png(width: int, height: int) -> bytes:
    """A valid all-black 8-bit gray PNG, made chunk by chunk (a 20000 x 20000 one is 389 KB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    rows = 100
    idat = b"".join(z.compress(bytes((width + 1) * rows)) for _ in range(height // rows)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_pixel_limit_refuses_before_decoding(tmp_path, monkeypatch):
    small = tmp_path / "3000.png"
    small.write_bytes(_blank_png(3000, 3000))
    assert read_image(small).shape == (3000, 3000, 3)
    monkeypatch.setattr(imageio, "MAX_PIXELS", 1_000_000)
    with pytest.raises(ValueError, match=r"3000\.png: 3000 x 3000 = 9,000,000 pixels is above the limit of 1,000,000 "):
        read_image(small)
    assert read_image(small, max_pixels=9_000_000).shape == (3000, 3000, 3)


def test_a_pixel_bomb_is_refused_without_allocating_it(tmp_path):
    """20000 x 20000 (400 MP, 1.2 GB as RGB) in a 389 KB file: refused by its header; the process's
    peak memory (VmHWM: this process's own, unlike ru_maxrss, which execve carries over from pytest)
    stays far below the image's size."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_blank_png(20000, 20000))
    assert bomb.stat().st_size < 500_000
    code = (
        "import re, sys\nfrom facealign.imageio import read_image\n"
        "try:\n    read_image(sys.argv[1])\nexcept ValueError as e:\n    print(e)\n"
        "print(int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, env=env, timeout=120)
    message, peak_mb = out.stdout.strip().splitlines()
    assert "bomb.png: 20000 x 20000 = 400,000,000 pixels is above the limit of 250,000,000" in message
    assert int(peak_mb) < 600, peak_mb  # torch + numpy + cv2 imported: ~400 MB; the image alone would be 1200


def test_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("FACEALIGN_MAX_PIXELS", "2e6")
    assert imageio._env_max_pixels() == 2_000_000
    monkeypatch.setenv("FACEALIGN_MAX_PIXELS", "")
    assert imageio._env_max_pixels() == imageio.DEFAULT_MAX_PIXELS == 250_000_000
    for bad in ("lots", "0"):
        monkeypatch.setenv("FACEALIGN_MAX_PIXELS", bad)
        with pytest.raises(ValueError, match=f"FACEALIGN_MAX_PIXELS must be"):
            imageio._env_max_pixels()
