"""``Aligner``: image -> detect -> aligned crop -> landmark model -> decode -> original pixels.

The crop of every face is the 5-point similarity alignment of Earp et al. (Sec. 3.1,
:func:`facealign.geometry.align_matrix`) from the detector's sub-pixel 5 points, exactly as at
training time; predictions are mapped back with the exact inverse affine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .detector import Detection, RetinaFaceDetector
from .engine.checkpoint import CheckpointError, load_checkpoint
from .geometry import align_matrix, apply_affine, invert_affine, warp
from .imageio import ImageInput, to_rgb_uint8
from .landmarks import get_scheme
from .models.zoo import DEFAULT_MODEL, ModelCard, create_model, get_model_card
from .outputs import OutputAdapter, make_adapter
from .runtime import LandmarkRunner, make_stage_runner
from .types import Box, FaceLandmarks

__all__ = ["Aligner", "FIVE_IN_BOX", "load_predictor"]

#: Where RetinaFace's 5 points sit inside its own box, as fractions of the box width / height from
#: its top-left corner (mean of the detector's own output on the 600 photos of ``faces/val5.txt``, by
#: ``benchmarks/box_template.py``). Used to place a first crop when the user gives boxes only.
FIVE_IN_BOX = np.array(
    [
        [0.2673, 0.3947],
        [0.7028, 0.3893],
        [0.4786, 0.5913],
        [0.3098, 0.7432],
        [0.6776, 0.7384],
    ]
)


@dataclass
class _Face:
    box: Box
    score: float
    five: np.ndarray


class Aligner:
    """Facial landmarks for every face of an image.

    Args:
        model: a registered model name (see ``facealign.list_models()``) or a training checkpoint.
        detector: ``"retinaface"`` (default), ``None`` (then every call must pass ``boxes`` or
            ``points5``) or any object with ``detect(rgb) -> list[Detection]``.
        device: ``"cpu"`` or a torch device string (torch backend only).
        backend: ``"onnx"`` (ONNX Runtime, default on CPU) or ``"torch"``.
        flip_test: average with the mirrored crop (Earp et al. Sec. 5.1; twice the cost).
        threads: intra-op threads of the landmark network.
        refine_boxes: passes of re-alignment on the predicted landmarks when only boxes are given.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        detector: Any = "retinaface",
        device: str = "cpu",
        backend: str = "onnx",
        flip_test: bool = False,
        threads: int = 1,
        score_threshold: float = 0.6,
        refine_boxes: int = 1,
    ) -> None:
        self.card, net = _load_model(model)
        if self.card.output == "bottomup":
            raise ValueError(
                f"model {self.card.name} is a bottom-up multi-face model (whole photos, no detector): use "
                "facealign.load_predictor(...) or facealign.bottomup.FoxNetPredictor"
            )
        self.scheme = get_scheme(self.card.scheme)
        self.adapter: OutputAdapter = make_adapter(self.card, net, self.scheme)
        if backend == "onnx" and device != "cpu":
            raise ValueError(f"the onnx backend runs on the CPU; got device={device!r} (use backend='torch')")
        self._flip_test = bool(flip_test)
        # crops (uint8) -> coords + scores in crop pixels: network, flip merge and decode in one graph
        self.runner: LandmarkRunner = make_stage_runner(
            net, self.card, self.adapter, backend=backend, device=device, threads=threads, flip_test=self._flip_test
        )
        self.threads = int(threads)
        self.refine_boxes = int(refine_boxes)
        if detector == "retinaface":
            self.detector = RetinaFaceDetector(score_threshold=score_threshold, threads=threads)
        else:
            self.detector = detector

    # ------------------------------------------------------------------------------------- public
    @property
    def flip_test(self) -> bool:
        """Whether the mirrored crop is averaged in; fixed at construction (it is part of the graph)."""
        return self._flip_test

    def __call__(
        self,
        image: ImageInput,
        *,
        boxes: Sequence[Sequence[float]] | None = None,
        points5: Sequence[np.ndarray] | None = None,
        bgr: bool = False,
    ) -> list[FaceLandmarks]:
        """Landmarks of every face in ``image`` (``[]`` when there is none).

        ``boxes`` (``[x1, y1, x2, y2]`` each) or ``points5`` (``(5, 2)`` each) skip the detector.
        """
        rgb = to_rgb_uint8(image, bgr=bgr)
        return self._run([rgb], [self._faces(rgb, boxes, points5)])[0]

    def batch(self, images: Sequence[ImageInput], *, bgr: bool = False) -> list[list[FaceLandmarks]]:
        """All faces of many images through the landmark network in one forward pass."""
        rgbs = [to_rgb_uint8(im, bgr=bgr) for im in images]
        return self._run(rgbs, [self._faces(rgb, None, None) for rgb in rgbs])

    def landmarks_from_five(self, image: np.ndarray, five: Sequence[np.ndarray], *, scores=None, boxes=None) -> list[FaceLandmarks]:
        """Landmarks for faces aligned on given 5 points (used by video tracking)."""
        faces = [
            _Face(boxes[i] if boxes is not None else Box.from_points(f), 1.0 if scores is None else float(scores[i]), np.asarray(f, dtype=np.float64))
            for i, f in enumerate(five)
        ]
        return self._run([image], [faces])[0]

    # ----------------------------------------------------------------------------------- internals
    def _faces(self, rgb: np.ndarray, boxes, points5) -> list[_Face]:
        if points5 is not None:
            out = []
            for p in points5:
                p = np.asarray(p, dtype=np.float64)
                if p.shape != (5, 2):
                    raise ValueError(f"points5 must be (5, 2) per face, got {p.shape}")
                out.append(_Face(Box.from_points(p), 1.0, p))
            return out
        if boxes is not None:
            return [self._face_from_box(rgb, b) for b in boxes]
        if self.detector is None:
            raise ValueError("this Aligner has no detector: pass boxes=... or points5=...")
        dets: list[Detection] = self.detector.detect(rgb)
        return [_Face(d.box, float(d.score), np.asarray(d.points, dtype=np.float64)) for d in dets]

    def _face_from_box(self, rgb: np.ndarray, box: Sequence[float]) -> _Face:
        b = np.asarray(box, dtype=np.float64).reshape(-1)
        if b.shape != (4,):
            raise ValueError(f"a box is [x1, y1, x2, y2], got {list(b)}")
        bx = Box(*map(float, b))
        five = np.array([bx.x1, bx.y1]) + FIVE_IN_BOX * [bx.width, bx.height]
        for _ in range(self.refine_boxes):  # re-align on the model's own 5 points
            pts = self._predict(rgb, [five])[0][0]
            five = self.scheme.to_five(pts)
        return _Face(bx, 1.0, five)

    def _predict(self, rgb: np.ndarray, fives: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        res = self._run([rgb], [[_Face(Box.from_points(f), 1.0, f) for f in fives]])[0]
        return [r.points.astype(np.float64) for r in res], [r.scores for r in res]

    def _run(self, rgbs: list[np.ndarray], faces: list[list[_Face]]) -> list[list[FaceLandmarks]]:
        size = self.card.input_size
        crops, mats = [], []
        for rgb, fs in zip(rgbs, faces):
            for f in fs:
                m = align_matrix(f.five, size)
                crops.append(warp(rgb, m, size))
                mats.append(m)
        results: list[list[FaceLandmarks]] = [[] for _ in rgbs]
        if not crops:
            return results
        coords, scores = self.runner(np.stack(crops))
        i = 0
        for k, fs in enumerate(faces):
            for f in fs:
                pts = apply_affine(invert_affine(mats[i]), coords[i])
                results[k].append(
                    FaceLandmarks(
                        points=pts.astype(np.float32),
                        scores=np.clip(scores[i], 0.0, 1.0).astype(np.float32),
                        box=f.box,
                        detector_score=f.score,
                        align_points=f.five.astype(np.float32),
                        scheme=self.scheme.name,
                    )
                )
                i += 1
        return results


def load_predictor(
    model: str | Path = DEFAULT_MODEL, *, backend: str = "onnx", threads: int = 1, flip_test: bool = False, **aligner_kwargs: Any
) -> Any:
    """The predictor a model needs: an :class:`Aligner` (detector + aligned crops) for top-down models,
    a :class:`facealign.bottomup.FoxNetPredictor` (one pass over the whole photo) for bottom-up ones.
    Both are called as ``predictor(image) -> list[FaceLandmarks]``. ``model``: a registered name (its
    shipped weights are required) or a training checkpoint."""
    card, net = _load_model(model)
    if card.output != "bottomup":
        return Aligner(model, backend=backend, threads=threads, flip_test=flip_test, **aligner_kwargs)
    from .bottomup import FoxNetPredictor

    return FoxNetPredictor(net, scheme=card.scheme, threads=threads)


def _load_model(model: str | Path) -> tuple[ModelCard, torch.nn.Module]:
    """A registered name (with its shipped weights) or a trainer checkpoint path."""
    p = Path(str(model))
    if p.suffix == ".pt":  # a checkpoint file: loaded without running code, "no such file" when missing
        ckpt = load_checkpoint(p)
        name = ckpt.get("model_name")
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"checkpoint {p}: does not say which model it holds (no 'model_name')")
        kwargs = dict(ckpt.get("model_kwargs", {}))
        card = get_model_card(name, **kwargs)
        net = create_model(name, **kwargs)
        try:
            net.load_state_dict(ckpt["model"])
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            raise CheckpointError(f"checkpoint {p}: its weights do not fit model {name} ({' '.join(first[1:2]).strip() or first[0]})") from None
        return card, net.eval()
    card = get_model_card(str(model))
    return card, create_model(str(model), pretrained=True).eval()
