"""The training engine of bottom-up multi-face models (FoxNet, :mod:`facealign.models.foxnet`).

Same run as :class:`~facealign.engine.trainer.Trainer` (:mod:`facealign.engine.loop`: seeds, JSON-lines
``metrics.jsonl``, atomic ``last.pt`` / ``best.pt``, exact resume, the optimisers and schedules of the
config), with multi-face data and measures:

* **Training data**: the single faces of ``data.dense_train`` (excluded faces dropped) pasted onto
  ``input_size`` canvases, ``data.faces_per_canvas`` at a time (:class:`~facealign.data.multiface.MultiFaceDataset`),
  ``data.canvases_per_epoch`` canvases an epoch (0: as many as put each face on a canvas about once).
  Canvas ``i`` of epoch ``e`` is drawn from ``(seed, e, i)``, so the loader needs no shuffling and a
  resumed run sees the canvases of an uninterrupted one. Codec and loss: the ``bottomup`` task
  (:class:`~facealign.tasks.BottomUpTask`: :class:`~facealign.losses.fox_loss.FoxNetLoss`, ``loss = "fox"``),
  its segmentation and Fox terms logged as ``segmentation`` and ``fox``.
* **Validation** each epoch, as the FoxNet paper measures (Sec. III, :func:`~facealign.evaluation.multiface.evaluate_multiface`):
  (a) fixed canvases composed from ``data.dense_val`` (seed ``cfg.seed``, epoch 0, no augmentation),
  ``precision`` / ``recall`` / ``f1`` (fractions) of the faces found at landmark-box IoU >= 0.5 and
  ``nme`` / ``fr`` / ``auc`` (%, inter-ocular, threshold 0.1) of the matched faces on their visible
  points; a ground-truth face counts when at least the codec's ``min_points`` of its points are
  visible (a face hidden under later ones cannot be found). (b) With ``data.multiface_val``, the real
  photos it lists, through :class:`~facealign.bottomup.FoxNetPredictor` (letterboxed as at inference),
  as ``photo_precision`` ... ``photo_auc``. (c) With ``data.group_val``, those real group photos (held
  out of training) as the issue's metric, :func:`~facealign.evaluation.multiface.evaluate_against_boxes`: a face is
  found when its landmark centroid lies in a hand-drawn box, NME against the teacher's points
  (``group_precision`` ... ``group_auc``).
* **Real photos** (``data.group_labels``): crops of the pseudo-labelled group photos not in ``group_val``
  (:class:`~facealign.data.group_photos.GroupPhotoDataset`, ``data.group_crops_per_epoch`` an epoch) are
  mixed with the canvases; the batches of an epoch take the items in an order drawn from ``(seed, epoch)``.
* **Mosaics** (``data.mosaics_per_epoch`` > 0; 0, the default, adds none and leaves the data of a config
  without it as it was): whole training photos tiled onto one canvas with their context, scale and overlap
  jitter (:class:`~facealign.data.mosaic.MosaicDataset`): the ``dense_train`` face photos and, with
  ``data.group_labels``, the group photos not held out (``data.mosaic_group_share`` of the tiles),
  ``data.mosaic_tiles`` / ``mosaic_face_size`` / ``mosaic_overlap`` as :mod:`facealign.data.mosaic`. Items
  are ordered canvases, crops, mosaics before the epoch's permutation.
* **Best checkpoint**: the highest F1, ties broken by the lower NME: of the group photos where
  ``group_val`` is given, else of the canvases. Detection comes first: an NME over the few faces an
  early network finds says little.

* **Device** (``cfg.device``, ``facealign train --device``; :func:`~facealign.engine.loop.train_device`, a
  clear error when CUDA is asked for and absent): the model, the batches and with them the loss targets and
  ``ignore`` masks live there; the validation's network pass runs there too and its outputs are moved to
  the CPU, where they are decoded (numpy) as on a CPU run. Checkpoints hold the states as they are and
  are read with ``map_location="cpu"`` (:func:`~facealign.engine.checkpoint.load_torch_file`), so a GPU
  run's ``last.pt`` loads, resumes or predicts on a CPU. Exact resume is the CPU's: the checkpoint keeps
  the CPU RNGs only, and cuDNN kernels are not bit-reproducible. No mixed precision (the top-down
  trainer has none either).

One process only (no DDP); ``flip_test`` does not apply.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler

from ..bottomup import FoxNetPredictor
from ..data.lists import FaceLists
from ..evaluation.multiface import MultiFaceResult, evaluate_against_boxes, evaluate_multiface
from ..data.group_photos import GroupPhoto, GroupPhotoDataset, read_group_boxes, read_photo_list, read_pseudo_labels
from ..data.mosaic import MosaicDataset
from ..data.multiface import MultiFaceDataset
from ..data.transforms import AugmentConfig
from ..imageio import read_image
from ..landmarks import get_scheme
from ..models.registry import create_model_and_card
from ..tasks import BottomUpTask, make_task
from ..types import FaceLandmarks, Sample
from .config import TrainConfig
from .checkpoint import init_summary, init_weights
from .loop import (
    build_optimizer, build_scheduler, checkpoint_state, memory_format, restore_checkpoint, run_epochs, to_device,
    train_device, train_steps,
)

__all__ = ["BottomUpTrainer", "VAL_NORM", "VAL_THRESHOLD", "ValidationOutputs"]

#: NME normaliser and failure / AUC threshold of the validation (the top-down trainer's).
VAL_NORM = "interocular"
VAL_THRESHOLD = 0.1
#: Canvas pixels are the network's input pixels: the identity input -> canvas map.
_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass
class ValidationOutputs:
    """Network outputs of one validation pass (:meth:`BottomUpTrainer.validation_outputs`), on the CPU."""

    #: ``(segmentation, embedding)`` of each validation canvas.
    canvases: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    #: per canvas, the points ``(K, 2)`` and visibility ``(K,)`` of the faces that can be found.
    gt: list[list[np.ndarray]] = field(default_factory=list)
    visible: list[list[np.ndarray]] = field(default_factory=list)
    #: ``((segmentation, embedding), photo -> input matrix)`` of each validation photo.
    photos: list[tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray]] = field(default_factory=list)
    #: the same for each held-out group photo (``data.group_val``).
    groups: list[tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray]] = field(default_factory=list)


def _scores(res: MultiFaceResult, prefix: str = "") -> dict[str, float]:
    """A metrics row's share of one :func:`evaluate_multiface` result (NME / FR / AUC in %)."""
    return {
        f"{prefix}precision": res.precision,
        f"{prefix}recall": res.recall,
        f"{prefix}f1": res.f1,
        f"{prefix}nme": 100 * res.summary["nme"],
        f"{prefix}fr": 100 * res.summary["fr"],
        f"{prefix}auc": 100 * res.summary["auc"],
        f"{prefix}missing": 100 * res.missing_points,
    }


