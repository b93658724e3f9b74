"""ONNX export of a landmark network, with a numeric check of ONNX Runtime against PyTorch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .atomic import atomic_write_bytes
from .runtime import OnnxRunner, TorchRunner, export_onnx_bytes

__all__ = ["ExportReport", "export_onnx"]


@dataclass(frozen=True)
class ExportReport:
    path: Path
    size_bytes: int
    max_abs_diff: float
    tolerance: float


def export_onnx(
    model: torch.nn.Module,
    input_size: int,
    path: str | Path,
    *,
    names: Sequence[str] = ("heatmaps",),
    batch: int = 2,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Export ``model`` to ``path`` (atomically) and compare ONNX Runtime's output with PyTorch's on
    a random batch; raises ``RuntimeError`` when the largest absolute difference over all outputs
    exceeds ``tolerance``. ``names`` name the graph's outputs (:attr:`facealign.outputs.OutputAdapter.names`).
    """
    data = export_onnx_bytes(model, input_size, names=names)
    x = np.random.default_rng(seed).standard_normal((batch, 3, input_size, input_size)).astype(np.float32)
    ref = TorchRunner(model)(x)
    got = OnnxRunner(data, threads=1)(x)
    if [g.shape for g in got] != [r.shape for r in ref]:
        raise RuntimeError(f"ONNX output shapes {[g.shape for g in got]} differ from PyTorch's {[r.shape for r in ref]}")
    diff = max(float(np.abs(g - r).max()) for g, r in zip(got, ref))
    if not diff <= tolerance:
        raise RuntimeError(f"ONNX Runtime differs from PyTorch by {diff:.3g} (> tolerance {tolerance:g}); not written")
    atomic_write_bytes(path, data)
    return ExportReport(Path(path), len(data), diff, tolerance)
