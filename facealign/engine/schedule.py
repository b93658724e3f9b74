"""Learning-rate schedules as plain functions of the (fractional) epoch, applied per iteration."""

from __future__ import annotations

import math

from .config import OptimConfig

__all__ = ["lr_factor"]


def lr_factor(epoch: float, *, cfg: OptimConfig, total_epochs: int) -> float:
    """Multiplier of the base learning rate at fractional ``epoch`` (0-based).

    Linear warm-up over ``cfg.warmup_epochs`` (from 1 / (warm-up iterations) up to 1), then
    "step": ``gamma ** (number of milestones <= epoch)``;
    "cosine": ``m + (1 - m) * (1 + cos(pi * epoch / total_epochs)) / 2`` with ``m = min_lr / lr``.
    """
    if cfg.schedule == "step":
        factor = cfg.gamma ** sum(1 for m in cfg.milestones if epoch >= m)
    elif cfg.schedule == "cosine":
        m = cfg.min_lr / cfg.lr if cfg.lr > 0 else 0.0
        t = min(max(epoch / max(total_epochs, 1), 0.0), 1.0)
        factor = m + (1.0 - m) * 0.5 * (1.0 + math.cos(math.pi * t))
    else:
        raise ValueError(f"unknown schedule {cfg.schedule!r}; expected 'step' or 'cosine'")
    if cfg.warmup_epochs > 0 and epoch < cfg.warmup_epochs:
        factor *= max(epoch / cfg.warmup_epochs, 1e-3)
    return factor
