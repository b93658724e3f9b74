"""The pure helpers of the benchmarks (no dlib / MediaPipe needed), imported as the package they are
(``benchmarks/__init__.py``; the repository root is on pytest's ``pythonpath``)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import hard_faces, hih_table5, human_slice, label_convention, label_noise, latency, occlusion, peers
from facealign.detector import Detection
from facealign.types import Box

REPO = Path(__file__).resolve().parents[1]


def test_face_centre_is_mean_of_eyes_and_mouth_corners():
    pts = np.array([[10.0, 20.0], [30.0, 20.0], [99.0, 99.0], [12.0, 60.0], [28.0, 64.0]])
    # nose ignored: ((10 + 30 + 12 + 28) / 4, (20 + 20 + 60 + 64) / 4) = (20, 41)
    np.testing.assert_allclose(peers.face_centre(pts), [20.0, 41.0])
    with pytest.raises(ValueError, match=r"expected 5 points \(5, 2\), got shape \(4, 2\)"):
        peers.face_centre(pts[:4])


def test_hog_box_from_retinaface_hand_worked():
    box = Box(0.0, 0.0, 100.0, 144.0)  # s = sqrt(100 * 144) = 120
    pts = np.array([[30.0, 50.0], [70.0, 50.0], [50.0, 70.0], [35.0, 90.0], [65.0, 90.0]])  # centre (50, 70)
    # centre (50 + 0.1 * 120, 70 + 0.2 * 120) = (62, 94), half side 0.5 * 1.0 * 120 = 60
    out = peers.hog_box_from_retinaface(box, pts, centre_dx=0.1, centre_dy=0.2, side=1.0)
    np.testing.assert_allclose(out.as_array(), [2.0, 34.0, 122.0, 154.0])
    # default constants: square of side HOG_SIDE * 120 around (50, 70) + 120 * (dx, dy)
    d = peers.hog_box_from_retinaface(box, pts)
    assert d.width == pytest.approx(peers.HOG_SIDE * 120.0) and d.height == pytest.approx(d.width)
    assert d.center[0] == pytest.approx(50.0 + peers.HOG_CENTRE_DX * 120.0)
    assert d.center[1] == pytest.approx(70.0 + peers.HOG_CENTRE_DY * 120.0)


def test_dlib_rect_edges_round_trip_inclusive_pixels():
    # pixels 10..109 span continuous [9.5, 109.5]: left 10, right 109, dlib width 109 - 10 + 1 = 100
    assert peers.dlib_rect_edges(Box(9.5, 19.5, 109.5, 219.5)) == (10, 20, 109, 219)
    assert peers.dlib_rect_edges(Box(9.6, 19.4, 109.3, 219.7)) == (10, 20, 109, 219)


def test_face_crop_inside_and_padded():
    img = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
    # box width 5, scale 1.2 -> side 6; centre 4.5 -> x0 = round(4.5 - 2.5) = 2
    crop, off = peers.face_crop(img, Box(2.0, 2.0, 7.0, 7.0), scale=1.2)
    np.testing.assert_array_equal(off, [2.0, 2.0])
    np.testing.assert_array_equal(crop, img[2:8, 2:8])
    # centre -0.5 -> x0 = round(-0.5 - 2.5) = -3: rows/cols 0..2 of the crop are outside (zeros)
    crop, off = peers.face_crop(img, Box(-3.0, -3.0, 2.0, 2.0), scale=1.2)
    np.testing.assert_array_equal(off, [-3.0, -3.0])
    assert crop.shape == (6, 6, 3)
    np.testing.assert_array_equal(crop[3:, 3:], img[0:3, 0:3])
    assert not crop[:3].any() and not crop[:, :3].any()


def test_mesh_to_five_hand_worked():
    pts = np.stack([np.arange(478.0), 2.0 * np.arange(478.0)], axis=1)  # point i at (i, 2i)
    five = peers.mesh_to_five(pts)
    # left eye (33+133+160+159+158+144+145+153) / 8 = 1085 / 8 = 135.625;
    # right eye (362+263+387+386+385+373+374+380) / 8 = 2910 / 8 = 363.75
    np.testing.assert_allclose(five[:, 0], [135.625, 363.75, 1.0, 61.0, 291.0])
    np.testing.assert_allclose(five[:, 1], 2.0 * five[:, 0])
    with pytest.raises(ValueError, match=r"expected Face Mesh points \(468 or 478, 2\), got shape \(68, 2\)"):
        peers.mesh_to_five(pts[:68])


def test_nearest_detection_picks_the_labelled_face():
    labels = np.array([[10.0, 10.0], [20.0, 10.0], [15.0, 15.0], [11.0, 20.0], [19.0, 20.0]])
    near = Detection(box=Box(0, 0, 30, 30), score=0.7, points=labels + 1.0)
    far = Detection(box=Box(100, 100, 130, 130), score=0.99, points=labels + 100.0)
    assert peers.nearest_detection([far, near], labels) is near
    assert peers.nearest_detection([], labels) is None
    # a profile's labels define only some of the 5 points: the undefined ones (NaN) are left out of the distance
    profile = labels.copy()
    profile[[1, 4]] = np.nan
    right_only = Detection(box=Box(0, 0, 30, 30), score=0.8, points=np.where(np.isnan(profile), 500.0, labels))
    assert peers.nearest_detection([near, right_only], profile) is right_only


def test_load_faces_leaves_out_listed_rows(tmp_path):
    (tmp_path / "images").mkdir()
    rows = []
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        cv2.imwrite(str(tmp_path / "images" / name), np.zeros((4, 4, 3), np.uint8))
        rows.append(f"images/{name} " + " ".join(["1"] * 10))
    (tmp_path / "val5.txt").write_text("\n".join(rows) + "\n")
    (tmp_path / "excluded.txt").write_text("# comment\nimages/b.jpg 1.42\nimages/zzz.jpg 0.9\n")
    kept, n_excluded = peers.load_faces(tmp_path / "val5.txt", tmp_path / "excluded.txt")
    assert [Path(s.image_path).name for s in kept] == ["a.jpg", "c.jpg"] and n_excluded == 1
    kept, n_excluded = peers.load_faces(tmp_path / "val5.txt", None)
    assert len(kept) == 3 and n_excluded == 0


def test_latency_helpers():
    img = np.zeros((300, 1200, 3), np.uint8)
    assert latency.resize_longer_side(img, 640).shape == (160, 640, 3)  # 300 * 640 / 1200 = 160


def test_occlusion_block_hides_the_lower_face_by_hand():
    pts = np.zeros((68, 2))
    pts[:, 0] = np.linspace(20, 80, 68)
    pts[:, 1] = 50.0
    pts[occlusion.CHIN, 1] = 90.0  # chin at y = 90
    pts[list(occlusion.BROWS), 1] = 30.0  # brows at y = 30
    img = np.zeros((120, 100, 3), np.uint8)
    same, vis = occlusion.occlude_lower_face(img, pts, 0.0)
    assert vis.all() and (same == 0).all()
    # level 0.5: the block starts at 90 - 0.5 * (90 - 30) = 60, spans x 20 - 6 .. 80 + 6 (10% pad)
    out, vis = occlusion.occlude_lower_face(img, pts, 0.5)
    assert (out[60:, 14:87] == occlusion.OCCLUDER_GREY).all() and (out[:60] == 0).all() and (out[:, :14] == 0).all()
    assert not vis[occlusion.CHIN] and vis[list(occlusion.BROWS)].all() and vis.sum() == 67  # the y = 50 row stays


def test_hih_decimal_scores_hand_worked():
    """Two faces, one point, 2 cells: targets [1, 0] and [0, 1] (a third face has weight 0 and is ignored).
    T = 1: p = softmax = [0.7311, 0.2689] and mirrored, the marginal is [0.5, 0.5], so the input-blind CSC
    is (ln 2 - H(p)) / 2 = (0.693147 - 0.582203) / 2 = 0.055472; predicting the targets themselves scores 0."""
    import torch

    target = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[5.0, -5.0]]])
    weights = torch.tensor([[1.0], [1.0], [0.0]])
    exact = hih_table5.decimal_scores(target.clone(), target, weights)
    assert exact["cell_right"] == 100.0 and exact["chance"] == 50.0
    assert exact["csc_T1"] == pytest.approx(0.0, abs=1e-7) and exact["csc_T0.1"] == pytest.approx(0.0, abs=1e-6)
    assert exact["blind_T1"] == pytest.approx(0.055472, abs=1e-5)
    blind = torch.zeros_like(target)  # flat logits = the marginal [0.5, 0.5] at any temperature
    flat = hih_table5.decimal_scores(blind, target, weights)
    assert flat["csc_T1"] == pytest.approx(flat["blind_T1"], abs=1e-7)
    assert flat["csc_T0.1"] == pytest.approx(flat["blind_T0.1"], abs=1e-7)
    swapped = hih_table5.decimal_scores(target.flip(-1), target, weights)
    assert swapped["cell_right"] == 0.0 and swapped["csc_T1"] > flat["csc_T1"]


def test_hih_integer_cell_right_hand_worked():
    """2 x 2 integer maps, three points: face 0's peak is in the label's cell (1, 0), face 1's in (0, 1) against
    the label's (1, 1), face 2's is right but has weight 0, so only the first counts."""
    import torch

    pred = torch.zeros(3, 1, 2, 2)
    target = torch.zeros(3, 1, 2, 2)
    pred[0, 0, 1, 0], target[0, 0, 1, 0] = 0.9, 1.0
    pred[1, 0, 0, 1], target[1, 0, 1, 1] = 0.9, 1.0
    pred[2, 0, 0, 0], target[2, 0, 0, 0] = 0.9, 1.0
    weights = torch.tensor([[1.0], [1.0], [0.0]])
    assert hih_table5.integer_cell_right(pred, target, weights).tolist() == [[True], [False], [False]]


def test_hih_offset_scores_hand_worked():
    """Offsets (0.1, 0.2), (0.3, 0.6), (0.9, 0.7) of one point (a fourth with weight 0 is ignored): the blind
    answer is the median (0.3, 0.6), off by (0.2 + 0.4) / 2, 0, (0.6 + 0.1) / 2 -> mean 0.216667."""
    import torch

    target = torch.tensor([[[0.1, 0.2]], [[0.3, 0.6]], [[0.9, 0.7]], [[5.0, 5.0]]])
    weights = torch.tensor([[1.0], [1.0], [1.0], [0.0]])
    exact = hih_table5.offset_scores(target.clone(), target, weights)
    assert exact["l1"] == pytest.approx(0.0) and exact["blind_l1"] == pytest.approx(0.216667, abs=1e-6)
    half = hih_table5.offset_scores(torch.full_like(target, 0.5), target, weights)
    assert half["l1"] == pytest.approx((0.4 + 0.3 + 0.2 + 0.1 + 0.4 + 0.2) / 6, abs=1e-6)



def test_hard_faces_scores_68_point_models_on_68_points_and_5_point_models_on_their_5():
    five = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 5.0], [2.0, 8.0], [8.0, 8.0]])
    gt68 = np.zeros((68, 2))
    gt68[36:42], gt68[42:48] = five[0], five[1]  # outer eye corners 36 / 45: 10 px apart
    gt68[30], gt68[48], gt68[54] = five[2], five[3], five[4]
    det = Detection(box=Box(0, 0, 10, 10), score=1.0, points=five)
    face = hard_faces.Face(Path("a.jpg"), det, gt68, five)
    s68 = hard_faces.score([face], [gt68 + [0.5, 0.0]], 68, "human68")  # 0.5 px / 10 px = 5 %
    s5 = hard_faces.score([face], [five + [0.0, 1.0]], 5, "human68")  # 1 px / 10 px = 10 %, not above 10 %
    assert s68.scores["nme"] == pytest.approx(5.0) and s5.scores["nme"] == pytest.approx(10.0) and s5.scores["fr"] == 0.0
    assert s68.errors == pytest.approx([0.05]) and s68.threshold == 0.1
    only5 = hard_faces.Face(Path("a.jpg"), det, None, five)
    s = hard_faces.score([only5], [gt68 + [0.5, 0.0]], 68, "val5")  # a 68-point model on the 5 human points
    assert s.scores["nme"] == pytest.approx(5.0)


def test_hard_faces_paired_lines_count_each_side_s_own_failures():
    def scored(errors):
        return hard_faces.Scored({}, np.array(errors), 0.1)

    # four faces, B minus A: -1, -1, -1, +2 NME points -> mean -0.25, lower on 3; both fail face 0, B alone face 3
    results = {"A": {"val5": scored([0.12, 0.05, 0.04, 0.09]), "small": None},
               "B": {"val5": scored([0.11, 0.04, 0.03, 0.11]), "small": scored([0.2])}}
    lines = hard_faces.paired_lines("A", results, ["val5", "small"])
    rows = [line for line in lines if line.startswith("| B")]
    assert len(rows) == 1  # "small": A has no scores there, so no pair
    assert rows[0].startswith("| B | val5 | -0.250 [") and rows[0].endswith("| 3 of 4 | 0 / 1 |")


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"_script_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pack_faces_cuts_and_scales_a_photo_and_its_points_alike(tmp_path):
    pack = _load_script("pack_faces")
    # a square of half-side 10 around (50.5, 40.5): pixel edges floor(40.5) .. ceil(60.5) + 1
    assert pack.face_region(np.array([50.5, 40.5]), 10.0) == (40, 30, 62, 52)
    img = np.zeros((100, 120, 3), np.uint8)
    img[40:60, 50:70] = 255  # a white square, pixel centres 50..69 x 40..59
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), img)
    data, offset, s = pack.photo_bytes(path, (30, 20, 90, 80), 0.5, 95)
    small = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert small.shape == (30, 30) and offset.tolist() == [30, 20] and s.tolist() == [0.5, 0.5]
    # the square's centre (59.5, 49.5) -> ((59.5 - 30 + 0.5) * 0.5 - 0.5, (49.5 - 20 + 0.5) * 0.5 - 0.5) = (14.5, 14.5)
    np.testing.assert_allclose(pack.scale_points(np.array([[59.5, 49.5]]), offset, s), [[14.5, 14.5]])
    ys, xs = np.nonzero(small > 128)
    assert (xs.mean(), ys.mean()) == pytest.approx((14.5, 14.5), abs=0.3)

def test_fourth_differences_cancel_a_cubic_and_pass_noise_70_times():
    t = np.arange(7.0)
    cubic = np.stack([t, 0.5 * t**3 - t**2], axis=-1)[None]  # (1, 7, 2): one face, a 7-point chain
    d = label_noise.fourth_differences(cubic, tuple(range(7)), closed=False)
    assert d.shape == (1, 3, 2) and np.allclose(d, 0.0)
    spike = np.zeros((1, 7, 2))
    spike[0, 3, 1] = 1.0  # one point off by 1 in y: the three differences that see it read -4, 6, -4
    np.testing.assert_allclose(label_noise.fourth_differences(spike, tuple(range(7)), closed=False)[0, :, 1], [-4.0, 6.0, -4.0])
    # a closed 5-point loop wraps: every point has a difference, the spike's own reads 6
    loop = label_noise.fourth_differences(spike, (1, 2, 3, 4, 5), closed=True)
    assert loop.shape == (1, 5, 2) and loop[0, 2, 1] == 6.0
    with pytest.raises(ValueError, match="a chain needs at least 5 points for a fourth difference, got 4"):
        label_noise.fourth_differences(spike, (0, 1, 2, 3), closed=False)


def test_noise_sigma_and_harmonic_left_hand_worked():
    # |d| = sqrt(70) everywhere: rms = sqrt(70 / 70) = 1, mad = sqrt(70) / 0.6745 / sqrt(70) = 1 / 0.6745
    s = label_noise.noise_sigma(np.array([70**0.5, -(70**0.5)] * 3))
    assert s["rms"] == pytest.approx(1.0) and s["mad"] == pytest.approx(1 / 0.6745)
    # white noise of sigma 0.3 is recovered from its fourth differences (200,000 of them, seeded)
    rng = np.random.default_rng(0)
    chain = np.cumsum(np.ones((20000, 17, 2)), axis=1) + rng.normal(0, 0.3, (20000, 17, 2))
    est = label_noise.noise_sigma(label_noise.fourth_differences(chain, label_noise.JAW, closed=False))
    assert est["rms"] == pytest.approx(0.3, rel=0.01) and est["mad"] == pytest.approx(0.3, rel=0.01)
    assert label_noise.harmonic_left(0.0, 4.0) == 1.0
    assert label_noise.harmonic_left(1.0, 4.0) == pytest.approx(np.exp(-2 * np.pi**2 / 16))  # 0.291


def test_human_slice_entries_and_a_config_without_the_slice():
    from types import SimpleNamespace

    assert human_slice.parse_entry("configs/a.toml") == ("configs/a.toml", None)
    assert human_slice.parse_entry("configs/a.toml=runs/a/last.pt") == ("configs/a.toml", Path("runs/a/last.pt"))
    with pytest.raises(ValueError, match="expected CONFIG or CONFIG=CHECKPOINT, got 'configs/a.toml='"):
        human_slice.parse_entry("configs/a.toml=")
    trainer = SimpleNamespace(cfg=SimpleNamespace(name="hih_cpu_68"), protocols=[SimpleNamespace(name="small")], val_set="v")
    assert hih_table5.slice_dataset(trainer, "val") == "v"
    with pytest.raises(ValueError, match=r"hih_cpu_68: no 'human68' slice in its config .* it has \['val', 'small'\]"):
        hih_table5.slice_dataset(trainer, "human68")


BENCH = REPO / "benchmarks"
#: Where benchmark commands are documented: the READMEs, the model cards and the benchmarks' own docstrings.
DOCS = [REPO / "README.md", BENCH / "README.md", *sorted((REPO / "facealign/weights").glob("*.md")), *sorted(BENCH.glob("*.py"))]


def _benchmarks() -> set[str]:
    return {p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"}


def _imports_another_benchmark(name: str) -> bool:
    return re.search(r"^\s*from benchmarks(\.\w+)? import ", (BENCH / f"{name}.py").read_text(), re.M) is not None


def test_documented_benchmark_commands_name_benchmarks_that_exist():
    """Every ``python -m benchmarks.NAME`` and ``python benchmarks/NAME.py`` in the docs names a benchmark, and one
    that imports another benchmark is documented only as a module (run as a file it would not find the package)."""
    modules = _benchmarks()
    as_module, as_file = set(), set()
    for doc in DOCS:
        text = doc.read_text()
        as_module |= {(doc.name, m) for m in re.findall(r"-m benchmarks\.([a-z0-9_]+)", text)}
        as_file |= {(doc.name, m) for m in re.findall(r"python\S* benchmarks/([a-z0-9_]+)\.py", text)}
    assert {m for _, m in as_module} >= {"peers", "hard_faces", "human_slice", "latency", "multiface"}
    assert not [(d, m) for d, m in as_module | as_file if m not in modules]
    assert not [(d, m) for d, m in as_file if _imports_another_benchmark(m)]


def test_benchmarks_import_each_other_as_a_package_and_each_has_a_readme_section():
    """No benchmark edits ``sys.path``; hard_faces / latency / human_slice / multiface import their helpers from
    the package; benchmarks/README.md names every benchmark in a heading (or the closing list of the others)."""
    assert not [n for n in _benchmarks() if "sys.path" in (BENCH / f"{n}.py").read_text()]
    assert {n for n in _benchmarks() if _imports_another_benchmark(n)} >= {"hard_faces", "human_slice", "multiface"}
    readme = (BENCH / "README.md").read_text()
    others = readme[readme.index("## Others") :]
    headings = "\n".join(re.findall(r"^## .*$", readme, re.M))
    headed = set(re.findall(r"`(\w+)\.py`", headings)) | set(re.findall(r"^- `(\w+)\.py`", others, re.M))
    assert headed == _benchmarks()


def test_label_convention_stats_are_the_median_and_mean_over_finite_points_with_a_face_bootstrap():
    a = np.array([[1.0, 0.0], [3.0, 2.0], [np.nan, np.nan]])  # the NaN point is not counted
    b = np.array([[2.0, -1.0], [2.0, 1.0]])
    r = label_convention.offset_stats([a, b])
    assert (r["dx"], r["dy"], r["mx"], r["my"], r["faces"]) == (2.0, 0.5, 2.0, 0.5, 2)
    assert 1.0 <= r["lo"] <= 2.0 <= r["hi"] <= 3.0  # means of resampled faces: 2 (a or b or both)
    one = label_convention.offset_stats([b, b])
    assert one["lo"] == one["hi"] == 2.0
    with pytest.raises(ValueError, match="no face with a finite difference"):
        label_convention.offset_stats([np.full((2, 2), np.nan)])
    assert label_convention.folder_of(label_convention.DATA / "faces/images/net_7876/1_0_0.jpg") == "faces/images/net_7876"
    assert label_convention.folder_of(label_convention.DATA / "300w_human/afw/1_1.jpg") == "300w_human"


def test_peoples_points_sit_right_of_the_teachers_on_the_real_training_lists():
    """The measurement behind ``[data.label_offsets]``: on CUHK's photos people's 5 points are about 1 px right
    of dlib's, and not lower or higher on the mouth corners (the one point both schemes define alike)."""
    diffs = label_convention.teacher_differences(label_convention.DATA / "faces/train5.txt", label_convention.DATA / "faces/train68.txt")
    assert list(diffs) == ["faces/images/net_7876"] and len(diffs["faces/images/net_7876"]) == 4779
    r = label_convention.offset_stats(diffs["faces/images/net_7876"])
    assert r["dx"] == 1.0 and 1.0 < r["lo"] < r["mx"] < r["hi"] < 1.4
    mouth = np.stack(diffs["faces/images/net_7876"])[:, 3:, 1]
    assert abs(np.median(mouth)) <= 0.5


