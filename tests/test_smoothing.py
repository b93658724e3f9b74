import math

import numpy as np
import pytest

from facealign.smoothing import KalmanFilterCV, OneEuroFilter, jitter, smoothing_alpha


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


def test_kalman_first_two_samples_hand_worked():
    # r = 0.1, q = 1, dt = 1: P0 = diag(0.01, 1); F P0 F^T = [[1.01, 1], [1, 1]]; Q = [[1/3, 1/2], [1/2, 1]]
    # P- = [[1.343333, 1.5], [1.5, 2]]; gain = P-[:, 0] / (1.343333 + 0.01) = (0.992611, 1.108374)
    f = KalmanFilterCV(measurement_noise=0.1, process_noise=1.0, manoeuvre=np.inf)
    assert f(np.array([10.0]), 0.0)[0] == 10.0
    assert f.predict(1.0)[0] == 10.0  # velocity 0 until the second sample
    out = f(np.array([20.0]), 1.0)[0]
    assert out == pytest.approx(10 + 0.992611 * 10, abs=1e-5)
    assert f.velocity[0] == pytest.approx(1.108374 * 10, abs=1e-5)


def test_kalman_follows_constant_velocity_without_lag_and_averages_noise():
    t = np.arange(90) / 30
    ramp = 90.0 * t  # 3 px a frame, a face of 200 px
    f = KalmanFilterCV()
    out = np.array([f(np.array([v]), ti, scale=200.0)[0] for v, ti in zip(ramp, t)])
    # no steady-state lag on a noiseless ramp (One-Euro trails it: test_fast_motion_lags_less_with_beta)
    assert np.abs(out[30:] - ramp[30:]).max() < 1e-3
    assert f.velocity[0] == pytest.approx(90.0, rel=1e-4)
    assert f.predict(t[-1] + 1 / 30)[0] == pytest.approx(ramp[-1] + 3.0, abs=1e-3)
    rng = np.random.default_rng(0)
    noisy = 100.0 + rng.normal(0, 0.5, size=(120, 68, 2))  # 0.25 % of the face size
    f.reset()
    still = np.stack([f(x, i / 30, scale=200.0) for i, x in enumerate(noisy)])[30:]
    assert still.std(axis=0).mean() < 0.5 * noisy[30:].std(axis=0).mean()


def test_kalman_follows_a_sudden_stop_when_it_sees_the_manoeuvre():
    t = np.arange(60) / 30
    x = 90.0 * np.minimum(t, 1.0)  # 3 px a frame for 30 frames, then still
    err = {}
    for m in (1.0, np.inf):
        f = KalmanFilterCV(manoeuvre=m)
        out = np.array([f(np.array([v]), ti, scale=200.0)[0] for v, ti in zip(x, t)])
        err[m] = np.abs(out - x)[30:].max()
    # without the manoeuvre test the filter's momentum carries it well past the stop
    assert err[np.inf] > 5.0 and err[1.0] < 0.5 * err[np.inf]


def test_kalman_errors():
    with pytest.raises(ValueError, match="measurement_noise > 0"):
        KalmanFilterCV(measurement_noise=0.0)
    with pytest.raises(ValueError, match="process_noise > 0"):
        KalmanFilterCV(process_noise=-1.0)
    with pytest.raises(ValueError, match="manoeuvre > 0"):
        KalmanFilterCV(manoeuvre=0.0)
