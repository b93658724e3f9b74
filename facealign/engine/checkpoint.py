"""Atomic checkpoints: model, optimiser, scheduler, RNG states and epoch in one file."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_write_bytes

__all__ = ["atomic_torch_save", "capture_rng", "load_checkpoint", "restore_rng"]


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` made atomic (serialised in memory, then :func:`atomic_write_bytes`)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def capture_rng() -> dict[str, Any]:
    """Python, numpy and torch RNG states."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by the trainer (a dict with ``model``, ``optimizer``, ``scheduler``,
    ``rng``, ``epoch``, ``config``)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    ckpt = torch.load(p, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ValueError(f"{p} is not a facealign checkpoint (no 'model' entry)")
    return ckpt
