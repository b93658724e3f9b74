"""Attention-guided multi-scale features of the Structure Coherence Component (Zhu, Lin et al., "Fast
and Accurate: Structure Coherence Component for Face Alignment", Sec. 3.1, Fig. 3, Eq. 1).

Two bottom-up branches carry spatial detail from the shallower feature maps ``F_{L-1}`` and
``F_{L-2}`` to the deepest ``F_L``. Each branch is a 3x3 Conv-BN-ReLU, an attention that filters noise,
and a down-sampling to ``F_L``'s resolution; the results are concatenated with ``F_L`` into ``F_A``.

The attention is *semantic-guided*: it is computed not on the branch's own features but on a fusion
``F~`` with the deeper maps (Eq. 1, CBAM-style channel and spatial attention of Woo et al.):

* ``F~_{L-1} = conv1x1([up(F_L); F_{L-1}])``
* ``F~_{L-2} = conv1x1([up(F_L); up(F~_{L-1}); F_{L-2}])``
* ``A^c = sigmoid(W1 relu(W0 avgpool(F~)) + W1 relu(W0 maxpool(F~)))`` (``W0: C/2 x C``, ``W1: C x C/2``)
* ``A^s = sigmoid(conv7x7([mean_c(F~); max_c(F~)]))``
* attentive features ``X * A^c * A^s + X`` ("element-wise multiplication and residual addition").

Choices the paper leaves open, made here: nearest-neighbour up-sampling, average-pool down-sampling,
channel and spatial attention applied together (both computed from ``F~`` as Eq. 1 writes them), no
bias in ``W0`` / ``W1`` (Eq. 1 has none).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AttentionMultiScale", "SemanticGuidedAttention", "channel_attention", "spatial_attention"]

#: Kernel of the spatial-attention convolution (Eq. 1: conv 7 x 7).
SPATIAL_KERNEL = 7


def channel_attention(guide: torch.Tensor, w0: torch.Tensor, w1: torch.Tensor) -> torch.Tensor:
    """Eq. 1, channel attention ``A^c = sigmoid(W1 relu(W0 f_avg) + W1 relu(W0 f_max))``.

    Shape: ``guide (B, C, H, W)``, ``w0 (C/2, C)``, ``w1 (C, C/2)`` -> ``(B, C, 1, 1)`` in (0, 1).
    """
    avg = guide.mean(dim=(2, 3))
    mx = guide.amax(dim=(2, 3))
    logits = F.relu(avg @ w0.t()) @ w1.t() + F.relu(mx @ w0.t()) @ w1.t()
    return torch.sigmoid(logits)[:, :, None, None]


def spatial_attention(guide: torch.Tensor, conv: nn.Module) -> torch.Tensor:
    """Eq. 1, spatial attention ``A^s = sigmoid(conv([mean over channels; max over channels]))``.

    Shape: ``guide (B, C, H, W)``, ``conv`` a 2 -> 1 channel convolution keeping H, W -> ``(B, 1, H, W)``.
    """
    pooled = torch.cat([guide.mean(dim=1, keepdim=True), guide.amax(dim=1, keepdim=True)], dim=1)
    return torch.sigmoid(conv(pooled))


class SemanticGuidedAttention(nn.Module):
    """Eq. 1 on a guide ``F~`` applied to features ``X``: ``X * A^c(F~) * A^s(F~) + X``.

    Shape: ``x (B, C, H, W)``, ``guide (B, C, H, W)`` -> ``(B, C, H, W)``. With ``guide=None`` it is
    the self-attention of the paper's Table 6 ablation (attention computed on ``x`` itself).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f"SemanticGuidedAttention needs at least 2 channels, got {channels}")
        hidden = channels // 2
        self.w0 = nn.Parameter(torch.empty(hidden, channels))
        self.w1 = nn.Parameter(torch.empty(channels, hidden))
        nn.init.kaiming_uniform_(self.w0, a=5**0.5)
        nn.init.kaiming_uniform_(self.w1, a=5**0.5)
        self.spatial = nn.Conv2d(2, 1, SPATIAL_KERNEL, padding=SPATIAL_KERNEL // 2)
        self.channels = int(channels)

    def forward(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        g = x if guide is None else guide
        if g.shape != x.shape or x.shape[1] != self.channels:
            raise ValueError(
                f"SemanticGuidedAttention expects x and guide of shape (B, {self.channels}, H, W), "
                f"got {tuple(x.shape)} and {tuple(g.shape)}"
            )
        return x * channel_attention(g, self.w0, self.w1) * spatial_attention(g, self.spatial) + x


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def _resize(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="nearest")


def _downsample(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    # plain ints: the sizes are fixed by the input size, and ONNX export needs a constant pooling kernel
    (h, w), (lh, lw) = (int(v) for v in x.shape[-2:]), (int(v) for v in like.shape[-2:])
    fh, fw = h // lh, w // lw
    if fh * lh != h or fw * lw != w:
        raise ValueError(
            f"AttentionMultiScale: feature map {tuple(x.shape[-2:])} is not an integer multiple of the "
            f"deepest map {tuple(like.shape[-2:])}; use an input side that is a multiple of the backbone stride"
        )
    return F.avg_pool2d(x, kernel_size=(fh, fw))


class AttentionMultiScale(nn.Module):
    """Sec. 3.1 / Fig. 3: ``[F_{L-2}, F_{L-1}, F_L] -> F_A = [F_L; down(att(X_{L-1})); down(att(X_{L-2}))]``.

    Args:
        in_channels: channels of ``(F_{L-2}, F_{L-1}, F_L)`` (the backbone's last three stages).
        branch_channels: output channels of the two branches ``(L-2, L-1)``; the paper keeps the input
            channels (the 1x1 fusion "reduces the channel dimension into the channel of F_{L-1}").
        guided: semantic-guided attention (the paper) or self-attention (Table 6 ablation).

    Attributes:
        out_channels: ``C_L + branch_channels[1] + branch_channels[0]``.

    Shape: ``[(B, C_{L-2}, 4h, 4w), (B, C_{L-1}, 2h, 2w), (B, C_L, h, w)] -> (B, out_channels, h, w)``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        *,
        branch_channels: Sequence[int] | None = None,
        guided: bool = True,
    ) -> None:
        super().__init__()
        if len(in_channels) != 3:
            raise ValueError(f"AttentionMultiScale takes the channels of 3 feature maps, got {list(in_channels)}")
        c2, c1, c0 = (int(c) for c in in_channels)
        b2, b1 = (c2, c1) if branch_channels is None else (int(c) for c in branch_channels)
        self.branch_l1 = _conv_bn_relu(c1, b1, 3)
        self.branch_l2 = _conv_bn_relu(c2, b2, 3)
        self.guided = bool(guided)
        if self.guided:
            self.fuse_l1 = nn.Conv2d(c0 + c1, b1, 1)
            self.fuse_l2 = nn.Conv2d(c0 + b1 + c2, b2, 1)
        self.att_l1 = SemanticGuidedAttention(b1)
        self.att_l2 = SemanticGuidedAttention(b2)
        self.in_channels = [c2, c1, c0]
        self.out_channels = c0 + b1 + b2

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(features) != 3:
            raise ValueError(f"AttentionMultiScale expects [F_(L-2), F_(L-1), F_L], got {len(features)} maps")
        f2, f1, f0 = features
        x1 = self.branch_l1(f1)
        x2 = self.branch_l2(f2)
        if self.guided:
            g1 = self.fuse_l1(torch.cat([_resize(f0, f1), f1], dim=1))
            g2 = self.fuse_l2(torch.cat([_resize(f0, f2), _resize(g1, f2), f2], dim=1))
            a1, a2 = self.att_l1(x1, g1), self.att_l2(x2, g2)
        else:
            a1, a2 = self.att_l1(x1), self.att_l2(x2)
        return torch.cat([f0, _downsample(a1, f0), _downsample(a2, f0)], dim=1)
