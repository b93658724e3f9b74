"""The training engine shared by every top-down method (heatmap, HIH, regression, PropagationNet, WOV / WOM): one place
where a :class:`TrainConfig` turns into a model, data, the task of its output kind (:mod:`facealign.tasks`: targets, loss,
flip merge, decoding), optimiser and schedule; epochs with validation (NME / FR / AUC with
flip-test averaging), JSON-lines metrics, atomic checkpoints and exact resume; PyTorch DDP under
``torchrun`` (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import os
from pathlib import Path
import typing
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Subset

from ..data.balance import balanced_indices
from ..data.build import build_datasets
from ..data.dataset import LandmarkDataset
from ..geometry import align_matrix, apply_affine, invert_affine
from ..landmarks import LandmarkScheme, get_scheme
from ..losses import five_point_loss
from ..tasks import CropTask, make_task, predict_crops
from ..types import input_to_heatmap
from ..models.registry import create_model_and_card
from .checkpoint import init_summary, init_weights
from .config import TrainConfig
from .loop import (
    build_optimizer, build_scheduler, checkpoint_state, memory_format, restore_checkpoint, run_epochs, to_device,
    train_device, train_steps,
)
from ..evaluation.protocols import score_points

__all__ = ["PreparesForTraining", "Trainer"]


@typing.runtime_checkable
class PreparesForTraining(typing.Protocol):
    """A model that sets itself up from the training data before its first step:
    ``prepare_training(shapes)`` with the fully labelled training faces in crop pixels ``(M, K, 2)``
    (:meth:`Trainer.train_shapes`), e.g. SCC's data-driven adjacency (Eq. 4)."""

    def prepare_training(self, shapes: np.ndarray) -> None: ...


def _is_dist() -> bool:
    return dist.is_available() and dist.is_initialized()


def _rank() -> int:
    return dist.get_rank() if _is_dist() else 0


