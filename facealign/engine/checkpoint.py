"""Atomic checkpoints: model, optimiser, scheduler, RNG states and epoch in one file."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_write_bytes

__all__ = ["atomic_torch_save", "capture_rng", "init_weights", "load_checkpoint", "restore_rng"]


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


def init_weights(model: torch.nn.Module, source: str | Path) -> tuple[list[str], list[str]]:
    """Start ``model`` from another model's weights (fine-tuning; MMPose's ``load_from``).

    ``source``: a registered model name (its shipped weights) or a ``.pt`` file (a trainer checkpoint
    or a bare state_dict). Every tensor whose name and shape match is copied; the rest of ``model``
    keeps its initialisation (e.g. a 68-point output layer started from a 5-point model). Returns the
    names copied and the names of ``model`` left as they were. Raises ``ValueError`` when nothing
    matches (the wrong source: a different backbone, width or head).
    """
    p = Path(str(source))
    if p.suffix == ".pt":
        if not p.is_file():
            raise FileNotFoundError(f"init_from: no such checkpoint {p}")
        state = torch.load(p, map_location="cpu", weights_only=False)
        if isinstance(state, dict) and isinstance(state.get("model"), dict):
            state = state["model"]
    else:
        from ..models.zoo import create_model  # a registered name: its shipped weights

        state = create_model(str(source), pretrained=True).state_dict()
    own = model.state_dict()
    copied = [k for k, v in state.items() if k in own and own[k].shape == v.shape]
    if not copied:
        raise ValueError(
            f"init_from {source}: none of its {len(state)} tensors matches the model by name and shape "
            f"(expected weights of the same backbone and head, e.g. {next(iter(own), '?')} {tuple(next(iter(own.values())).shape) if own else ''})"
        )
    model.load_state_dict({k: state[k] for k in copied}, strict=False)
    kept = [k for k in own if k not in set(copied)]
    return copied, kept
