"""Bottom-up multi-face alignment: inference on whole photos.

:class:`FoxNetPredictor` runs a bottom-up model (FoxNet, :mod:`facealign.models.foxnet`) on any photo:
letterbox it into the model's square input (aspect kept, padded with the mean colour), one forward
pass, :class:`~facealign.codecs.BottomUpCodec` decoding, and the exact inverse of the letterbox back to
photo pixels; results are :class:`~facealign.types.FaceLandmarks` as the top-down ``Aligner`` gives.
Its evaluation (P / R / F1 and NME over photos of many faces) is :mod:`facealign.evaluation.multiface`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from .codecs.bottomup import BottomUpCodec, DecodedFace
from .geometry import apply_affine, invert_affine
from .imageio import ImageInput, to_rgb_uint8
from .landmarks import SCHEMES, get_scheme
from .card import IMAGENET_MEAN, IMAGENET_STD
from .models.registry import create_model, get_model_card
from .runtime import torch_threads
from .types import Box, FaceLandmarks

__all__ = ["FoxNetPredictor", "letterbox"]


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


class FoxNetPredictor:
    """Landmarks of every face of a photo with one bottom-up network pass.

    Args:
        model: a registered bottom-up model name (``"foxnet_cpu_68"``) or a built ``nn.Module`` returning
            ``(segmentation, embedding)`` with ``num_points`` and ``input_size`` attributes.
        pretrained: load the shipped weights (default: when the model's card lists them).
        codec: decoding settings (default: :class:`BottomUpCodec` at the model's sizes).
        scheme: landmark scheme name (default: the card's, else the scheme with ``num_points`` points).
        mean, std: RGB normalisation (default: the card's, else ImageNet's).
        device: torch device; threads: intra-op threads of the forward pass and the decode.
    """

    def __init__(
        self,
        model: str | nn.Module = "foxnet_cpu_68",
        *,
        pretrained: bool | None = None,
        codec: BottomUpCodec | None = None,
        scheme: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        device: str = "cpu",
        threads: int = 1,
    ) -> None:
        card = None
        if isinstance(model, str):
            card = get_model_card(model)
            net = create_model(model, pretrained=card.weights is not None if pretrained is None else bool(pretrained))
        elif isinstance(model, nn.Module):
            net = model
        else:
            raise TypeError(f"FoxNetPredictor: model must be a registered name or an nn.Module, got {type(model).__name__}")
        for attr in ("num_points", "input_size"):
            if not hasattr(net, attr):
                raise ValueError(f"FoxNetPredictor: the model has no {attr!r} attribute (is it a bottom-up model?)")
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.threads = int(threads)
        self.input_size = int(net.input_size)
        k = int(net.num_points)
        stride = int(getattr(net, "stride", 4))
        self.codec = codec or BottomUpCodec(
            input_size=self.input_size, heatmap_size=self.input_size // stride, num_points=k,
            sigma=card.sigma if card is not None else 1.0,
        )
        if self.codec.num_points != k or self.codec.input_size != self.input_size:
            raise ValueError(f"FoxNetPredictor: codec {self.codec!r} does not fit a {k}-point model at {self.input_size} px")
        name = scheme or (card.scheme if card is not None else str(k))
        self.scheme = get_scheme(name) if name in SCHEMES and get_scheme(name).num_points == k else None
        self.scheme_name = name
        self.mean = np.asarray(mean if mean is not None else (card.mean if card else IMAGENET_MEAN), dtype=np.float32)
        self.std = np.asarray(std if std is not None else (card.std if card else IMAGENET_STD), dtype=np.float32)

    def forward(self, image: ImageInput, *, color: str | None = None) -> tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray]:
        """Letterbox + network: the raw ``(segmentation (K, h, w), embedding (n, h, w))`` of ``image`` and
        the photo -> input matrix."""
        rgb = to_rgb_uint8(image, color=color)
        boxed, matrix = letterbox(rgb, self.input_size, fill=self.mean)
        x = (boxed.astype(np.float32) - self.mean) / self.std
        x = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)
        with torch_threads(self.threads), torch.no_grad():
            seg, emb = self.net(x)
        return (seg[0], emb[0]), matrix

    def decode(self, output: tuple[torch.Tensor, torch.Tensor], matrix: np.ndarray) -> list[FaceLandmarks]:
        """Group the candidates into faces and map them back to photo pixels (NaN where not found)."""
        # numpy's BLAS (mean shift) gets the same thread budget: its default pool over busy cores is 7x slower
        with torch_threads(self.threads), threadpool_limits(limits=self.threads if self.threads > 0 else None):
            faces = self.codec.decode(output[0], output[1])
        back = invert_affine(matrix)
        return [self._landmarks(f, back) for f in faces]

    def __call__(self, image: ImageInput, *, color: str | None = None) -> list[FaceLandmarks]:
        """Landmarks of every face in ``image`` (``[]`` when there is none), best first. ``image``: a path,
        a PIL image, or a numpy array with its channel order in ``color`` (``"rgb"`` or ``"bgr"``)."""
        output, matrix = self.forward(image, color=color)
        return self.decode(output, matrix)

    def _landmarks(self, face: DecodedFace, back: np.ndarray) -> FaceLandmarks:
        pts = apply_affine(back, face.points)  # NaN stays NaN
        five = self.scheme.to_five(pts) if self.scheme is not None else np.full((5, 2), np.nan)
        return FaceLandmarks(
            points=pts.astype(np.float32),
            scores=np.clip(face.scores, 0.0, 1.0).astype(np.float32),
            box=Box.from_points(pts),
            detector_score=float(face.scores.mean()),
            align_points=five.astype(np.float32),
            scheme=self.scheme_name,
        )
