"""Running ONNX graphs with ONNX Runtime, and reading the model card inside a landmark-stage graph.

Nothing here imports torch: this is what a ``pip install facealign`` without extras runs.

A landmark-stage graph (written by :func:`facealign.export.export_stage`, shipped as
``facealign/weights/<model>.onnx`` and ``<model>_flip.onnx``) takes uint8 RGB crops ``(N, S, S, 3)``
and returns ``[coords (N, K, 2) crop px, scores (N, K)]`` (:data:`STAGE_NAMES`); its ONNX metadata
holds the model card as JSON under :data:`CARD_KEY` and whether the mirrored crop is merged in under
:data:`FLIP_KEY`. The PyTorch side (the stage as an ``nn.Module``, its export, the torch backend) is
:mod:`facealign.torch_stage`; its names are still importable from here (loaded on first use).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .card import ModelCard, card_from_json

__all__ = [
    "CARD_KEY",
    "FLIP_KEY",
    "LandmarkRunner",
    "MissingProviderError",
    "OnnxRunner",
    "STAGE_NAMES",
    "GraphFile",
    "StageGraph",
    "onnx_providers",
    "read_graph",
    "read_stage_graph",
    "stage_graph",
]

#: Output names of the landmark-stage graph.
STAGE_NAMES = ("coords", "scores")
#: ONNX metadata key of the model card (JSON, :func:`facealign.card.card_to_json`).
CARD_KEY = "facealign.card"
#: ONNX metadata key saying whether the graph merges in the mirrored crop (``"true"`` / ``"false"``).
FLIP_KEY = "facealign.flip_test"

#: PyTorch-side names that used to live here; ``from facealign.runtime import X`` still works for them.
_TORCH_NAMES = ("LandmarkStage", "TorchRunner", "export_onnx_bytes", "make_runner", "make_stage_runner", "torch_threads")

_CUDA = re.compile(r"^cuda(?::(\d+))?$")
_GPU_HINT = "install onnxruntime-gpu in place of onnxruntime: pip uninstall onnxruntime && pip install onnxruntime-gpu"


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        from . import torch_stage

        return getattr(torch_stage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class MissingProviderError(RuntimeError):
    """The device asked for needs an ONNX Runtime execution provider this installation lacks."""


class LandmarkRunner(Protocol):
    def __call__(self, batch: np.ndarray) -> list[np.ndarray]: ...


def onnx_providers(device: str) -> list[Any]:
    """ONNX Runtime execution providers for ``device``: ``"cpu"``, or ``"cuda"`` / ``"cuda:N"`` (the
    CUDA provider on GPU ``N``, with the CPU provider for any operator it lacks).

    Raises ``ValueError`` for another device and :class:`MissingProviderError` naming ``onnxruntime-gpu``
    when the installed ONNX Runtime has no CUDA provider.
    """
    if device == "cpu":
        return ["CPUExecutionProvider"]
    m = _CUDA.match(str(device))
    if m is None:
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise MissingProviderError(
            f"device={device!r} needs ONNX Runtime's CUDAExecutionProvider, which this onnxruntime "
            f"{ort.__version__} does not have (it has {available}); {_GPU_HINT}"
        )
    return [("CUDAExecutionProvider", {"device_id": int(m.group(1) or 0)}), "CPUExecutionProvider"]


def make_session(model: bytes | str | Path, *, threads: int = 1, device: str = "cpu") -> Any:
    """An ``onnxruntime.InferenceSession`` on ``model`` (bytes or a file path) with ``threads`` intra-op
    threads, one inter-op thread, full graph optimisation, on ``device`` (:func:`onnx_providers`)."""
    import onnxruntime as ort

    providers = onnx_providers(device)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=opts, providers=providers)


class OnnxRunner:
    """ONNX Runtime on a graph (bytes or a file path) with a fixed number of intra-op threads; its input
    is converted to the graph's input type (uint8 for a landmark-stage graph, float32 otherwise)."""

    def __init__(self, onnx_model: bytes | str | Path, *, threads: int = 1, device: str = "cpu") -> None:
        self.session = make_session(onnx_model, threads=threads, device=device)
        graph_input = self.session.get_inputs()[0]
        self.input_name = graph_input.name
        self.input_dtype = np.uint8 if graph_input.type == "tensor(uint8)" else np.float32

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=self.input_dtype)}))

    def metadata(self) -> dict[str, str]:
        """The graph's custom metadata (``metadata_props``)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)


class StageGraph:
    """A landmark-stage graph file loaded in ONNX Runtime: ``card`` (from its metadata), ``flip_test``
    and ``runner`` (uint8 RGB crops ``(N, S, S, 3)`` -> ``[coords (N, K, 2), scores (N, K)]``)."""

    def __init__(self, card: ModelCard, flip_test: bool, runner: OnnxRunner) -> None:
        self.card, self.flip_test, self.runner = card, flip_test, runner


class GraphFile:
    """A graph file with a model card in its metadata, loaded in ONNX Runtime (:func:`read_graph`):
    a landmark stage (:func:`stage_graph`) or a bottom-up model's stage (:mod:`facealign.bottomup`)."""

    def __init__(self, path: Path, card: ModelCard, metadata: dict[str, str], runner: OnnxRunner) -> None:
        self.path, self.card, self.metadata, self.runner = path, card, metadata, runner

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.runner.session.get_outputs())

    def require_io(self, names: Sequence[str], *, image: str) -> None:
        """``ValueError`` unless the graph takes uint8 ``image``\ s and returns ``names``, in order."""
        if self.runner.input_dtype != np.uint8 or self.outputs != tuple(names):
            raise ValueError(f"{self.path}: expected a uint8 {image} input and outputs {tuple(names)}, got outputs {self.outputs}")


