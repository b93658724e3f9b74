"""Hand-worked values for facealign.metrics (arithmetic in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from facealign.landmarks import get_scheme
from facealign.metrics import (
    NMEAccumulator,
    auc,
    auc_numeric,
    ced,
    failure_rate,
    nme,
    normalizer,
    plot_ced,
    subset_breakdown,
)
from facealign.types import Box

# Two 5-point faces (left eye, right eye, nose, mouth left, mouth right).
GT = np.array(
    [
        [[0.0, 0.0], [10.0, 0.0], [5.0, 5.0], [2.0, 8.0], [8.0, 8.0]],  # inter-ocular 10
        [[0.0, 0.0], [20.0, 0.0], [10.0, 10.0], [4.0, 16.0], [16.0, 16.0]],  # inter-ocular 20
    ]
)


def _pred() -> np.ndarray:
    pred = GT.copy()
    pred[0] += [3.0, 4.0]  # every point of face 0 off by (3, 4): error 5 each
    pred[1, 2] += [6.0, 8.0]  # only the nose of face 1 off by (6, 8): error 10
    return pred


def test_nme_two_faces_by_hand() -> None:
    # face 0: mean(5, 5, 5, 5, 5) / 10 = 0.5
    # face 1: mean(0, 0, 10, 0, 0) / 20 = 2 / 20 = 0.1
    e = nme(_pred(), GT, scheme="5", norm="interocular")
    np.testing.assert_allclose(e, [0.5, 0.1])


def test_five_point_interocular_equals_interpupil() -> None:
    np.testing.assert_allclose(normalizer(GT, "5", "interocular"), [10.0, 20.0])
    np.testing.assert_allclose(normalizer(GT, "5", "interpupil"), [10.0, 20.0])


def test_68_interocular_vs_interpupil() -> None:
    gt = np.zeros((1, 68, 2))
    gt[0, :, 0] = np.arange(68)  # x = index, y = 0 (distinct points)
    # outer corners 36 and 45: |45 - 36| = 9
    np.testing.assert_allclose(normalizer(gt, "68", "interocular"), [9.0])
    # eye centres: mean(36..41) = 38.5, mean(42..47) = 44.5 -> 6
    np.testing.assert_allclose(normalizer(gt, "68", "interpupil"), [6.0])


def test_box_normaliser_345_box() -> None:
    # given box 3 wide, 4 high: box = sqrt(3 * 4) = sqrt(12); diagonal = sqrt(9 + 16) = 5
    gt = GT[:1]
    box = Box(10.0, 20.0, 13.0, 24.0)
    np.testing.assert_allclose(normalizer(gt, "5", "box", boxes=[box]), [np.sqrt(12.0)])
    np.testing.assert_allclose(normalizer(gt, "5", "diagonal", boxes=np.array([[10.0, 20.0, 13.0, 24.0]])), [5.0])
    # no box: the tight box of the GT points of face 0 is x 0..10, y 0..8 -> sqrt(80); diagonal sqrt(164)
    np.testing.assert_allclose(normalizer(gt, "5", "box"), [np.sqrt(80.0)])
    np.testing.assert_allclose(normalizer(gt, "5", "diagonal", boxes=[None]), [np.sqrt(164.0)])
    # box norms need no scheme
    np.testing.assert_allclose(normalizer(gt, None, "diagonal", boxes=[box]), [5.0])


def test_points_in_a_345_box() -> None:
    # 4 points on the corners of a 3 x 4 rectangle; prediction off by (0.6, 0.8) -> error 1 each.
    gt = np.array([[[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0]]])
    pred = gt + [0.6, 0.8]
    # diagonal of the tight box = 5 -> NME = 1 / 5 = 0.2
    np.testing.assert_allclose(nme(pred, gt, scheme=None, norm="diagonal"), [0.2])
    # box = sqrt(12) -> 1 / sqrt(12)
    np.testing.assert_allclose(nme(pred, gt, scheme=None, norm="box"), [1.0 / np.sqrt(12.0)])


def test_visibility_and_nan_masking() -> None:
    pred = _pred()
    vis = np.ones((2, 5), dtype=bool)
    vis[1, 2] = False  # hide face 1's nose: its only error -> face 1 NME = mean(0, 0, 0, 0) / 20 = 0
    vis[0, 0] = False  # face 0: still error 5 on the other four -> 5 / 10 = 0.5
    np.testing.assert_allclose(nme(pred, GT, scheme="5", visible=vis), [0.5, 0.0])
    # face 1 with an error only on mouth_left (3, 4) -> 5 and the nose unannotated (NaN):
    # mean over the 4 annotated points = 5 / 4 = 1.25, / 20 = 0.0625
    gt = GT.copy()
    gt[1, 2] = np.nan
    pred = GT.copy()
    pred[1, 3] += [3.0, 4.0]
    pred[1, 2] = np.nan  # a NaN prediction at an unannotated point does not matter
    np.testing.assert_allclose(nme(pred, gt, scheme="5"), [0.0, 0.0625])


def test_nme_accepts_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    e = nme(torch.tensor(_pred(), requires_grad=True), torch.tensor(GT), scheme="5")
    np.testing.assert_allclose(e, [0.5, 0.1])


def test_nme_errors() -> None:
    with pytest.raises(ValueError, match=r"same shape.*pred \(2, 5, 2\) and gt \(1, 5, 2\)"):
        nme(_pred(), GT[:1], scheme="5")
    with pytest.raises(ValueError, match=r"pred must be \(N, K, 2\).*got shape \(5, 2\)"):
        nme(GT[0], GT[0], scheme="5")
    with pytest.raises(ValueError, match=r"scheme 68 has 68 points but the arrays have K=5"):
        nme(GT, GT, scheme="68")
    with pytest.raises(ValueError, match=r"unknown norm 'iod'"):
        nme(GT, GT, scheme="5", norm="iod")
    with pytest.raises(ValueError, match=r"visible must be \(N, K\) = \(2, 5\), got shape \(2, 4\)"):
        nme(GT, GT, scheme="5", visible=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"needs a landmark scheme"):
        nme(GT, GT, scheme=None, norm="interocular")
    with pytest.raises(ValueError, match=r"boxes must be \(N, 4\).*N=2"):
        nme(GT, GT, scheme="5", norm="box", boxes=np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"samples \[1\] have no visible, annotated point"):
        nme(GT, GT, scheme="5", visible=np.array([[True] * 5, [False] * 5]))
    bad = _pred()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"pred has NaN/inf at 1 annotated points"):
        nme(bad, GT, scheme="5")
    coincident = GT.copy()
    coincident[1, 1] = coincident[1, 0]  # both eyes at one spot: inter-ocular 0
    with pytest.raises(ValueError, match=r"interocular normaliser must be finite and > 0.*samples \[1\]"):
        nme(coincident, coincident, scheme="5")


def test_failure_rate() -> None:
    e = np.array([0.02, 0.1, 0.1001, 0.5])
    # strictly above 0.1: 0.1001 and 0.5 -> 2 / 4
    assert failure_rate(e, threshold=0.1) == pytest.approx(0.5)
    # above 0.08: 0.1, 0.1001, 0.5 -> 3 / 4
    assert failure_rate(e, threshold=0.08) == pytest.approx(0.75)
    with pytest.raises(ValueError, match=r"threshold must be a finite number > 0, got 0"):
        failure_rate(e, threshold=0)
    with pytest.raises(ValueError, match=r"must be finite, got 1 NaN/inf of 2"):
        failure_rate([0.1, np.nan])
    with pytest.raises(ValueError, match=r"at least one"):
        failure_rate([])


def test_auc_hand_worked() -> None:
    # per face max(0, 0.1 - e) / 0.1: 1, 0.5, 0 -> mean 0.5
    assert auc([0.0, 0.05, 0.2], threshold=0.1) == pytest.approx(0.5)
    # at 0.08: (0.08 / 0.08, 0.03 / 0.08, 0) = (1, 0.375, 0) -> 1.375 / 3
    assert auc([0.0, 0.05, 0.2], threshold=0.08) == pytest.approx(1.375 / 3)
    assert auc([0.3, 0.2], threshold=0.1) == 0.0
    assert auc([0.0, 0.0], threshold=0.1) == 1.0


def test_auc_numeric_integration_agrees() -> None:
    rng = np.random.default_rng(0)
    e = rng.gamma(2.0, 0.02, size=500)
    for t in (0.08, 0.1):
        assert auc_numeric(e, t) == pytest.approx(auc(e, t), abs=1.0 / 1000)
        assert auc_numeric(e, t, steps=20000) == pytest.approx(auc(e, t), abs=1.0 / 20000)
    assert auc_numeric([0.0, 0.05, 0.2], 0.1) == pytest.approx(0.5, abs=1e-3)


def test_ced_curve() -> None:
    x, y = ced([0.0, 0.05, 0.2], threshold=0.1, steps=4)
    # x = 0, 0.025, 0.05, 0.075, 0.1; fraction with e <= x: 1/3, 1/3, 2/3, 2/3, 2/3
    np.testing.assert_allclose(x, [0.0, 0.025, 0.05, 0.075, 0.1])
    np.testing.assert_allclose(y, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3])
    with pytest.raises(ValueError, match=r"steps must be >= 1, got 0"):
        ced([0.1], 0.1, steps=0)


def test_subset_breakdown() -> None:
    e = np.array([0.0, 0.05, 0.2, 0.04])
    attrs = [{"pose": 1}, {"pose": 1, "blur": 1}, {"pose": 1, "blur": 1}, {}]
    out = subset_breakdown(e, attrs, threshold=0.1)
    assert set(out) == {"full", "pose", "expression", "illumination", "makeup", "occlusion", "blur"}
    # full: mean 0.29 / 4 = 0.0725; FR 1/4; AUC mean(1, 0.5, 0, 0.6) = 0.525
    assert out["full"] == pytest.approx({"nme": 0.0725, "fr": 0.25, "auc": 0.525, "count": 4})
    # pose = faces 0, 1, 2: NME 0.25 / 3, FR 1/3, AUC mean(1, 0.5, 0) = 0.5
    assert out["pose"] == pytest.approx({"nme": 0.25 / 3, "fr": 1 / 3, "auc": 0.5, "count": 3})
    # blur = faces 1, 2: NME 0.125, FR 0.5, AUC 0.25
    assert out["blur"] == pytest.approx({"nme": 0.125, "fr": 0.5, "auc": 0.25, "count": 2})
    assert out["makeup"]["count"] == 0 and np.isnan(out["makeup"]["nme"])
    with pytest.raises(ValueError, match=r"one dict per sample: expected 4, got 3"):
        subset_breakdown(e, attrs[:3])


def test_accumulator_matches_single_call() -> None:
    acc = NMEAccumulator(scheme="5", norm="interocular", threshold=0.1)
    assert acc.summary()["count"] == 0
    pred = _pred()
    np.testing.assert_allclose(acc.add(pred[:1], GT[:1]), [0.5])
    acc.add(pred[1:], GT[1:])
    s = acc.summary()
    # NMEs 0.5 and 0.1: mean 0.3; FR at 0.1 = 1/2 (0.1 is not above 0.1); AUC = mean(0, 0) = 0
    assert s == pytest.approx({"nme": 0.3, "fr": 0.5, "auc": 0.0, "count": 2})
    assert len(acc) == 2
    acc.reset()
    assert len(acc) == 0
    with pytest.raises(ValueError, match=r"unknown norm"):
        NMEAccumulator(scheme="5", norm="pupil")


def test_plot_ced_writes_png_atomically(tmp_path) -> None:
    out = tmp_path / "plots" / "ced.png"
    rng = np.random.default_rng(1)
    got = plot_ced({"a": rng.uniform(0, 0.1, 50), "b": rng.uniform(0, 0.2, 50)}, out, threshold=0.1)
    assert got == out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["ced.png"]  # no temp file left behind
    with pytest.raises(ValueError, match=r"must end in \.png"):
        plot_ced({"a": [0.1]}, tmp_path / "ced.jpg")
    with pytest.raises(ValueError, match=r"at least one curve"):
        plot_ced({}, out)
