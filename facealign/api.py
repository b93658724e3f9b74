"""``Aligner``: image -> detect -> aligned crop -> landmark model -> decode -> original pixels.

The crop of every face is the 5-point similarity alignment of Earp et al. (Sec. 3.1,
:func:`facealign.geometry.align_matrix`) from the detector's sub-pixel 5 points, exactly as at
training time; predictions are mapped back with the exact inverse affine.

Where the landmark stage comes from (:func:`open_stage`): a shipped model's pre-exported graph
(``facealign/weights/<name>.onnx``, ``<name>_flip.onnx`` with flip test) or a graph file written by
``facealign export`` runs on ONNX Runtime alone, without torch. Other registered models and training
checkpoints are built in PyTorch (the ``[train]`` extra) and run on it (``backend="torch"``) or on a
graph exported in memory (``backend="onnx"``).

Colour order: a numpy image must say its channel order, ``color="rgb"`` or ``color="bgr"`` (what
``cv2.imread`` returns); a path or a PIL image needs nothing (:func:`facealign.imageio.to_rgb_uint8`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .card import DEFAULT_MODEL, ModelCard, weights_path
from .detector import Detection, RetinaFaceDetector
from .geometry import align_matrix, apply_affine, invert_affine, warp
from .headpose import nose_offset_at_yaw, nose_offsets
from .imageio import ImageInput, to_rgb_uint8
from .landmarks import get_scheme
from .runtime import GraphFile, LandmarkRunner, read_graph, stage_graph
from .types import Box, FaceLandmarks

__all__ = [
    "Aligner", "BACKENDS", "FIVE_IN_BOX", "FLIP_CHOICES", "OpenedStage", "TURNED", "TURNED_YAW", "flip_mode", "load_predictor",
    "open_stage", "shipped_graph", "turned_faces",
]

#: Where the landmark stage runs: ONNX Runtime (a shipped or given graph, else one exported in memory
#: from PyTorch) or PyTorch itself.
BACKENDS = ("onnx", "torch")
#: What a user without torch has to install to run a model that has no shipped graph.
TRAIN_EXTRA = "pip install 'facealign[train]'"

#: ``flip_test=TURNED``: the mirrored crop is averaged in (Earp et al. Sec. 5.1) for the faces turned more than
#: ``turned_yaw`` degrees (:data:`TURNED_YAW`) only (:func:`turned_faces`); the others take one pass. The default of
#: every registered model and checkpoint.
TURNED = "turned"
#: Degrees of yaw beyond which ``flip_test=TURNED`` mirrors a face. Chosen by the trade on issue 20's protocols
#: (``benchmarks/hard_faces.py --flip off turned all``, table in benchmarks/README.md): at 40 degrees 0-2 % of people's
#: frontal faces (val5, 300-W) take the second pass and 82 % of the CFP profiles, whose failure rate drops from 19.0 % to
#: 16.0 % (every face flipped: 16.0 % at twice the cost); at 30 degrees about 10 % of the frontal faces are flipped,
#: for an NME a hundredth lower.
TURNED_YAW = 40.0

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


@dataclass(frozen=True)
class OpenedStage:
    """A landmark stage ready to run (:func:`open_stage`): its model card, its runner (uint8 RGB crops
    ``(N, S, S, 3)`` -> ``[coords (N, K, 2) crop px, scores (N, K)]``) and whether the mirrored crop is
    averaged inside it. An :class:`Aligner` built on one reads no file and builds no network again."""

    card: ModelCard
    runner: LandmarkRunner
    flip_test: bool | str
    #: with ``flip_test=TURNED``: the flip-test graph's runner, for the turned faces (``runner`` has no flip test)
    turned_runner: LandmarkRunner | None = None


class _LazyRunner:
    """A landmark runner opened on its first call: ``flip_test=TURNED``'s shipped flip-test graph, so that start-up
    (30-40 ms on CPU to open a second ONNX Runtime session) is paid only once a turned face comes."""

    def __init__(self, open_runner: Any) -> None:
        self._open, self._runner = open_runner, None

    def __call__(self, crops: np.ndarray) -> Any:
        if self._runner is None:
            self._runner = self._open()
        return self._runner(crops)


def turned_faces(five: np.ndarray, yaw: float = TURNED_YAW) -> np.ndarray:
    """Which faces of the 5-point sets ``(N, 5, 2)`` (a detector's, or those a tracker carries) are turned more
    than ``yaw`` degrees: the nose tip off the eyes' midpoint by more than the mean 3D face turned that far
    (:func:`facealign.headpose.nose_offsets`, :func:`~facealign.headpose.nose_offset_at_yaw`: 0.36 eye
    distances at 30 degrees, 0.53 at 40). Shape ``(N,)``, bool."""
    return nose_offsets(five) > nose_offset_at_yaw(yaw)


#: The flip-test modes by name (``facealign detect --flip``, the benchmarks' ``--flip``).
FLIP_CHOICES: dict[str, bool | str] = {"off": False, "turned": TURNED, "all": True}


def flip_mode(flip_test: bool | str | None, model: Any = None) -> bool | str | None:
    """``flip_test`` as ``False``, ``True`` or :data:`TURNED`; ``None`` (left out) is :data:`TURNED`, except
    for a graph file (``.onnx``), which holds one stage: then ``None``, the stage as it was exported."""
    if flip_test is None:
        return None if str(model).endswith(".onnx") else TURNED
    if isinstance(flip_test, (bool, np.bool_)) or (isinstance(flip_test, (int, np.integer)) and flip_test in (0, 1)):
        return bool(flip_test)
    if flip_test == TURNED:
        return TURNED
    raise ValueError(f"flip_test must be False, True or {TURNED!r} (the turned faces only), got {flip_test!r}")


@dataclass
class _Face:
    box: Box
    score: float
    five: np.ndarray


class Aligner:
    """Facial landmarks for every face of an image.

    Args:
        model: a registered model name (see ``facealign.list_models()``), a landmark-stage graph written
            by ``facealign export`` (``.onnx``), a training checkpoint (``.pt``, needs torch) or an
            :class:`OpenedStage` already opened by :func:`open_stage` (then ``backend`` is not used).
        detector: ``"retinaface"`` (default), ``None`` (then every call must pass ``boxes`` or
            ``points5``) or any object with ``detect(rgb) -> list[Detection]``.
        device: ``"cpu"``, or ``"cuda"`` / ``"cuda:N"``: ONNX Runtime's CUDA provider (needs the
            ``onnxruntime-gpu`` package) for the landmark graph and the detector, or the torch device
            with ``backend="torch"``.
        backend: ``"onnx"`` (ONNX Runtime, default) or ``"torch"`` (PyTorch; needs the ``[train]`` extra).
        flip_test: average with the mirrored crop (Earp et al. Sec. 5.1; twice the cost of a face): ``True``
            for every face, :data:`TURNED` for the faces turned beyond :data:`TURNED_YAW` only, ``False`` for
            none. Default: :data:`TURNED`, or for a graph file (``.onnx``, one stage) as it was exported, or as
            an :class:`OpenedStage` was opened.
        threads: intra-op threads of the landmark network and the detector.
        score_threshold: the detector's face-probability threshold.
        refine_boxes: passes of re-alignment on the predicted landmarks when only boxes are given.
        turned_yaw: with ``flip_test=TURNED``, the yaw in degrees beyond which a face is mirrored too.
        label_offset: ``(dx, dy)`` image pixels added to every returned point (default none). The models are
            trained with mirrored crops, so they put each point where it is in the mirrored face too; people's
            labels of CUHK's web photos and of 300-W sit about 1 px to the right of that
            (``benchmarks/label_convention.py``, training faces only). ``(1.0, 0.0)`` reports points in that
            convention, for comparing with such labels at their own resolution.

    Results (:class:`facealign.FaceLandmarks`): ``points`` in original-image pixels, ``scores`` per point
    (see :class:`facealign.types.FaceLandmarks` for what they mean and do not mean), ``head_pose()``
    and ``aligned_crop()``.
    """

    def __init__(
        self,
        model: str | Path | OpenedStage = DEFAULT_MODEL,
        *,
        detector: Any = "retinaface",
        device: str = "cpu",
        backend: str = "onnx",
        flip_test: bool | str | None = None,
        threads: int = 1,
        score_threshold: float = 0.6,
        refine_boxes: int = 1,
        label_offset: Sequence[float] | None = None,
        turned_yaw: float = TURNED_YAW,
    ) -> None:
        try:
            offset = np.zeros(2) if label_offset is None else np.asarray(label_offset, dtype=np.float64)
        except (TypeError, ValueError):
            offset = np.array([])
        if offset.shape != (2,) or not np.isfinite(offset).all():
            raise ValueError(f"label_offset must be (dx, dy), two finite pixel offsets, got {label_offset!r}")
        self.label_offset = offset
        if not isinstance(model, OpenedStage):
            model = open_stage(model, backend=backend, device=device, threads=threads, flip_test=flip_test)
        elif flip_test is not None and flip_mode(flip_test) != model.flip_test:
            raise ValueError(
                f"the stage of {model.card.name} was opened with flip_test={model.flip_test!r}, but flip_test={flip_test!r} "
                "was asked for; open it again with open_stage(..., flip_test=...)"
            )
        if model.flip_test == TURNED and model.turned_runner is None:
            raise ValueError(f"the stage of {model.card.name} has flip_test={TURNED!r} but no turned_runner (the flip-test graph's)")
        self._flip_test = model.flip_test
        self._turned_runner = model.turned_runner
        if not isinstance(turned_yaw, (int, float, np.number)) or not 0.0 <= float(turned_yaw) < 90.0:
            raise ValueError(f"turned_yaw must be degrees in [0, 90), got {turned_yaw!r}")
        self.turned_yaw = float(turned_yaw)
        # crops (uint8) -> coords + scores in crop pixels: network, flip merge and decode in one graph
        self.card, self.runner = model.card, model.runner
        self.scheme = get_scheme(self.card.scheme)
        self.threads = int(threads)
        self.refine_boxes = int(refine_boxes)
        if detector == "retinaface":
            self.detector = RetinaFaceDetector(score_threshold=score_threshold, threads=threads, device=device)
        else:
            self.detector = detector

    # ------------------------------------------------------------------------------------- public
    @property
    def flip_test(self) -> bool | str:
        """Whether the mirrored crop is averaged in (``True``, ``False``, or :data:`TURNED`: for the turned faces);
        fixed at construction (it is part of the graph)."""
        return self._flip_test

    def __call__(
        self,
        image: ImageInput,
        *,
        color: str | None = None,
        boxes: Sequence[Sequence[float]] | None = None,
        points5: Sequence[np.ndarray] | None = None,
        bgr: Any = None,
    ) -> list[FaceLandmarks]:
        """Landmarks of every face in ``image`` (``[]`` when there is none).

        ``image``: a path, a PIL image, or a numpy array with its channel order in ``color``: ``"rgb"``
        or ``"bgr"`` (``cv2.imread``, ``cv2.VideoCapture``); gray arrays need no ``color``.
        ``boxes`` (``[x1, y1, x2, y2]`` each) or ``points5`` (``(5, 2)`` each) skip the detector.
        """
        rgb = to_rgb_uint8(image, color=color, bgr=bgr)
        return self._run([rgb], [self._faces(rgb, boxes, points5)])[0]

    def batch(self, images: Sequence[ImageInput], *, color: str | None = None, bgr: Any = None) -> list[list[FaceLandmarks]]:
        """All faces of many images through the landmark network in one forward pass; ``color`` as in
        :meth:`__call__`, the same for every numpy image."""
        rgbs = [to_rgb_uint8(im, color=color, bgr=bgr) for im in images]
        return self._run(rgbs, [self._faces(rgb, None, None) for rgb in rgbs])

    def landmarks_from_five(
        self, image: np.ndarray, five: Sequence[np.ndarray], *, scores=None, boxes=None, turned: Sequence[bool] | None = None
    ) -> list[FaceLandmarks]:
        """Landmarks for faces aligned on given 5 points (used by video tracking); ``image`` is
        ``(H, W, 3)`` uint8 RGB, as :func:`facealign.imageio.to_rgb_uint8` returns. ``turned``: with
        ``flip_test=TURNED``, which faces take the flip-test graph (default: :func:`turned_faces` of ``five``;
        a tracker passes its own, with hysteresis)."""
        faces = [
            _Face(boxes[i] if boxes is not None else Box.from_points(f), 1.0 if scores is None else float(scores[i]), np.asarray(f, dtype=np.float64))
            for i, f in enumerate(five)
        ]
        if turned is not None and len(turned) != len(faces):
            raise ValueError(f"turned must say for each of the {len(faces)} faces whether it is turned, got {len(turned)} values")
        return self._run([image], [faces], turned=None if turned is None else np.asarray(turned, dtype=bool))[0]

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

    def _run(self, rgbs: list[np.ndarray], faces: list[list[_Face]], turned: np.ndarray | None = None) -> list[list[FaceLandmarks]]:
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
        coords, scores = self._landmarks(crops, np.stack([f.five for fs in faces for f in fs]), turned)
        i = 0
        for k, fs in enumerate(faces):
            for f in fs:
                pts = apply_affine(invert_affine(mats[i]), coords[i]) + self.label_offset
                results[k].append(
                    FaceLandmarks(
                        points=pts.astype(np.float32),
                        scores=np.clip(scores[i], 0.0, 1.0).astype(np.float32),
                        box=f.box,
                        detector_score=f.score,
                        align_points=f.five.astype(np.float32),
                        scheme=self.scheme.name,
                        image_size=(int(rgbs[k].shape[1]), int(rgbs[k].shape[0])),
                    )
                )
                i += 1
        return results

    def _landmarks(self, crops: list[np.ndarray], fives: np.ndarray, turned: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The stage's coords and scores of every crop, aligned on ``fives`` ``(N, 5, 2)``; with
        ``flip_test=TURNED`` the turned faces (``turned``, else :func:`turned_faces` of ``fives``) through the
        flip-test graph, the others through the plain one."""
        batch = crops[0][None] if len(crops) == 1 else np.stack(crops)  # one face: no copy
        if self._turned_runner is None:
            turned = np.zeros(len(crops), dtype=bool)
        elif turned is None:
            turned = turned_faces(fives, self.turned_yaw)
        if not turned.any():
            return self.runner(batch)
        if turned.all():
            return self._turned_runner(batch)
        merged = []  # coords, then scores: each runner's rows put back in the faces' order
        for plain, flipped in zip(self.runner(batch[~turned]), self._turned_runner(batch[turned])):
            out = np.empty((len(batch),) + plain.shape[1:], dtype=plain.dtype)
            out[~turned], out[turned] = plain, flipped
            merged.append(out)
        return merged[0], merged[1]