def read_graph(path: str | Path, *, threads: int = 1, device: str = "cpu") -> GraphFile:
    """Load a graph written by :mod:`facealign.export` with its model card.

    Raises ``FileNotFoundError`` when missing and ``ValueError`` when the file is not ONNX or has no
    model card in its metadata.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"ONNX graph not found: {p}")
    try:
        runner = OnnxRunner(p, threads=threads, device=device)
    except MissingProviderError:
        raise
    except Exception as err:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...)
        raise ValueError(f"{p}: not a readable ONNX graph ({str(err).splitlines()[0]})") from None
    meta = runner.metadata()
    if CARD_KEY not in meta:
        raise ValueError(
            f"{p}: expected a facealign landmark-stage graph with a model card in its metadata ({CARD_KEY!r}); "
            "this ONNX file has none (write one with: facealign export MODEL out.onnx)"
        )
    return GraphFile(p, card_from_json(meta[CARD_KEY], source=str(p)), meta, runner)


def stage_graph(graph: GraphFile) -> StageGraph:
    """``graph`` as a landmark stage, checked: ``ValueError`` for a bottom-up model's graph (with what
    runs it) and for other inputs or outputs."""
    if graph.card.output == "bottomup":
        raise ValueError(
            f"{graph.path}: model {graph.card.name} is a bottom-up multi-face model (whole photos, no detector): "
            "use facealign.load_predictor(...) or facealign.bottomup.FoxNetPredictor"
        )
    graph.require_io(STAGE_NAMES, image="crop")
    return StageGraph(graph.card, graph.metadata.get(FLIP_KEY, "false") == "true", graph.runner)


def read_stage_graph(path: str | Path, *, threads: int = 1, device: str = "cpu") -> StageGraph:
    """Load a landmark-stage graph written by :func:`facealign.export.export_stage` (:func:`read_graph`,
    :func:`stage_graph`).

    Raises ``FileNotFoundError`` when missing and ``ValueError`` when the file is not such a graph
    (not ONNX, no model card in its metadata, a bottom-up model, other inputs or outputs).
    """
    return stage_graph(read_graph(path, threads=threads, device=device))
