"""What every trainer of the engine shares (:class:`~facealign.engine.trainer.Trainer` for top-down
models, :class:`~facealign.engine.bottomup_trainer.BottomUpTrainer` for bottom-up ones; their faces come
from :mod:`facealign.data`): the optimiser and its per-iteration schedule, the optimisation steps of one
epoch with progress logging, checkpoint contents, and the epoch loop with its JSON-lines log, atomic
``last.pt`` / ``best.pt`` and exact resume.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..atomic import atomic_write_bytes
from .checkpoint import atomic_torch_save, capture_rng, load_checkpoint, restore_rng
from .config import OptimConfig, TrainConfig
from .schedule import lr_factor

__all__ = [
    "EpochTrainer",
    "build_optimizer",
    "build_scheduler",
    "checkpoint_state",
    "format_row",
    "restore_checkpoint",
    "run_epochs",
    "to_device",
    "train_device",
    "train_steps",
]

#: One optimisation step's objective: ``batch -> (loss, {part name: scalar tensor})``.
StepLoss = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def build_optimizer(params: Iterable[nn.Parameter], o: OptimConfig) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (Nesterov momentum) with the learning rate and weight decay of ``o``."""
    if o.optimizer == "adam":
        return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
    if o.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
    if o.optimizer == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=True)
    raise ValueError(f"unknown optimizer {o.optimizer!r}; expected 'adam', 'adamw' or 'sgd'")


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, iters_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """:func:`~facealign.engine.schedule.lr_factor` of the fractional epoch, stepped every iteration."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: lr_factor(it / iters_per_epoch, cfg=cfg.optim, total_epochs=cfg.epochs)
    )


def train_device(name: str) -> torch.device:
    """The device of ``TrainConfig.device``: ``"cpu"``, ``"cuda"`` (under ``torchrun`` the GPU of this
    process's ``LOCAL_RANK``), ``"cuda:N"`` or ``"auto"`` (``"cuda"`` when a GPU is visible, else ``"cpu"``)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {name!r}")
    if dev.type == "cpu":
        return dev
    if not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: this torch ({torch.__version__}) sees no CUDA GPU; use device = 'cpu' or 'auto'")
    if dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} CUDA GPU(s) visible")
    torch.cuda.set_device(dev)
    return dev


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch with every tensor on ``device`` (other values as they are)."""
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def memory_format(cfg: TrainConfig) -> torch.memory_format:
    """The layout a run keeps its weights and input batches in (``TrainConfig.channels_last``)."""
    return torch.channels_last if cfg.channels_last else torch.contiguous_format


def train_steps(
    loader: DataLoader,
    step_loss: StepLoss,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch: int,
    epochs: int,
    log_every: int,
    main_process: bool = True,
    after_step: Callable[[], None] | None = None,
) -> dict[str, float]:
    """One epoch of optimisation steps; the mean ``loss`` and parts over its iterations. ``after_step`` runs
    after each optimiser step (e.g. the weights' moving average).

    Progress: a tqdm bar on a terminal, else (``log_every > 0``) a line every ``log_every`` iterations;
    only the main process shows it.
    """
    totals: dict[str, float] = {"loss": 0.0}
    n = 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not main_process or not sys.stderr.isatty(), leave=False)
    for batch in bar:
        loss, parts = step_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if after_step is not None:
            after_step()
        for key, value in {"loss": loss, **parts}.items():
            totals[key] = totals.get(key, 0.0) + float(value.detach())
        n += 1
        bar.set_postfix(loss=f"{totals['loss'] / n:.5f}")
        if bar.disable and main_process and log_every > 0 and n % log_every == 0:
            print(f"epoch {epoch + 1} iter {n}/{len(loader)} loss {totals['loss'] / n:.5f}", flush=True)
    return {k: v / max(n, 1) for k, v in totals.items()}


def checkpoint_state(
    cfg: TrainConfig,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch: int,
    best: Any,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything an exact resume and a later ``create_model`` need: model / optimiser / scheduler states,
    the RNG states, the finished (0-based) ``epoch``, the best score so far, the metrics history, the
    config and the model's zoo name and keyword arguments."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": capture_rng(),
        "epoch": epoch,
        "best": best,
        "history": history,
        "config": asdict(cfg),
        "model_name": cfg.model,
        "model_kwargs": dict(cfg.model_kwargs),
    }


def restore_checkpoint(
    path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler
) -> dict[str, Any]:
    """Load the states of :func:`checkpoint_state` into the objects and the RNGs; returns the checkpoint."""
    ckpt = load_checkpoint(path)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    restore_rng(ckpt["rng"])
    return ckpt


def format_row(row: dict[str, Any]) -> str:
    """``key=value`` pairs of one metrics row, floats to 4 significant digits."""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


class EpochTrainer(Protocol):
    """What :func:`run_epochs` needs of a trainer. ``score(row)``: the validation score of a metrics row,
    lower is better (``best`` holds the lowest so far); ``summary_keys``: the metrics of the final line."""

    cfg: TrainConfig
    out: Path
    optimizer: torch.optim.Optimizer
    start_epoch: int
    best: Any
    history: list[dict[str, Any]]
    summary_keys: tuple[str, ...]

    def resume(self, path: Path) -> None: ...
    def train_epoch(self, epoch: int) -> dict[str, float]: ...
    def validate(self) -> dict[str, float]: ...
    def state(self, epoch: int) -> dict[str, Any]: ...
    def score(self, row: dict[str, Any]) -> Any: ...


def run_epochs(
    trainer: EpochTrainer,
    *,
    resume: bool = False,
    stop_after: int | None = None,
    main_process: bool = True,
    barrier: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Train from ``start_epoch`` to ``cfg.epochs`` (or ``stop_after`` epochs of this call).

    ``resume``: first continue ``out/last.pt`` when it exists. Each epoch: train, and on the main process
    validate, append a JSON line to ``metrics.jsonl``, write ``last.pt`` (and ``best.pt`` when the score
    improves) atomically; then ``barrier`` (distributed runs). When validation raises, ``last.pt`` still
    gets the epoch's training before the error propagates. Returns the history of all epochs.
    """
    last = trainer.out / "last.pt"
    if resume and last.is_file():
        trainer.resume(last)
    cfg = trainer.cfg
    end = cfg.epochs if stop_after is None else min(cfg.epochs, trainer.start_epoch + stop_after)
    t_run = time.time()
    for epoch in range(trainer.start_epoch, end):
        t0 = time.time()
        train_stats = trainer.train_epoch(epoch)
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": trainer.optimizer.param_groups[0]["lr"], **train_stats}
        if main_process:
            try:
                row.update(trainer.validate())
            except Exception:
                # the epoch's training is not lost with its validation: --resume goes on with the next epoch
                atomic_torch_save(trainer.state(epoch), last)
                print(
                    f"validation failed after epoch {epoch + 1}; the epoch's training is saved in {last} "
                    "(no metrics row for it; --resume continues with the next epoch)",
                    file=sys.stderr,
                    flush=True,
                )
                raise
            row["seconds"] = round(time.time() - t0, 1)
            trainer.history.append(row)
            improved = trainer.score(row) < trainer.best
            if improved:
                trainer.best = trainer.score(row)
            state = trainer.state(epoch)
            atomic_torch_save(state, last)
            if improved:
                atomic_torch_save(state, trainer.out / "best.pt")
            log = trainer.out / "metrics.jsonl"
            atomic_write_bytes(log, "".join(json.dumps(r) + "\n" for r in trainer.history).encode())
            print(format_row(row), flush=True)
        if barrier is not None:
            barrier()
    if main_process and trainer.history:
        best = min(trainer.history, key=trainer.score)
        print(
            f"done: {len(trainer.history)} epochs in total, this call {time.time() - t_run:.0f}s; best epoch {best['epoch']}: "
            + ", ".join(f"{k}={best[k]:.3f}" for k in trainer.summary_keys if k in best),
            flush=True,
        )
    return trainer.history
