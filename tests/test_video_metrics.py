import numpy as np
import pytest

from facealign.video_metrics import jitter_std, lag_frames, speed_error


def test_jitter_std_hand_worked():
    # one point at (0, 0), (2, 0), (0, 0), (2, 0): mean (1, 0), every frame 1 px away -> 1
    # another at (0, 0), (0, 0), (0, 3), (0, 3): mean (0, 1.5), every frame 1.5 px away -> 1.5
    tr = np.array([[[0, 0], [0, 0]], [[2, 0], [0, 0]], [[0, 0], [0, 3]], [[2, 0], [0, 3]]], dtype=float)
    assert jitter_std(tr) == pytest.approx((1 + 1.5) / 2)
    with pytest.raises(ValueError, match=r"\(T, K, 2\)"):
        jitter_std(np.zeros((4, 2)))


def test_lag_of_a_delayed_track_is_its_delay():
    t = np.arange(40, dtype=float)
    truth = np.stack([np.stack([3 * t, 0.5 * t], -1), np.stack([3 * t + 10, 0.5 * t - 4], -1)], 1)  # (T, 2, 2)
    delayed = truth - 2 * np.array([3.0, 0.5])  # two frames behind
    assert lag_frames(delayed, truth) == pytest.approx(2.0)
    assert lag_frames(truth + np.array([3.0, 0.5]), truth) == pytest.approx(-1.0)  # one frame ahead
    assert lag_frames(truth, truth) == 0.0
    # an error that grows with the displacement (following 90 % of the motion) is not lag
    assert lag_frames(truth - 0.1 * (truth - truth[0]), truth) == pytest.approx(0.0, abs=1e-9)
    assert lag_frames(delayed - 0.1 * (truth - truth[0]), truth) == pytest.approx(2.0)


def test_speed_error_hand_worked():
    t = np.arange(5, dtype=float)
    truth = np.stack([4 * t, 0 * t], -1)[:, None]  # 4 px a frame
    pred = np.stack([5 * t, 0 * t], -1)[:, None]  # 5 px a frame: 1 px a frame off -> 1 / 4
    assert speed_error(pred, truth) == pytest.approx(0.25)
    assert speed_error(pred, truth, skip=2) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="does not move"):
        speed_error(truth, np.zeros_like(truth))
    with pytest.raises(ValueError, match="same shape"):
        lag_frames(truth[:3], truth)
    with pytest.raises(ValueError, match="at least 7 frames"):
        lag_frames(truth, truth, skip=5)


def test_frames_without_a_face_are_left_out():
    t = np.arange(6, dtype=float)
    truth = np.stack([2 * t, 0 * t], -1)[:, None]
    pred = truth - np.array([2.0, 0.0])  # one frame behind
    pred[3] = np.nan
    assert lag_frames(pred, truth) == pytest.approx(1.0)
    assert speed_error(pred, truth) == pytest.approx(0.0)
    assert jitter_std(np.where(np.isnan(pred), np.nan, 5.0)) == 0.0
