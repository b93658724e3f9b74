"""The training engine shared by every top-down method (heatmap, HIH, regression): one place where a :class:`TrainConfig` turns
into a model, data, loss, optimiser and schedule; epochs with validation (NME / FR / AUC with
flip-test averaging), JSON-lines metrics, atomic checkpoints and exact resume; PyTorch DDP under
``torchrun`` (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from ..data.balance import balanced_indices
from ..data.dataset import FaceRecord, LandmarkDataset, merge_records
from ..data.readers import read_annotations
from ..data.transforms import AugmentConfig
from ..geometry import align_matrix, apply_affine, invert_affine
from ..landmarks import LandmarkScheme, get_scheme
from ..landmarks.five import FIVE
from ..metrics import auc, failure_rate, nme
from ..types import input_to_heatmap
from ..models.scc.adjacency import build_adjacency
from ..models.zoo import ModelCard, create_model, get_model_card
from ..atomic import atomic_write_bytes
from .checkpoint import atomic_torch_save, capture_rng, load_checkpoint, restore_rng
from .config import TrainConfig
from ..outputs import OutputAdapter, make_adapter
from .losses import five_point_loss
from .schedule import lr_factor

__all__ = ["Trainer", "predict_crops"]


@torch.no_grad()
def predict_crops(model: nn.Module, images: torch.Tensor, *, adapter: OutputAdapter, flip_test: bool) -> Any:
    """The network's output for a batch of aligned crops ``(B, 3, S, S)``, merged with the output of
    the mirrored crops when ``flip_test`` (Earp et al. Sec. 5.1: +0.6 AUC)."""
    out = model(images)
    if flip_test:
        out = adapter.merge_flip(out, model(images.flip(-1)))
    return out


def _is_dist() -> bool:
    return dist.is_available() and dist.is_initialized()


def _rank() -> int:
    return dist.get_rank() if _is_dist() else 0


class Trainer:
    """Runs one :class:`TrainConfig`. ``Trainer(cfg).fit(resume=True)`` continues ``last.pt``."""

    def __init__(self, cfg: TrainConfig, *, config_root: Path | None = None) -> None:
        self.cfg = cfg
        self.root = Path(cfg.data_root)
        if not self.root.is_absolute() and config_root is not None:
            self.root = (config_root / self.root).resolve()
        self.out = Path(cfg.out_dir) / cfg.name
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self._init_distributed()
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)

        self.card: ModelCard = get_model_card(cfg.model, **cfg.model_kwargs)
        self.model = create_model(cfg.model, **cfg.model_kwargs)
        self.scheme = get_scheme(self.card.scheme)
        self.adapter = make_adapter(self.card, self.model, self.scheme, loss=cfg.loss)
        if cfg.five_loss_weight > 0 and self.card.output != "heatmap":
            raise ValueError(
                f"five_loss_weight > 0 needs a heatmap model (soft-argmax 5-point loss); {cfg.model} "
                f"returns {self.card.output!r} outputs"
            )
        self.train_set = self._dataset(train=True)
        self.val_set = self._dataset(train=False)
        if hasattr(self.model, "set_adjacency"):  # SCC: the data-driven graph of the training shapes
            self.model.set_adjacency(build_adjacency(self.train_shapes()[1], k=self.model.k))
        self.train_indices = self._train_indices()
        self.optimizer = self._optimizer()
        self.iters_per_epoch = max(1, len(self._loader(self.train_set, train=True, epoch=0)))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda it: lr_factor(it / self.iters_per_epoch, cfg=cfg.optim, total_epochs=cfg.epochs),
        )
        self.start_epoch = 0
        self.best = float("inf")
        self.history: list[dict[str, Any]] = []
        if _is_dist():
            self.ddp = nn.parallel.DistributedDataParallel(self.model)
        else:
            self.ddp = self.model

    # ----------------------------------------------------------------------------------------- set-up
    def _init_distributed(self) -> None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not _is_dist():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend=backend)

    def _path(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def _key(self, image_path: Path) -> str:
        """An image's path relative to ``data_root`` (the key of exclude / align_points files)."""
        try:
            return Path(image_path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return Path(image_path).as_posix()

    def _excluded(self) -> set[str]:
        if not self.cfg.data.exclude:
            return set()
        lines = Path(self.cfg.data.exclude).read_text().splitlines()
        return {ln.split()[0] for ln in lines if ln.strip() and not ln.startswith("#")}

    def _read(self, rel: str, limit: int) -> list:
        if not rel:
            return []
        excluded = self._excluded()
        samples = [s for s in read_annotations(self._path(rel)) if self._key(s.image_path) not in excluded]
        return samples[:limit] if limit > 0 else samples

    def _dataset(self, *, train: bool) -> LandmarkDataset:
        d = self.cfg.data
        lim = d.limit_train if train else d.limit_val
        dense = self._read(d.dense_train if train else d.dense_val, lim)
        five = self._read(d.five_train if train else d.five_val, lim)
        if self.scheme.num_points == 5:  # a 5-point model: the human points are the dense points
            dense, five = dense + five, []
        records = merge_records(self.scheme, dense=dense, five=five)
        if d.align_points:
            self._attach_align_points(records, Path(d.align_points))
        return LandmarkDataset(
            records,
            scheme=self.scheme,
            input_size=self.card.input_size,
            targets=self.adapter,
            mean=self.card.mean,
            std=self.card.std,
            augment=self.cfg.augment if train else AugmentConfig.none(),
            seed=self.cfg.seed,
        )

    def _attach_align_points(self, records: list[FaceRecord], path: Path) -> None:
        table = json.loads(path.read_text())
        for rec in records:
            pts = table.get(self._key(rec.image_path))
            if pts is not None:
                rec.align = np.asarray(pts, dtype=np.float64).reshape(5, 2)

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

    def _optimizer(self) -> torch.optim.Optimizer:
        o = self.cfg.optim
        params = self.model.parameters()
        if o.optimizer == "adam":
            return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
        if o.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
        if o.optimizer == "sgd":
            return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=True)
        raise ValueError(f"unknown optimizer {o.optimizer!r}; expected 'adam', 'adamw' or 'sgd'")

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
        )

    # ------------------------------------------------------------------------------------ checkpoints
    def state(self, epoch: int) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": capture_rng(),
            "epoch": epoch,
            "best": self.best,
            "history": self.history,
            "config": asdict(self.cfg),
            "model_name": self.cfg.model,
            "model_kwargs": dict(self.cfg.model_kwargs),
            "world_size": dist.get_world_size() if _is_dist() else 1,
        }

    def resume(self, path: Path) -> None:
        ckpt = load_checkpoint(path)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        restore_rng(ckpt["rng"])
        self.start_epoch = int(ckpt["epoch"]) + 1
        self.best = float(ckpt.get("best", float("inf")))
        self.history = list(ckpt.get("history", []))

    # ------------------------------------------------------------------------------------------ steps
    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.ddp.train()
        loader = self._loader(self.train_set, train=True, epoch=epoch)
        totals: dict[str, float] = {"loss": 0.0}
        n = 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{self.cfg.epochs}", disable=_rank() != 0 or not sys.stderr.isatty(), leave=False)
        for batch in bar:
            out = self.ddp(batch["image"])
            loss, parts = self.adapter.loss(out, batch)
            if self.cfg.five_loss_weight > 0:
                parts["five"] = five_point_loss(
                    out,
                    input_to_heatmap(batch["five"], self.card.stride),
                    scheme=self.scheme,
                    sigma=self.card.sigma,
                    beta=self.cfg.softargmax_beta,
                )
                loss = loss + self.cfg.five_loss_weight * parts["five"]
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            for key, value in {"loss": loss, **parts}.items():
                totals[key] = totals.get(key, 0.0) + float(value.detach())
            n += 1
            bar.set_postfix(loss=f"{totals['loss'] / n:.5f}")
            if bar.disable and _rank() == 0 and self.cfg.log_every > 0 and n % self.cfg.log_every == 0:
                print(f"epoch {epoch + 1} iter {n}/{len(loader)} loss {totals['loss'] / n:.5f}", flush=True)
        return {k: v / max(n, 1) for k, v in totals.items()}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """NME (%), FR@0.1 and AUC@0.1 on the validation faces in original-image pixels: on the
        human 5 points (normalised by the eye-centre distance) and, where the faces have them, on
        the dense points (normalised by the outer eye corners)."""
        self.model.eval()
        preds = []
        loader = self._loader(self.val_set, train=False, epoch=0)
        for batch in loader:
            out = predict_crops(self.model, batch["image"], adapter=self.adapter, flip_test=self.cfg.flip_test)
            coords, _ = self.adapter.decode(out)
            for c, m in zip(coords.numpy(), batch["matrix"].numpy()):
                preds.append(apply_affine(invert_affine(m), c))
        recs = self.val_set.records
        pred = np.stack(preds)
        gt = np.stack([r.points for r in recs])
        result: dict[str, float] = {}
        five_gt = np.stack([r.five if r.five is not None else self.scheme.to_five(r.points) for r in recs])
        e5 = nme(self.scheme.to_five(pred), five_gt, scheme=FIVE, norm="interocular")
        result.update(nme5=100 * float(np.mean(e5)), fr5=100 * failure_rate(e5, threshold=0.1), auc5=100 * auc(e5, threshold=0.1))
        dense = np.isfinite(gt).all(axis=(1, 2))
        if self.scheme.num_points != 5 and dense.any():
            e = nme(pred[dense], gt[dense], scheme=self.scheme, norm="interocular")
            result.update(nme=100 * float(np.mean(e)), fr=100 * failure_rate(e, threshold=0.1), auc=100 * auc(e, threshold=0.1))
        return result

    # -------------------------------------------------------------------------------------------- run
    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train from ``start_epoch`` to ``cfg.epochs`` (or ``stop_after`` epochs of this call).

        Each epoch: train, validate, append a JSON line to ``metrics.jsonl``, write ``last.pt``
        (and ``best.pt`` when the 5-point NME improves) atomically.
        """
        last = self.out / "last.pt"
        if resume and last.is_file():
            self.resume(last)
        end = self.cfg.epochs if stop_after is None else min(self.cfg.epochs, self.start_epoch + stop_after)
        t_run = time.time()
        for epoch in range(self.start_epoch, end):
            t0 = time.time()
            train_stats = self.train_epoch(epoch)
            row: dict[str, Any] = {"epoch": epoch + 1, "lr": self.optimizer.param_groups[0]["lr"], **train_stats}
            if _rank() == 0:
                row.update(self.validate())
                row["seconds"] = round(time.time() - t0, 1)
                self.history.append(row)
                improved = row["nme5"] < self.best
                if improved:
                    self.best = row["nme5"]
                state = self.state(epoch)
                atomic_torch_save(state, last)
                if improved:
                    atomic_torch_save(state, self.out / "best.pt")
                log = self.out / "metrics.jsonl"
                atomic_write_bytes(log, "".join(json.dumps(r) + "\n" for r in self.history).encode())
                print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            if _is_dist():
                dist.barrier()
        if _rank() == 0 and self.history:
            best = min(self.history, key=lambda r: r["nme5"])
            print(
                f"done: {len(self.history)} epochs in total, this call {time.time() - t_run:.0f}s; best epoch {best['epoch']}: "
                + ", ".join(f"{k}={best[k]:.3f}" for k in ("nme5", "fr5", "auc5", "nme", "fr", "auc") if k in best),
                flush=True,
            )
        return self.history
