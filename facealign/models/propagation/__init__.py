"""PropagationNet (Huang et al., "PropagationNet: Propagate Points to Curve to Learn Structure
Information", CVPR 2020): anti-aliased downsampling, CoordConv, multi-view blocks and hourglass, the
Landmark-Boundary Propagation Module, the network and its zoo entries (registered on import).
"""

from .blocks import BLUR_FILTERS, BlurPool2d, CoordConv2d, MaxBlurPool2d, MultiViewBlock, coordinate_channels
from .hourglass import MultiViewHourglass
from .lpm import LPM_BOUNDARY_CONVS, LPM_DEPTH, PROPAGATION_KERNEL, PropagationModule, PropagationResult
from .model import (
    PROPNET_STRIDE,
    PropagationNet,
    PropagationOutput,
    propnet_cpu_68,
    propnet_cpu_68_nolpm,
    propnet_wflw_98,
)

__all__ = [
    "BLUR_FILTERS",
    "LPM_BOUNDARY_CONVS",
    "LPM_DEPTH",
    "PROPAGATION_KERNEL",
    "PROPNET_STRIDE",
    "BlurPool2d",
    "CoordConv2d",
    "MaxBlurPool2d",
    "MultiViewBlock",
    "MultiViewHourglass",
    "PropagationModule",
    "PropagationNet",
    "PropagationOutput",
    "PropagationResult",
    "coordinate_channels",
    "propnet_cpu_68",
    "propnet_cpu_68_nolpm",
    "propnet_wflw_98",
]
