"""Time per image against the number of faces: bottom-up FoxNet beside the top-down ``Aligner``
(the FoxNet paper's Fig. 4 / Sec. III-C runtime analysis, on the CPU).

Canvases of ``--canvas`` px hold 1, 2, 4, ... ``--max-faces`` faces of ``faces/train68.txt`` on a grid
(:func:`facealign.data.multiface.compose_canvas` with fixed placements, face side 60% of a grid cell).
Rows, median ms per image over ``--repeats`` runs, 1 thread (torch, OpenCV and numpy's BLAS):

* **FoxNet net**: ``FoxNetPredictor(--model).forward``: letterbox to the model input + the network
  (shipped weights if present, else untrained: the cost of a forward pass does not depend on the weights),
  on PyTorch and on ONNX Runtime (the same network's graph, :func:`facealign.export.bottomup_graph_bytes`,
  exported in memory: what ``facealign detect --model`` runs);
* **FoxNet group**: NMS + sub-pixel step + grouping + assembly (``BottomUpCodec.decode``) on the
  *ideal* outputs for the placed faces (targets as logits, one-hot embeddings, one dimension per face):
  an untrained network's outputs have peaks everywhere, which times nothing real. Both groupings:
  ``anchor`` (the default, near-linear) and ``mean_shift`` (the paper's);
* **FoxNet total** = net + group, for each grouping, on each backend;
* **top-down (5 pts given)**: ``Aligner(detector=None)(canvas, points5=...)`` with the 5 points of each
  placed face (crop, landmark network per face, decode, map back: no detector);
* **top-down (RetinaFace)**: the same ``Aligner`` with its RetinaFace detector (``--no-detector`` skips it).

Then the parts of the anchor-grouping decode at 1, 16 and ``--max-faces`` faces (NMS + sub-pixel step,
grouping, assembly), and the slope of each row in ms per face (``numpy.polyfit`` of degree 1 over the face counts). Every timed
call of every face count runs once per round, ``--repeats`` rounds (:func:`interleaved_median_ms`): a
machine whose load changes during the run slows all face counts alike instead of a few of them.

    .venv/bin/python -m benchmarks.multiface [--repeats 5] [--max-faces 64] [--canvas 512]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.special import logit
from threadpoolctl import threadpool_limits

from benchmarks.latency import set_threads
from facealign.api import Aligner
from facealign.bottomup import FoxNetPredictor, letterbox
from facealign.codecs.anchor_grouping import anchor_grouping
from facealign.codecs.bottomup import BottomUpCodec
from facealign.data.multiface import compose_canvas
from facealign.data.readers import read_annotations
from facealign.geometry import apply_affine
from facealign.imageio import read_image
from facealign.landmarks import get_scheme
from facealign.types import heatmap_to_input

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


def ideal_outputs(predictor: FoxNetPredictor, points: list[np.ndarray], matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits equal to the codec's targets and one-hot per-face embeddings, at the model's output size
    (float32, as the network gives them)."""
    t = predictor.codec.encode([apply_affine(matrix, p) for p in points])
    logits = logit(np.clip(t.segmentation, 1e-6, 1 - 1e-6)).astype(np.float32)
    emb = np.stack([(t.instance == f) for f in range(len(points) + 1)]).astype(np.float32)
    return logits, emb


def interleaved_median_ms(calls: list[Callable[[], object]], *, repeats: int, warmup: int = 2) -> list[float]:
    """Median wall time (ms) of each call over ``repeats`` rounds, each round running every call once in
    order (after ``warmup`` calls of each)."""
    for fn in calls:
        for _ in range(warmup):
            fn()
    times = np.zeros((repeats, len(calls)))
    for r in range(repeats):
        for i, fn in enumerate(calls):
            t = time.perf_counter()
            fn()
            times[r, i] = time.perf_counter() - t
    return list(1000.0 * np.median(times, axis=0))


