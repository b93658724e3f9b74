"""Losses: one per file, each a plain function on two tensors plus a thin ``nn.Module``.

Every loss takes ``pred, target`` of one shape, optional per-point ``weights`` (a leading part of
that shape, e.g. ``(B, K)`` for heatmaps ``(B, K, h, w)`` or points ``(B, K, 2)``) and
``reduction`` in ``"mean" | "sum" | "none"``.
"""

from .adaptive_wing import AdaptiveWingLoss, adaptive_wing_loss, awing_weight_map
from .l1 import L1Loss, l1_loss
from .mse import REDUCTIONS, MSELoss, mse_loss, stacked_mse_loss
from .smooth_l1 import SmoothL1Loss, smooth_l1_loss
from .soft_wing import SoftWingLoss, soft_wing_loss
from .wing import WingLoss, wing_loss

__all__ = [
    "REDUCTIONS",
    "AdaptiveWingLoss",
    "L1Loss",
    "MSELoss",
    "SmoothL1Loss",
    "SoftWingLoss",
    "WingLoss",
    "adaptive_wing_loss",
    "awing_weight_map",
    "l1_loss",
    "mse_loss",
    "smooth_l1_loss",
    "soft_wing_loss",
    "stacked_mse_loss",
    "wing_loss",
]

from .hih_loss import ALPHA_BASE, ALPHA_TINY, HIHLoss, csc_loss, hih_loss

__all__ += ["ALPHA_BASE", "ALPHA_TINY", "HIHLoss", "csc_loss", "hih_loss"]

from .fox_loss import (
    FoxLoss,
    FoxLossTerms,
    FoxNetLoss,
    FoxNetLossTerms,
    LandmarkSegmentationLoss,
    fox_loss,
    fox_loss_terms,
    foxnet_loss,
    landmark_segmentation_loss,
)

__all__ += [
    "FoxLoss",
    "FoxLossTerms",
    "FoxNetLoss",
    "FoxNetLossTerms",
    "LandmarkSegmentationLoss",
    "fox_loss",
    "fox_loss_terms",
    "foxnet_loss",
    "landmark_segmentation_loss",
]

from .focal_wing import PAPER_BETA, FocalWingLoss, focal_factor, focal_sample_weights, focal_wing_loss, propagation_loss

__all__ += ["PAPER_BETA", "FocalWingLoss", "focal_factor", "focal_sample_weights", "focal_wing_loss", "propagation_loss"]

from .five_point import FivePointLoss, five_point_loss, five_point_matrix

__all__ += ["FivePointLoss", "five_point_loss", "five_point_matrix"]
