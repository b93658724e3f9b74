"""Tasks: targets -> decode round trips, flip-test merging of a mirrored crop's output, the losses'
zero at the target, for every top-down output kind; the one registry of kinds and its errors."""

import numpy as np
import pytest
import torch

from facealign.landmarks import get_scheme
from facealign.models.hih import HIHOutput
from facealign.models.hih import OffsetMapOutput, OffsetValueOutput
from facealign.models.propagation import PropagationOutput
from facealign.models.registry import create_model, get_model_card, list_models
from facealign.tasks import (
    TASKS,
    BottomUpTask,
    CropTask,
    HeatmapTask,
    HIHTask,
    OffsetMapTask,
    OffsetValueTask,
    PropagationTask,
    RegressionTask,
    flip_coordinates,
    make_task,
    task_class,
)

SCHEME = get_scheme("68")
KINDS = {"heatmap": "facealign_mnv2_050_68", "hih": "hih_cpu_68", "regression": "scc_cpu_68", "propagation": "propnet_cpu_68",
         "offset_value": "hih_wov_cpu_68", "offset_map": "hih_wom_cpu_68"}


def _task(kind):
    name = KINDS[kind]
    card = get_model_card(name)
    return card, make_task(card, create_model(name), SCHEME)


def _points(seed=0, size=128):
    """68 sub-pixel points well inside a ``size`` crop."""
    return np.random.default_rng(seed).uniform(0.2 * size, 0.8 * size, size=(68, 2))


def _batch(task, points):
    t = task.targets(points, np.ones(len(points), bool))
    return {k: torch.from_numpy(np.asarray(v))[None] for k, v in t.items()}


def _perfect_output(task, batch):
    """The output a perfect network would give: the targets themselves, in the network's output type."""
    if isinstance(task, HIHTask):
        return HIHOutput(batch["integer"][:, None], batch["decimal"])
    if isinstance(task, RegressionTask):
        return batch["coords"]
    if isinstance(task, PropagationTask):  # two stacks, both perfect
        return PropagationOutput(batch["heatmaps"][:, None].repeat(1, 2, 1, 1, 1), batch["boundaries"][:, None].repeat(1, 2, 1, 1, 1))
    if isinstance(task, OffsetValueTask):
        return OffsetValueOutput(batch["integer"][:, None], batch["offsets"])
    if isinstance(task, OffsetMapTask):  # the paper's maps: each point's offset at its cell, 0 elsewhere
        groups = 1 if task.codec.shared_maps else batch["cells"].shape[1]
        maps = task.codec.offset_maps(batch["cells"], batch["offsets"], batch["weights"], groups=groups)
        return OffsetMapOutput(batch["integer"][:, None], maps)
    return batch["heatmaps"]


# tolerance of decode(targets(p)) per kind: DARK on its own Gaussian (~0.05 heatmap cells = 0.2 px);
# HIH's representation precision s / (2 w_d) = 4 / 8 = 0.5 px per axis; regression and offset values are
# exact; WOM's one shared pair of maps gives points that share a cell their mean fraction: under one cell (4 px)
TOLERANCE = {"heatmap": 0.2, "hih": 0.5 + 1e-6, "regression": 1e-5, "propagation": 0.2, "offset_value": 1e-4, "offset_map": 4.0}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_targets_decode_round_trip(kind):
    card, task = _task(kind)
    assert isinstance(task, CropTask) and task.kind == kind and TASKS[kind] is type(task)
    pts = _points(size=card.input_size)
    coords, scores = task.decode(_perfect_output(task, _batch(task, pts)))
    assert coords.shape == (1, 68, 2) and scores.shape == (1, 68)
    assert np.abs(coords[0].numpy() - pts).max() <= TOLERANCE[kind]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_merging_the_mirrored_crops_output_recovers_the_points(kind):
    """The output for the mirrored crop (points x -> S - 1 - x, re-indexed by the flip map), merged
    back, decodes to the unmirrored points as well as the output itself does."""
    card, task = _task(kind)
    size = card.input_size
    pts = _points(seed=1, size=size)
    mirrored = pts[list(SCHEME.flip_index)].copy()
    mirrored[:, 0] = size - 1 - mirrored[:, 0]
    out = _perfect_output(task, _batch(task, pts))
    out_m = _perfect_output(task, _batch(task, mirrored))
    merged_out = task.merge_flip(out, out_m)
    assert type(merged_out) is type(out)  # the network's own output type
    merged, _ = task.decode(merged_out)
    assert np.abs(merged[0].numpy() - pts).max() <= TOLERANCE[kind]
    # a wrong flip (no re-indexing) would average left and right points: far off
    if kind != "regression":
        parts = out if isinstance(out, tuple) else (out,)
        parts_m = out_m if isinstance(out_m, tuple) else (out_m,)
        wrong = [0.5 * (a + b.flip(-1)) if a.ndim > 3 else a for a, b in zip(parts, parts_m)]
        wrong_out = type(out)(*wrong) if isinstance(out, tuple) else wrong[0]
        assert np.abs(task.decode(wrong_out)[0][0].numpy() - pts).max() > 5.0


