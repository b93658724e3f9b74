"""Pixel-shuffle / deconvolution upsampling heads (Earp et al., "Sub-pixel face landmarks using heatmaps
and a bag of tricks", Sec. 4.1-4.3).

A head is a string of blocks, one letter each, read left to right, every block doubling the
resolution, followed by a 1x1 conv to ``num_points`` heatmaps:

* ``D`` -- ``ConvTranspose2d(c, filters, k=4, s=2, p=1, bias=False) -> BN -> ReLU``: the deconvolution
  block of Simple Baselines (Xiao et al. 2018), used four times in the paper's baseline (Sec. 4.1).
  Output: ``filters`` channels.
* ``S`` -- ``Conv2d(c, filters, k=3, p=1, bias=False) -> BN -> ReLU -> PixelShuffle(2)``: the paper's
  pixel-shuffle block, "a 2D convolution, a batch normalization, a ReLU activation, and a final pixel
  shuffle layer" (Sec. 4.2; Shi et al. 2016). The conv has ``filters`` outputs, so the block returns
  ``filters / 4`` channels at twice the resolution.

Why the S conv has ``filters`` (not ``4 * filters``) outputs, and where the heatmap conv goes: the
paper's Table 3 lists model size and GFLOPS for eleven strategies with a MobileNetV2-0.25 backbone
and 256 filters. This layout reproduces all eleven GFLOPS to within 0.02-0.045 G (as multiply-adds)
and the size differences between rows to 0.01 MB, with the 1x1 heatmap conv at the very end for
every strategy -- SSSS included (SSSS: 0.538 G vs the paper's 0.56). A ``4 * filters`` S conv is up to
7 G too heavy on the S-first rows (SSSS would cost 7.4 G, twice DDDD, the opposite of Table 2), and
the literal reading of Sec. 4.2's "we generate the heatmaps by adding a 2D convolutional layer before
the final block" for SSSS (a 1x1 heatmap conv, then a last S block with ``4 * num_points`` filters)
costs 1.08 G, twice the paper's 0.56. That literal layout is still available as
``heatmap_conv="before_final_block"``; ``benchmarks/paper_tables.py`` prints it next to the paper.

Heads map features to heatmaps and nothing else: no loss, no decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["HEATMAP_CONV_PLACEMENTS", "UpsampleHead", "parse_strategy"]

#: Upsampling factor of one S or D block.
BLOCK_SCALE = 2
#: Pixel shuffle turns ``BLOCK_SCALE**2`` channels into one channel at twice the resolution.
SHUFFLE_CHANNELS = BLOCK_SCALE**2
#: Simple Baselines (Xiao et al. 2018) initialise deconvolutions and the heatmap conv with N(0, 0.001^2).
DECONV_INIT_STD = 0.001
#: Accepted values of ``UpsampleHead(heatmap_conv=...)``.
HEATMAP_CONV_PLACEMENTS = ("end", "before_final_block")


def parse_strategy(strategy: str) -> str:
    """Validate an upsampling strategy string and return it in upper case (``"sdd"`` -> ``"SDD"``).

    Raises ``ValueError`` for an empty string or any letter other than S / D.
    """
    if not isinstance(strategy, str):
        raise TypeError(f"strategy must be a string of S and D letters, got {type(strategy).__name__}")
    s = strategy.upper()
    if not s:
        raise ValueError("strategy must hold at least one block letter (S or D), got an empty string")
    bad = sorted({ch for ch in s if ch not in "SD"})
    if bad:
        raise ValueError(
            f"strategy {strategy!r} has invalid letters {bad}; expected only 'S' (pixel shuffle) "
            "and 'D' (deconvolution), e.g. 'SDD'"
        )
    return s


def _deconv_block(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, kernel_size=4, stride=BLOCK_SCALE, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def _shuffle_block(in_ch: int, conv_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, conv_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(conv_out),
        nn.ReLU(inplace=True),
        nn.PixelShuffle(BLOCK_SCALE),
    )


class UpsampleHead(nn.Module):
    """Stacked pixel-shuffle (S) / deconvolution (D) blocks and a heatmap conv (Earp et al. Sec. 4).

    Args:
        in_channels: channels of the backbone's last feature map.
        num_points: number of heatmaps K.
        strategy: block letters, e.g. ``"DDDD"`` (the baseline), ``"SDD"`` (the paper's final MobileNetV2
            model); case-insensitive.
        filters: conv outputs of every block (D blocks output ``filters`` channels, S blocks
            ``filters / 4``). Must be a multiple of 4 when the strategy has an S.
        heatmap_conv: ``"end"`` (default): a 1x1 conv to K heatmaps after the last block, which is what
            the paper's Table 3 sizes and FLOPs show for every strategy. ``"before_final_block"``: the
            literal reading of Sec. 4.2 for strategies ending in S -- a 1x1 conv to K channels before the
            last block, whose conv then has ``4 K`` filters so its pixel shuffle returns K heatmaps.

    Attributes:
        strategy: the upper-case strategy string; upsample_factor: ``2 ** len(strategy)``;
        num_points: K.

    Shape: ``forward(features)`` takes the backbone's list of feature maps and uses the last one:
    ``(B, in_channels, h, w) -> (B, K, h * 2**n, w * 2**n)`` with ``n = len(strategy)``.
    """

    def __init__(
        self,
        in_channels: int,
        num_points: int,
        *,
        strategy: str = "SDD",
        filters: int = 256,
        heatmap_conv: str = "end",
    ) -> None:
        super().__init__()
        self.strategy = parse_strategy(strategy)
        if int(in_channels) != in_channels or in_channels < 1:
            raise ValueError(f"in_channels must be a positive integer, got {in_channels}")
        if int(num_points) != num_points or num_points < 1:
            raise ValueError(f"num_points must be a positive integer, got {num_points}")
        if int(filters) != filters or filters < 1:
            raise ValueError(f"filters must be a positive integer, got {filters}")
        if "S" in self.strategy and filters % SHUFFLE_CHANNELS:
            raise ValueError(
                f"filters must be a multiple of {SHUFFLE_CHANNELS} for pixel-shuffle (S) blocks, got {filters}"
            )
        if heatmap_conv not in HEATMAP_CONV_PLACEMENTS:
            raise ValueError(f"heatmap_conv must be one of {HEATMAP_CONV_PLACEMENTS}, got {heatmap_conv!r}")
        if heatmap_conv == "before_final_block" and self.strategy[-1] != "S":
            raise ValueError(
                f"heatmap_conv='before_final_block' needs a strategy ending in 'S' (the last pixel shuffle "
                f"makes the heatmaps), got {self.strategy!r}"
            )
        self.num_points = int(num_points)
        self.filters = int(filters)
        self.heatmap_conv = heatmap_conv
        self.upsample_factor = BLOCK_SCALE ** len(self.strategy)

        body = self.strategy if heatmap_conv == "end" else self.strategy[:-1]
        blocks: list[nn.Module] = []
        ch = int(in_channels)
        for letter in body:
            if letter == "D":
                blocks.append(_deconv_block(ch, self.filters))
                ch = self.filters
            else:
                blocks.append(_shuffle_block(ch, self.filters))
                ch = self.filters // SHUFFLE_CHANNELS
        self.blocks = nn.Sequential(*blocks)
        self.final_conv = nn.Conv2d(ch, self.num_points, kernel_size=1)
        # Literal Sec. 4.2 layout: the last S block turns the K-channel maps into K heatmaps.
        self.final_block: nn.Module = (
            _shuffle_block(self.num_points, self.num_points * SHUFFLE_CHANNELS)
            if heatmap_conv == "before_final_block"
            else nn.Identity()
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """Simple Baselines init: N(0, 0.001^2) deconvs and heatmap conv (bias 0); Kaiming-normal
        (fan_out) convs of S blocks; BN weight 1, bias 0."""
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, std=DECONV_INIT_STD)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.final_conv.weight, std=DECONV_INIT_STD)
        if self.final_conv.bias is not None:
            nn.init.zeros_(self.final_conv.bias)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Backbone features (the last, lowest-resolution one is used) -> ``(B, K, H, W)`` heatmaps."""
        if isinstance(features, torch.Tensor) or len(features) == 0:
            raise TypeError("UpsampleHead takes the backbone's non-empty list of feature maps")
        return self.final_block(self.final_conv(self.blocks(features[-1])))
