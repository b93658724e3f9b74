"""Training configuration: dataclasses read from one TOML file per named experiment (``configs/``).

A config is data, not code: :func:`load_config` parses TOML into :class:`TrainConfig` (its ``[data]`` section:
:class:`facealign.data.config.DataConfig`, which :mod:`facealign.data` turns into datasets), rejects
unknown keys with the file name, and resolves relative paths against ``data_root``. The
translation from config to constructor calls happens in one place, :mod:`facealign.engine.trainer`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.config import DataConfig
from ..data.transforms import AugmentConfig

__all__ = ["OptimConfig", "TrainConfig", "load_config"]


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
    # exponential moving average of the weights, updated after every optimisation step with this decay
    # (torch.optim.swa_utils.get_ema_multi_avg_fn; 0 = off). Validation, best.pt and the checkpoint's "model"
    # are the average; the weights the optimiser steps stay in the checkpoint's "train_model" for an exact resume
    ema_decay: float = 0.0
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
