"""Target codecs: matched encode / decode pairs (mmpose ``codecs`` style)."""

from .decoders import (
    argmax_decode,
    dark_decode,
    gaussian_blur,
    quarter_offset_decode,
    soft_argmax_decode,
)
from .heatmap import DECODER_NAMES, FAR_OUTSIDE_SIGMAS, HeatmapCodec, gaussian_heatmaps

__all__ = [
    "DECODER_NAMES",
    "FAR_OUTSIDE_SIGMAS",
    "HeatmapCodec",
    "argmax_decode",
    "dark_decode",
    "gaussian_blur",
    "gaussian_heatmaps",
    "quarter_offset_decode",
    "soft_argmax_decode",
]

from .hih import GAUSSIAN_CUTOFF_SIGMAS, HIHCodec, HIHTargets

__all__ += ["GAUSSIAN_CUTOFF_SIGMAS", "HIHCodec", "HIHTargets"]

from .boundary import BoundaryCodec, boundary_flip_index, boundary_heatmaps, boundary_segments

__all__ += ["BoundaryCodec", "boundary_flip_index", "boundary_heatmaps", "boundary_segments"]

from .bottomup import BottomUpCodec, BottomUpTargets, DecodedFace, nms_peaks, refine_peaks
from .mean_shift import mean_shift

__all__ += ["BottomUpCodec", "BottomUpTargets", "DecodedFace", "mean_shift", "nms_peaks", "refine_peaks"]

from .offsets import OffsetCodec, OffsetTargets, mirror_offset_maps, mirror_offsets

__all__ += ["OffsetCodec", "OffsetTargets", "mirror_offset_maps", "mirror_offsets"]
