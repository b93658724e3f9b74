"""FoxNet: fast bottom-up multi-face alignment (the FoxNet paper, AISA Research): the Fox Block and Fox
hourglass (:mod:`.blocks`), the network and its zoo entries (:mod:`.model`, registered on import). Its
predictor is :class:`facealign.bottomup.FoxNetPredictor`, its decoding :class:`facealign.codecs.BottomUpCodec`.
"""

from .blocks import FOX_POOL_KERNELS, FoxBlock, FoxHourglass
from .model import EMBEDDING_DIM, FOXNET_STRIDE, FoxNet, FoxNetOutput, foxnet_cpu_68, foxnet_resnet_68

__all__ = [
    "EMBEDDING_DIM",
    "FOXNET_STRIDE",
    "FOX_POOL_KERNELS",
    "FoxBlock",
    "FoxHourglass",
    "FoxNet",
    "FoxNetOutput",
    "foxnet_cpu_68",
    "foxnet_resnet_68",
]