class Trainer:
    """Runs one :class:`TrainConfig`. ``Trainer(cfg).fit(resume=True)`` continues ``last.pt``."""

    #: The metrics of the final summary line; the best epoch is the lowest ``nme5``.
    summary_keys = ("nme5", "fr5", "auc5", "nme", "fr", "auc", "human68_nme", "human68_fr", "small_nme", "small_fr",
                    "profile_nme", "profile_fr")

    def __init__(self, cfg: TrainConfig, *, config_root: Path | None = None) -> None:
        if not 0.0 <= cfg.ema_decay < 1.0:  # before the data are read
            raise ValueError(f"{cfg.name}: ema_decay must be in [0, 1) (0 = no moving average), got {cfg.ema_decay}")
        self.cfg = cfg
        self.out = Path(cfg.out_dir) / cfg.name
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.device = train_device(cfg.device)
        self._init_distributed()
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)

        self.memory_format = memory_format(cfg)
        model, self.card = create_model_and_card(cfg.model, **cfg.model_kwargs)
        self.model = model.to(memory_format=self.memory_format)
        if cfg.init_from:
            copied, kept = init_weights(self.model, cfg.init_from)
            if _rank() == 0:
                print(init_summary(cfg.init_from, copied, kept))
        self.scheme = get_scheme(self.card.scheme)
        task = make_task(self.card, self.model, self.scheme, loss=cfg.loss, loss_args=cfg.loss_args)
        if not isinstance(task, CropTask):
            raise ValueError(
                f"{cfg.name}: Trainer trains top-down models; {cfg.model} returns {self.card.output!r} outputs "
                "(bottom-up models train with facealign.engine.bottomup_trainer.BottomUpTrainer)"
            )
        self.task: CropTask = task
        if cfg.five_loss_weight > 0 and not hasattr(self.task, "point_heatmaps"):
            raise ValueError(
                f"five_loss_weight > 0 needs maps centred on the points (soft-argmax 5-point loss: heatmap and "
                f"propagation models); {cfg.model} returns {self.card.output!r} outputs"
            )
        data = build_datasets(
            cfg.data, data_root=cfg.data_root, card=self.card, targets=self.task, augment=cfg.augment, seed=cfg.seed,
            config_root=config_root, protocols=_rank() == 0,
        )
        self.faces, self.train_set, self.val_set, self.protocols = data.lists, data.train, data.val, data.protocols
        if isinstance(self.model, PreparesForTraining):  # e.g. SCC: the data-driven graph of the training shapes
            self.model.prepare_training(self.train_shapes()[1])
        self.train_indices = self._train_indices()
        self.model.to(self.device)
        # the weights' exponential moving average (buffers too: BatchNorm's running statistics); None when off
        self.ema: AveragedModel | None = (
            AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
            if cfg.ema_decay > 0 else None
        )
        self.optimizer = build_optimizer(self.model.parameters(), cfg.optim)
        self.iters_per_epoch = max(1, len(self._loader(self.train_set, train=True, epoch=0)))
        self.scheduler = build_scheduler(self.optimizer, cfg, self.iters_per_epoch)
        self.start_epoch = 0
        self.best = float("inf")
        self.history: list[dict[str, Any]] = []
        if _is_dist():
            gpu = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.model, device_ids=gpu)
        else:
            self.ddp = self.model

    # ----------------------------------------------------------------------------------------- set-up
    def _init_distributed(self) -> None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not _is_dist():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend=backend)

    def train_shapes(self) -> tuple[np.ndarray, np.ndarray]:
        """The fully labelled training faces: their indices in the training set and their shapes in
        crop pixels, each aligned as at inference without augmentation (SCC Eq. 4 correlates
        coordinates in the frame the network predicts in). Shape: ``(M,)``, ``(M, K, 2)``."""
        index, shapes = [], []
        for i, rec in enumerate(self.train_set.records):
            if np.isfinite(rec.points).all():
                m = align_matrix(self.train_set.align_points(rec), self.card.input_size)
                index.append(i)
                shapes.append(apply_affine(m, rec.points))
        if len(shapes) < 2:
            raise ValueError(f"{self.cfg.name}: needs at least 2 fully labelled training faces, got {len(shapes)}")
        return np.asarray(index), np.stack(shapes)

    def _train_indices(self) -> np.ndarray:
        """The training faces of one epoch (before shuffling): each face once, or with pose-based data
        balancing (``data.pose_balance_bins > 0``) the fully labelled faces oversampled by pose bin
        (:func:`facealign.data.balance.balanced_indices`) and the partly labelled ones once."""
        n = len(self.train_set)
        bins = self.cfg.data.pose_balance_bins
        if bins <= 0:
            return np.arange(n)
        index, shapes = self.train_shapes()
        rest = np.setdiff1d(np.arange(n), index)
        return np.concatenate([index[balanced_indices(shapes, bins)], rest])

    def _loader(self, ds: LandmarkDataset, *, train: bool, epoch: int) -> DataLoader:
        n = len(self.train_indices) if train else len(ds)
        if train:
            g = torch.Generator().manual_seed(self.cfg.seed * 100003 + epoch)
            order = self.train_indices[torch.randperm(n, generator=g).numpy()].tolist()
            if _is_dist():  # each rank takes every world_size-th index of the same permutation
                ws = dist.get_world_size()
                order = order[_rank() :: ws][: n // ws]
            ds.set_epoch(epoch)
            subset = Subset(ds, order)
        else:
            subset = ds
        return DataLoader(
            subset,
            batch_size=self.cfg.batch_size,
            shuffle=False,
            drop_last=train,
            num_workers=self.cfg.workers,
            persistent_workers=False,
            pin_memory=self.device.type == "cuda",
        )

    # ------------------------------------------------------------------------------------ checkpoints
    @property
    def eval_model(self) -> nn.Module:
        """The weights that are validated and saved as the checkpoint's ``model``: the moving average
        (``ema_decay > 0``) or the trained weights themselves."""
        return self.model if self.ema is None else self.ema.module

    def state(self, epoch: int) -> dict[str, Any]:
        """The checkpoint after 0-based ``epoch`` (:func:`~facealign.engine.loop.checkpoint_state`) and
        the number of processes that trained it. With a moving average its weights are ``model`` (what
        ``init_from``, the model zoo and ``scripts/ship_weights.py`` read) and the stepped weights
        ``train_model``, with ``ema_updates`` the number of averaged steps."""
        state = checkpoint_state(
            self.cfg, model=self.eval_model, optimizer=self.optimizer, scheduler=self.scheduler, epoch=epoch,
            best=self.best, history=self.history,
        )
        if self.ema is not None:
            state["train_model"] = self.model.state_dict()
            state["ema_updates"] = self.ema.n_averaged.detach().cpu().clone()
        state["world_size"] = dist.get_world_size() if _is_dist() else 1
        return state

    def resume(self, path: Path) -> None:
        ckpt = restore_checkpoint(path, model=self.eval_model, optimizer=self.optimizer, scheduler=self.scheduler)
        if self.ema is not None:
            if "train_model" not in ckpt:
                raise ValueError(
                    f"{path}: written without a moving average of the weights (no 'train_model'), but this run has "
                    f"ema_decay = {self.cfg.ema_decay}; resume it with the config it was started with"
                )
            self.model.load_state_dict(ckpt["train_model"])
            self.ema.n_averaged.copy_(ckpt["ema_updates"])
        elif "train_model" in ckpt:
            raise ValueError(
                f"{path}: written with a moving average of the weights ('train_model'), but this run has ema_decay = 0; "
                "resume it with the config it was started with"
            )
        self.start_epoch = int(ckpt["epoch"]) + 1
        self.best = float(ckpt.get("best", float("inf")))
        self.history = list(ckpt.get("history", []))

    # ------------------------------------------------------------------------------------------ steps
    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.ddp.train()
        loader = self._loader(self.train_set, train=True, epoch=epoch)
        return train_steps(
            loader, self._step_loss, optimizer=self.optimizer, scheduler=self.scheduler, epoch=epoch,
            epochs=self.cfg.epochs, log_every=self.cfg.log_every, main_process=_rank() == 0,
            after_step=None if self.ema is None else lambda: self.ema.update_parameters(self.model),
        )

    def _step_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        batch = to_device(batch, self.device)
        out = self.ddp(batch["image"].contiguous(memory_format=self.memory_format))
        loss, parts = self.task.loss(out, batch)
        if self.cfg.five_loss_weight > 0:
            parts["five"] = five_point_loss(
                self.task.point_heatmaps(out),  # type: ignore[attr-defined]
                input_to_heatmap(batch["five"], self.card.stride),
                scheme=self.scheme,
                sigma=self.card.sigma,
                beta=self.cfg.softargmax_beta,
            )
            loss = loss + self.cfg.five_loss_weight * parts["five"]
        return loss, parts

    @torch.no_grad()
    def predict(self, ds: LandmarkDataset) -> np.ndarray:
        """The model's points for every face of ``ds``, in its photo's pixels (flip test as configured).
        Shape: ``(N, K, 2)``."""
        model = self.eval_model
        model.eval()
        preds = []
        for batch in self._loader(ds, train=False, epoch=0):
            images = batch["image"].to(self.device).contiguous(memory_format=self.memory_format)
            out = predict_crops(model, images, task=self.task, flip_test=self.cfg.flip_test)
            coords, _ = self.task.decode(out)
            for c, m in zip(coords.cpu().numpy(), batch["matrix"].numpy()):
                preds.append(apply_affine(invert_affine(m), c))
        return np.stack(preds)

    def validate(self) -> dict[str, float]:
        """NME (%), FR@0.1 and AUC@0.1 on the validation faces in original-image pixels: on the
        human 5 points (normalised by the eye-centre distance: ``nme5`` ...) and, where the faces have them, on
        the dense points (normalised by the outer eye corners: ``nme`` ...); then each extra protocol of
        :mod:`facealign.evaluation.protocols` as ``NAME_nme``, ``NAME_fr``, ``NAME_auc``."""
        recs = self.val_set.records
        pred = self.predict(self.val_set)
        gt = np.stack([r.points for r in recs])
        result = {f"{k}5": v for k, v in score_points("five", pred, recs, self.scheme).items()}
        dense = np.isfinite(gt).all(axis=(1, 2))
        if self.scheme.num_points != 5 and dense.any():
            result.update(score_points("dense", pred[dense], [r for r, ok in zip(recs, dense) if ok], self.scheme))
        for p in self.protocols:
            scores = score_points(p.kind, self.predict(p.dataset), p.dataset.records, self.scheme)
            result.update({f"{p.name}_{k}": v for k, v in scores.items()})
        return result

    # -------------------------------------------------------------------------------------------- run
    def score(self, row: dict[str, Any]) -> float:
        """The validation score that picks ``best.pt``: the 5-point NME (lower is better)."""
        return row["nme5"]

    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train from ``start_epoch`` to ``cfg.epochs`` (or ``stop_after`` epochs of this call).

        Each epoch: train, validate, append a JSON line to ``metrics.jsonl``, write ``last.pt``
        (and ``best.pt`` when the 5-point NME improves) atomically (:func:`~facealign.engine.loop.run_epochs`).
        """
        barrier = dist.barrier if _is_dist() else None
        return run_epochs(self, resume=resume, stop_after=stop_after, main_process=_rank() == 0, barrier=barrier)
