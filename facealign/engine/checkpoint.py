"""Atomic checkpoints: model, optimiser, scheduler, RNG states and epoch in one file.

Loading never runs code: every ``.pt`` is read with ``torch.load(..., weights_only=True)``
(:func:`load_torch_file`), which accepts tensors and plain data (dicts, lists, tuples, strings,
numbers) only. Everything the trainer saves is therefore kept in those types: the numpy RNG state as
a dict with its key as a tensor, the config as the plain dict of ``dataclasses.asdict``.
"""

from __future__ import annotations

import io
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_write_bytes
from ..errors import CheckpointError

__all__ = [
    "CheckpointError",
    "atomic_torch_save",
    "capture_rng",
    "init_weights",
    "load_checkpoint",
    "load_state_dict_file",
    "load_torch_file",
    "restore_rng",
]


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` made atomic (serialised in memory, then :func:`atomic_write_bytes`)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


_reconstruct = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
_NUMPY_ARRAYS = [
    np.ndarray, np.dtype, type(np.dtype("uint32")),
    (_reconstruct, "numpy._core.multiarray._reconstruct"), (_reconstruct, "numpy.core.multiarray._reconstruct"),
]
"""numpy arrays are plain data too: rebuilding one (``_reconstruct`` of an ``ndarray`` of a ``dtype``, its
items unpickled by the same restricted unpickler) runs no code. Checkpoints written before the RNG
state was stored as tensors hold the numpy RNG key as an array; this keeps them loadable."""


def load_torch_file(path: str | Path, *, what: str = "checkpoint") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with one-line errors.

    Raises ``FileNotFoundError`` ("no such file") when ``path`` is not a file, and
    :class:`CheckpointError` naming the file and why when it holds anything but tensors and plain
    data (such a pickle could run code as it loads, so it is refused before anything in it runs) or
    is not a readable torch file. ``what`` names the file's role in the messages.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p}: no such file")
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAYS):
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL (\S+)|but got <class '([^']+)'>", str(err))
        if found:
            raise CheckpointError(
                f"{what} {p}: refused, it holds the Python object {found.group(1) or found.group(2)}, not only tensors and plain data "
                "(loading it could run code)"
            ) from None
        raise CheckpointError(f"{what} {p}: refused, not a torch file of tensors and plain data") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{what} {p}: not a readable torch file (corrupt or truncated?): {first}") from None


def capture_rng() -> dict[str, Any]:
    """Python, numpy and torch RNG states, in types that ``weights_only`` loading accepts.

    ``python``: ``random.getstate()`` (a tuple of ints and ``None``); ``numpy``: the legacy
    ``np.random.get_state()`` as a dict whose 624-word MT19937 key is an int64 tensor; ``torch``:
    ``torch.get_rng_state()``.
    """
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    numpy_state = {
        "kind": str(kind), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
        "has_gauss": int(has_gauss), "cached_gaussian": float(gauss),
    }
    return {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}


def restore_rng(state: dict[str, Any]) -> None:
    """Set the RNGs to a :func:`capture_rng` state (or to the older layout, whose numpy state is
    ``np.random.get_state()``'s tuple)."""
    random.setstate(tuple(state["python"]))
    n = state["numpy"]
    if isinstance(n, dict):
        n = (n["kind"], np.asarray(n["key"].numpy(), dtype=np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    np.random.set_state(tuple(n))
    torch.set_rng_state(state["torch"])


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by the trainer (a dict with ``model``, ``optimizer``, ``scheduler``,
    ``rng``, ``epoch``, ``config``), never running code (:func:`load_torch_file`).

    Raises ``FileNotFoundError`` when missing and :class:`CheckpointError` when refused, unreadable or
    not a trainer checkpoint."""
    ckpt = load_torch_file(path)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(f"checkpoint {path}: not a facealign checkpoint (no 'model' state dict)")
    return ckpt


def load_state_dict_file(path: str | Path, *, what: str = "weights") -> dict[str, torch.Tensor]:
    """The state dict a ``.pt`` holds: a bare state dict (shipped weights) or a trainer checkpoint's ``model``,
    read with :func:`load_torch_file`. Raises :class:`CheckpointError` naming ``what`` and the file when it holds
    neither."""
    state = load_torch_file(path, what=what)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{what} {Path(path)}: holds no state dict (a dict of tensors, or a checkpoint with one)")
    return state


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
        state = load_state_dict_file(p, what="init_from")
    else:
        from ..models.registry import create_model  # a registered name: its shipped weights

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


def init_summary(source: str, copied: list[str], kept: list[str]) -> str:
    """The one line a trainer prints after :func:`init_weights`: how many tensors came from ``source`` and the
    first few left as initialised."""
    more = f" ({', '.join(kept[:4])}{', ...' if len(kept) > 4 else ''})" if kept else ""
    return f"init_from {source}: {len(copied)} tensors copied, {len(kept)} kept as initialised" + more
