"""What heatmap encoding + decoding alone costs: NME of decode(encode(ground truth)).

For every face of ``faces/val68.txt`` the 68 points are mapped into the 5-point-aligned crop
(:func:`facealign.geometry.align_matrix`), encoded as training targets, decoded, mapped back to the
photo and compared with the original points (NME, inter-ocular, %). No network is involved: this is
the floor that a perfect network trained on these targets would still pay for the representation.

Each row is a named ``(encode, decode)`` pair built for an ``(input_size, heatmap_size, sigma)``;
add a representation (e.g. HIH integer + decimal heatmaps) by adding a builder to ``ROW_BUILDERS``.

    python -m benchmarks.quantization [--data PATH] [--sigma 1.5] [--input-size 128] [--heatmap-sizes 16 32 48 64]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facealign.codecs import DECODER_NAMES, HeatmapCodec, HIHCodec
from facealign.data.readers import read_points_list
from facealign.geometry import align_matrix, apply_affine, invert_affine
from facealign.landmarks import get_scheme
from facealign.metrics import nme

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "val68.txt"
#: Input side of the shipped models (configs/mnv2_050_68_hard.toml: 128 px aligned crops). The NME
#: depends only on the stride relative to the face, so other input sides give the same numbers at
#: the same stride.
DEFAULT_INPUT = 128
#: Heatmap sides benchmarked (strides 8, 4, 2.67 and 2 on a 128 px input).
DEFAULT_HEATMAPS = (16, 32, 48, 64)
#: Faces encoded at once (bounds memory: 64 x 68 x 64 x 64 float32 = 71 MB).
CHUNK = 64

Encode = Callable[[torch.Tensor], Any]  # crop points (B, K, 2) -> targets (any structure)
Decode = Callable[[Any], torch.Tensor]  # targets -> crop points (B, K, 2)
RowBuilder = Callable[[int, int, float], dict[str, tuple[Encode, Decode]]]


def heatmap_rows(input_size: int, heatmap_size: int, sigma: float) -> dict[str, tuple[Encode, Decode]]:
    """Gaussian heatmaps (:class:`HeatmapCodec`) with each of its decoders."""
    codec = HeatmapCodec(input_size, heatmap_size, sigma)

    def encode(points: torch.Tensor) -> torch.Tensor:
        return codec.encode_batch(points)[0]

    def decoder(method: str) -> Decode:
        return lambda targets: codec.decode(targets, method=method)[0]

    return {name: (encode, decoder(name)) for name in DECODER_NAMES}


#: Decimal-map sides of the HIH rows (the paper's 8 and its ablation's 4, Lan et al. Table IX) and their
#: sigma (decimal cells; Sec. IV-A: 1.0).
HIH_DECIMAL_SIZES = (4, 8)
HIH_DECIMAL_SIGMA = 1.0


def hih_rows(input_size: int, heatmap_size: int, sigma: float) -> dict[str, tuple[Encode, Decode]]:
    """HIH integer + decimal heatmaps (:class:`HIHCodec`, Lan et al. Eq. 1-4) for each decimal side."""
    rows: dict[str, tuple[Encode, Decode]] = {}
    for side in HIH_DECIMAL_SIZES:
        codec = HIHCodec(input_size, heatmap_size, side, sigma, HIH_DECIMAL_SIGMA)
        rows[f"hih {side}x{side}"] = (
            codec.encode_batch,
            lambda t, codec=codec: codec.decode(t.integer, t.decimal)[0],
        )
    return rows


ROW_BUILDERS: list[RowBuilder] = [heatmap_rows, hih_rows]


def round_trip(crop_points: np.ndarray, encode: Encode, decode: Decode) -> np.ndarray:
    """decode(encode(points)) in crop pixels, in chunks of :data:`CHUNK` faces. ``(N, K, 2) -> (N, K, 2)``."""
    out = []
    for start in range(0, len(crop_points), CHUNK):
        pts = torch.from_numpy(crop_points[start : start + CHUNK]).float()
        out.append(decode(encode(pts)).double().numpy())
    return np.concatenate(out)


def benchmark(
    gt: np.ndarray, *, input_size: int, heatmap_sizes: list[int], sigma: float
) -> dict[str, dict[int, float]]:
    """NME (%) of every row for every heatmap side: ``{row name: {heatmap side: NME}}``."""
    scheme = get_scheme("68")
    mats = np.stack([align_matrix(scheme.to_five(p), input_size) for p in gt])
    crop = np.stack([apply_affine(m, p) for m, p in zip(mats, gt)])
    inv = np.stack([invert_affine(m) for m in mats])
    table: dict[str, dict[int, float]] = {}
    for hm in heatmap_sizes:
        for builder in ROW_BUILDERS:
            for name, (encode, decode) in builder(input_size, hm, sigma).items():
                pred_crop = round_trip(crop, encode, decode)
                pred = np.stack([apply_affine(m, p) for m, p in zip(inv, pred_crop)])
                table.setdefault(name, {})[hm] = 100.0 * float(nme(pred, gt, scheme=scheme, norm="interocular").mean())
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sigma", type=float, default=1.5, help="Gaussian sigma in heatmap cells")
    ap.add_argument("--input-size", type=int, default=DEFAULT_INPUT, help="side of the aligned crop (px)")
    ap.add_argument("--heatmap-sizes", type=int, nargs="+", default=list(DEFAULT_HEATMAPS))
    args = ap.parse_args()

    torch.set_num_threads(1)
    scheme = get_scheme("68")
    gt = np.stack([s.points for s in read_points_list(args.data, check_images=False)])
    if gt.shape[1] != scheme.num_points:
        raise SystemExit(f"{args.data}: expected {scheme.num_points}-point rows, got {gt.shape[1]} points a row")
    size = args.input_size
    crop = np.stack([apply_affine(align_matrix(scheme.to_five(p), size), p) for p in gt])
    io = np.linalg.norm(crop[:, scheme.interocular[0]] - crop[:, scheme.interocular[1]], axis=-1)
    outside = ((crop < -0.5) | (crop > size - 0.5)).any(axis=-1)

    t0 = time.perf_counter()
    table = benchmark(gt, input_size=size, heatmap_sizes=args.heatmap_sizes, sigma=args.sigma)
    print(f"{len(gt)} faces of {args.data}, 68 points; NME (%) of decode(encode(ground truth)), normalised by "
          "the outer eye corners (facealign.metrics.nme, norm='interocular').")
    print(f"Input {size} x {size} px 5-point-aligned crops (inter-ocular distance in the crop: median "
          f"{np.median(io):.1f} px; {outside.mean() * 100:.2f}% of points outside the crop); "
          f"Gaussian sigma {args.sigma} heatmap cells.\n")
    sizes = args.heatmap_sizes
    print("| decoder | " + " | ".join(f"{hm}x{hm} (stride {size / hm:.3g})" for hm in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[hm]:.4f}" for hm in sizes) + " |")
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
