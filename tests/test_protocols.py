"""Validation protocols: the scores, hand-worked."""

import numpy as np
import pytest

from facealign.data.records import FaceRecord
from facealign.evaluation.protocols import PROFILE_FAILURE, score_points
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
