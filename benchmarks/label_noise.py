"""How precise people's 68 points are (issue 24): the label noise of ``300w_human`` beside the cells of the
heatmaps that must resolve it (HIH's integer and decimal cells).

The estimator: along a contour the annotators placed points on a smooth curve, so the fourth difference of
consecutive points ``d_i = p_{i-2} - 4 p_{i-1} + 6 p_i - 4 p_{i+1} + p_{i+2}`` cancels the curve up to its
cubic part and keeps the placement noise: for independent noise of ``sigma`` per coordinate,
``var(d) = (1 + 16 + 36 + 16 + 1) sigma^2 = 70 sigma^2`` (the difference-based variance estimator of
nonparametric regression, e.g. Gasser, Sroka & Jennen-Steinmetz 1986, with the fourth-order weights).
What the curve leaves (its fourth derivative) only adds, so the estimate is an upper bound of the noise.
It is read on two chains: the jaw line (0-16, points close on a gentle curve) and the outer lip (48-59, a
closed loop whose mouth corners bend sharply, so its bound is looser); a robust version (the median absolute
``d`` / 0.6745) beside the RMS one. The pixel table takes the tightest bound, the jaw's robust one.
It measures each point's placement along *and* across the contour, which is what a heatmap must resolve.

Units: fractions of the outer-eye-corner distance (300-W's NME normaliser), then pixels of the aligned crop
of a given input size (the crop's median outer-eye-corner distance, measured on the same faces aligned as
the trainer aligns them), beside HIH's integer cell (``stride``) and decimal cell (``stride / decimal``),
and the share of the first harmonic of the position inside an integer cell that such noise leaves,
``exp(-2 pi^2 sigma^2 / L^2)`` (the characteristic function of the noise at frequency ``1 / L``): what the
decimal branch has to learn from.

    .venv/bin/python -m benchmarks.label_noise [--data ../shared/data/300w_human] [--sizes 128:32:4 256:64:8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from facealign.landmarks import get_scheme
from facealign.metrics import normalizer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "../shared/data"
#: Fourth-difference weights and the noise variance they pass, sum(w^2) = 70.
FOURTH = np.array([1.0, -4.0, 6.0, -4.0, 1.0])
FOURTH_GAIN = float((FOURTH**2).sum())
#: Median |N(0, 1)|: the robust scale of a normal variable from its median absolute value.
MAD_NORMAL = 0.6745
IBUG68 = get_scheme("68")
_BOUNDARIES = {b.name: b.indices for b in IBUG68.boundaries}
#: iBUG 68 chains (0-based), from the scheme's boundaries: the jaw line 0-16 (open) and the outer lip 48-59
#: (closed loop: the upper and the lower outer lip, each without its last point, the corner the other starts at).
JAW = _BOUNDARIES["contour"]
OUTER_LIP = _BOUNDARIES["lip_upper_outer"][:-1] + _BOUNDARIES["lip_lower_outer"][:-1]


def fourth_differences(points: np.ndarray, chain: tuple[int, ...], *, closed: bool) -> np.ndarray:
    """The fourth differences of consecutive ``chain`` points, per coordinate (a closed chain wraps).
    Shape: ``points (N, K, 2)`` -> ``(N, M, 2)``, ``M = len(chain) - 4`` (open) or ``len(chain)`` (closed)."""
    p = np.asarray(points, np.float64)[:, list(chain)]
    if closed:
        p = np.concatenate([p[:, -2:], p, p[:, :2]], axis=1)
    if p.shape[1] < len(FOURTH):
        raise ValueError(f"a chain needs at least {len(FOURTH)} points for a fourth difference, got {p.shape[1]}")
    m = p.shape[1] - len(FOURTH) + 1
    return sum(w * p[:, i : i + m] for i, w in enumerate(FOURTH))


def noise_sigma(diffs: np.ndarray) -> dict[str, float]:
    """Per-coordinate noise of fourth differences ``diffs`` (any shape): ``rms`` = sqrt(mean d^2 / 70) and the
    robust ``mad`` = median|d| / 0.6745 / sqrt(70)."""
    d = np.asarray(diffs, np.float64).ravel()
    return {"rms": float(np.sqrt(np.mean(d**2) / FOURTH_GAIN)), "mad": float(np.median(np.abs(d)) / MAD_NORMAL / np.sqrt(FOURTH_GAIN))}


def harmonic_left(sigma_px: float, cell_px: float) -> float:
    """``exp(-2 pi^2 sigma^2 / L^2)``: the share of the first harmonic of a position inside a cell of ``L`` px
    that Gaussian noise of ``sigma`` px per coordinate leaves."""
    return float(np.exp(-2.0 * np.pi**2 * sigma_px**2 / cell_px**2))


def normalised_points(samples: list) -> tuple[np.ndarray, np.ndarray]:
    """Each face's points divided by its outer-eye-corner distance (:func:`facealign.metrics.normalizer`,
    300-W's NME normaliser), and those distances (px of the photo). Shape: ``-> (N, 68, 2), (N,)``."""
    pts = np.stack([s.points for s in samples]).astype(np.float64)
    d = normalizer(pts, IBUG68, "interocular")
    return pts / d[:, None, None], d


