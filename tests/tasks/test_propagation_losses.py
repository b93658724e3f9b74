"""The propagation task's two losses (PropagationNet Eq. 5 with Focal Wing, the default, or with AWing, the
paper's Sec. 4.4 baseline), hand-worked on 1 x 1 maps."""

import numpy as np
import pytest
import torch

from facealign.landmarks import get_scheme
from facealign.models.propagation import PropagationOutput
from facealign.models.registry import create_model, get_model_card
from facealign.tasks import PropagationTask, make_task

SCHEME = get_scheme("68")

# Sec. 4.3 constants (alpha 2.1, omega 14, epsilon 1, theta 0.5; tests/losses/test_focal_wing.py works them):
#   y = 0, |y - y_hat| = 1:    A0 - Omega0 = 11.121422 - 2.625476               = 8.495946
#   y = 0, |y - y_hat| = 0.25: 14 ln(1 + 0.25^2.1)                              = 0.741731
#   y = 1, |y - y_hat| = 0.75: A1 * 0.75 - Omega1 = 9.797850 * 0.75 + 0.461533 = 7.809921,
#          times AWing's weighted loss map 1 + 10 * [y > 0.2] = 11             -> 85.909126
# Two samples, one stack, one landmark map and one boundary map of 1 x 1 cells:
#   landmark preds (1, 0.25) on y = 0 -> (8.495946, 0.741731)
#   boundary preds (0.25, 0.25) on y = (0, 1) -> (0.741731, 85.909126)
PRED_HEATMAPS = torch.tensor([1.0, 0.25], dtype=torch.float64).reshape(2, 1, 1, 1, 1)
PRED_BOUNDARIES = torch.tensor([0.25, 0.25], dtype=torch.float64).reshape(2, 1, 1, 1, 1)
BATCH = {
    "heatmaps": torch.zeros(2, 1, 1, 1, dtype=torch.float64),
    "boundaries": torch.tensor([0.0, 1.0], dtype=torch.float64).reshape(2, 1, 1, 1),
    "weights": torch.ones(2, 1, dtype=torch.float64),
    "boundary_weights": torch.ones(2, 1, dtype=torch.float64),
}
# AWing: means over the 2 elements, L_lm = (8.495946 + 0.741731) / 2 = 4.618839,
#   L_bd = (0.741731 + 85.909126) / 2 = 43.325429, Eq. 5: 4.618839 + 0.5 * 43.325429 = 26.281553
AWING = (26.281553, 4.618839, 43.325429)
# Focal Wing with one attribute that sample 0 has: sigma = (2 / 1, 1) -> sample weights (2, 1):
#   L_lm = (2 * 8.495946 + 0.741731) / 2 = 8.866812, L_bd = (2 * 0.741731 + 85.909126) / 2 = 43.696294,
#   Eq. 5: 8.866812 + 0.5 * 43.696294 = 30.714959
FOCAL = (30.714959, 8.866812, 43.696294)


def _task(loss=None):
    card = get_model_card("propnet_cpu_68")
    return make_task(card, create_model("propnet_cpu_68"), SCHEME, loss=loss)


def _loss(task, batch):
    total, parts = task.loss(PropagationOutput(PRED_HEATMAPS, PRED_BOUNDARIES), batch)
    return total.item(), parts["landmark"].item(), parts["boundary"].item()


def test_focal_wing_stays_the_default_and_awing_is_the_other_choice():
    assert PropagationTask.loss_names == ("focalwing", "awing")
    assert _task().focal and _task("focalwing").focal and not _task("awing").focal
    with pytest.raises(ValueError, match=r"propnet_cpu_68: output kind 'propagation' trains with loss 'focalwing' or 'awing'; got loss='mse'"):
        _task("mse")


def test_awing_loss_hand_worked():
    assert _loss(_task("awing"), BATCH) == pytest.approx(AWING, abs=1e-5)


def test_focal_wing_weighs_the_batchs_attribute_flags_and_awing_does_not():
    flagged = {**BATCH, "attributes": torch.tensor([[1], [0]])}
    assert _loss(_task("focalwing"), flagged) == pytest.approx(FOCAL, abs=1e-5)
    assert _loss(_task("awing"), flagged) == pytest.approx(AWING, abs=1e-5)
    # without flags (our data sets: 300-W, faces/) the focal factor is 1: the same number as AWing
    assert _loss(_task("focalwing"), BATCH) == pytest.approx(AWING, abs=1e-5)


def test_awing_and_focal_wing_give_the_same_gradients_on_real_targets():
    """A real batch of the task's own targets (no attribute flags) and a random network output: the two
    losses, and so the training runs, are identical."""
    awing, focal = _task("awing"), _task("focalwing")
    rng = np.random.default_rng(0)
    t = awing.targets(rng.uniform(30, 98, size=(68, 2)), np.ones(68, bool))
    batch = {k: torch.from_numpy(np.asarray(v))[None] for k, v in t.items()}
    g = torch.Generator().manual_seed(0)
    heat = torch.rand((1, 2, *batch["heatmaps"].shape[1:]), generator=g, requires_grad=True)
    bound = torch.rand((1, 2, *batch["boundaries"].shape[1:]), generator=g, requires_grad=True)
    grads = []
    for task in (awing, focal):
        loss, _ = task.loss(PropagationOutput(heat, bound), batch)
        grads.append(torch.autograd.grad(loss, (heat, bound)))
    assert all(torch.equal(a, b) for a, b in zip(*grads))