def load_predictor(
    model: str | Path = DEFAULT_MODEL, *, backend: str = "onnx", threads: int = 1, flip_test: bool | str | None = None,
    **aligner_kwargs: Any,
) -> Any:
    """The predictor a model needs: an :class:`Aligner` (detector + aligned crops) for top-down models,
    a :class:`facealign.bottomup.FoxNetPredictor` (one pass over the whole photo) for bottom-up ones.
    Both are called as ``predictor(image, color=...) -> list[FaceLandmarks]``. ``model``: a registered
    name (its shipped weights are required), an exported ``.onnx`` graph (a landmark stage or a bottom-up
    model's, told apart by the card inside; neither needs torch) or a training checkpoint; a graph file is
    opened, and a checkpoint read and its network built, once. A bottom-up model has no flip test and
    no detector (``score_threshold`` is not used; ``flip_test`` left out is off); ``device`` and ``threads``
    apply to it as to the Aligner."""
    _check_backend(model, backend)
    mode = flip_mode(flip_test, model)
    device = aligner_kwargs.get("device", "cpu")
    graph = shipped_graph(model, flip_test=mode is True) if backend == "onnx" else None
    if graph is not None:
        opened = read_graph(graph, threads=threads, device=device)
        if opened.card.output == "bottomup":
            return _bottomup_predictor(opened, opened.card, flip_test=bool(flip_test), threads=threads, device=device)
        return Aligner(_graph_stage(opened, mode, model=model, threads=threads, device=device), threads=threads, **aligner_kwargs)
    card, net = _load_model(model)
    if card.output == "bottomup":
        return _bottomup_predictor(net, card, backend=backend, flip_test=bool(flip_test), threads=threads, device=device)
    stage = _torch_stage(card, net, backend=backend, device=device, threads=threads, flip_test=mode)
    return Aligner(stage, threads=threads, **aligner_kwargs)