def crop_corner_distance(samples: list, align: dict, data_root: Path, input_size: int) -> float:
    """Median outer-eye-corner distance (px) of the faces in crops of ``input_size`` aligned on ``align``'s
    5 points (key: the image path relative to ``faces/``), the labels' 5 points where it has none."""
    from facealign.geometry import align_matrix, apply_affine

    faces = (data_root / "faces").resolve()
    out = []
    for s in samples:
        key = Path(os.path.relpath(Path(s.image_path).resolve(), faces)).as_posix()
        five = np.asarray(align[key], np.float64).reshape(5, 2) if key in align else IBUG68.to_five(s.points)
        c = apply_affine(align_matrix(five, input_size), s.points[list(IBUG68.interocular)])
        out.append(float(np.linalg.norm(c[0] - c[1])))
    return float(np.median(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA / "300w_human")
    ap.add_argument("--align-points", type=Path, default=REPO / "runs/audit/retinaface5.json")
    ap.add_argument("--sizes", nargs="+", default=["128:32:4", "256:64:8"], help="input:heatmap:decimal of each setting")
    args = ap.parse_args(argv)

    from facealign.data.readers import read_annotations

    samples = read_annotations(args.data)
    norm, _ = normalised_points(samples)
    chains = {"jaw 0-16": fourth_differences(norm, JAW, closed=False), "outer lip 48-59": fourth_differences(norm, OUTER_LIP, closed=True)}
    chains["both"] = np.concatenate([c.reshape(-1, 2) for c in chains.values()])
    print(f"{len(samples)} faces of {args.data}; per-coordinate label noise, % of the outer-eye-corner distance (upper bounds)\n")
    print("| chain | RMS estimate | robust (MAD) estimate |\n| --- | ---: | ---: |")
    est = {name: noise_sigma(d) for name, d in chains.items()}
    for name, e in est.items():
        print(f"| {name} | {100 * e['rms']:.2f} | {100 * e['mad']:.2f} |")
    align = json.loads(args.align_points.read_text()) if args.align_points.is_file() else {}
    sigma = est["jaw 0-16"]["mad"]  # the tightest of the upper bounds
    print("\n| crop px | outer-corner px | noise px (MAD) | integer cell px | decimal cell px | decimal cell % | first harmonic left |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for spec in args.sizes:
        size, heat, dec = (int(v) for v in spec.split(":"))
        iod = crop_corner_distance(samples, align, args.data.parent, size)
        cell = size / heat
        s_px = sigma * iod
        print(f"| {size} | {iod:.1f} | {s_px:.2f} | {cell:.0f} | {cell / dec:.2f} | {100 * cell / dec / iod:.2f} | {harmonic_left(s_px, cell):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
