"""Landmark-Boundary Propagation Module (Huang et al., "PropagationNet", CVPR 2020, Sec. 3.1 and Fig. 1).

1. **Propagation**: "Every boundary heatmap is generated via a set of several 7 x 7 convolution
   operations" from the ``K`` landmark heatmaps: ``num_convs`` 7 x 7 convolutions ``K -> M -> ... -> M``
   (BN-ReLU between them; the last is linear, like the landmark heatmap head), ``M`` boundary heatmaps
   supervised by the ground truth of :class:`facealign.codecs.BoundaryCodec`. Three 7 x 7 layers reach
   19 cells, enough to join neighbouring landmarks on a 64 x 64 map.
2. **Attention**: the boundary heatmaps are concatenated with the feature maps of the hourglass before
   and "processed by a two-stage hourglass module": a multi-view block maps the ``C + M`` channels back
   to ``C``, then a multi-view hourglass of depth 2 (two down / up stages); a 1 x 1 convolution and a
   sigmoid give the attention map ``(B, C, h, w)`` in (0, 1) (one value per feature channel and cell,
   as LAB's feature-map fusion).
3. The attended features ``features * attention`` go to the next stack.

The paper gives no layer widths or depths beyond these; ours are the smallest reading of its words and
land near its Table 8 (see :mod:`facealign.models.propagation.model`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .blocks import MultiViewBlock
from .hourglass import MultiViewHourglass

__all__ = ["LPM_BOUNDARY_CONVS", "LPM_DEPTH", "PROPAGATION_KERNEL", "PropagationModule", "PropagationResult"]

#: Kernel of the landmark-to-boundary convolutions (Sec. 3.1: "7 x 7 convolution operations").
PROPAGATION_KERNEL = 7
#: How many 7 x 7 convolutions propagate landmarks to boundaries ("a set of several"; not given).
LPM_BOUNDARY_CONVS = 3
#: Depth of the attention hourglass (Sec. 3.1: "a two-stage hourglass module").
LPM_DEPTH = 2


class PropagationResult(NamedTuple):
    """boundaries: ``(B, M, h, w)`` boundary heatmaps; attended: ``(B, C, h, w)`` features x attention,
    or ``None`` when the module was built without attention (the last stack)."""

    boundaries: torch.Tensor
    attended: torch.Tensor | None


def _propagation_convs(num_points: int, num_boundaries: int, num_convs: int) -> nn.Sequential:
    pad = PROPAGATION_KERNEL // 2
    layers: list[nn.Module] = []
    in_ch = num_points
    for i in range(num_convs):
        last = i == num_convs - 1
        layers.append(nn.Conv2d(in_ch, num_boundaries, PROPAGATION_KERNEL, padding=pad, bias=last))
        if not last:
            layers += [nn.BatchNorm2d(num_boundaries), nn.ReLU(inplace=True)]
        in_ch = num_boundaries
    return nn.Sequential(*layers)


class PropagationModule(nn.Module):
    """The Landmark-Boundary Propagation Module (module docstring).

    Args:
        channels: C, the hourglass feature width.
        num_points: K landmark heatmaps in.
        num_boundaries: M boundary heatmaps out.
        num_convs: 7 x 7 convolutions from landmarks to boundaries (default :data:`LPM_BOUNDARY_CONVS`).
        depth: depth of the attention hourglass (default :data:`LPM_DEPTH`, "two-stage").
        blur_kernel: anti-aliasing filter size of that hourglass.
        attention: build the attention branch; the last stack's module has none (its attended
            features would feed no further stack) and returns ``attended=None``.

    Shape: ``features (B, C, h, w)``, ``heatmaps (B, K, h, w)`` -> :class:`PropagationResult`;
    ``h, w`` multiples of ``2 ** depth``. :meth:`attention_map` gives the sigmoid map alone.
    """

    def __init__(
        self,
        *,
        channels: int,
        num_points: int,
        num_boundaries: int,
        num_convs: int = LPM_BOUNDARY_CONVS,
        depth: int = LPM_DEPTH,
        blur_kernel: int = 3,
        attention: bool = True,
    ) -> None:
        super().__init__()
        if num_points < 1 or num_boundaries < 1:
            raise ValueError(
                f"PropagationModule: num_points and num_boundaries must be >= 1, got {num_points} and {num_boundaries}"
            )
        if num_convs < 1:
            raise ValueError(f"PropagationModule: num_convs must be >= 1, got {num_convs}")
        self.channels, self.num_points, self.num_boundaries = int(channels), int(num_points), int(num_boundaries)
        self.propagate = _propagation_convs(num_points, num_boundaries, num_convs)
        self.attention: nn.Module | None = None
        if attention:
            self.attention = nn.Sequential(
                MultiViewBlock(channels + num_boundaries, channels),
                MultiViewHourglass(depth, channels, blur_kernel=blur_kernel),
                nn.Conv2d(channels, channels, 1),
                nn.Sigmoid(),
            )

    def attention_map(self, features: torch.Tensor, boundaries: torch.Tensor) -> torch.Tensor:
        """Sigmoid attention in (0, 1) from features and boundary heatmaps.
        Shape: ``(B, C, h, w), (B, M, h, w) -> (B, C, h, w)``."""
        if self.attention is None:
            raise RuntimeError("PropagationModule: built with attention=False, it has no attention map")
        return self.attention(torch.cat([features, boundaries], dim=1))

    def forward(self, features: torch.Tensor, heatmaps: torch.Tensor) -> PropagationResult:
        if features.ndim != 4 or features.shape[1] != self.channels:
            raise ValueError(
                f"PropagationModule: features must have shape (B, {self.channels}, h, w), got {tuple(features.shape)}"
            )
        if heatmaps.ndim != 4 or heatmaps.shape[1] != self.num_points or heatmaps.shape[-2:] != features.shape[-2:]:
            raise ValueError(
                f"PropagationModule: heatmaps must have shape (B, {self.num_points}, "
                f"{features.shape[-2]}, {features.shape[-1]}), got {tuple(heatmaps.shape)}"
            )
        boundaries = self.propagate(heatmaps)
        if self.attention is None:
            return PropagationResult(boundaries, None)
        return PropagationResult(boundaries, features * self.attention_map(features, boundaries))