def test_flip_coordinates_by_hand():
    # a 10 px crop: x = 2 on point 0 mirrors to 10 - 1 - 2 = 7, and the flip map swaps points 0 and 1
    pts = torch.tensor([[[2.0, 3.0], [6.5, 4.0]]])
    out = flip_coordinates(pts, (1, 0), 10)
    assert out.tolist() == [[[2.5, 4.0], [7.0, 3.0]]]
    assert torch.equal(flip_coordinates(out, (1, 0), 10), pts)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_loss_is_zero_at_the_target_and_positive_elsewhere(kind):
    card, task = _task(kind)
    batch = _batch(task, _points(seed=2, size=card.input_size))
    out = _perfect_output(task, batch)
    loss, parts = task.loss(out, batch)
    assert float(loss) == pytest.approx(0.0, abs=1e-6) and set(parts)
    other = _perfect_output(task, _batch(task, _points(seed=3, size=card.input_size)))
    assert float(task.loss(other, batch)[0]) > 1e-4


def test_invisible_and_missing_points_get_zero_weight():
    _, task = _task("regression")
    pts = _points()
    pts[3] = np.nan
    visible = np.ones(68, bool)
    visible[5] = False
    t = task.targets(pts, visible)
    assert t["weights"][3] == 0 and t["weights"][5] == 0 and t["weights"].sum() == 66
    assert np.isfinite(t["coords"]).all()
    for kind in ("heatmap", "hih", "propagation", "offset_value", "offset_map"):
        t = _task(kind)[1].targets(pts, visible)
        assert t["weights"][3] == 0 and t["weights"][5] == 0 and t["weights"].sum() == 66


def test_each_kind_takes_its_own_losses():
    card, task = _task("heatmap")
    assert isinstance(task, HeatmapTask) and task.loss_fn is HeatmapTask.LOSSES["awing"]  # the default: the first
    assert make_task(card, None, SCHEME, loss="mse").loss_fn is HeatmapTask.LOSSES["mse"]
    with pytest.raises(ValueError, match=r"facealign_mnv2_050_68: output kind 'heatmap' trains with loss 'awing' or 'mse' or 'l1'; got loss='focal'"):
        make_task(card, None, SCHEME, loss="focal")
    with pytest.raises(ValueError, match=r"hih_cpu_68: output kind 'hih' trains with loss 'hih'; got loss='awing'"):
        make_task(get_model_card("hih_cpu_68"), create_model("hih_cpu_68"), SCHEME, loss="awing")
    with pytest.raises(ValueError, match=r"output kind 'regression' trains with loss 'softwing' or 'l1'; got loss='mse'"):
        RegressionTask(SCHEME, 128, loss="mse")


