"""Landmark-stage latency of a model: median milliseconds per face, per backend and thread count."""

from __future__ import annotations

import time

import numpy as np

from .models.zoo import create_model, get_model_card
from .runtime import make_runner

__all__ = ["landmark_latency_ms"]


def landmark_latency_ms(
    model: str, *, backend: str = "onnx", threads: int = 1, batch: int = 1, repeats: int = 50, warmup: int = 5
) -> float:
    """Median wall time (ms) of one forward pass over ``batch`` crops, divided by ``batch``."""
    card = get_model_card(model)
    net = create_model(model, pretrained=card.weights is not None)
    runner = make_runner(net, card, backend=backend, threads=threads)
    x = np.random.default_rng(0).standard_normal((batch, 3, card.input_size, card.input_size)).astype(np.float32)
    for _ in range(warmup):
        runner(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        runner(x)
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times)) / batch
