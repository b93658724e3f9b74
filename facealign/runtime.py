"""Inference backends for the landmark network: PyTorch, or ONNX Runtime (the CPU default).

A runner maps a float32 batch ``(N, 3, S, S)`` to the network's outputs as a list of numpy arrays
(one per output: heatmaps ``(N, K, h, w)`` for heatmap models; HIH's integer and decimal maps; ...;
:mod:`facealign.outputs` turns them back into the network's output type).
The ONNX graph is exported in memory from the PyTorch model the first time it is needed, so the
package ships one set of weights.
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from typing import Iterator, Protocol, Sequence

import numpy as np
import torch

from .models.zoo import ModelCard

__all__ = ["LandmarkRunner", "OnnxRunner", "TorchRunner", "export_onnx_bytes", "make_runner", "torch_threads"]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (``n <= 0``: leave the setting alone)."""
    prev = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


class LandmarkRunner(Protocol):
    def __call__(self, batch: np.ndarray) -> list[np.ndarray]: ...


def _flat(out: object) -> list[torch.Tensor]:
    """A network output (a tensor or a tuple / NamedTuple of tensors) as a flat list of tensors."""
    return list(out) if isinstance(out, (tuple, list)) else [out]  # type: ignore[list-item]


class TorchRunner:
    """Runs the PyTorch module in eval mode under ``torch.inference_mode``."""

    def __init__(self, model: torch.nn.Module, *, device: str = "cpu", threads: int = 0) -> None:
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.threads = threads

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        with torch_threads(self.threads), torch.inference_mode():
            out = self.model(torch.from_numpy(batch).to(self.device))
        return [t.float().cpu().numpy() for t in _flat(out)]


def export_onnx_bytes(
    model: torch.nn.Module, input_size: int, *, names: Sequence[str] = ("heatmaps",), opset: int = 17
) -> bytes:
    """Export ``model`` to an ONNX graph with a dynamic batch axis: input ``input``, outputs ``names``
    (the flattened network output, :attr:`facealign.outputs.OutputAdapter.names`)."""
    model = model.eval()
    x = torch.zeros(1, 3, input_size, input_size)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        # input checks on shapes are constants for the fixed input size the graph is exported at
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        _export(model, x, buf, list(names), opset)
    return buf.getvalue()


def _export(model: torch.nn.Module, x: torch.Tensor, buf: io.BytesIO, names: list[str], opset: int) -> None:
    torch.onnx.export(
        model,
        (x,),
        buf,
        dynamo=False,
        input_names=["input"],
        output_names=names,
        dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in names}},
        opset_version=opset,
    )


class OnnxRunner:
    """ONNX Runtime on the CPU with a fixed number of intra-op threads."""

    def __init__(self, onnx_model: bytes, *, threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(onnx_model, sess_options=opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}))


def make_runner(
    model: torch.nn.Module,
    card: ModelCard,
    *,
    backend: str,
    device: str = "cpu",
    threads: int = 1,
) -> LandmarkRunner:
    """The runner for ``backend`` ("onnx" or "torch") of a model built as ``card`` describes."""
    from .outputs import OUTPUT_NAMES

    names = OUTPUT_NAMES[card.output]
    if backend == "torch":
        return TorchRunner(model, device=device, threads=threads)
    if backend == "onnx":
        return OnnxRunner(export_onnx_bytes(model, card.input_size, names=names), threads=threads)
    raise ValueError(f"unknown backend {backend!r}; expected 'onnx' or 'torch'")