def test_dark_centroid_finds_a_dark_disc_from_a_start_beside_it_and_stops_at_the_border():
    yy, xx = np.mgrid[0:40, 0:50]
    gray = np.where((xx - 20.0) ** 2 + (yy - 15.0) ** 2 <= 4.0, 20, 200).astype(np.uint8)  # a disc of radius 2 at (20, 15)
    c = label_convention.dark_centroid(gray, np.array([21.5, 16.0]), radius=6.0)
    np.testing.assert_allclose(c, [20.0, 15.0], atol=1e-9)  # symmetric disc, symmetric pixels: exactly its centre
    assert label_convention.dark_centroid(gray, np.array([3.0, 15.0]), radius=6.0) is None  # the disc leaves the image
    assert label_convention.dark_centroid(np.full((40, 50), 100, np.uint8), np.array([20.0, 15.0]), radius=6.0) is None


def test_peoples_eye_centres_sit_right_of_the_dark_pupil_on_real_training_photos():
    diffs = label_convention.pupil_differences(label_convention.DATA / "faces/train5.txt", 300)
    r = label_convention.offset_stats(diffs["faces/images/net_7876"])
    assert r["faces"] >= 290 and 0.5 < r["lo"] < r["mx"] < r["hi"] < 2.5


def test_hard_faces_photo_size_lines_split_each_row_by_photo():
    # three val5 faces: two on 400 x 400 photos (NME 2 %, 4 %), one on a 160 x 216 photo (12 %: a failure)
    results = {"A": {"val5": hard_faces.Scored({}, np.array([0.02, 0.12, 0.04]), 0.1)}, "dlib": {"val5": None}}
    lines = hard_faces.photo_size_lines(results, {"val5": ["400 x 400", "160 x 216", "400 x 400"]})
    assert [line for line in lines if line.startswith("| A")] == [
        "| A | val5 | 160 x 216 | 1 | 12.00 / 100.0 |",
        "| A | val5 | 400 x 400 | 2 | 3.00 / 0.0 |",
    ]
    assert not any(line.startswith("| dlib") for line in lines)


