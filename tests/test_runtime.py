"""The landmark-stage graph (uint8 crops -> normalise -> network [+ mirrored crops] -> decode) against
the same steps done one by one in eager PyTorch, on real aligned crops, on both backends."""

from pathlib import Path

import numpy as np
import pytest
import torch

from facealign.geometry import align_matrix, warp
from facealign.imageio import read_image
from facealign.landmarks import get_scheme
from facealign.models.registry import create_model, get_model_card
from facealign.runtime import OnnxRunner, export_onnx_bytes, make_runner, make_stage_runner
from facealign.tasks import make_task, predict_crops

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"
#: RetinaFace's 5 points on takeo.ppm (rounded), enough to make a real aligned crop.
TAKEO_FIVE = np.array([[63.0, 99.0], [104.0, 100.0], [87.0, 124.0], [65.0, 140.0], [99.0, 140.0]])


@pytest.fixture(scope="module")
def crops():
    rgb = read_image(SAMPLES / "300w/takeo.ppm")
    out = []
    for size, jitter in ((64, 0.0), (64, 3.0)):  # two different crops of the same face
        m = align_matrix(TAKEO_FIVE + jitter, size)
        out.append(warp(rgb, m, size))
    return np.stack(out)


def _eager(net, card, task, crops, flip):
    x = (torch.from_numpy(crops).permute(0, 3, 1, 2).float() - torch.tensor(card.mean).view(1, 3, 1, 1)) / torch.tensor(
        card.std
    ).view(1, 3, 1, 1)
    coords, scores = task.decode(predict_crops(net, x, task=task, flip_test=flip))
    return coords.numpy(), scores.numpy()


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_stage_graph_equals_the_steps_one_by_one(crops, backend, flip):
    kwargs = {"width": 0.25, "input_size": 64, "filters": 16}
    torch.manual_seed(0)
    net = create_model("facealign_mnv2_050_68", **kwargs).eval()
    card = get_model_card("facealign_mnv2_050_68", **kwargs)
    task = make_task(card, net, get_scheme(card.scheme))
    coords, scores = make_stage_runner(net, card, task, backend=backend, flip_test=flip)(crops)
    ref_c, ref_s = _eager(net, card, task, crops, flip)
    assert coords.shape == (2, 68, 2) and scores.shape == (2, 68)
    np.testing.assert_allclose(coords, ref_c, atol=2e-3)
    np.testing.assert_allclose(scores, ref_s, atol=1e-5)
    # the mirrored crop changes the answer (so the flag reached the graph)
    other, _ = make_stage_runner(net, card, task, backend=backend, flip_test=not flip)(crops)
    assert np.abs(other - coords).max() > 1e-3


def test_stage_graph_has_no_shape_arithmetic_and_takes_any_batch(crops):
    """The decoder's map sizes are constants of the exported graph (only the batch is dynamic), so no
    shape arithmetic runs per call; the argmax is one row and one column search (not a flat ArgMax)."""
    onnx = pytest.importorskip("onnx")
    from collections import Counter

    from facealign.torch_stage import build_stage, stage_onnx_bytes

    net = create_model("facealign_mnv2_050_68", width=0.25, input_size=64, filters=16).eval()
    card = get_model_card("facealign_mnv2_050_68", width=0.25, input_size=64, filters=16)
    data = stage_onnx_bytes(build_stage(net, card), 64)
    ops = Counter(n.op_type for n in onnx.load_from_string(data).graph.node)
    assert ops["Shape"] == ops["Range"] == 0 and ops["ArgMax"] == 2
    runner = OnnxRunner(data)
    one, two = runner(crops[:1])[0], runner(crops)[0]
    assert one.shape == (1, 68, 2) and two.shape == (2, 68, 2)
    np.testing.assert_allclose(two[:1], one, atol=1e-4)


def test_onnx_runner_takes_the_graph_input_type(crops):
    """A uint8 graph gets uint8 crops, a float graph float32 (whatever the caller passed)."""
    net = create_model("facealign_mnv2_050_68", width=0.25, input_size=64, filters=16).eval()
    card = get_model_card("facealign_mnv2_050_68", width=0.25, input_size=64, filters=16)
    assert make_stage_runner(net, card, make_task(card, net, get_scheme(card.scheme)), backend="onnx").input_dtype == np.uint8
    runner = make_runner(net, card, backend="onnx")
    assert runner.input_dtype == np.float32
    (heatmaps,) = runner(crops.transpose(0, 3, 1, 2).astype(np.float64))
    assert heatmaps.shape == (2, 68, 16, 16) and heatmaps.dtype == np.float32
    with pytest.raises(ValueError, match="unknown backend"):
        make_stage_runner(net, card, None, backend="tvm")
    assert isinstance(OnnxRunner(export_onnx_bytes(net, 64)), OnnxRunner)


def test_latency_parts_run_and_bad_part_is_refused():
    from facealign.bench import landmark_latency_ms

    for part in ("network", "stage"):
        ms = landmark_latency_ms("facealign_mnv2_050_68", part=part, repeats=2, warmup=1)
        assert np.isfinite(ms) and ms > 0
    with pytest.raises(ValueError, match=r"part must be one of \('network', 'stage'\), got 'decode'"):
        landmark_latency_ms("facealign_mnv2_050_68", part="decode")


def test_median_ms_calls_warmup_plus_repeats():
    """The one timing loop of the package and the benchmarks (facealign.bench.median_ms)."""
    from facealign.bench import median_ms

    calls = []
    ms = median_ms(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and 0.0 <= ms < 50.0
    with pytest.raises(ValueError, match="repeats must be >= 1, got 0"):
        median_ms(lambda: None, repeats=0)
