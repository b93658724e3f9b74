"""Exact rewrites of the SDD head's transposed convolutions, timed beside the landmark-stage graph as shipped.

Issue 18's speed item asked whether ONNX Runtime runs a stride-2 ``ConvTranspose2d(k=4, p=1)`` faster as
the equivalent sub-pixel convolution (Shi et al. 2016: a stride-s transposed convolution is a
convolution with s^2 times the output channels followed by a pixel shuffle). Each variant rebuilds the
shipped model's stage with the head's transposed convolutions replaced, checks its points against the
shipped stage on PyTorch (max difference in crop px), exports it, and all graphs are timed interleaved on
one pinned core (median over ``--rounds`` of :func:`facealign.bench.median_ms` of ``--repeats`` runs):

* ``shipped``: the stage as ``scripts/export_stages.py`` exports it (ConvTranspose, a GEMM and col2im);
* ``subpixel 3x3``: one 3 x 3 convolution with 4x the channels, then DepthToSpace (2.25x the multiply-adds,
  since each output phase uses 4 of the 9 taps);
* ``phases 2x2``: four 2 x 2 convolutions, one per output phase, each on its own asymmetric zero padding,
  stacked and shuffled (the transposed convolution's multiply-adds exactly);
* ``padded 2x2``: one 2 x 2 convolution with 4x the channels over the input padded by one cell, each
  phase sliced out at its offset (1.13x the multiply-adds at 16 x 16);
* any ``.onnx`` stage graph given with ``--graph`` (e.g. a previous commit's, from ``git show``).

    .venv/bin/python -m benchmarks.stage_rewrites [--model facealign_mnv2_050_68] [--graph old.onnx]
"""

from __future__ import annotations

import argparse
import copy
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facealign.bench import median_ms
from facealign.export import aligned_crops, stage_graph_bytes
from facealign.imageio import read_image
from facealign.models.registry import create_model, get_model_card
from facealign.runtime import OnnxRunner
from facealign.torch_stage import TorchRunner, build_stage

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples" / "300w"


def subpixel_weight(deconv: nn.ConvTranspose2d) -> torch.Tensor:
    """The 3 x 3 convolution weight ``(4 C_out, C_in, 3, 3)`` (channel ``4 c + 2 a_y + a_x``, PixelShuffle's
    order) equal to ``deconv`` (stride 2, kernel 4, padding 1) followed by a pixel shuffle.

    Output pixel ``2 i + a`` of the transposed convolution sums input ``j`` with tap ``t = 2 (i - j) + a + 1``;
    with ``u = j - i + 1`` in ``0..2`` that is tap ``t = 3 + a - 2 u`` where ``0 <= t <= 3``, else nothing.
    """
    if deconv.stride != (2, 2) or deconv.kernel_size != (4, 4) or deconv.padding != (1, 1) or deconv.groups != 1:
        raise ValueError(f"expected ConvTranspose2d(k=4, s=2, p=1, groups=1), got {deconv}")
    w = deconv.weight.detach()  # (C_in, C_out, 4, 4)
    out = torch.zeros(w.shape[1], 2, 2, w.shape[0], 3, 3, dtype=w.dtype)
    for ay in range(2):
        for ax in range(2):
            for u in range(3):
                for v in range(3):
                    ty, tx = 3 + ay - 2 * u, 3 + ax - 2 * v
                    if 0 <= ty <= 3 and 0 <= tx <= 3:
                        out[:, ay, ax, :, u, v] = w[:, :, ty, tx].T
    return out.reshape(-1, w.shape[0], 3, 3)


class SubPixel3x3(nn.Module):
    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        self.weight = nn.Parameter(subpixel_weight(deconv), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(F.conv2d(x, self.weight, padding=1), 2)


class Phases2x2(nn.Module):
    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        w = subpixel_weight(deconv).view(-1, 2, 2, deconv.in_channels, 3, 3)
        # phase a uses the taps u = a, a + 1 of the 3 x 3 window: padding (1, 0) for a = 0, (0, 1) for a = 1
        self.weights = nn.ParameterList(
            nn.Parameter(w[:, ay, ax, :, ay : ay + 2, ax : ax + 2].contiguous(), requires_grad=False) for ay in range(2) for ax in range(2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [F.conv2d(F.pad(x, (1 - i % 2, i % 2, 1 - i // 2, i // 2)), w) for i, w in enumerate(self.weights)]
        y = torch.stack(outs, dim=2)  # (B, C, 4, h, w): phase 2 a_y + a_x after channel c
        return F.pixel_shuffle(y.flatten(1, 2), 2)


class Padded2x2(nn.Module):
    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        w = subpixel_weight(deconv).view(-1, 2, 2, deconv.in_channels, 3, 3)
        self.c = w.shape[0]
        phases = [w[:, ay, ax, :, ay : ay + 2, ax : ax + 2] for ay in range(2) for ax in range(2)]
        self.weight = nn.Parameter(torch.cat(phases), requires_grad=False)  # phase-major channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = (int(n) for n in x.shape[-2:])
        y = F.conv2d(x, self.weight, padding=1)  # (B, 4 C, h + 1, w + 1)
        c = self.c
        outs = [y[:, i * c : (i + 1) * c, i // 2 : i // 2 + h, i % 2 : i % 2 + w] for i in range(4)]
        return F.pixel_shuffle(torch.stack(outs, dim=2).flatten(1, 2), 2)


VARIANTS = {"subpixel 3x3": SubPixel3x3, "phases 2x2": Phases2x2, "padded 2x2": Padded2x2}


def rewritten(net: nn.Module, variant: type[nn.Module]) -> nn.Module:
    """A copy of ``net`` with every ``ConvTranspose2d`` replaced by ``variant`` of it."""
    net = copy.deepcopy(net)
    for name, module in list(net.named_modules()):
        if isinstance(module, nn.ConvTranspose2d):
            parent_name, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent_name), child, variant(module))
    return net


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="facealign_mnv2_050_68")
    ap.add_argument("--graph", action="append", default=[], help="another stage graph (.onnx) to time beside")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--repeats", type=int, default=40)
    args = ap.parse_args(argv)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    card = get_model_card(args.model)
    net = create_model(args.model, pretrained=True).eval()
    crops = aligned_crops([read_image(p) for p in sorted(SAMPLES.iterdir()) if p.suffix in (".jpg", ".png", ".ppm")], card.input_size)
    ref = TorchRunner(build_stage(net, card))(crops)[0]
    graphs: dict[str, bytes] = {"shipped": stage_graph_bytes(net, card)}
    diffs = {}
    for name, variant in VARIANTS.items():
        other = rewritten(net, variant)
        graphs[name] = stage_graph_bytes(other, card)
        diffs[name] = float(np.abs(TorchRunner(build_stage(other, card))(crops)[0] - ref).max())
    graphs.update({Path(g).name: Path(g).read_bytes() for g in args.graph})
    runners = {name: OnnxRunner(data, threads=1) for name, data in graphs.items()}
    one = crops[:1]
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            times[name].append(median_ms(lambda: run(one), repeats=args.repeats))
    print(f"{args.model}: one face, 1 thread, one pinned core; median over {args.rounds} rounds of the median of {args.repeats} runs")
    print("| graph | ms / face | max point difference vs shipped (crop px, PyTorch) |")
    print("| --- | ---: | ---: |")
    for name, t in times.items():
        print(f"| {name} | {np.median(t):.3f} | {diffs[name]:.1e} |" if name in diffs else f"| {name} | {np.median(t):.3f} | |")


if __name__ == "__main__":
    main()
