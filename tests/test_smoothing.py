import math

import numpy as np
import pytest

from facealign.smoothing import OneEuroFilter, jitter, smoothing_alpha


def test_alpha_hand_worked():
    # cutoff 1 Hz, dt 1/30 s: tau = 1 / (2 pi) = 0.159155; alpha = 1 / (1 + 0.159155 * 30) = 1 / 5.774648 = 0.173171
    assert smoothing_alpha(1.0, 1 / 30) == pytest.approx(1 / (1 + 30 / (2 * math.pi)), rel=1e-12)
    assert smoothing_alpha(1.0, 1 / 30) == pytest.approx(0.173171, abs=1e-6)


def test_first_sample_passes_and_second_is_hand_worked():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    assert f(np.array([10.0]), 0.0)[0] == 10.0
    # beta = 0: a plain exponential smoother with alpha(1 Hz, 1/30 s) = 0.173171
    a = 1 / (1 + 30 / (2 * math.pi))
    assert f(np.array([20.0]), 1 / 30)[0] == pytest.approx(10 + a * 10)


def test_constant_signal_is_unchanged_and_noise_is_reduced():
    rng = np.random.default_rng(0)
    truth = np.tile([[100.0, 50.0]], (68, 1))
    noisy = truth + rng.normal(0, 1.0, size=(120, 68, 2))
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    out = np.stack([f(x, i / 30) for i, x in enumerate(noisy)])
    assert jitter(out) < 0.3 * jitter(noisy)
    f.reset()
    np.testing.assert_allclose(f(truth, 0.0), truth)
    np.testing.assert_allclose(f(truth, 0.1), truth)


def test_fast_motion_lags_less_with_beta():
    t = np.arange(60) / 30
    x = 300 * t  # 300 px/s ramp
    lag = {}
    for beta in (0.0, 1.0):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        out = [f(np.array([v]), ti)[0] for v, ti in zip(x, t)]
        lag[beta] = x[-1] - out[-1]
    assert lag[1.0] < 0.5 * lag[0.0]


def test_jitter_hand_worked_and_errors():
    track = np.array([[[0.0, 0.0]], [[3.0, 4.0]], [[3.0, 4.0]]])
    assert jitter(track) == pytest.approx(2.5)  # (5 + 0) / 2
    with pytest.raises(ValueError, match=r"\(T, K, 2\)"):
        jitter(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0.0)
