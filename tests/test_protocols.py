"""Validation protocols: the scores, hand-worked."""

import numpy as np
import pytest

from facealign.data.records import FaceRecord
from facealign.evaluation.protocols import PROFILE_FAILURE, face_errors, paired_difference, score_points, summarise
from facealign.types import Box


def test_profile_scores_use_the_face_size_and_their_own_threshold():
    gt = np.full((68, 2), np.nan)
    gt[[30, 36]] = [[10.0, 10.0], [0.0, 0.0]]
    box = Box(0.0, 0.0, 20.0, 5.0)  # sqrt(20 * 5) = 10
    pred = np.zeros((2, 68, 2))
    pred[:, 30], pred[:, 36] = [10.0, 10.4], [0.0, 0.0]  # face 0: errors 0.4, 0 px -> NME 0.2 / 10 = 2 %
    pred[1, 36] = [0.0, 1.2]  # face 1: errors 0.4, 1.2 -> 0.8 / 10 = 8 % > 5 %
    recs = [FaceRecord("a.jpg", gt, "68", box=box), FaceRecord("b.jpg", gt, "68", box=box)]
    s = score_points("profile", pred, recs, "68")  # the records' own face boxes
    assert PROFILE_FAILURE == 0.05
    assert s["nme"] == pytest.approx(5.0) and s["fr"] == pytest.approx(50.0)
    assert score_points("profile", pred, recs, "68", boxes=[Box(0.0, 0.0, 40.0, 10.0)] * 2)["nme"] == pytest.approx(2.5)
    e, threshold = face_errors("profile", pred, recs, "68")  # the same, face by face
    assert e == pytest.approx([0.02, 0.08]) and threshold == PROFILE_FAILURE
    boxless = [FaceRecord("a.jpg", gt, "68"), recs[1]]
    with pytest.raises(ValueError, match=r"profile scoring needs one box per face \(boxes= or the records' box\), got 1 for 2"):
        score_points("profile", pred, boxless, "68")
    with pytest.raises(ValueError, match=r"unknown protocol kind 'wide'"):
        score_points("wide", pred, recs, "68")


def test_five_point_scores_take_the_human_points_where_a_face_has_them():
    five = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 5.0], [2.0, 8.0], [8.0, 8.0]])
    rec = FaceRecord("a.jpg", five.copy(), "5")
    pred = (five + [0.5, 0.0])[None]  # every point 0.5 px off, eye distance 10 -> 5 %
    s = score_points("five", pred, [rec], "5")
    assert s["nme"] == pytest.approx(5.0) and s["fr"] == 0.0


def test_paired_difference_hand_worked():
    # every face 0.5 lower: the mean and every bootstrap mean are -0.5, all 4 faces better
    d = paired_difference(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.5, 3.5, 4.5]), draws=50)
    assert d == {"mean": -0.5, "lo": -0.5, "hi": -0.5, "better": 4}
    # differences -1, +1: mean 0, the interval inside [-1, 1] and around 0, one face better
    d = paired_difference(np.array([0.0, 2.0]), np.array([1.0, 1.0]))
    assert d["mean"] == 0.0 and -1.0 <= d["lo"] < 0.0 < d["hi"] <= 1.0 and d["better"] == 1
    with pytest.raises(ValueError, match=r"expected two equal non-empty \(N,\) arrays, got \(2,\) and \(3,\)"):
        paired_difference(np.zeros(2), np.zeros(3))


def test_summarise_hand_worked():
    # errors 2 %, 4 %, 12 %: mean 6 %, one of three above 10 %
    s = summarise(np.array([0.02, 0.04, 0.12]), 0.1)
    assert s["nme"] == pytest.approx(6.0) and s["fr"] == pytest.approx(100 / 3)
    assert summarise(np.zeros(2), 0.1) == {"nme": 0.0, "fr": 0.0, "auc": 100.0}  # every face exact: the whole CED area

