"""Heads: map backbone features to output tensors (no loss, no decoding)."""

from .upsample import HEATMAP_CONV_PLACEMENTS, UpsampleHead, parse_strategy

__all__ = ["HEATMAP_CONV_PLACEMENTS", "UpsampleHead", "parse_strategy"]
