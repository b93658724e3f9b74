"""The landmark stage on PyTorch: the torch backend, and the module that is exported to ONNX.

Two kinds of graph run on either backend:

* the network alone (:func:`make_runner`): a float32 batch ``(N, 3, S, S)`` -> the network's outputs
  as a list of numpy arrays (heatmaps ``(N, K, h, w)`` for heatmap models; HIH's integer and decimal
  maps; ...; in the order of the output kind's ``names``, :mod:`facealign.tasks`);
* the whole landmark stage after the crop (:class:`LandmarkStage`, :func:`make_stage_runner`): uint8 RGB
  crops ``(N, S, S, 3)`` -> normalisation -> network [-> mirrored crops and merge] -> decode ->
  ``[coords (N, K, 2) crop px, scores (N, K)]``. On ONNX Runtime the decoder runs inside the graph too,
  which saves the per-operator overhead of eager PyTorch on a handful of tiny tensors;
* a bottom-up model's whole-photo stage (:class:`BottomUpStage`, :func:`bottomup_runner`): uint8 RGB
  letterboxed photos ``(N, S, S, 3)`` -> normalisation -> network -> ``[segmentation (N, K, h, w),
  embedding (N, n, h, w)]``; the grouping after it is numpy (:class:`facealign.codecs.BottomUpCodec`).

The shipped models' stage graphs are exported once, by ``scripts/export_stages.py``
(:func:`facealign.export.export_stage`), into ``facealign/weights/``; inference without torch reads
them with :mod:`facealign.runtime`. Models without a shipped graph (research models, training
checkpoints) are exported here in memory when the ``onnx`` backend is asked for.
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from .card import ModelCard
from .runtime import STAGE_NAMES, LandmarkRunner, OnnxRunner

__all__ = [
    "BottomUpStage",
    "LandmarkStage",
    "TorchRunner",
    "bottomup_runner",
    "build_stage",
    "export_onnx_bytes",
    "make_runner",
    "make_stage_runner",
    "stage_onnx_bytes",
    "stage_runner",
    "torch_threads",
]


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


class _Normalise(torch.nn.Module):
    """uint8 RGB images ``(B, S, S, 3)`` -> ``x = (rgb - mean) / std`` as float32 ``(B, 3, S, S)``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images.permute(0, 3, 1, 2).float() - self.mean) / self.std


class LandmarkStage(torch.nn.Module):
    """The landmark stage between an aligned crop and its points, as one module (and one ONNX graph).

    ``forward(crops)``: uint8 RGB crops ``(B, S, S, 3)`` -> ``x = (rgb - mean) / std`` as ``(B, 3, S, S)``
    -> the network (and its mirrored crops, merged, when ``flip_test``:
    :func:`facealign.tasks.predict_crops`) -> the task's decoder -> ``coords (B, K, 2)`` in crop
    pixels and ``scores (B, K)``.
    """

    def __init__(self, net: torch.nn.Module, task: Any, *, mean: Sequence[float], std: Sequence[float], flip_test: bool = False) -> None:
        super().__init__()
        self.net, self.task, self.flip_test = net.eval(), task, bool(flip_test)
        self.normalise = _Normalise(mean, std)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from .tasks import predict_crops

        x = self.normalise(crops)
        coords, scores = self.task.decode(predict_crops(self.net, x, task=self.task, flip_test=self.flip_test))
        return coords.float(), scores.float()


def export_onnx_bytes(
    model: torch.nn.Module,
    input_size: int,
    *,
    names: Sequence[str] = ("heatmaps",),
    opset: int = 17,
    example: torch.Tensor | None = None,
) -> bytes:
    """Export ``model`` to an ONNX graph with a dynamic batch axis: input ``input``, outputs ``names``
    (the flattened network output, the output kind's task ``names``: :mod:`facealign.tasks`). ``example``: the
    input to trace with (default: a float32 zero batch ``(1, 3, input_size, input_size)``)."""
    model = model.eval()
    x = torch.zeros(1, 3, input_size, input_size) if example is None else example
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        # input checks on shapes are constants for the fixed input size the graph is exported at
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # reversed slices (mirroring, anti-aliasing pads) are left unfolded: harmless, said once per export
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
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


def _backend_runner(
    module: torch.nn.Module,
    input_size: int,
    *,
    backend: str,
    device: str,
    threads: int,
    names: Sequence[str],
    example: torch.Tensor | None = None,
) -> LandmarkRunner:
    """``module`` on ``backend``: PyTorch as is, or ONNX Runtime on its graph exported in memory."""
    if backend == "torch":
        return TorchRunner(module, device=device, threads=threads)
    if backend == "onnx":
        return OnnxRunner(export_onnx_bytes(module, input_size, names=names, example=example), threads=threads, device=device)
    raise ValueError(f"unknown backend {backend!r}; expected 'onnx' or 'torch'")