def shipped_graph(model: str | Path, *, flip_test: bool = False) -> Path | None:
    """The landmark-stage graph file that ``model`` names: the ``.onnx`` path itself, or a registered
    name's pre-exported graph in ``facealign/weights/`` (``<name>.onnx``, or ``<name>_flip.onnx`` with
    flip test); ``None`` when there is none (a checkpoint, a model shipped without a graph)."""
    if str(model).endswith(".onnx"):
        return Path(model)
    if isinstance(model, Path) or "/" in str(model) or "\\" in str(model):
        return None
    path = weights_path(f"{model}{'_flip' if flip_test else ''}.onnx")
    return path if path.is_file() else None


def open_stage(
    model: str | Path, *, backend: str = "onnx", device: str = "cpu", threads: int = 1, flip_test: bool | str | None = None
) -> OpenedStage:
    """The card of ``model`` and its landmark-stage runner (:class:`OpenedStage`): uint8 RGB crops
    ``(N, S, S, 3)`` -> ``[coords (N, K, 2) crop px, scores (N, K)]``.

    With ``backend="onnx"``, a graph file (:func:`shipped_graph`) is loaded with ONNX Runtime and torch
    is never imported; any other model is built in PyTorch (an ``ImportError`` naming the ``[train]``
    extra when torch is missing) and run there or exported in memory. ``flip_test``: as the
    :class:`Aligner`'s (:func:`flip_mode`; :data:`TURNED` opens two stages, with and without flip test).
    """
    _check_backend(model, backend)
    mode = flip_mode(flip_test, model)
    graph = shipped_graph(model, flip_test=mode is True) if backend == "onnx" else None
    if graph is not None:
        return _graph_stage(read_graph(graph, threads=threads, device=device), mode, model=model, threads=threads, device=device)
    card, net = _load_model(model)
    return _torch_stage(card, net, backend=backend, device=device, threads=threads, flip_test=mode)


