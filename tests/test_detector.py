"""RetinaFaceDetector: hand-worked priors / decoding / NMS, and real photos from ../shared/data."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

import facealign.detector as detector_module
from facealign.detector import (
    Detection,
    RetinaFaceDetector,
    decode_retinaface,
    nms,
    retinaface_priors,
)
from facealign.types import Box

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FACES = DATA / "faces"
MULTIFACE = DATA / "samples" / "multiface" / "dlib_examples"
BREAKINGBAD = DATA / "samples" / "300w" / "breakingbad.jpg"
NEEDS_DATA = pytest.mark.skipif(not FACES.is_dir(), reason=f"shared data not found at {DATA}")


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return np.ascontiguousarray(bgr[..., ::-1])


def _val5_rows(n: int) -> list[tuple[Path, np.ndarray]]:
    """First ``n`` rows of val5.txt (all 400x400 net_7876 photos): ``(path, (5, 2) human points)``."""
    rows = []
    with open(FACES / "val5.txt") as f:
        for line in f:
            parts = line.split()
            rows.append((FACES / parts[0], np.array(parts[1:], dtype=np.float64).reshape(5, 2)))
            if len(rows) == n:
                break
    return rows


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector()


@pytest.fixture(scope="module")
def val20(detector):
    """(image, human points, detections) for the first 20 val5 faces, detected once per module."""
    out = []
    for path, gt in _val5_rows(20):
        image = _read_rgb(path)
        out.append((image, gt, detector.detect(image)))
    return out


# ---------------------------------------------------------------- hand-worked pieces


def test_priors_layout_hand_worked():
    priors = retinaface_priors(32, 64)
    # step 8: 4 x 8 cells, step 16: 2 x 4, step 32: 1 x 2; two sizes each -> 2 * (32 + 8 + 2) = 84
    assert priors.shape == (84, 4)
    # cell (0, 0) of step 8: centre (0.5 * 8, 0.5 * 8) = (4, 4), sizes 16 then 32
    np.testing.assert_array_equal(priors[0], [4, 4, 16, 16])
    np.testing.assert_array_equal(priors[1], [4, 4, 32, 32])
    # next cell in the row: j = 1 -> x = 1.5 * 8 = 12
    np.testing.assert_array_equal(priors[2], [12, 4, 16, 16])
    # first step-16 prior follows the 64 step-8 rows: centre (8, 8), size 64
    np.testing.assert_array_equal(priors[64], [8, 8, 64, 64])
    # last row: step 32, cell (0, 1) -> centre (1.5 * 32, 0.5 * 32) = (48, 16), size 512
    np.testing.assert_array_equal(priors[-1], [48, 16, 512, 512])
    assert not priors.flags.writeable


def test_priors_count_matches_network_for_odd_sizes(detector):
    # 77 x 100: ceil -> 10x13, 5x7, 3x4 cells -> 2 * (130 + 35 + 12) = 354 rows (checked by detect)
    assert len(retinaface_priors(77, 100)) == 354
    detector.detect(np.full((77, 100, 3), 90, dtype=np.uint8))  # raises if rows != priors


def test_decode_hand_worked():
    prior = np.array([[10.0, 20.0, 16.0, 16.0]])
    loc = np.array([[0.5, -0.5, 0.0, math.log(2.0) / 0.2]])
    lms = np.zeros((1, 10))
    lms[0, 0] = 1.0  # point 0 x offset
    lms[0, 9] = -2.0  # point 4 y offset
    boxes, points = decode_retinaface(loc, lms, prior)
    # centre = (10 + 0.5*0.1*16, 20 - 0.5*0.1*16) = (10.8, 19.2); size = (16*e^0, 16*e^(ln 2)) = (16, 32)
    np.testing.assert_allclose(boxes[0], [10.8 - 8, 19.2 - 16, 10.8 + 8, 19.2 + 16])
    # point 0 = (10 + 1*0.1*16, 20) = (11.6, 20); point 4 = (10, 20 - 2*0.1*16) = (10, 16.8)
    np.testing.assert_allclose(points[0, 0], [11.6, 20.0])
    np.testing.assert_allclose(points[0, 4], [10.0, 16.8])
    np.testing.assert_allclose(points[0, 1:4], [[10.0, 20.0]] * 3)


def test_nms_hand_worked():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [1, 0, 11, 10], [20, 20, 30, 30]], dtype=float)
    scores = np.array([0.9, 0.5, 0.8, 0.7])
    # IoU(0, 2) = 90 / 110 = 0.82; IoU(0, 1) = 50 / 150 = 0.333; box 3 is disjoint
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.4), [0, 3, 1])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.3), [0, 3])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.9), [0, 2, 3, 1])
    assert nms(np.zeros((0, 4)), np.zeros(0), iou_threshold=0.4).shape == (0,)
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        nms(boxes[:2], scores[:1], iou_threshold=0.4)


def test_input_size_policy():
    det = RetinaFaceDetector(max_side=640, min_side=320)
    assert det.input_size(1080, 1920) == (360, 640)  # 1920 -> 640: factor 1/3
    assert det.input_size(80, 80) == (320, 320)  # 80 -> 320: factor 4
    assert det.input_size(400, 400) == (400, 400)  # inside [320, 640]: own size
    assert det.input_size(60, 100) == (192, 320)  # factor 3.2: 60 * 3.2 = 192
    assert det.input_size(3, 2000) == (1, 640)  # 3 * 0.32 = 0.96 -> round 1


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="score_threshold must be in"):
        RetinaFaceDetector(score_threshold=1.5)
    with pytest.raises(ValueError, match="nms_threshold must be in"):
        RetinaFaceDetector(nms_threshold=0.0)
    with pytest.raises(ValueError, match="min_side must be in"):
        RetinaFaceDetector(max_side=320, min_side=640)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        RetinaFaceDetector(threads=0)


# ---------------------------------------------------------------- input checks


def test_wrong_inputs_raise_clear_errors(detector):
    with pytest.raises(ValueError, match=r"expected an image of shape .*got \(10, 10, 2\)"):
        detector.detect(np.zeros((10, 10, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"expected an image of shape .*got \(2, 10, 10, 3\)"):
        detector.detect(np.zeros((2, 10, 10, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="expected a uint8 image, got dtype float32"):
        detector.detect(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="expected a non-empty image"):
        detector.detect(np.zeros((0, 10, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match="expected a numpy array"):
        detector.detect([[0, 0, 0]])


def test_blank_images_give_no_faces(detector):
    assert detector.detect(np.zeros((480, 640, 3), dtype=np.uint8)) == []
    assert detector.detect(np.full((300, 200), 128, dtype=np.uint8)) == []


def test_session_is_made_once(detector):
    detector.detect(np.zeros((64, 64, 3), dtype=np.uint8))
    first = detector._session
    detector.detect(np.zeros((64, 64, 3), dtype=np.uint8))
    assert first is not None and detector._session is first


# ---------------------------------------------------------------- real photos


@NEEDS_DATA
def test_val5_one_main_face_close_to_human_points(val20):
    errors = []
    for image, gt, dets in val20:
        assert len(dets) == 1  # measured: exactly one detection on each of these 20 photos
        main = dets[0]
        assert isinstance(main, Detection) and isinstance(main.box, Box)
        assert main.points.shape == (5, 2) and main.points.dtype == np.float64
        assert not main.points.flags.writeable
        # the human points lie in the main box
        assert np.all((gt[:, 0] > main.box.x1) & (gt[:, 0] < main.box.x2))
        assert np.all((gt[:, 1] > main.box.y1) & (gt[:, 1] < main.box.y2))
        # facealign's order: viewer's left eye / mouth corner first on these upright faces
        assert main.points[0, 0] < main.points[1, 0] and main.points[3, 0] < main.points[4, 0]
        iod = np.linalg.norm(gt[0] - gt[1])
        errors.append(np.linalg.norm(main.points - gt, axis=1).mean() / iod)
    # measured: mean 7.0%, worst 13.2% of the inter-ocular distance (model vs human definitions)
    assert np.mean(errors) < 0.08
    assert np.max(errors) < 0.16


@NEEDS_DATA
def test_points_are_sub_pixel_floats(val20):
    points = np.concatenate([dets[0].points for _, _, dets in val20])
    boxes = np.stack([dets[0].box.as_array() for _, _, dets in val20])
    frac_points = np.abs(points - np.round(points))
    frac_boxes = np.abs(boxes - np.round(boxes))
    assert np.mean(frac_points > 1e-3) > 0.95
    assert np.mean(frac_boxes > 1e-3) > 0.95
    assert 0.15 < frac_points.mean() < 0.35  # uniform fractions would average 0.25


@NEEDS_DATA
def test_agrees_with_package_integer_points(detector, val20, monkeypatch):
    """round(ours) == int(package) with the package's mean; within a few px with biubug6's mean."""
    retinaface = pytest.importorskip("retinaface")
    from retinaface.preprocess import MEAN as package_mean_bgr

    def package(image):
        face = retinaface.detect_faces(image, score_threshold=0.6)[0]
        pts = np.array([[p.x, p.y] for p in face.landmarks], dtype=float)
        return pts, np.array([face.x, face.y], dtype=float)

    images = [image for image, _, _ in val20[:8]]
    expected = [package(image) for image in images]
    diffs_default = [
        np.abs(np.round(dets[0].points) - pts) for (_, _, dets), (pts, _) in zip(val20, expected)
    ]
    # the two differ only in the red mean (127 vs 123): measured max 2 px here, 78% of coordinates equal
    assert np.max(diffs_default) <= 3
    assert np.mean(np.concatenate(diffs_default) == 0) > 0.6

    monkeypatch.setattr(detector_module, "MEAN_BGR", tuple(float(v) for v in package_mean_bgr))
    exact = []
    for image, (pts, corner) in zip(images, expected):
        main = detector.detect(image)[0]
        # package: int(u) with u > 0; ours: u - 0.5 -> round(u - 0.5) == floor(u) (float32 ties aside)
        exact.append(np.round(main.points) - pts)
        exact.append(np.round([main.box.x1, main.box.y1]) - corner)
    exact = np.concatenate([np.ravel(e) for e in exact])
    # measured: all 96 coordinates equal
    assert np.max(np.abs(exact)) <= 1
    assert np.mean(exact == 0) > 0.98


@NEEDS_DATA
def test_resized_photo_maps_back_exactly(val20):
    """A photo upscaled 2x maps to the same original coordinates: x2 = (x + 0.5) * 2 - 0.5."""
    det400 = RetinaFaceDetector(max_side=400)
    for image, gt, dets in val20[:4]:
        # nearest 2x then INTER_AREA /2 restores the exact pixels: the network sees the same input
        big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
        big_main = det400.detect(big)[0]
        main = dets[0]
        np.testing.assert_allclose(big_main.points, (main.points + 0.5) * 2 - 0.5, atol=1e-6)
        np.testing.assert_allclose(big_main.box.as_array(), (main.box.as_array() + 0.5) * 2 - 0.5, atol=1e-6)
        assert big_main.score == pytest.approx(main.score, abs=1e-6)

    errors = []
    for image, gt, dets in val20[:8]:
        # bilinear 2x: nearly the same network input after the downscale, not identical
        big = cv2.resize(image, (800, 800), interpolation=cv2.INTER_LINEAR)
        big_main = det400.detect(big)[0]
        iod2 = 2 * np.linalg.norm(gt[0] - gt[1])
        errors.append(np.abs(big_main.points - ((dets[0].points + 0.5) * 2 - 0.5)).max() / iod2)
    # measured on these 8 faces: median 0.3%, worst 0.8% of the inter-ocular distance
    # (on 20 faces: mean 0.5%, worst 4%: this model's points move with tiny input changes)
    assert np.median(errors) < 0.01
    assert np.max(errors) < 0.03


@NEEDS_DATA
def test_gray_and_rgba_inputs(detector, val20):
    image, gt, dets = val20[0]
    rgba = np.dstack([image, np.full(image.shape[:2], 255, dtype=np.uint8)])
    from_rgba = detector.detect(rgba)
    assert len(from_rgba) == len(dets)
    np.testing.assert_array_equal(from_rgba[0].points, dets[0].points)

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    from_gray = detector.detect(gray)
    iod = np.linalg.norm(gt[0] - gt[1])
    # measured: 6.2% of the inter-ocular distance at most
    assert np.linalg.norm(from_gray[0].points - dets[0].points, axis=1).max() < 0.1 * iod


@NEEDS_DATA
def test_small_lfw_crop_is_upscaled_and_found(detector):
    rows = []
    with open(FACES / "train5.txt") as f:
        for line in f:
            if "lfw_5590" in line:
                parts = line.split()
                rows.append((FACES / parts[0], np.array(parts[1:], dtype=np.float64).reshape(5, 2)))
                if len(rows) == 5:
                    break
    errors = []
    for path, gt in rows:
        image = _read_rgb(path)
        assert image.shape == (80, 80, 3)
        dets = detector.detect(image)
        assert len(dets) >= 1
        errors.append(np.linalg.norm(dets[0].points - gt, axis=1).mean() / np.linalg.norm(gt[0] - gt[1]))
    # measured: mean 6.2% on these 5 (7.4% on 200 LFW crops; inter-ocular distance ~13 px)
    assert np.mean(errors) < 0.10


@NEEDS_DATA
def test_multiface_recall_on_dlib_examples(detector):
    """Recall against the imglab XML boxes (a box counts as found when a detection centre lies in it)."""
    truth: dict[str, list[tuple[float, float, float, float]]] = {}
    for xml_path in sorted(MULTIFACE.glob("*.xml")):
        for image_el in ET.parse(xml_path).getroot().iter("image"):
            truth[image_el.get("file")] = [
                (float(b.get("left")), float(b.get("top")), float(b.get("width")), float(b.get("height")))
                for b in image_el.iter("box")
            ]
    assert sum(len(v) for v in truth.values()) == 43  # README: 43 faces in 9 photos
    found = 0
    for name, boxes in truth.items():
        dets = detector.detect(_read_rgb(MULTIFACE / name))
        centres = [d.box.center for d in dets]
        for left, top, width, height in boxes:
            found += any(left <= cx <= left + width and top <= cy <= top + height for cx, cy in centres)
        # measured: every photo within one of its labels except 2008_002079.jpg: 10 detections for 6
        # labels, three of them people at the bar behind (real, unlabelled: checked by eye) that the
        # small-face pass finds (2008_004176.jpg's extra one is a 6 px face on a poster)
        assert abs(len(dets) - len(boxes)) <= (4 if name == "2008_002079.jpg" else 1), name
    # measured recall: 43 / 43
    assert found / 43 >= 0.95


@NEEDS_DATA
def test_full_hd_photo(detector):
    image = _read_rgb(BREAKINGBAD)
    assert image.shape == (1080, 1920, 3)
    dets = detector.detect(image)
    assert len(dets) == 2  # the two men; measured scores 0.998 and 0.995
    pts_file = BREAKINGBAD.with_suffix(".pts").read_text()
    body = pts_file[pts_file.index("{") + 1 : pts_file.index("}")]
    ibug = np.array(body.split(), dtype=np.float64).reshape(68, 2) - 1.0  # .pts is 1-based
    nose_tip = ibug[30]
    labelled = [d for d in dets if d.box.x1 < nose_tip[0] < d.box.x2 and d.box.y1 < nose_tip[1] < d.box.y2]
    assert len(labelled) == 1
    # the labelled face is ~300 px wide in the original: the box is in original pixels, not 640-px ones
    assert 250 < labelled[0].box.width < 400
    # measured: nose tip (-4.8, +7.2) px from the 300-W point 30, box 315 px wide
    np.testing.assert_allclose(labelled[0].points[2], nose_tip, atol=0.05 * labelled[0].box.width)


def test_pyramid_levels_and_tiles_hand_worked():
    from facealign.detector import TILE_OVERLAP, _inside_larger, _tiles

    det = RetinaFaceDetector()
    assert det.pyramid_scales(480, 640) == [] and det.pyramid_scales(720, 960) == []  # one pass (+ small faces)
    assert det.pyramid_scales(1080, 1920) == [1.0]  # whole pass at 1/3: 1.0 > 1.5 / 3, 1/3 is not
    assert det.pyramid_scales(6000, 8000) == pytest.approx([1.0, 1 / 3])  # whole pass at 0.08
    assert RetinaFaceDetector(max_scale=0.0).pyramid_scales(6000, 8000) == []
    # 3000 px in 1280 px tiles: n = ceil((3000 - 1280) / (1280 - 224)) + 1 = 3, starts 0, 860, 1720
    tiles = _tiles(3000, 1280)
    assert [t[:2] for t in tiles] == [(0, 1280), (860, 2140), (1720, 3000)]
    assert tiles[0][2] == -np.inf and tiles[0][3] == (1280 + 860) / 2 == tiles[1][2] and tiles[2][3] == np.inf
    assert all(a[1] - b[0] >= TILE_OVERLAP for a, b in zip(tiles, tiles[1:]))
    assert _tiles(500, 1280) == [(0, 500, -np.inf, np.inf)]
    # an ear at the edge of a face 8x its size goes; a small face beside it (centre 30% away) stays
    boxes = np.array([[0, 0, 800, 1000], [790, 400, 890, 500], [1100, 400, 1200, 500], [10, 10, 400, 400]], float)
    assert _inside_larger(boxes).tolist() == [False, True, False, False]  # 390 px is not 3x smaller than 1000


@NEEDS_DATA
def test_small_face_pass_runs_on_group_photos_only(monkeypatch):
    det = RetinaFaceDetector()
    levels = []
    real = RetinaFaceDetector._level

    def counted(self, rgb, size, *, fine):
        levels.append(size)
        return real(self, rgb, size, fine=fine)

    monkeypatch.setattr(RetinaFaceDetector, "_level", counted)
    portrait = det.detect(_read_rgb(_val5_rows(1)[0][0]))
    assert len(portrait) == 1 and levels == [(400, 400)]  # faces ~200 px: one pass, as before
    levels.clear()
    group = _read_rgb(MULTIFACE / "2008_002079.jpg")  # 500 x 375, faces of 28 to 49 px
    found = det.detect(group)
    assert levels == [(375, 500), (750, 1000)]  # a face under 48 px found: the photo again at 2x
    single = RetinaFaceDetector(small_faces=False).detect(group)
    bar = [d for d in found if d.box.width < 20 and d.box.y1 < 60]  # the barman's face, 16 px, behind
    assert len(single) == 7 and len(found) == 10 and len(bar) == 1 and bar[0].score > 0.9
