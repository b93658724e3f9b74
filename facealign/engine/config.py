"""Training configuration: dataclasses read from one TOML file per named experiment (``configs/``).

A config is data, not code: :func:`load_config` parses TOML into :class:`TrainConfig`, rejects
unknown keys with the file name, and resolves relative paths against ``data_root``. The
translation from config to constructor calls happens in one place, :mod:`facealign.engine.trainer`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.sources import SOURCES, source_weight
from ..data.transforms import AugmentConfig

__all__ = ["DataConfig", "OptimConfig", "TrainConfig", "load_config"]


#: What training crops can be aligned on (``DataConfig.train_align``).
TRAIN_ALIGN = ("detector", "labels")


@dataclass(frozen=True)
class DataConfig:
    """Where the faces come from. Lists are in the ``faces/`` list format (``PATH x1 y1 ...``).

    ``dense_train`` / ``dense_val``: lists in the model's scheme (e.g. 68-point teacher labels);
    ``five_train`` / ``five_val``: human 5-point lists (ground truth for the 5-point loss and metric);
    ``align_points``: optional JSON of detector 5 points per image, to align crops as at inference;
    ``train_align``: what the training crops are aligned on, ``"detector"`` (the ``align_points``, as at
    inference; the labels' 5 points where a photo has none) or ``"labels"`` (the labels' 5 points, with
    ``augment.align_jitter`` standing in for detector noise); validation crops always take ``align_points``;
    ``exclude``: faces to leave out (a file of ``PATH ...`` lines, e.g. labels found in another frame);
    ``pose_balance_bins``: oversample the training faces by pose bin (:mod:`facealign.data.balance`).

    More label sources (:mod:`facealign.data.sources`): ``human68``: a folder of iBUG ``.pts`` faces with
    people's 68 points (``300w_human``), ``profile``: a CFP folder (``cfp_profile``, its 30 points through
    :mod:`facealign.data.profile`), both relative to ``data_root``; ``human68_val`` / ``profile_val``: files
    naming the held-out faces / people (a path relative to the folder, without suffix, a line: ``afw/123_1``,
    ``017``), which the training leaves out and the validation protocols score
    (:mod:`facealign.engine.protocols`); ``source_weights``: a loss weight per source (``teacher68``,
    ``human5``, ``human68``, ``profile``; 1.0 when not named; ``human5`` weighs the human 5-point rows of a
    5-point model, a 68-point model weighs them with ``five_loss_weight``); ``human_over_teacher``: move the
    teacher's eye, nose-tip and mouth-corner points of every face that has human 5 points onto them
    (:func:`~facealign.data.sources.human_five_override`); ``small_face_px``: score the small-face protocol
    too, the validation photos downscaled so that the aligned crop spans this many photo pixels (0: off).

    Bottom-up models (:class:`~facealign.engine.bottomup_trainer.BottomUpTrainer`) paste the faces of
    ``dense_train`` / ``dense_val`` onto multi-face canvases (:class:`~facealign.data.multiface.MultiFaceDataset`):
    ``faces_per_canvas``: inclusive range of faces on one canvas; ``canvases_per_epoch``: training
    canvases per epoch (0: the number of training faces over the mean faces per canvas, so each face is
    pasted about once an epoch); ``multiface_val``: optional annotation file or folder of real
    multi-face photos (e.g. dlib's imglab XML examples), also scored each epoch. ``group_labels`` /
    ``group_root`` / ``group_val`` / ``group_crops_per_epoch``: real group photos with teacher labels and
    ignore regions mixed into training (:mod:`facealign.data.group_photos`), those of ``group_val`` held out
    and scored against their hand-drawn boxes. Top-down models ignore these.

    Paths in the lists (and ``multiface_val``) are relative to ``data_root``; ``exclude`` and
    ``align_points`` relative to the working directory.
    """

    dense_train: str = ""
    five_train: str = ""
    dense_val: str = ""
    five_val: str = ""
    align_points: str = ""
    train_align: str = "detector"
    exclude: str = ""  # a file of `PATH ...` lines (PATH relative to data_root) to leave out; '#' comments
    pose_balance_bins: int = 0  # pose-based data balancing (PDB) with this many bins; 0 = off (SCC uses 9)
    limit_train: int = 0  # use only the first N training faces (0 = all); for tests and smoke runs
    limit_val: int = 0
    faces_per_canvas: tuple[int, int] = (1, 6)  # bottom-up: (fewest, most) faces per composed canvas
    canvases_per_epoch: int = 0  # bottom-up: training canvases per epoch; 0 = training faces / mean faces per canvas
    multiface_val: str = ""  # bottom-up: real multi-face photos to validate on too (any read_annotations format)
    human68: str = ""
    human68_val: str = ""
    profile: str = ""
    profile_val: str = ""
    source_weights: dict[str, float] = field(default_factory=dict)
    human_over_teacher: bool = False
    small_face_px: int = 0
    group_labels: str = ""  # bottom-up: pseudo-labelled group photos (scripts/pseudo_label_groups.py JSON) to train on too
    group_root: str = ""  # bottom-up: the folder of those photos and their boxes.csv
    group_val: str = ""  # bottom-up: list of group photos held out and scored each epoch (hand-drawn boxes)
    group_crops_per_epoch: int = 0  # bottom-up: real-photo crops per epoch; 0 = each training photo once

    def __post_init__(self) -> None:
        if self.train_align not in TRAIN_ALIGN:
            raise ValueError(f"data.train_align must be one of {TRAIN_ALIGN}, got {self.train_align!r}")
        for src in SOURCES:  # checks every name and value
            source_weight(self.source_weights, src)
        if self.small_face_px < 0:
            raise ValueError(f"data.small_face_px must be >= 0 (0: off), got {self.small_face_px}")


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and schedule. ``schedule``: "step" (lr x gamma at each milestone epoch) or
    "cosine" (to ``min_lr``), both after ``warmup_epochs`` of linear warm-up."""

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "step"
    milestones: tuple[int, ...] = (20, 30)
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    min_lr: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    """One named experiment (Earp et al. Sec. 3.3 baseline: Adam, lr 1e-3, 40 epochs, x0.1 at 20/30,
    batch 16).

    ``loss`` names the training loss, one of the ``loss_names`` of the model's output kind
    (:func:`facealign.tasks.make_task` lists them; heatmap: "awing", "mse", "l1"); ``loss_args`` its
    settings where the kind takes any (the task's ``loss_args``; HIH: ``alpha``, ``temperature``).
    ``flip_test`` applies to top-down validation only; bottom-up models take
    ``augment``'s photometric fields and ``flip_prob`` (per pasted face), their canvases being the
    geometric augmentation.
    """

    name: str
    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    augment: AugmentConfig = AugmentConfig()
    epochs: int = 40
    batch_size: int = 16
    loss: str = "awing"
    loss_args: dict[str, float] = field(default_factory=dict)
    five_loss_weight: float = 0.0
    softargmax_beta: float = 0.0
    # start from another model's weights: a registered name (its shipped weights) or a checkpoint .pt;
    # tensors that match by name and shape are copied, the rest keep their initialisation
    init_from: str = ""
    seed: int = 0
    workers: int = 1
    threads: int = 0  # torch intra-op threads per process; 0 = leave torch's default
    # where the network trains: "cpu", "cuda" (under torchrun each process takes its LOCAL_RANK GPU),
    # "cuda:N" or "auto" (a GPU when there is one); data loading and augmentation stay on the CPU workers
    device: str = "cpu"
    # NHWC weights and inputs while training: the same arithmetic, and oneDNN's convolutions run 1.2-1.5x
    # faster on CPU in that layout (fwd + bwd of a batch, measured on every model kind)
    channels_last: bool = True
    flip_test: bool = True
    out_dir: str = "runs"
    data_root: str = "../shared/data/faces"
    log_every: int = 50


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; expected some of {sorted(names)}")
    kwargs = {}
    for key, val in values.items():
        ftype = names[key].type
        if isinstance(val, dict) and key in ("data", "optim", "augment"):
            sub = {"data": DataConfig, "optim": OptimConfig, "augment": AugmentConfig}[key]
            kwargs[key] = _build(sub, val, f"{where} [{key}]")
        elif isinstance(val, list) and "tuple" in str(ftype):
            kwargs[key] = tuple(val)
        else:
            kwargs[key] = val
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a TOML experiment file into a :class:`TrainConfig`; ``overrides`` replace top-level keys."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            values = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{p}: invalid TOML: {exc}") from exc
    values.setdefault("name", p.stem)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build(TrainConfig, values, str(p))
