"""Target codecs: matched encode / decode pairs (mmpose ``codecs`` style).

The names below are loaded from their module on first use (PEP 562), so that importing one codec
module does not import the others: the bottom-up decode (:mod:`.bottomup`, :mod:`.anchor_grouping`,
:mod:`.mean_shift`) is numpy and runs in the torch-free inference package, the heatmap codecs need torch.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every public name and the module of this package that defines it.
_EXPORTS = {
    "decoders": ("argmax_decode", "dark_decode", "gaussian_blur", "quarter_offset_decode", "soft_argmax_decode"),
    "heatmap": ("DECODER_NAMES", "FAR_OUTSIDE_SIGMAS", "HeatmapCodec", "gaussian_heatmaps"),
    "hih": ("GAUSSIAN_CUTOFF_SIGMAS", "HIHCodec", "HIHTargets"),
    "boundary": ("BoundaryCodec", "boundary_flip_index", "boundary_heatmaps", "boundary_segments"),
    "bottomup": ("BottomUpCodec", "BottomUpTargets", "DecodedFace", "nms_peaks", "refine_peaks"),
    "mean_shift": ("mean_shift",),
    "offsets": ("OffsetCodec", "OffsetTargets", "mirror_offset_maps", "mirror_offsets"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [name for names in _EXPORTS.values() for name in names]

# numpy only, imported now: the function ``mean_shift`` must shadow its module's name on this package
from .bottomup import BottomUpCodec, BottomUpTargets, DecodedFace, nms_peaks, refine_peaks  # noqa: E402,F401
from .mean_shift import mean_shift  # noqa: E402,F401


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