def make_runner(
    model: torch.nn.Module,
    card: ModelCard,
    *,
    backend: str,
    device: str = "cpu",
    threads: int = 1,
) -> LandmarkRunner:
    """The runner for ``backend`` ("onnx" or "torch") of a model built as ``card`` describes."""
    from .tasks import task_class

    return _backend_runner(
        model, card.input_size, backend=backend, device=device, threads=threads, names=task_class(card.output).names
    )


def make_stage_runner(
    net: torch.nn.Module,
    card: ModelCard,
    task: Any,
    *,
    backend: str,
    device: str = "cpu",
    threads: int = 1,
    flip_test: bool = False,
) -> LandmarkRunner:
    """The runner of the whole landmark stage (:class:`LandmarkStage`) on ``backend``: uint8 RGB crops
    ``(N, S, S, 3)`` -> ``[coords (N, K, 2) crop px, scores (N, K)]``."""
    stage = LandmarkStage(net, task, mean=card.mean, std=card.std, flip_test=flip_test)
    return stage_runner(stage, card.input_size, backend=backend, device=device, threads=threads)


def stage_runner(stage: LandmarkStage, input_size: int, *, backend: str, device: str = "cpu", threads: int = 1) -> LandmarkRunner:
    """``stage`` on ``backend``: PyTorch as is, or ONNX Runtime on its graph (:func:`stage_onnx_bytes`)."""
    if backend == "onnx":
        return OnnxRunner(stage_onnx_bytes(stage, input_size), threads=threads, device=device)
    return _backend_runner(stage, input_size, backend=backend, device=device, threads=threads, names=STAGE_NAMES)


def build_stage(net: torch.nn.Module, card: ModelCard, *, flip_test: bool = False) -> LandmarkStage:
    """The :class:`LandmarkStage` of ``net`` built as ``card`` says, with the card's decoder."""
    from .landmarks import get_scheme
    from .tasks import make_task

    task = make_task(card, net, get_scheme(card.scheme))
    return LandmarkStage(net, task, mean=card.mean, std=card.std, flip_test=flip_test)


def stage_onnx_bytes(
    stage: torch.nn.Module, input_size: int, *, opset: int = 17, names: Sequence[str] = STAGE_NAMES
) -> bytes:
    """``stage`` as an ONNX graph: input ``input`` uint8 ``(batch, S, S, 3)``, outputs ``names`` (a
    :class:`LandmarkStage`'s :data:`STAGE_NAMES`, a :class:`BottomUpStage`'s segmentation and embedding)."""
    example = torch.zeros(1, input_size, input_size, 3, dtype=torch.uint8)
    return export_onnx_bytes(stage, input_size, names=names, example=example, opset=opset)


class BottomUpStage(torch.nn.Module):
    """A bottom-up model's stage as one module (and one ONNX graph): uint8 RGB letterboxed photos
    ``(B, S, S, 3)`` -> ``x = (rgb - mean) / std`` -> the network -> ``(segmentation (B, K, h, w) logits,
    embedding (B, n, h, w))``, the order of :data:`facealign.bottomup.BOTTOMUP_NAMES`."""

    def __init__(self, net: torch.nn.Module, *, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.net, self.normalise = net.eval(), _Normalise(mean, std)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        segmentation, embedding = self.net(self.normalise(images))
        return segmentation, embedding


def bottomup_runner(
    net: torch.nn.Module, *, mean: Sequence[float], std: Sequence[float], backend: str, device: str = "cpu", threads: int = 1
) -> Any:
    """:class:`BottomUpStage` of ``net`` on ``backend``: uint8 photos ``(N, S, S, 3)`` -> ``(segmentation,
    embedding)``. ``"torch"``: tensors on ``device`` (what training's validation keeps); ``"onnx"``: numpy,
    from ONNX Runtime on the stage's graph exported in memory (:func:`facealign.export.bottomup_graph_bytes`
    writes the same graph with its card)."""
    stage = BottomUpStage(net, mean=mean, std=std)
    if backend == "onnx":
        from .bottomup import BOTTOMUP_NAMES

        return OnnxRunner(stage_onnx_bytes(stage, int(net.input_size), names=BOTTOMUP_NAMES), threads=threads, device=device)
    if backend != "torch":
        raise ValueError(f"unknown backend {backend!r}; expected 'onnx' or 'torch'")
    stage = stage.to(torch.device(device))

    def run(images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch_threads(threads), torch.no_grad():
            return stage(torch.from_numpy(np.ascontiguousarray(images)).to(stage.normalise.mean.device))

    return run