def decode_parts_ms(codec: BottomUpCodec, logits: np.ndarray, emb: np.ndarray, *, repeats: int) -> tuple[int, list[float]]:
    """The candidates of one image's outputs and the median ms of the anchor-grouping decode's parts:
    NMS + sub-pixel step (:meth:`BottomUpCodec.candidates`), grouping, assembly."""
    channel, cell, xy, score = codec.candidates(logits)
    unit = emb[:, cell[:, 0], cell[:, 1]].T.astype(np.float64)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    labels = anchor_grouping(unit, channel, score, bandwidth=codec.bandwidth)
    points = heatmap_to_input(xy, codec.stride)
    parts = [
        lambda: codec.candidates(logits),
        lambda: anchor_grouping(unit, channel, score, bandwidth=codec.bandwidth),
        lambda: codec.assemble(labels, channel, points, score),
    ]
    return len(channel), interleaved_median_ms(parts, repeats=repeats)


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
    fox_ort = FoxNetPredictor(args.model, threads=1, backend="onnx")
    given = Aligner(args.aligner_model, detector=None, threads=1)
    detect = None if args.no_detector else Aligner(args.aligner_model, threads=1)

    anchor, paper = fox.codec.replace(grouping="anchor"), fox.codec.replace(grouping="mean_shift")
    calls: dict[str, list[Callable[[], object]]] = {k: [] for k in ("net", "net_ort", "group", "group_ms", "td5", "tdret")}
    found: list[tuple[int, int, int]] = []
    parts: list[tuple[int, int, list[float]]] = []
    for n in counts:
        image, points = grid_canvas(faces[:n], args.canvas)
        _, matrix = letterbox(image, fox.input_size)
        logits, emb = ideal_outputs(fox, points, matrix)
        found.append((len(anchor.decode(logits, emb)), len(paper.decode(logits, emb)), len(detect(image, color="rgb")) if detect else -1))
        if n in (1, 16, counts[-1]):
            parts.append((n, *decode_parts_ms(anchor, logits, emb, repeats=args.repeats)))
        fives = [scheme.to_five(p) for p in points]
        calls["net"].append(lambda image=image: fox.forward(image, color="rgb"))
        calls["net_ort"].append(lambda image=image: fox_ort.forward(image, color="rgb"))
        calls["group"].append(lambda logits=logits, emb=emb: anchor.decode(logits, emb))
        calls["group_ms"].append(lambda logits=logits, emb=emb: paper.decode(logits, emb))
        calls["td5"].append(lambda image=image, fives=fives: given(image, color="rgb", points5=fives))
        if detect:
            calls["tdret"].append(lambda image=image: detect(image, color="rgb"))
    order = [(k, i) for i in range(len(counts)) for k in calls if i < len(calls[k])]
    medians = interleaved_median_ms([calls[k][i] for k, i in order], repeats=args.repeats)
    rows: dict[str, list[float]] = {k: [float("nan")] * len(counts) for k in calls}
    for (k, i), ms in zip(order, medians):
        rows[k][i] = ms
    for total, net, group in (("total", "net", "group"), ("total_ms", "net", "group_ms"), ("total_ort", "net_ort", "group"), ("total_ort_ms", "net_ort", "group_ms")):
        rows[total] = [a + b for a, b in zip(rows[net], rows[group])]

    names = {
        "net": f"FoxNet net, PyTorch ({args.model}, {fox.input_size} px)",
        "net_ort": "FoxNet net, ONNX Runtime",
        "group": "FoxNet group (NMS + anchor grouping)",
        "group_ms": "FoxNet group (NMS + mean shift, paper)",
        "total": "FoxNet total, PyTorch (anchor)",
        "total_ms": "FoxNet total, PyTorch (mean shift)",
        "total_ort": "FoxNet total, ONNX Runtime (anchor)",
        "total_ort_ms": "FoxNet total, ONNX Runtime (mean shift)",
        "td5": f"top-down, 5 pts given ({args.aligner_model})",
        "tdret": "top-down, RetinaFace",
    }
    print(f"canvas {args.canvas} px, median of {args.repeats} interleaved rounds, 1 thread; ms per image\n")
    print("| method | " + " | ".join(f"{n} faces" for n in counts) + " | ms / face (slope) |")
    print("|---|" + "---:|" * (len(counts) + 1))
    for key, label in names.items():
        vals = rows[key]
        slope = float(np.polyfit(counts, vals, 1)[0]) if np.isfinite(vals).all() else float("nan")
        print(f"| {label} | " + " | ".join(f"{v:.1f}" for v in vals) + f" | {slope:.2f} |")
    print("\nanchor-grouping decode by part (ms): " + "; ".join(
        f"{n} faces ({m} candidates): NMS + sub-pixel {t[0]:.2f}, grouping {t[1]:.2f}, assembly {t[2]:.2f}" for n, m, t in parts
    ))
    print("faces found (FoxNet anchor / mean shift on ideal outputs / RetinaFace): " + ", ".join(f"{a}/{b}/{c}" for a, b, c in found))
    for key in ("total", "total_ms", "total_ort", "total_ort_ms"):
        if 16 in counts:
            print(f"{names[key]}: 16 faces / 1 face = {rows[key][counts.index(16)] / rows[key][0]:.2f}")
    for key in ("total", "total_ort", "total_ort_ms"):
        faster = [n for n, a, b in zip(counts, rows[key], rows["tdret"]) if a < b]
        print(f"{names[key]} below top-down with RetinaFace at: {faster or 'no face count'}")


if __name__ == "__main__":
    main()
