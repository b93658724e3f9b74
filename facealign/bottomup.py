"""Bottom-up multi-face alignment: inference on whole photos.

:class:`FoxNetPredictor` runs a bottom-up model (FoxNet, :mod:`facealign.models.foxnet`) on any photo:
letterbox it into the model's square input (aspect kept, padded with the mean colour), one forward
pass, :class:`~facealign.codecs.BottomUpCodec` decoding, and the exact inverse of the letterbox back to
photo pixels; results are :class:`~facealign.types.FaceLandmarks` as the top-down ``Aligner`` gives.
Its evaluation (P / R / F1 and NME over photos of many faces) is :mod:`facealign.evaluation.multiface`.

The network runs on ONNX Runtime from a graph file written by :func:`facealign.export.export_bottomup`
(uint8 letterboxed photo -> normalisation -> network -> :data:`BOTTOMUP_NAMES`, the model card in its
metadata), or from a PyTorch network (a registered name, a checkpoint's network, a module) on PyTorch or
on its graph exported in memory. Letterbox and decoding are numpy and OpenCV: a graph file runs
without torch, as every shipped top-down model does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from .card import IMAGENET_MEAN, IMAGENET_STD, ModelCard
from .codecs.bottomup import BottomUpCodec, DecodedFace
from .geometry import apply_affine, invert_affine
from .imageio import ImageInput, to_rgb_uint8
from .landmarks import SCHEMES, get_scheme
from .runtime import GraphFile, read_graph
from .types import Box, FaceLandmarks

__all__ = ["BOTTOMUP_NAMES", "FoxNetPredictor", "check_bottomup_graph", "letterbox", "read_bottomup_graph"]

#: Output names of a bottom-up model's graph: landmark-segmentation logits ``(N, K, h, w)`` and pixel
#: embeddings ``(N, n, h, w)`` (the ``bottomup`` task's names, :class:`facealign.tasks.BottomUpTask`).
BOTTOMUP_NAMES = ("segmentation", "embedding")
#: What :class:`FoxNetPredictor` takes as its ``model``.
_MODEL_KINDS = "a registered name, a bottom-up graph file (.onnx), a GraphFile or an nn.Module"


# ----------------------------------------------------------------------------------------- letterbox


def letterbox(rgb: np.ndarray, size: int, *, fill: Sequence[float] = IMAGENET_MEAN) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``rgb`` so its longer side is ``size`` and pad it, centred, to ``size x size`` with ``fill``.

    Returns the ``(size, size, 3)`` image and the ``(2, 3)`` photo -> input matrix in the pixel
    convention of :mod:`facealign.types` (``cv2.resize`` maps ``x -> (x + 0.5) s - 0.5``, the padding adds
    an integer offset): ``x' = s_x x + (s_x / 2 - 1/2 + o_x)``.
    """
    h, w = rgb.shape[:2]
    if h < 1 or w < 1 or rgb.ndim != 3:
        raise ValueError(f"letterbox: expected an (H, W, 3) image, got shape {rgb.shape}")
    s = size / max(h, w)
    nw, nh = max(1, min(size, round(w * s))), max(1, min(size, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    out = np.empty((size, size, 3), dtype=rgb.dtype)
    out[:] = np.round(np.asarray(fill)).astype(rgb.dtype)
    out[oy : oy + nh, ox : ox + nw] = resized
    sx, sy = nw / w, nh / h
    matrix = np.array([[sx, 0.0, 0.5 * sx - 0.5 + ox], [0.0, sy, 0.5 * sy - 0.5 + oy]])
    return out, matrix


# ----------------------------------------------------------------------------------------- predictor


def read_bottomup_graph(path: str | Path, *, threads: int = 1, device: str = "cpu") -> GraphFile:
    """Load a bottom-up model's graph written by :func:`facealign.export.export_bottomup`: raises
    ``FileNotFoundError`` when missing, ``ValueError`` when it is not one (:func:`check_bottomup_graph`)."""
    return check_bottomup_graph(read_graph(path, threads=threads, device=device))


def check_bottomup_graph(graph: GraphFile) -> GraphFile:
    """``graph`` itself when it holds a bottom-up model's stage, else ``ValueError`` saying what it holds."""
    if graph.card.output != "bottomup":
        raise ValueError(f"{graph.path}: model {graph.card.name} is a top-down landmark model, not a bottom-up one: run it with facealign.Aligner")
    graph.require_io(BOTTOMUP_NAMES, image="photo")
    return graph


def _torch_module(model: Any) -> bool:
    """Whether ``model`` is a PyTorch module (torch is not imported for the answer)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _to_numpy(x: Any) -> np.ndarray:
    """A network output as numpy: a torch tensor (any device, any grad state) is detached and copied to the CPU."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


class FoxNetPredictor:
    """Landmarks of every face of a photo with one bottom-up network pass.

    Args:
        model: a bottom-up graph file (``.onnx``, :func:`facealign.export.export_bottomup`) or one already
            read (:class:`~facealign.runtime.GraphFile`), which need no torch; a registered bottom-up model
            name (``"foxnet_cpu_68"``) or a built ``nn.Module`` returning ``(segmentation, embedding)`` with
            ``num_points`` and ``input_size`` attributes, which need torch.
        card: the model card of an ``nn.Module`` (default: none; a graph or a name brings its own).
        pretrained: a name's shipped weights (default: when the model's card lists them).
        codec: decoding settings (default: :class:`BottomUpCodec` at the model's sizes).
        scheme: landmark scheme name (default: the card's, else the scheme with ``num_points`` points).
        mean, std: RGB normalisation of a PyTorch network (default: the card's, else ImageNet's); a graph
            holds its own.
        backend: where a PyTorch network runs: ``"torch"`` (default; :meth:`forward` then returns tensors on
            ``device``) or ``"onnx"`` (its graph exported in memory, on ONNX Runtime); a graph file runs on ONNX Runtime.
        device: ``"cpu"``, a torch device (``backend="torch"``) or ``"cuda"`` / ``"cuda:N"`` (ONNX Runtime).
        threads: intra-op threads of the network (and numpy's BLAS in the decode); 0 leaves torch's setting.
    """

    def __init__(
        self,
        model: str | Path | Any = "foxnet_cpu_68",
        *,
        card: ModelCard | None = None,
        pretrained: bool | None = None,
        codec: BottomUpCodec | None = None,
        scheme: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        backend: str | None = None,
        device: str = "cpu",
        threads: int = 1,
    ) -> None:
        self.threads = int(threads)
        if isinstance(model, (str, Path)) and str(model).endswith(".onnx"):
            model = read_bottomup_graph(model, threads=max(1, self.threads), device=device)
        if isinstance(model, GraphFile):
            if backend not in (None, "onnx") or mean is not None or std is not None:
                raise ValueError(f"{model.path} is an ONNX graph with its normalisation inside: it runs with backend='onnx' and no mean / std")
            card, graph = check_bottomup_graph(model).card, model
            self.backend, self.runner, fill = "onnx", graph.runner, card.mean
            k, self.input_size, stride = card.num_points, card.input_size, card.stride
        else:
            net, card = self._network(model, card, pretrained)
            k, self.input_size, stride = int(net.num_points), int(net.input_size), int(getattr(net, "stride", 4))
            from .torch_stage import bottomup_runner

            self.backend, fill = backend or "torch", self._norm(mean, card, "mean")
            self.runner = bottomup_runner(
                net, mean=fill, std=self._norm(std, card, "std"), backend=self.backend, device=device, threads=self.threads
            )
        self.card = card
        self.mean = np.asarray(fill, dtype=np.float32)  # the letterbox's padding colour
        self.codec = codec or BottomUpCodec(
            input_size=self.input_size, heatmap_size=self.input_size // stride, num_points=k,
            sigma=card.sigma if card is not None else 1.0,
        )
        if self.codec.num_points != k or self.codec.input_size != self.input_size:
            raise ValueError(f"FoxNetPredictor: codec {self.codec!r} does not fit a {k}-point model at {self.input_size} px")
        name = scheme or (card.scheme if card is not None else str(k))
        self.scheme = get_scheme(name) if name in SCHEMES and get_scheme(name).num_points == k else None
        self.scheme_name = name

    @staticmethod
    def _network(model: Any, card: ModelCard | None, pretrained: bool | None) -> tuple[Any, ModelCard | None]:
        """The PyTorch network of a registered name or a module, and its card."""
        if isinstance(model, str):
            from .models.registry import create_model, get_model_card

            card = get_model_card(model)
            if card.output != "bottomup":
                raise ValueError(f"FoxNetPredictor: {model} is a top-down landmark model, not a bottom-up one: run it with facealign.Aligner")
            net = create_model(model, pretrained=card.weights is not None if pretrained is None else bool(pretrained))
        elif _torch_module(model):
            net = model
        else:
            raise TypeError(f"FoxNetPredictor: model must be {_MODEL_KINDS}, got {type(model).__name__}")
        for attr in ("num_points", "input_size"):
            if not hasattr(net, attr):
                raise ValueError(f"FoxNetPredictor: the model has no {attr!r} attribute (is it a bottom-up model?)")
        return net, card

    @staticmethod
    def _norm(given: Sequence[float] | None, card: ModelCard | None, which: str) -> tuple[float, ...]:
        if given is not None:
            return tuple(float(v) for v in given)
        if card is not None:
            return tuple(getattr(card, which))
        return IMAGENET_MEAN if which == "mean" else IMAGENET_STD

    def forward(self, image: ImageInput, *, color: str | None = None) -> tuple[tuple[Any, Any], np.ndarray]:
        """Letterbox + network: the raw ``(segmentation (K, h, w), embedding (n, h, w))`` of ``image`` (torch
        tensors on the device with ``backend="torch"``, numpy arrays on ONNX Runtime) and the photo -> input matrix."""
        rgb = to_rgb_uint8(image, color=color)
        boxed, matrix = letterbox(rgb, self.input_size, fill=self.mean)
        seg, emb = self.runner(boxed[None])
        return (seg[0], emb[0]), matrix

    def decode(self, output: tuple[Any, Any], matrix: np.ndarray, *, image_size: tuple[int, int] | None = None) -> list[FaceLandmarks]:
        """Group the candidates into faces and map them back to photo pixels (NaN where not found).
        ``output``: :meth:`forward`'s pair, numpy arrays or torch tensors (converted here); ``image_size``:
        the photo's ``(width, height)``, kept on the results."""
        seg, emb = _to_numpy(output[0]), _to_numpy(output[1])
        with threadpool_limits(limits=self.threads if self.threads > 0 else None):  # the grouping's BLAS
            faces = self.codec.decode(seg, emb)
        back = invert_affine(matrix)
        return [self._landmarks(f, back, image_size) for f in faces]

    def __call__(self, image: ImageInput, *, color: str | None = None) -> list[FaceLandmarks]:
        """Landmarks of every face in ``image`` (``[]`` when there is none), best first. ``image``: a path,
        a PIL image, or a numpy array with its channel order in ``color`` (``"rgb"`` or ``"bgr"``)."""
        rgb = to_rgb_uint8(image, color=color)
        output, matrix = self.forward(rgb, color="rgb")
        return self.decode(output, matrix, image_size=(int(rgb.shape[1]), int(rgb.shape[0])))

    def _landmarks(self, face: DecodedFace, back: np.ndarray, image_size: tuple[int, int] | None) -> FaceLandmarks:
        pts = apply_affine(back, face.points)  # NaN stays NaN
        five = self.scheme.to_five(pts) if self.scheme is not None else np.full((5, 2), np.nan)
        return FaceLandmarks(
            points=pts.astype(np.float32),
            scores=np.clip(face.scores, 0.0, 1.0).astype(np.float32),
            box=Box.from_points(pts),
            detector_score=float(face.scores.mean()),
            align_points=five.astype(np.float32),
            scheme=self.scheme_name,
            image_size=image_size,
        )