def _graph_stage(
    graph: GraphFile, flip_test: bool | str | None, *, model: Any = None, threads: int = 1, device: str = "cpu"
) -> OpenedStage:
    """The landmark stage of a graph file read once, checked (a bottom-up graph, another flip test; ``None``: as
    exported); with :data:`TURNED`, ``graph`` is ``model``'s plain graph and its flip-test graph is read beside it
    (or, for a registered model shipped without one, built in PyTorch), on the first turned face."""
    stage = stage_graph(graph)
    if flip_test is None:
        return OpenedStage(stage.card, stage.runner, stage.flip_test)
    if flip_test == TURNED:
        if str(model).endswith(".onnx"):
            raise ValueError(
                f"flip_test={TURNED!r} runs two landmark graphs, without and with flip test; {model} is one graph file: "
                "pass flip_test=False or True (or leave it out: the graph as exported), or a registered model or a checkpoint"
            )
        plain = _graph_stage(graph, False)
        flip = shipped_graph(model, flip_test=True)
        if flip is not None:
            return OpenedStage(plain.card, plain.runner, TURNED, _LazyRunner(lambda: _graph_stage(read_graph(flip, threads=threads, device=device), True).runner))
        return OpenedStage(plain.card, plain.runner, TURNED, _LazyRunner(
            lambda: _torch_stage(*_load_model(model), backend="onnx", device=device, threads=threads, flip_test=True).runner
        ))
    if stage.flip_test != bool(flip_test):
        have, redo = ("with", "without") if stage.flip_test else ("without", "with")
        raise ValueError(
            f"{graph.path} was exported {have} flip test, but flip_test={bool(flip_test)} was asked for; "
            f"export it again {redo} --flip-test (facealign export MODEL OUT.onnx [--flip-test])"
        )
    return OpenedStage(stage.card, stage.runner, stage.flip_test)


