"""facealign.evaluation: the one face-matching rule, matching by path and by face, scheme reduction, hand-worked NMEs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facealign.evaluation import EvalResult, evaluate, format_table, match_faces, match_samples
from facealign.landmarks import get_scheme
from facealign.types import Box, Sample

# A 5-point face with inter-ocular (eye-centre) distance 40 whose centroid is (cx, cy).
FACE5 = np.array([[-20.0, -20.0], [20.0, -20.0], [0.0, 0.0], [-15.0, 20.0], [15.0, 20.0]])


def face5(cx: float, cy: float) -> np.ndarray:
    return FACE5 + [cx, cy]


def sample(path: str | Path, pts: np.ndarray, scheme: str = "5", **kw) -> Sample:
    return Sample(image_path=Path(path), points=pts, scheme=scheme, **kw)


def test_one_face_per_image_plus_one_px(tmp_path: Path) -> None:
    gt = [sample(tmp_path / f"img{i}.jpg", face5(100 + i, 100)) for i in range(4)]
    pred = [sample(s.image_path, s.points + [1.0, 0.0]) for s in reversed(gt)]  # order must not matter
    r = evaluate(pred, gt, norm="interocular", threshold=0.1)
    # every point 1 px off, inter-ocular 40 -> NME = 1 / 40 = 0.025 for each face
    np.testing.assert_allclose(r.nmes, [0.025] * 4)
    assert r.summary == pytest.approx({"nme": 0.025, "fr": 0.0, "auc": 0.75, "count": 4})  # AUC (0.1-0.025)/0.1
    assert (r.unmatched, r.unmatched_pred, r.scheme) == (0, 0, "5")


def test_box_norm_uses_gt_box(tmp_path: Path) -> None:
    box = Box(40.0, 30.0, 70.0, 70.0)  # 30 x 40: diagonal 50; the prediction's centroid (53, 54) lies in it
    gt = [sample(tmp_path / "a.jpg", face5(50, 50), box=box)]
    pred = [sample(tmp_path / "a.jpg", face5(50, 50) + [3.0, 4.0])]  # error 5 each
    # 5 / 50 = 0.1
    np.testing.assert_allclose(evaluate(pred, gt, norm="diagonal", threshold=0.1).nmes, [0.1])


def test_match_by_relative_path_then_basename(tmp_path: Path) -> None:
    gt_root, pred_root = tmp_path / "data", tmp_path / "elsewhere"
    gt = [
        sample(gt_root / "images" / "a.jpg", face5(0, 0)),  # absolute, under its list's folder
        sample("images/b.jpg", face5(0, 0)),  # relative to the list's folder
        sample(gt_root / "other" / "c.jpg", face5(0, 0)),
    ]
    pred = [
        sample("images/a.jpg", face5(0, 0) + [2.0, 0.0]),  # same relative path, another folder
        sample(pred_root / "images" / "b.jpg", face5(0, 0) + [4.0, 0.0]),
        sample("/somewhere/else/c.jpg", face5(0, 0) + [8.0, 0.0]),  # only the file name agrees
    ]
    m = match_samples(pred, gt, pred_root=pred_root, gt_root=gt_root)
    assert m.pairs == [(0, 0), (1, 1), (2, 2)]
    r = evaluate(pred, gt, norm="interocular", threshold=0.1, pred_root=pred_root, gt_root=gt_root)
    # 2 / 40, 4 / 40, 8 / 40
    np.testing.assert_allclose(r.nmes, [0.05, 0.1, 0.2])
    assert r.summary["fr"] == pytest.approx(1 / 3)


def test_ambiguous_basename_is_not_matched(tmp_path: Path) -> None:
    gt = [sample(tmp_path / "x" / "face.jpg", face5(0, 0)), sample(tmp_path / "y" / "face.jpg", face5(0, 0)),
          sample(tmp_path / "z" / "other.jpg", face5(0, 0))]
    pred = [sample("/far/away/face.jpg", face5(0, 0)), sample("/far/away/other.jpg", face5(0, 0))]
    r = evaluate(pred, gt, norm="interocular", threshold=0.1)
    # face.jpg names two ground-truth images: neither is paired; other.jpg pairs by name
    assert (r.summary["count"], r.unmatched, r.unmatched_pred) == (1, 2, 1)


def test_multi_face_by_centroid_in_box(tmp_path: Path) -> None:
    img = tmp_path / "group.jpg"
    gt = [sample(img, face5(100, 100)), sample(img, face5(300, 100)), sample(img, face5(500, 100))]
    pred = [
        sample(img, face5(302, 100)),  # near GT 1: error 2
        sample(img, face5(900, 900)),  # a face nobody annotated
        sample(img, face5(100, 101)),  # near GT 0: error 1
    ]
    m = match_samples(pred, gt)
    assert m.pairs == [(2, 0), (0, 1)]
    assert (m.unmatched_gt, m.unmatched_pred) == ([2], [1])
    r = evaluate(pred, gt, norm="interocular", threshold=0.1)
    # 1 / 40 and 2 / 40
    np.testing.assert_allclose(r.nmes, [0.025, 0.05])
    assert (r.unmatched, r.unmatched_pred) == (1, 1)


def test_single_face_far_off_is_a_face_not_found(tmp_path: Path) -> None:
    gt = [sample(tmp_path / "a.jpg", face5(100, 100)), sample(tmp_path / "b.jpg", face5(100, 100))]
    # a.jpg: the prediction's centroid (100, 125) leaves the face's point box [80, 120] x [80, 120]: not found,
    # not scored; b.jpg: 20 px off, its centroid (100, 120) on the box's edge: found, NME 20 / 40
    pred = [sample(tmp_path / "a.jpg", face5(100, 125)), sample(tmp_path / "b.jpg", face5(100, 120))]
    r = evaluate(pred, gt, norm="interocular", threshold=0.1)
    np.testing.assert_allclose(r.nmes, [0.5])
    assert (r.unmatched, r.unmatched_pred, r.summary["fr"]) == (1, 1, 1.0)
    assert "1 ground-truth face(s) without a prediction" in format_table(r)
    # the annotation's own box is the face's box where it gives one: a.jpg's prediction is then found
    boxed = [sample(tmp_path / "a.jpg", face5(100, 100), box=Box(60.0, 60.0, 140.0, 140.0))]
    np.testing.assert_allclose(evaluate(pred[:1], boxed).nmes, [25 / 40])


def test_match_faces_centroid_rule_hand_worked_one_to_one_most_pairs_first() -> None:
    boxes = np.array([[0, 0, 10, 10], [8, 0, 18, 10], [100, 100, 110, 110.0]])
    # face 0 at (9, 5) lies in boxes 0 and 1 (0.4 box sizes from either centre); face 1 at (2, 5) lies in
    # box 0 only. Most pairs: face 1 -> box 0, face 0 -> box 1. Face 2 (50, 50) lies in none.
    m = match_faces(np.array([[9.0, 5.0], [2.0, 5.0], [50.0, 50.0]]), boxes)
    assert m.pairs == [(1, 0), (0, 1)] and m.unmatched_gt == [2] and m.unmatched_pred == [2]
    # one face in two boxes: the nearer centre, box 1's (13, 5) at 3.5 px, not box 0's (5, 5) at 4.5 px
    assert match_faces(np.array([[9.5, 5.0]]), boxes).pairs == [(0, 1)]
    assert match_faces(np.zeros((0, 2)), boxes).unmatched_gt == [0, 1, 2]
    assert match_faces(np.array([[np.nan, np.nan]]), boxes).unmatched_pred == [0]  # no finite point: not found


def test_match_faces_centroid_rule_degenerate_box_does_not_break_the_assignment() -> None:
    # a box given as a click, [10, 10, 10, 10] (size 0): a centroid on it is inside, its distance counts in
    # pixels (0 here) and the other faces still pair (was: 0 / 0 -> NaN cost, "matrix contains invalid
    # numeric entries" from the Hungarian solver, and the whole evaluation died)
    boxes = np.array([[10, 10, 10, 10], [40, 40, 60, 60.0]])
    m = match_faces(np.array([[50.0, 50.0], [10.0, 10.0]]), boxes)
    assert m.pairs == [(1, 0), (0, 1)] and m.unmatched_gt == [] and m.unmatched_pred == []
    assert match_faces(np.array([[10.0, 12.0]]), boxes[:1]).pairs == []  # off the point: not found


def test_match_faces_iou_option_and_errors() -> None:
    # boxes [1, 0, 11, 10] vs [0, 0, 10, 10]: IoU 90 / 110 = 0.818 -> a pair; [0, 0, 2, 2] vs [1, 1, 3, 3]: 1 / 7
    m = match_faces(np.array([[1, 0, 11, 10], [0, 0, 2, 2]]), np.array([[0, 0, 10, 10], [1, 1, 3, 3]]), rule="iou")
    assert m.pairs == [(0, 0)] and m.unmatched_gt == [1] and m.unmatched_pred == [1]
    loose = match_faces(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3]]), rule="iou", iou_threshold=0.1)
    assert loose.pairs == [(0, 0)]
    with pytest.raises(ValueError, match=r"iou_threshold must be in \(0, 1\], got 0.0"):
        match_faces(np.zeros((0, 4)), np.zeros((0, 4)), rule="iou", iou_threshold=0.0)
    with pytest.raises(ValueError, match=r"rule must be one of \('centroid', 'iou'\), got 'nearest'"):
        match_faces(np.zeros((0, 2)), np.zeros((0, 4)), rule="nearest")
    with pytest.raises(ValueError, match=r"rule 'centroid' expects predicted centroids \(N, 2\) and boxes \(M, 4\), got \(1, 4\)"):
        match_faces(np.zeros((1, 4)), np.zeros((1, 4)))


def test_68_pred_vs_5_gt_compares_five_points(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pts68 = rng.uniform(0, 200, size=(68, 2))
    s68 = get_scheme("68")
    gt = [sample(tmp_path / "a.jpg", s68.to_five(pts68), "5")]
    pred = [sample(tmp_path / "a.jpg", pts68 + [3.0, 4.0], "68")]
    r = evaluate(pred, gt, norm="interocular", threshold=0.1)
    left, right = s68.eye_centres(pts68)
    # every reduced point is off by (3, 4) -> 5; normaliser: the 5-point eye-centre distance
    np.testing.assert_allclose(r.nmes, [5.0 / np.linalg.norm(left - right)])
    assert r.scheme == "5" and r.pred_scheme == "68" and r.gt_scheme == "5"
    assert "pred 68 vs gt 5 points, compared as 5" in format_table(r)


def test_gt_visibility_and_subsets(tmp_path: Path) -> None:
    pred_pts = face5(0, 0)
    pred_pts[2] += [10.0, 0.0]  # nose 10 px off
    gt = [
        sample(tmp_path / "a.jpg", face5(0, 0), visible=np.array([1, 1, 0, 1, 1], bool),
               attributes={"pose": 1, "blur": 0}),
        sample(tmp_path / "b.jpg", face5(0, 0), attributes={"pose": 0, "blur": 1}),
    ]
    pred = [sample(tmp_path / "a.jpg", pred_pts), sample(tmp_path / "b.jpg", pred_pts)]
    r = evaluate(pred, gt, norm="interocular", threshold=0.1)
    # a: occluded nose not scored -> 0; b: mean(0, 0, 10, 0, 0) / 40 = 0.05
    np.testing.assert_allclose(r.nmes, [0.0, 0.05])
    assert list(r.subsets) == ["full", "pose", "blur"]
    assert r.subsets["pose"]["count"] == 1 and r.subsets["pose"]["nme"] == 0.0
    assert r.subsets["blur"]["nme"] == pytest.approx(0.05)
    table = format_table(r)
    assert "pose" in table and "NME (%)" in table and "AUC@0.1" in table
    # full: NME mean(0, 5) % = 2.500, FR 0.00 %, AUC mean(1, 0.5) = 0.7500
    full_rows = [ln.split() for ln in table.splitlines() if ln.startswith("full")]
    assert full_rows == [["full", "2", "2.500", "0.00", "0.7500"]]


def test_evaluate_errors(tmp_path: Path) -> None:
    gt = [sample(tmp_path / "a.jpg", face5(0, 0))]
    with pytest.raises(ValueError, match=r"no prediction matched.*'/x/b\.jpg'"):
        evaluate([sample("/x/b.jpg", face5(0, 0))], gt, norm="interocular", threshold=0.1)
    with pytest.raises(ValueError, match=r"unknown norm 'ipd'"):
        evaluate(gt, gt, norm="ipd", threshold=0.1)
    with pytest.raises(ValueError, match=r"predictions hold no faces \(ground truth has 1\)"):
        evaluate([], gt, norm="interocular", threshold=0.1)
    with pytest.raises(ValueError, match=r"scheme\(s\) \['7'\] are not registered"):
        evaluate([sample(tmp_path / "a.jpg", np.zeros((7, 2)), "7")], gt, norm="interocular", threshold=0.1)


def test_result_type(tmp_path: Path) -> None:
    gt = [sample(tmp_path / "a.jpg", face5(0, 0), source="gt.txt:1")]
    r = evaluate(gt, gt, norm="interpupil", threshold=0.08)
    assert isinstance(r, EvalResult) and r.sources == ["gt.txt:1"] and r.threshold == 0.08
    assert r.summary == {"nme": 0.0, "fr": 0.0, "auc": 1.0, "count": 1}


def test_98_gt_vs_68_pred_compares_in_68_with_visibility(tmp_path: Path) -> None:
    from facealign.landmarks import WFLW98_TO_IBUG68, wflw98_to_ibug68

    rng = np.random.default_rng(1)
    pts98 = rng.uniform(0, 200, size=(98, 2))
    vis98 = np.ones(98, dtype=bool)
    vis98[WFLW98_TO_IBUG68[30]] = False  # the 98-point that becomes 68-point 30 (nose tip) is occluded
    pred68 = wflw98_to_ibug68(pts98).copy()
    pred68[30] += [50.0, 0.0]  # wrong only where the ground truth is occluded: not scored
    pred68[0] += [6.8, 0.0]  # jaw point off by 6.8 px
    gt = [sample(tmp_path / "a.jpg", pts98, "98", visible=vis98)]
    r = evaluate([sample(tmp_path / "a.jpg", pred68, "68")], gt, norm="interocular", threshold=0.1)
    d = np.linalg.norm(pts98[WFLW98_TO_IBUG68[36]] - pts98[WFLW98_TO_IBUG68[45]])  # 68-point outer corners
    # 67 visible points, one 6.8 px off: 6.8 / 67 / d
    assert r.scheme == "68"
    np.testing.assert_allclose(r.nmes, [6.8 / 67 / d])


def test_frame_numbers_make_no_subset_and_auc_stays_in_range():
    from facealign.metrics import auc
    from facealign.types import Sample

    pts = np.array([[10.0, 10.0], [30.0, 10.0], [20.0, 20.0], [12.0, 30.0], [28.0, 30.0]])
    gt = [Sample(f"v.mp4#{i}", pts, "5", attributes={"frame": i, "occlusion": i % 2}) for i in range(3)]
    pred = [Sample(f"v.mp4#{i}", pts, "5") for i in range(3)]
    res = evaluate(pred, gt)
    assert "frame" not in res.subsets and "occlusion" in res.subsets
    assert auc(np.zeros(7), 0.1) == 1.0