def test_propagation_targets_hold_the_schemes_boundaries_and_flip_with_them():
    card, task = _task("propagation")
    pts = _points(seed=4, size=card.input_size)
    t = task.targets(pts, np.ones(68, bool))
    m = len(SCHEME.boundaries)
    assert t["boundaries"].shape == (m, card.heatmap_size, card.heatmap_size) and t["boundary_weights"].shape == (m,)
    # the mirrored face's boundary maps, mirrored and re-indexed, are this face's maps
    mirrored = pts[list(SCHEME.flip_index)].copy()
    mirrored[:, 0] = card.input_size - 1 - mirrored[:, 0]
    tm = task.targets(mirrored, np.ones(68, bool))
    back = tm["boundaries"][list(task.boundary_codec.flip_index)][..., ::-1]
    np.testing.assert_allclose(back, t["boundaries"], atol=1e-5)
    nolpm = make_task(get_model_card("propnet_cpu_68_nolpm"), create_model("propnet_cpu_68_nolpm"), SCHEME)
    assert nolpm.targets(pts, np.ones(68, bool))["boundaries"].shape == (0, card.heatmap_size, card.heatmap_size)


def test_hih_loss_args_reach_the_csc_term_by_hand():
    """A one-hot 4 x 4 decimal target against flat predicted logits: KL(softmax(t / T) || uniform) / 16.
    T = 1 (Eq. 5): p_peak = e / (e + 15) = 0.153418, the rest 1 / (e + 15) = 0.056439, so
    KL = 0.153417 ln(16 * 0.153417) + 15 * 0.056439 ln(16 * 0.056439) = 0.0514085.
    T = 0.1: p_peak = e^10 / (e^10 + 15) = 0.999319, the rest 4.537e-5, KL = 2.765103."""
    card, net = get_model_card("hih_cpu_68"), create_model("hih_cpu_68")
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1, 2] = 1.0
    h = card.heatmap_size
    batch = {"weights": torch.ones(1, 1), "integer": torch.zeros(1, 1, h, h), "decimal": target}
    out = HIHOutput(integer=torch.zeros(1, 1, 1, h, h), decimal=torch.zeros(1, 1, 4, 4))
    for args, kl in (({}, 0.0514085), ({"temperature": 0.1}, 2.765103), ({"temperature": 0.1, "alpha": 0.5}, 2.765103)):
        task = make_task(card, net, SCHEME, loss_args=args)
        loss, parts = task.loss(out, batch)
        assert float(parts["csc"]) == pytest.approx(kl / 16, rel=1e-4)
        assert float(loss) == pytest.approx(args.get("alpha", 0.1) * kl / 16, rel=1e-4)
    with pytest.raises(ValueError, match="hih_cpu_68: HIH loss: temperature must be positive, got 0.0"):
        make_task(card, net, SCHEME, loss_args={"temperature": 0.0})
    with pytest.raises(ValueError, match=r"loss_args \['temperature'\] do not apply to output kind 'heatmap'; it takes none"):
        make_task(get_model_card("facealign_mnv2_050_68"), None, SCHEME, loss_args={"temperature": 0.5})


def test_one_registry_of_kinds_names_every_output():
    """TASKS is the one list of output kinds: every registered card's kind is in it, each task names
    the network's outputs (the ONNX graph's output names) as the network returns them."""
    assert list(TASKS) == ["heatmap", "regression", "hih", "propagation", "bottomup", "offset_value", "offset_map"]
    assert all(TASKS[k].kind == k for k in TASKS)
    assert {get_model_card(n).output for n in list_models()} == set(TASKS)
    assert HIHTask.names == HIHOutput._fields and PropagationTask.names == PropagationOutput._fields
    assert OffsetValueTask.names == OffsetValueOutput._fields and OffsetMapTask.names == OffsetMapOutput._fields
    from facealign.models.foxnet import FoxNetOutput

    assert BottomUpTask.names == FoxNetOutput._fields
    assert task_class("regression") is RegressionTask
    with pytest.raises(ValueError, match=r"unknown output kind 'maps'; expected one of \('heatmap', 'regression'"):
        task_class("maps")


def test_bottom_up_task_is_no_crop_task_and_takes_the_fox_loss():
    card = get_model_card("foxnet_cpu_68")
    task = make_task(card, None, SCHEME)
    assert isinstance(task, BottomUpTask) and not isinstance(task, CropTask)
    assert (task.codec.input_size, task.codec.num_points) == (card.input_size, card.num_points)
    with pytest.raises(ValueError, match=r"foxnet_cpu_68: loss_args \['alpha'\] do not apply to output kind 'bottomup'; it takes none"):
        make_task(card, None, SCHEME, loss="fox", loss_args={"alpha": 1.0})
