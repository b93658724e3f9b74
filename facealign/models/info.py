"""Model size and cost: parameters, fp32 megabytes, multiply-adds and FLOPs.

FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode` on one ``(1, 3, S, S)`` input:
it counts convolutions, transposed convolutions and matrix products at 2 FLOPs per multiply-add
(BatchNorm, activations, pixel shuffle and bias additions are not counted). ``gmacs`` is half of it.

Which convention the Earp et al. tables use (``benchmarks/paper_tables.py`` prints the comparison):
their "GFLOPS" column is **multiply-adds** (``gmacs``): with the paper's layout our MobileNetV2-0.25
models come out 0.02-0.045 G under all eleven Table 3 rows (DDDD 3.455 vs 3.50, SSSS 0.538 vs 0.56),
while 2 x MACs would be about twice the paper's numbers. Their "Size (MB)" column behaves like
``size_mb`` = fp32 parameter bytes / 2**20: the differences between Table 3 rows match ours to
0.01 MB in MiB (they would be 5% larger in 10**6-byte MB), on top of a constant the paper adds to
every row (about 3.2 MB for S-first and 4.4 MB for D-first strategies) that parameters alone do not
explain.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["Info", "count_flops", "model_info"]

#: Bytes per fp32 parameter.
FP32_BYTES = 4


@dataclass(frozen=True)
class Info:
    """params: trainable + frozen parameter count (buffers such as BN running statistics excluded);
    size_mb: fp32 parameter bytes / 2**20 (the convention of Earp et al.'s "Size (MB)");
    size_mb_decimal: fp32 parameter bytes / 10**6; gmacs: 10**9 multiply-adds per image (Earp et al.'s
    "GFLOPS"); gflops: 10**9 FLOPs per image = 2 * gmacs; input_size: the square input side measured."""

    params: int
    size_mb: float
    size_mb_decimal: float
    gmacs: float
    gflops: float
    input_size: int

    @property
    def gflops_macs(self) -> float:
        """The paper's "GFLOPS" (multiply-adds in 10**9): the same number as :attr:`gmacs`."""
        return self.gmacs


def count_flops(model: nn.Module, input_size: int | tuple[int, int], *, channels: int = 3) -> int:
    """FLOPs (2 per multiply-add) of one forward pass on a zero ``(1, channels, H, W)`` input.

    ``input_size`` is a square side or ``(H, W)``. The model runs in eval mode under ``torch.no_grad``
    on its own device; its training flag is restored afterwards.
    """
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    if int(h) < 1 or int(w) < 1:
        raise ValueError(f"input_size must be positive, got {input_size}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(1, channels, int(h), int(w), device=device)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def model_info(model: nn.Module, input_size: int) -> Info:
    """Parameters, fp32 size and cost of ``model`` on a square ``input_size`` image (see module docstring).

    Example (hand count): ``nn.Conv2d(3, 4, 3)`` on 8 x 8 has 4 * 3 * 9 + 4 = 112 parameters and
    6 * 6 output pixels * 4 * 3 * 9 = 3,888 multiply-adds, i.e. 7,776 FLOPs.
    """
    if int(input_size) != input_size or input_size < 1:
        raise ValueError(f"input_size must be a positive integer, got {input_size}")
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(model, int(input_size))
    return Info(
        params=int(params),
        size_mb=params * FP32_BYTES / 2**20,
        size_mb_decimal=params * FP32_BYTES / 1e6,
        gmacs=flops / 2 / 1e9,
        gflops=flops / 1e9,
        input_size=int(input_size),
    )