def _bottomup_predictor(model: Any, card: ModelCard, *, flip_test: bool, threads: int, device: str, backend: str = "onnx") -> Any:
    """A :class:`facealign.bottomup.FoxNetPredictor` on a graph file read once or a built network."""
    from .bottomup import FoxNetPredictor

    if flip_test:
        raise ValueError(f"model {card.name} is a bottom-up multi-face model: it has no flip test (leave flip_test off)")
    if isinstance(model, GraphFile):
        return FoxNetPredictor(model, threads=threads)
    return FoxNetPredictor(model, card=card, backend=backend, threads=threads, device=device)


def _check_backend(model: str | Path, backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "torch" and str(model).endswith(".onnx"):
        raise ValueError(f"{model} is an ONNX graph: it runs with backend='onnx', not {backend!r}")


def _torch_stage(card: ModelCard, net: Any, *, backend: str, device: str, threads: int, flip_test: bool | str) -> OpenedStage:
    """The stage of a network built in PyTorch, run there or exported in memory to ONNX Runtime (with
    :data:`TURNED`: two stages on the same network, without and with flip test)."""
    _check_top_down(card)
    from .torch_stage import build_stage, stage_runner

    def runner(flip: bool) -> LandmarkRunner:
        return stage_runner(build_stage(net, card, flip_test=flip), card.input_size, backend=backend, device=device, threads=threads)

    if flip_test == TURNED:  # both built now: exporting a checkpoint in memory takes ~0.6 s, not for mid-video
        return OpenedStage(card, runner(False), TURNED, runner(True))
    return OpenedStage(card, runner(bool(flip_test)), bool(flip_test))


def _check_top_down(card: ModelCard) -> None:
    if card.output == "bottomup":
        raise ValueError(
            f"model {card.name} is a bottom-up multi-face model (whole photos, no detector): use "
            "facealign.load_predictor(...) or facealign.bottomup.FoxNetPredictor"
        )


def _require_torch(model: str | Path) -> None:
    """Raise a plain ``ImportError`` naming the ``[train]`` extra when torch is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        shipped = sorted({p.stem.removesuffix("_flip") for p in weights_path("").glob("*.onnx")} - {"retinaface_mnet025"})
        raise ImportError(
            f"model {str(model)!r} runs through PyTorch (it has no landmark graph in this installation; the "
            f"shipped graphs are {shipped}), and PyTorch is not installed: {TRAIN_EXTRA}"
        ) from None


def _load_model(model: str | Path) -> tuple[ModelCard, Any]:
    """A registered name (with its shipped weights) or a trainer checkpoint path, built once in PyTorch
    (:func:`facealign.models.registry.load_model`); a plain ``ImportError`` naming the extra without torch."""
    _require_torch(model)
    from .models import load_model

    return load_model(model)
