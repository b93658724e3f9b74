"""Timing: :func:`median_ms` (the one timing loop of the package and ``benchmarks/``, torch-free) and
the landmark-stage latency of a model, median milliseconds per face, per backend and thread count."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["PARTS", "landmark_latency_ms", "median_ms"]

#: What :func:`landmark_latency_ms` can time: the network alone (a float32 crop in, its raw outputs
#: out) or the landmark-stage graph the Aligner runs (a uint8 crop in: normalisation, network, decode;
#: :class:`facealign.runtime.LandmarkStage`).
PARTS = ("network", "stage")


def median_ms(fn: Callable[[], object], *, repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeats`` calls after ``warmup`` calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def landmark_latency_ms(
    model: str,
    *,
    backend: str = "onnx",
    threads: int = 1,
    batch: int = 1,
    repeats: int = 50,
    warmup: int = 5,
    part: str = "network",
    flip_test: bool = False,
) -> float:
    """Median wall time (ms) of one pass over ``batch`` crops, divided by ``batch``. ``part``: one of
    :data:`PARTS`; ``flip_test`` (stage only) adds the mirrored crops and the merge."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    from .landmarks import get_scheme  # here, not at the top: median_ms is torch-free, this needs PyTorch
    from .models.registry import create_model, get_model_card
    from .tasks import make_task
    from .runtime import make_runner, make_stage_runner

    card = get_model_card(model)
    net = create_model(model, pretrained=card.weights is not None)
    rng = np.random.default_rng(0)
    if part == "network":
        runner = make_runner(net, card, backend=backend, threads=threads)
        x = rng.standard_normal((batch, 3, card.input_size, card.input_size)).astype(np.float32)
    else:
        task = make_task(card, net, get_scheme(card.scheme))
        runner = make_stage_runner(net, card, task, backend=backend, threads=threads, flip_test=flip_test)
        x = rng.integers(0, 256, (batch, card.input_size, card.input_size, 3), dtype=np.uint8)
    return median_ms(lambda: runner(x), repeats=repeats, warmup=warmup) / batch