@dataclass
class HeldOutPhoto:
    """A validation group photo: its path, hand-drawn boxes ``(M, 4)`` and per box the teacher's points or None."""

    path: Path
    boxes: np.ndarray
    teacher: list[np.ndarray | None]


class EpochPermutation(Sampler[int]):
    """All indices of a dataset in an order drawn from ``(seed, epoch)`` (a resumed run sees the same)."""

    def __init__(self, length: int, seed: int) -> None:
        self.length, self.seed, self.epoch = int(length), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        return iter(np.random.default_rng([self.seed, self.epoch, 2]).permutation(self.length).tolist())


def _held_out(photos: Sequence[GroupPhoto], names: Sequence[str], boxes: dict[str, np.ndarray], root: Path) -> list[HeldOutPhoto]:
    """The validation photos ``names``: all their hand-drawn boxes, with the teacher's face of the boxes it labelled."""
    labels = {p.image: p for p in photos}
    out = []
    for name in names:
        if name not in boxes:
            raise ValueError(f"group_val: {name} is not in {root / 'boxes.csv'}")
        teacher: list[np.ndarray | None] = [None] * len(boxes[name])
        if name in labels:
            for face, box in zip(labels[name].faces, labels[name].boxes):
                hit = np.flatnonzero(np.abs(boxes[name] - box).max(axis=1) < 0.01)  # labels keep boxes to 0.01 px
                if len(hit):
                    teacher[int(hit[0])] = face
        out.append(HeldOutPhoto(root / name, boxes[name], teacher))
    return out


def _on_cpu(
    forward: tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray],
) -> tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray]:
    """A :meth:`FoxNetPredictor.forward` result with its outputs on the CPU, where the validation decodes."""
    (seg, emb), matrix = forward
    return (seg.cpu(), emb.cpu()), matrix


