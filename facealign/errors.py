"""Error types shared by the inference side and the training side (no torch here)."""

from __future__ import annotations

__all__ = ["CheckpointError"]


class CheckpointError(ValueError):
    """A ``.pt`` file that is refused (it holds code-bearing Python objects) or cannot be read
    (corrupt, truncated, not a torch file, or not the kind of content expected). One line."""
