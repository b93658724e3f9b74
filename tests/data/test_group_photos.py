"""Real group photos: boxes.csv and pseudo-label files, the crops of GroupPhotoDataset, ignore cells,
and the pseudo-labelling script's rule on a real photo."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from facealign.bottomup import letterbox
from facealign.codecs import BottomUpCodec
from facealign.data.group_photos import GroupPhoto, GroupPhotoDataset, pseudo_labels_json, read_group_boxes, read_pseudo_labels
from facealign.imageio import read_image
from facealign.card import IMAGENET_MEAN

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ROOT.parent / "shared" / "data" / "groups"
needs_groups = pytest.mark.skipif(not (GROUPS / "boxes.csv").is_file(), reason="shared groups not present")
PHOTO = "images/10001.jpg"


def test_read_group_boxes_and_its_errors(tmp_path) -> None:
    p = tmp_path / "boxes.csv"
    p.write_text("image,x1,y1,x2,y2\na.jpg,1,2,11,22\nb.jpg,0,0,5,5\na.jpg,3,3,4,4\n")
    boxes = read_group_boxes(p)
    np.testing.assert_array_equal(boxes["a.jpg"], [[1, 2, 11, 22], [3, 3, 4, 4]])
    assert list(boxes) == ["a.jpg", "b.jpg"]
    p.write_text("image,x1,y1,x2,y2\na.jpg,1,2,11,22\na.jpg,5,2,1,22\n")
    with pytest.raises(ValueError, match=r"boxes.csv:3: expected a finite box with x2 > x1"):
        read_group_boxes(p)
    p.write_text("image,x1,y1,x2,y2\na.jpg,1,2,eleven,22\n")
    with pytest.raises(ValueError, match=r"boxes.csv:2: expected numbers for x1,y1,x2,y2"):
        read_group_boxes(p)
    p.write_text("name,x,y\n")
    with pytest.raises(ValueError, match=r"boxes.csv:1: expected the header image,x1,y1,x2,y2"):
        read_group_boxes(p)


def test_pseudo_labels_round_trip_and_errors(tmp_path) -> None:
    faces = np.arange(2 * 68 * 2, dtype=float).reshape(2, 68, 2) / 3
    photos = [
        GroupPhoto("images/1.jpg", faces, np.array([[0, 0, 9, 9], [1, 1, 5, 5.0]]), np.zeros((0, 4))),
        GroupPhoto("images/2.jpg", np.zeros((0, 68, 2)), np.zeros((0, 4)), np.array([[1, 2, 3, 4.0]])),
    ]
    p = tmp_path / "labels.json"
    p.write_text(pseudo_labels_json(photos, teacher="test"))
    back = read_pseudo_labels(p, num_points=68)
    assert [b.image for b in back] == ["images/1.jpg", "images/2.jpg"]
    np.testing.assert_allclose(back[0].faces, np.round(faces, 2))
    assert back[1].faces.shape == (0, 68, 2) and back[1].ignore.tolist() == [[1, 2, 3, 4]]
    p.write_text('{"format": "facealign-group-pseudo-labels/1", "photos": [{"image": "x.jpg", "faces": [], "boxes": [[1, 2, 3, 4]], "ignore": []}]}')
    with pytest.raises(ValueError, match=r"photo 0 \(x.jpg\): 0 faces but 1 boxes"):
        read_pseudo_labels(p, num_points=68)
    p.write_text("[]")
    with pytest.raises(ValueError, match="expected a pseudo-label file of format"):
        read_pseudo_labels(p)


def test_ignore_cells_hand_worked() -> None:
    # stride 4: cell centres at input x = 1.5, 5.5, 9.5, 13.5; box [0, 0, 6, 6] holds centres 1.5 and 5.5
    codec = BottomUpCodec(input_size=16, heatmap_size=4, num_points=5)
    cells = codec.ignore_cells(np.array([[0, 0, 6, 6], [9, 13, 10, 14]]))
    want = np.zeros((4, 4), dtype=bool)
    want[:2, :2] = True
    want[3, 2] = True  # second box: x 9.5 in [9, 10], y 13.5 in [13, 14]
    np.testing.assert_array_equal(cells, want)
    assert not codec.ignore_cells(np.zeros((0, 4))).any()


@needs_groups
def test_crop_at_zoom_one_is_the_letterbox_and_flip_mirrors_points_and_ignore() -> None:
    rgb = read_image(GROUPS / PHOTO)
    pts = np.stack([np.linspace(100, 200, 68), np.linspace(150, 250, 68)], axis=1)
    photo = GroupPhoto(PHOTO, pts[None], np.array([[90.0, 140, 210, 260]]), np.array([[300.0, 100, 400, 200]]))
    codec = BottomUpCodec(input_size=256, heatmap_size=64, num_points=68)
    kw = dict(root=GROUPS, scheme="68", size=256, codec=codec, max_faces=4, zoom=(1.0, 1.0))
    plain = GroupPhotoDataset([photo], flip_prob=0.0, **kw)
    canvas, points, ignore = plain.crop(0)
    boxed, m = letterbox(rgb, 256, fill=IMAGENET_MEAN)
    assert np.abs(canvas.astype(int) - boxed.astype(int)).max() <= 1
    np.testing.assert_allclose(points[0], pts @ m[:, :2].T + m[:, 2], atol=1e-9)
    np.testing.assert_allclose(ignore[0], [300 * m[0, 0] + m[0, 2] + 0.5 - 0.5 * m[0, 0], 100 * m[1, 1] + m[1, 2] + 0.5 - 0.5 * m[1, 1],
                                           400 * m[0, 0] + m[0, 2] + 0.5 - 0.5 * m[0, 0], 200 * m[1, 1] + m[1, 2] + 0.5 - 0.5 * m[1, 1]])
    flipped = GroupPhotoDataset([photo], flip_prob=1.0, **kw)
    fcanvas, fpoints, fignore = flipped.crop(0)
    np.testing.assert_array_equal(fcanvas, canvas[:, ::-1])
    np.testing.assert_allclose(fpoints[0], get_flip(points[0]), atol=1e-9)
    np.testing.assert_allclose(fignore[0, [0, 2]], 255 - ignore[0, [2, 0]], atol=1e-9)
    a, b = plain[0], flipped[0]
    np.testing.assert_array_equal(b["ignore"].numpy(), a["ignore"].numpy()[:, ::-1])
    assert a["ignore"].any() and int(a["num_faces"]) == 1 and a["points"].shape == (4, 68, 2)
    assert (a["instance"] == 1).any() and float(a["segmentation"].max()) > 0.9


def get_flip(points: np.ndarray) -> np.ndarray:
    from facealign.landmarks import get_scheme

    return get_scheme("68").flip(points, 256)


def _script():
    spec = importlib.util.spec_from_file_location("_pseudo", ROOT / "scripts" / "pseudo_label_groups.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


@needs_groups
def test_pseudo_label_rule_on_a_real_photo() -> None:
    script = _script()
    from facealign import Aligner

    boxes = read_group_boxes(GROUPS / "boxes.csv")[PHOTO]
    photo = script.label_photo(Aligner(threads=1), read_image(GROUPS / PHOTO), boxes, image=PHOTO, iou=0.5)
    assert photo.faces.shape[1:] == (68, 2) and len(photo.faces) >= 1
    assert len(photo.faces) == len(photo.boxes)
    # every labelled face's points are centred in the hand-drawn box it matched
    c = photo.faces.mean(axis=1)
    assert ((c >= photo.boxes[:, :2]) & (c <= photo.boxes[:, 2:])).all()
    # hand-drawn boxes are labels or ignore regions, never lost
    assert len(photo.faces) + sum(any((b == g).all() for g in photo.ignore) for b in boxes) == len(boxes)


@needs_groups
def test_pseudo_label_script_skips_a_bad_photo_and_writes_the_split(tmp_path, monkeypatch, capsys) -> None:
    import shutil
    import sys

    script = _script()
    (tmp_path / "images").mkdir()
    shutil.copy(GROUPS / PHOTO, tmp_path / PHOTO)
    (tmp_path / "images/broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "boxes.csv").write_text("image,x1,y1,x2,y2\nimages/broken.jpg,1,1,9,9\n" + "".join(
        f"{PHOTO},{','.join(str(v) for v in b)}\n" for b in read_group_boxes(GROUPS / "boxes.csv")[PHOTO]))
    out = tmp_path / "cache/labels.json"
    monkeypatch.setattr(sys, "argv", ["pseudo_label_groups.py", "--groups", str(tmp_path), "--out", str(out)])
    script.main()
    captured = capsys.readouterr()
    assert "skipped images/broken.jpg: cannot decode" in captured.err
    photos = read_pseudo_labels(out, num_points=68)
    assert [p.image for p in photos] == [PHOTO] and len(photos[0].faces) >= 1
    split = tmp_path / "val.txt"
    monkeypatch.setattr(sys, "argv", ["pseudo_label_groups.py", "--groups", str(tmp_path), "--make-split", "1", str(split)])
    script.main()
    from facealign.data.group_photos import read_photo_list

    assert len(read_photo_list(split)) == 1
