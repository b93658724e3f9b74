"""HIH: Heatmap In Heatmap (Lan et al. 2022): the network with its decimal-heatmap branch and its zoo entries
(:mod:`.model`), and the paper's comparison heads on the same network, offset values (WOV) and offset maps
(WOM) (:mod:`.variants`); both register their models on import.
"""

from .model import (
    PAPER_DECIMAL_SIGMA,
    HIH_B,
    HIH_S,
    HIH_T,
    HIHModel,
    HIHOffsetBranch,
    HIHOutput,
    StridedBasicBlock,
    hih_cpu_68,
)
from .variants import HIHOffsetMapModel, HIHOffsetValueModel, OffsetMapOutput, OffsetValueOutput, hih_wom_cpu_68, hih_wov_cpu_68

__all__ = [
    "HIH_B",
    "HIH_S",
    "HIH_T",
    "PAPER_DECIMAL_SIGMA",
    "HIHModel",
    "HIHOffsetBranch",
    "HIHOffsetMapModel",
    "HIHOffsetValueModel",
    "HIHOutput",
    "OffsetMapOutput",
    "OffsetValueOutput",
    "StridedBasicBlock",
    "hih_cpu_68",
    "hih_wom_cpu_68",
    "hih_wov_cpu_68",
]