def _by_image(samples: Sequence[Sample]) -> list[tuple[Path, list[Sample]]]:
    """Faces grouped by photo, in the order the photos first appear."""
    groups: dict[Path, list[Sample]] = {}
    for s in samples:
        groups.setdefault(Path(s.image_path), []).append(s)
    return list(groups.items())


class BottomUpTrainer:
    """Runs one :class:`TrainConfig` of a bottom-up model (``card.output == "bottomup"``); see the
    module docstring. ``BottomUpTrainer(cfg).fit(resume=True)`` continues ``last.pt``."""

    #: The metrics of the final summary line.
    summary_keys = ("f1", "precision", "recall", "nme", "fr", "auc", "photo_f1", "photo_nme", "group_f1", "group_nme")

    def __init__(self, cfg: TrainConfig, *, config_root: Path | None = None) -> None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError(f"{cfg.name}: bottom-up models train in one process; run without torchrun")
        self.cfg = cfg
        self.faces = FaceLists(cfg.data_root, exclude=cfg.data.exclude, config_root=config_root)
        self.out = Path(cfg.out_dir) / cfg.name
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)

        model, self.card = create_model_and_card(cfg.model, **cfg.model_kwargs)
        if cfg.init_from:  # e.g. a longer schedule started from an earlier run's weights
            print(init_summary(cfg.init_from, *init_weights(model, cfg.init_from)))
        self._check(cfg)
        self.device = train_device(cfg.device)
        self.scheme = get_scheme(self.card.scheme)
        self.task: BottomUpTask = make_task(self.card, None, self.scheme, loss=cfg.loss, loss_args=cfg.loss_args)  # type: ignore[assignment]
        self.codec = self.task.codec
        self.memory_format = memory_format(cfg)
        self.model = model.to(self.device, memory_format=self.memory_format)
        d = cfg.data
        train = self.faces.read(d.dense_train, d.limit_train)
        val = self.faces.read(d.dense_val, d.limit_val)
        self.train_set = self._canvases(train, length=d.canvases_per_epoch or self._canvas_count(len(train)), augment=cfg.augment)
        self.val_set = self._canvases(val, length=self._canvas_count(len(val)), augment=AugmentConfig.none(), flip_prob=0.0)
        self.photos = _by_image(self.faces.read(d.multiface_val, 0)) if d.multiface_val else []
        self.group_val: list[HeldOutPhoto] = []
        self.group_root = Path()
        self._epoch_sets: list[Dataset] = [self.train_set]  # what set_epoch reaches each epoch, in item order
        group_train: list[GroupPhoto] = []
        if d.group_labels:
            group_train = self._group_photos()
            self._epoch_sets.append(self._group_crops(group_train))
        if d.mosaics_per_epoch:
            self._epoch_sets.append(self._mosaics(train, group_train))
        if len(self._epoch_sets) > 1:
            self.train_set = ConcatDataset(self._epoch_sets)
        self.sampler = EpochPermutation(len(self.train_set), cfg.seed)
        self._photo_pixels: dict[Path, np.ndarray] = {}
        if len(self.train_set) < cfg.batch_size:
            raise ValueError(
                f"{cfg.name}: {len(self.train_set)} training canvases per epoch is fewer than batch_size {cfg.batch_size}; "
                "raise data.canvases_per_epoch or lower batch_size"
            )
        self.optimizer = build_optimizer(self.model.parameters(), cfg.optim)
        self.iters_per_epoch = len(self.train_set) // cfg.batch_size
        self.scheduler = build_scheduler(self.optimizer, cfg, self.iters_per_epoch)
        self.start_epoch = 0
        self.best: tuple[float, float] = (math.inf, math.inf)
        self.history: list[dict[str, Any]] = []

    # ----------------------------------------------------------------------------------------- set-up
    def _check(self, cfg: TrainConfig) -> None:
        if self.card.output != "bottomup":
            raise ValueError(f"{cfg.name}: BottomUpTrainer trains bottom-up models; {cfg.model} returns {self.card.output!r} outputs")
        if cfg.five_loss_weight > 0:
            raise ValueError(f"{cfg.name}: five_loss_weight > 0 needs a heatmap model; {cfg.model} is bottom-up")
        if cfg.ema_decay != 0:
            raise ValueError(f"{cfg.name}: ema_decay (a moving average of the weights) is a top-down Trainer setting; BottomUpTrainer has none")
        if not cfg.data.dense_train or not cfg.data.dense_val:
            raise ValueError(f"{cfg.name}: bottom-up training needs data.dense_train and data.dense_val (faces to compose canvases from)")

    def _group_photos(self) -> list[GroupPhoto]:
        """The pseudo-labelled group photos not held out; reads the held-out ones into ``group_val``."""
        d = self.cfg.data
        if not d.group_root:
            raise ValueError(f"{self.cfg.name}: data.group_labels needs data.group_root (the folder of the photos and boxes.csv)")
        self.group_root = self.faces.path(d.group_root)
        photos = read_pseudo_labels(d.group_labels, num_points=self.card.num_points)
        val = read_photo_list(d.group_val) if d.group_val else []
        if val:
            self.group_val = _held_out(photos, val, read_group_boxes(self.group_root / "boxes.csv"), self.group_root)
        held = set(val)
        return [p for p in photos if p.image not in held]

    def _group_crops(self, photos: list[GroupPhoto]) -> GroupPhotoDataset:
        """Crops of the training group ``photos``, ``data.group_crops_per_epoch`` an epoch (0: each photo once)."""
        return GroupPhotoDataset(
            photos, root=self.group_root, scheme=self.scheme, size=self.card.input_size, codec=self.codec,
            max_faces=self.cfg.data.faces_per_canvas[1], length=self.cfg.data.group_crops_per_epoch or len(photos),
            flip_prob=self.cfg.augment.flip_prob, augment=self.cfg.augment, mean=self.card.mean, std=self.card.std, seed=self.cfg.seed,
        )

    def _mosaics(self, faces: list[Sample], groups: list[GroupPhoto]) -> MosaicDataset:
        """``data.mosaics_per_epoch`` mosaics an epoch of the training face photos and group photos
        (:mod:`facealign.data.mosaic`); never the held-out ones."""
        d = self.cfg.data
        return MosaicDataset(
            groups=groups, group_root=self.group_root if groups else "", samples=faces, scheme=self.scheme,
            size=self.card.input_size, codec=self.codec, length=d.mosaics_per_epoch, max_faces=d.faces_per_canvas[1],
            group_share=d.mosaic_group_share, tiles=d.mosaic_tiles, face_size=d.mosaic_face_size, overlap=d.mosaic_overlap,
            flip_prob=self.cfg.augment.flip_prob, augment=self.cfg.augment, mean=self.card.mean, std=self.card.std, seed=self.cfg.seed,
        )

    def _canvas_count(self, faces: int) -> int:
        """Canvases that hold ``faces`` faces on average: ``faces / mean(faces_per_canvas)``, at least 1."""
        lo, hi = self.cfg.data.faces_per_canvas
        return max(1, round(2 * faces / (lo + hi)))

    def _canvases(self, samples: list[Sample], *, length: int, augment: AugmentConfig, flip_prob: float | None = None) -> MultiFaceDataset:
        return MultiFaceDataset(
            samples,
            scheme=self.scheme,
            size=self.card.input_size,
            codec=self.codec,
            faces_per_canvas=tuple(self.cfg.data.faces_per_canvas),
            length=length,
            flip_prob=self.cfg.augment.flip_prob if flip_prob is None else flip_prob,
            augment=augment,
            mean=self.card.mean,
            std=self.card.std,
            seed=self.cfg.seed,
        )

    def _loader(self, ds: Dataset, *, train: bool) -> DataLoader:
        return DataLoader(
            ds, batch_size=self.cfg.batch_size, sampler=self.sampler if train else None, shuffle=False, drop_last=train,
            num_workers=self.cfg.workers, pin_memory=self.device.type == "cuda",
        )

    # ------------------------------------------------------------------------------------ checkpoints
    def state(self, epoch: int) -> dict[str, Any]:
        """The checkpoint after 0-based ``epoch`` (:func:`~facealign.engine.loop.checkpoint_state`);
        ``best`` is the ``(-f1, nme)`` of the best epoch."""
        return checkpoint_state(
            self.cfg, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler, epoch=epoch,
            best=self.best, history=self.history,
        )

    def resume(self, path: Path) -> None:
        ckpt = restore_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler)
        self.start_epoch = int(ckpt["epoch"]) + 1
        self.best = tuple(ckpt.get("best", (math.inf, math.inf)))
        self.history = list(ckpt.get("history", []))

    # ------------------------------------------------------------------------------------------ steps
    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        for ds in self._epoch_sets:
            ds.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        return train_steps(
            self._loader(self.train_set, train=True), self._step_loss, optimizer=self.optimizer, scheduler=self.scheduler,
            epoch=epoch, epochs=self.cfg.epochs, log_every=self.cfg.log_every,
        )

    def _step_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        batch = to_device(batch, self.device)
        return self.task.loss(self.model(batch["image"].contiguous(memory_format=self.memory_format)), batch)

    def _predictor(self) -> FoxNetPredictor:
        """The inference path of the validation, decoding with ``self.codec`` as it is now."""
        return FoxNetPredictor(
            self.model, codec=self.codec, scheme=self.scheme.name, mean=self.card.mean, std=self.card.std, threads=self.cfg.threads,
            device=str(self.device),
        )

    @torch.no_grad()
    def validation_outputs(self) -> ValidationOutputs:
        """The network's outputs on the validation canvases and photos, with the canvases' ground truth."""
        self.model.eval()
        predictor = self._predictor()
        out = ValidationOutputs()
        for batch in self._loader(self.val_set, train=False):
            seg, emb = self.model(batch["image"].to(self.device).contiguous(memory_format=self.memory_format))
            out.canvases += list(zip(seg.cpu(), emb.cpu()))
            for points, vis, n in zip(batch["points"].numpy(), batch["visible"].numpy(), batch["num_faces"].tolist()):
                found = [f for f in range(n) if vis[f].sum() >= self.codec.min_points]
                out.gt.append([points[f] for f in found])
                out.visible.append([vis[f] for f in found])
        out.photos = [_on_cpu(predictor.forward(self._photo(path), color="rgb")) for path, _ in self.photos]
        out.groups = [_on_cpu(predictor.forward(read_image(p.path), color="rgb")) for p in self.group_val]
        return out

    def validate(self, outputs: ValidationOutputs | None = None) -> dict[str, float]:
        """P / R / F1 and NME / FR / AUC (module docstring) on the validation canvases and, with
        ``data.multiface_val``, on its photos (keys prefixed ``photo_``). ``outputs``
        (:meth:`validation_outputs`) scores other decode settings of ``self.codec`` without running
        the network again."""
        out = self.validation_outputs() if outputs is None else outputs
        predictor = self._predictor()
        pred = [predictor.decode(o, _IDENTITY) for o in out.canvases]
        kw = dict(scheme=self.scheme.name, norm=VAL_NORM, threshold=VAL_THRESHOLD)
        row = _scores(evaluate_multiface(pred, out.gt, gt_visible=out.visible, **kw))
        if self.photos:
            photo_pred = [predictor.decode(o, matrix) for o, matrix in out.photos]
            photo_gt = [[s.points for s in faces] for _, faces in self.photos]
            row.update(_scores(evaluate_multiface(photo_pred, photo_gt, **kw), "photo_"))
        if self.group_val:
            group_pred = [predictor.decode(o, matrix) for o, matrix in out.groups]
            res = evaluate_against_boxes(group_pred, [p.boxes for p in self.group_val], [p.teacher for p in self.group_val], **kw)
            row.update(_scores(res, "group_"))
        return row

    def _photo(self, path: Path) -> np.ndarray:
        if path not in self._photo_pixels:
            self._photo_pixels[path] = read_image(path)
        return self._photo_pixels[path]

    # -------------------------------------------------------------------------------------------- run
    def score(self, row: dict[str, Any]) -> tuple[float, float]:
        """The validation score that picks ``best.pt`` (lower is better): ``(-f1, nme)`` of the held-out
        group photos when there are some, else of the canvases; a NaN NME (no face matched) counts as infinite."""
        prefix = "group_" if self.group_val else ""
        nme = row[f"{prefix}nme"]
        return (-row[f"{prefix}f1"], nme if math.isfinite(nme) else math.inf)

    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train from ``start_epoch`` to ``cfg.epochs`` (or ``stop_after`` epochs of this call); each epoch
        validated, logged to ``metrics.jsonl`` and checkpointed (:func:`~facealign.engine.loop.run_epochs`)."""
        return run_epochs(self, resume=resume, stop_after=stop_after)