def test_hard_faces_turned_rows_on_real_profiles(capsys):
    """``--flip off turned`` on 3 held-out CFP profiles: a row per mode and threshold, the count of faces past each
    threshold, and a turned row that differs from the plain one exactly when some face is past its threshold."""
    hard_faces.main(["--protocols", "profile", "--limit", "3", "--no-dlib", "--flip", "off", "turned", "--turned-yaw", "40", "89"])
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): float(line.split(" | ")[1].split(" / ")[0]) for line in out.splitlines()
            if line.startswith("| facealign")}
    assert list(rows) == ["facealign_mnv2_050_68", "facealign_mnv2_050_68 +flip turned > 40 deg", "facealign_mnv2_050_68 +flip turned > 89 deg"]
    assert rows["facealign_mnv2_050_68 +flip turned > 89 deg"] == rows["facealign_mnv2_050_68"]  # no face is past 89
    past = next(line for line in out.splitlines() if line.startswith("Past the threshold"))
    n40 = int(past.split("40 deg: profile ")[1].split(" of 3")[0])
    assert "89 deg: profile 0 of 3" in past and n40 >= 1
    assert rows["facealign_mnv2_050_68 +flip turned > 40 deg"] != rows["facealign_mnv2_050_68"]


def test_average_weights_interpolates_floats_keeps_integer_buffers_and_refuses_other_networks(tmp_path):
    """scripts/average_weights.py (WiSE-FT Eq. 1) by hand on a small state dict, and end to end on two checkpoint files."""
    import importlib.util

    import torch

    from facealign.engine.checkpoint import atomic_torch_save, load_checkpoint

    spec = importlib.util.spec_from_file_location("average_weights", Path(__file__).resolve().parents[1] / "scripts/average_weights.py")
    aw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aw)
    fine = {"w": torch.tensor([1.0, 2.0]), "bn.num_batches_tracked": torch.tensor(7)}
    start = {"w": torch.tensor([3.0, -2.0]), "bn.num_batches_tracked": torch.tensor(3)}
    mixed = aw.interpolate(fine, start, 0.75)
    assert torch.equal(mixed["w"], torch.tensor([1.5, 1.0])) and int(mixed["bn.num_batches_tracked"]) == 7
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        aw.interpolate(fine, start, 1.5)
    with pytest.raises(ValueError, match="w is \\(2,\\) in one and \\(3,\\) in the other"):
        aw.interpolate(fine, {**start, "w": torch.zeros(3)}, 0.5)
    with pytest.raises(ValueError, match="tensors in one only"):
        aw.interpolate(fine, {"w": start["w"]}, 0.5)
    atomic_torch_save({"model": fine, "train_model": fine, "epoch": 2}, tmp_path / "fine.pt")
    atomic_torch_save(start, tmp_path / "start.pt")  # a shipped .pt: the state dict itself
    aw.main([str(tmp_path / "fine.pt"), str(tmp_path / "start.pt"), "0.25", str(tmp_path / "out.pt")])
    out = load_checkpoint(tmp_path / "out.pt")
    assert torch.equal(out["model"]["w"], torch.tensor([2.5, -1.0])) and out["epoch"] == 2 and "train_model" not in out
    assert out["interpolation"]["alpha"] == 0.25
