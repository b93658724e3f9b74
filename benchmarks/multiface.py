"""Time per image against the number of faces: bottom-up FoxNet beside the top-down ``Aligner``
(the FoxNet paper's Fig. 4 / Sec. III-C runtime analysis, on the CPU).

Canvases of ``--canvas`` px hold 1, 2, 4, ... ``--max-faces`` faces of ``faces/train68.txt`` on a grid
(:func:`facealign.data.multiface.compose_canvas` with fixed placements, face side 60% of a grid cell).
Rows, median ms per image over ``--repeats`` runs, 1 thread (torch, OpenCV and numpy's BLAS):

* **FoxNet net**: ``FoxNetPredictor(--model).forward``: letterbox to the model input + the network
  (shipped weights if present, else untrained: the cost of a forward pass does not depend on the weights);
* **FoxNet group**: NMS + sub-pixel step + grouping + assembly (``BottomUpCodec.decode``) on the
  *ideal* outputs for the placed faces (targets as logits, one-hot embeddings, one dimension per face):
  an untrained network's outputs have peaks everywhere, which times nothing real. Both groupings:
  ``anchor`` (the default, near-linear) and ``mean_shift`` (the paper's);
* **FoxNet total** = net + group, for each grouping;
* **top-down (5 pts given)**: ``Aligner(detector=None)(canvas, points5=...)`` with the 5 points of each
  placed face (crop, landmark network per face, decode, map back: no detector);
* **top-down (RetinaFace)**: the same ``Aligner`` with its RetinaFace detector (``--no-detector`` skips it).

Then the slope of each in ms per face (``numpy.polyfit`` of degree 1 over the face counts).

    .venv/bin/python -m benchmarks.multiface [--repeats 5] [--max-faces 64] [--canvas 512]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmarks.latency import set_threads
from facealign.api import Aligner
from facealign.bench import median_ms
from facealign.bottomup import FoxNetPredictor, letterbox
from facealign.data.multiface import compose_canvas
from facealign.data.readers import read_annotations
from facealign.geometry import apply_affine
from facealign.imageio import read_image
from facealign.landmarks import get_scheme

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT.parent / "shared" / "data" / "faces" / "train68.txt"
#: Landmark-box side as a fraction of its grid cell.
CELL_FILL = 0.6


def grid_canvas(faces: list[tuple[np.ndarray, np.ndarray]], size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``faces`` on a ``ceil(sqrt(n))`` grid of a ``size`` px canvas; the placed points."""
    g = math.ceil(math.sqrt(len(faces)))
    cell = size / g
    places = [((i % g + 0.5) * cell, (i // g + 0.5) * cell, CELL_FILL * cell) for i in range(len(faces))]
    canvas = compose_canvas(faces, size=size, rng=np.random.default_rng(0), placements=places)
    return canvas.image, canvas.points


def ideal_outputs(predictor: FoxNetPredictor, points: list[np.ndarray], matrix: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits equal to the codec's targets and one-hot per-face embeddings, at the model's output size."""
    t = predictor.codec.encode([apply_affine(matrix, p) for p in points])
    logits = torch.logit(torch.from_numpy(t.segmentation).clamp(1e-6, 1 - 1e-6))
    inst = torch.from_numpy(t.instance)
    emb = torch.stack([(inst == f).float() for f in range(len(points) + 1)])
    return logits, emb


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="foxnet_cpu_68")
    ap.add_argument("--aligner-model", default="facealign_mnv2_050_68")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-faces", type=int, default=64)
    ap.add_argument("--canvas", type=int, default=512)
    ap.add_argument("--no-detector", action="store_true", help="skip the top-down row with RetinaFace")
    args = ap.parse_args(argv)
    set_threads(1)
    threadpool_limits(limits=1)  # numpy's BLAS too (the mean shift's matrix products)
    scheme = get_scheme("68")
    counts = [2**i for i in range(int(math.log2(args.max_faces)) + 1)]
    samples = read_annotations(FACES)[: counts[-1]]
    faces = [(read_image(s.image_path), s.points) for s in samples]
    fox = FoxNetPredictor(args.model, threads=1)
    given = Aligner(args.aligner_model, detector=None, threads=1)
    detect = None if args.no_detector else Aligner(args.aligner_model, threads=1)

    anchor, paper = fox.codec.replace(grouping="anchor"), fox.codec.replace(grouping="mean_shift")
    rows: dict[str, list[float]] = {k: [] for k in ("net", "group", "group_ms", "total", "total_ms", "td5", "tdret")}
    found: list[tuple[int, int, int]] = []
    for n in counts:
        image, points = grid_canvas(faces[:n], args.canvas)
        _, matrix = letterbox(image, fox.input_size)
        logits, emb = ideal_outputs(fox, points, matrix)
        found.append((len(anchor.decode(logits, emb)), len(paper.decode(logits, emb)), len(detect(image, color="rgb")) if detect else -1))
        rows["net"].append(median_ms(lambda: fox.forward(image, color="rgb"), repeats=args.repeats))
        rows["group"].append(median_ms(lambda: anchor.decode(logits, emb), repeats=args.repeats))
        rows["group_ms"].append(median_ms(lambda: paper.decode(logits, emb), repeats=args.repeats))
        rows["total"].append(rows["net"][-1] + rows["group"][-1])
        rows["total_ms"].append(rows["net"][-1] + rows["group_ms"][-1])
        fives = [scheme.to_five(p) for p in points]
        rows["td5"].append(median_ms(lambda: given(image, color="rgb", points5=fives), repeats=args.repeats))
        rows["tdret"].append(median_ms(lambda: detect(image, color="rgb"), repeats=args.repeats) if detect else float("nan"))

    names = {
        "net": f"FoxNet net ({args.model}, {fox.input_size} px)",
        "group": "FoxNet group (NMS + anchor grouping)",
        "group_ms": "FoxNet group (NMS + mean shift, paper)",
        "total": "FoxNet total (anchor)",
        "total_ms": "FoxNet total (mean shift)",
        "td5": f"top-down, 5 pts given ({args.aligner_model})",
        "tdret": "top-down, RetinaFace",
    }
    print(f"canvas {args.canvas} px, median of {args.repeats}, 1 thread; ms per image\n")
    print("| method | " + " | ".join(f"{n} faces" for n in counts) + " | ms / face (slope) |")
    print("|---|" + "---:|" * (len(counts) + 1))
    for key, label in names.items():
        vals = rows[key]
        slope = float(np.polyfit(counts, vals, 1)[0]) if np.isfinite(vals).all() else float("nan")
        print(f"| {label} | " + " | ".join(f"{v:.1f}" for v in vals) + f" | {slope:.2f} |")
    print("\nfaces found (FoxNet anchor / mean shift on ideal outputs / RetinaFace): " + ", ".join(f"{a}/{b}/{c}" for a, b, c in found))
    for key in ("total", "total_ms"):
        if 16 in counts:
            print(f"{names[key]}: 16 faces / 1 face = {rows[key][counts.index(16)] / rows[key][0]:.2f}")
    faster = [n for n, a, b in zip(counts, rows["total"], rows["tdret"]) if a < b]
    print(f"FoxNet total (anchor) below top-down with RetinaFace at: {faster or 'no face count'}")


if __name__ == "__main__":
    main()
