"""scripts/pack_groups.py: the group photos, their boxes and pseudo-labels packed for a GPU machine and
read back: photos downscaled to the longest side asked, labels equal, coordinates scaled exactly."""

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from facealign.codecs.bottomup import BottomUpCodec
from facealign.data.group_photos import GroupPhoto, GroupPhotoDataset, pseudo_labels_json, read_group_boxes, read_pseudo_labels
from facealign.data.transforms import AugmentConfig
from facealign.engine.bottomup_trainer import _held_out
from facealign.imageio import read_image

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ROOT.parent / "shared" / "data" / "groups"
FACES = ROOT.parent / "shared" / "data" / "faces"
needs_groups = pytest.mark.skipif(not (GROUPS / "boxes.csv").is_file(), reason="shared groups not present")
NAMES = ["images/10001.jpg", "images/10011.jpg", "images/10012.jpg"]  # 612 x 408, 612 x 446, 612 x 352


def _script():
    spec = importlib.util.spec_from_file_location("_pack_groups", ROOT / "scripts" / "pack_groups.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def _labels() -> list[GroupPhoto]:
    """A stand-in 68-point face (a diagonal) in each hand-drawn box but the last, an ignore region."""
    boxes = read_group_boxes(GROUPS / "boxes.csv")
    t = np.linspace(0.2, 0.8, 68)[:, None]
    out = []
    for name in NAMES:
        b = boxes[name]
        out.append(GroupPhoto(name, np.stack([bx[:2] + t * (bx[2:] - bx[:2]) for bx in b[:-1]]), b[:-1], b[-1:]))
    return out


@needs_groups
def test_pack_unpack_round_trip_scales_labels_exactly(tmp_path):
    script = _script()
    labels = _as_cached(tmp_path, _labels())  # as the cache file holds them (0.01 px)
    with zipfile.ZipFile(tmp_path / "g.zip", "w") as z:
        down = script.pack_groups(z, groups=GROUPS, labels=labels, teacher="test", max_side=352, quality=70, names=NAMES)
    assert down == 3
    with zipfile.ZipFile(tmp_path / "g.zip") as z:
        assert sorted(z.namelist()) == sorted(["groups/boxes.csv", "groups_pseudo.json"] + [f"groups/{n}" for n in NAMES])
        z.extractall(tmp_path / "u")
    root = tmp_path / "u/groups"
    # 612 x 408 at 352 / 612: 352 x round(234.67) = 352 x 235, so s = (352 / 612, 235 / 408)
    assert read_image(root / NAMES[0]).shape == (235, 352, 3)
    s = np.array([352 / 612, 235 / 408])
    boxes = read_group_boxes(root / "boxes.csv")
    assert list(boxes) == NAMES
    np.testing.assert_allclose(boxes[NAMES[0]][0], [192 * s[0], 199 * s[1], 230 * s[0], 235 * s[1]], atol=0.005)
    packed = read_pseudo_labels(tmp_path / "u/groups_pseudo.json", num_points=68)
    assert [p.image for p in packed] == NAMES
    for orig, new in zip(labels, packed):
        h, w = read_image(GROUPS / orig.image).shape[:2]
        hh, ww = read_image(root / new.image).shape[:2]
        assert max(hh, ww) == 352
        sc = np.array([ww / w, hh / h])
        assert new.faces.shape == orig.faces.shape and len(new.ignore) == len(orig.ignore) == 1
        np.testing.assert_allclose(new.faces, (orig.faces + 0.5) * sc - 0.5, atol=0.005)  # pixel centres
        np.testing.assert_allclose(new.ignore, orig.ignore * np.tile(sc, 2), atol=0.005)  # box edges
        assert np.array_equal(new.boxes, boxes[new.image][:-1])  # the labels' boxes are boxes.csv's to the digit
    # the trainer's held-out photo finds the teacher's faces in the packed boxes as in the original ones
    val = _held_out(packed, NAMES[1:2], boxes, root)[0]
    assert len(val.boxes) == len(labels[1].boxes) + 1 and all(f is not None for f in val.teacher[:-1]) and val.teacher[-1] is None
    # and the inference letterbox (a training crop at zoom 1) puts the points where it puts the original's
    codec = BottomUpCodec(input_size=256, heatmap_size=64, num_points=68, sigma=1.0)
    kw = dict(scheme="68", size=256, codec=codec, max_faces=8, zoom=(1.0, 1.0), flip_prob=0.0, augment=AugmentConfig.none())
    a = GroupPhotoDataset(labels, root=GROUPS, **kw).crop(0)
    b = GroupPhotoDataset(packed, root=root, **kw).crop(0)
    assert a[0].shape == b[0].shape == (256, 256, 3)
    np.testing.assert_allclose(np.stack(b[1]), np.stack(a[1]), atol=0.02)
    np.testing.assert_allclose(b[2], a[2], atol=0.02)


def _as_cached(tmp_path: Path, photos: list[GroupPhoto]) -> list[GroupPhoto]:
    p = tmp_path / "labels.json"
    p.write_text(pseudo_labels_json(photos, teacher="test"))
    return read_pseudo_labels(p, num_points=68)


@pytest.mark.skipif(not (FACES / "train68.txt").is_file(), reason="shared faces not present")
def test_face_lists_keep_the_first_rows_with_points_on_the_packed_photos(tmp_path):
    script = _script()
    with zipfile.ZipFile(tmp_path / "f.zip", "w") as z:
        n = script.pack_face_lists(z, faces=FACES, train=3, val=2, max_iod=32.0, quality=70)
    with zipfile.ZipFile(tmp_path / "f.zip") as z:
        z.extractall(tmp_path / "u")
    rows = {k: (tmp_path / "u/faces" / k).read_text().splitlines() for k in ("train68.txt", "val68.txt")}
    assert [len(rows["train68.txt"]), len(rows["val68.txt"])] == [3, 2] and n == len({r.split()[0] for v in rows.values() for r in v})
    originals = (FACES / "train68.txt").read_text().splitlines()[:3]
    for row, orig in zip(rows["train68.txt"], originals):
        assert row.split()[0] == orig.split()[0]
        pts = np.asarray(row.split()[1:], dtype=np.float64).reshape(68, 2)
        old = np.asarray(orig.split()[1:], dtype=np.float64).reshape(68, 2)
        h, w = read_image(tmp_path / "u/faces" / row.split()[0]).shape[:2]
        assert (pts >= -0.5).all() and (pts[:, 0] <= w - 0.5).all() and (pts[:, 1] <= h - 0.5).all()
        # a similarity up to resize rounding: the shape keeps its proportions, the eye distance is at most 32 px
        iod = np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0))
        old_iod = np.linalg.norm(old[36:42].mean(0) - old[42:48].mean(0))
        assert iod <= 32.0 * 1.02
        np.testing.assert_allclose((pts - pts.mean(0)) / iod, (old - old.mean(0)) / old_iod, atol=0.02)
