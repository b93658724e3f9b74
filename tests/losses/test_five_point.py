"""The 5-point soft-argmax loss against human labels, by hand on exact Gaussian heatmaps."""

import math

import pytest
import torch

from facealign.codecs import gaussian_heatmaps
from facealign.landmarks import get_scheme
from facealign.losses import FivePointLoss, five_point_loss, five_point_matrix

SIGMA = 1.5


def _maps(centres):
    return gaussian_heatmaps(torch.tensor(centres, dtype=torch.float64), width=16, height=16, sigma=SIGMA)


def test_error_is_the_mean_distance_to_the_labels():
    # 5-point scheme: each of the 5 points is its own group. Exact Gaussians at the centres decode to
    # them (log-domain soft-argmax is unbiased), so labels moved by (3, 4) cells are 5 cells away.
    centres = [[[4.0, 5.0], [11.0, 5.0], [7.5, 8.0], [5.0, 11.0], [10.0, 11.0]]]
    five = torch.tensor(centres, dtype=torch.float64) + torch.tensor([3.0, 4.0], dtype=torch.float64)
    loss = five_point_loss(_maps(centres), five, scheme=get_scheme("5"), sigma=SIGMA)
    assert float(loss) == pytest.approx(5.0, abs=1e-3)
    # a second face without labels (NaN) is ignored; its maps do not count
    two = torch.cat([_maps(centres), _maps(centres).flip(-1)])
    labels = torch.cat([five, torch.full_like(five, math.nan)])
    assert float(FivePointLoss(get_scheme("5"), sigma=SIGMA)(two, labels)) == pytest.approx(5.0, abs=1e-3)


def test_no_labels_give_a_zero_that_keeps_the_graph():
    maps = _maps([[[4.0, 5.0]] * 5]).requires_grad_(True)
    loss = five_point_loss(maps, torch.full((1, 5, 2), math.nan), scheme=get_scheme("5"), sigma=SIGMA)
    loss.backward()
    assert float(loss.detach()) == 0.0 and maps.grad is not None and float(maps.grad.abs().sum()) == 0.0


def test_the_68_schemes_eye_centre_is_the_mean_of_its_contour():
    a = five_point_matrix(get_scheme("68"))
    assert a.shape == (5, 68) and torch.allclose(a.sum(dim=1), torch.ones(5))
    assert a[0, 36:42].tolist() == [pytest.approx(1 / 6)] * 6 and a[2, 30] == 1.0 and a[0, 42] == 0.0


def test_bad_sigma_is_refused():
    with pytest.raises(ValueError, match="FivePointLoss: sigma must be positive, got 0"):
        FivePointLoss(get_scheme("5"), sigma=0)
