"""Speed of facealign on the CPU, beside dlib and MediaPipe where they import, and peak memory.

Prints a markdown table of median milliseconds:

* per face, for each model with ONNX Runtime and with PyTorch at 1 and 2 threads (``facealign.bench``):
  the network alone (one float crop in, raw outputs out) and the landmark-stage graph the ``Aligner``
  runs (one uint8 crop in: normalisation, network, decode);
* the whole landmark stage of one face as the user calls it: ``Aligner`` given the detector's 5 points
  (similarity crop from the photo, stage graph, mapping back), with and without flip test;
* RetinaFace detection on a 640 px photo (``assets/group.jpg`` brought to 640 px);
* the whole ``Aligner`` call (detect, align, landmarks, decode, map back) on ``assets/group.jpg``
  (6 faces) and on a 1-face photo (``samples/300w/image_0010.png``, 1280 x 1024), with OpenCV's and
  PyTorch's pools set to the same thread count;
* dlib's 68-point predictor and MediaPipe Face Mesh per face, on that photo's RetinaFace box, when
  they import (run with ``.venv-peers/bin/python`` after ``bash benchmarks/setup_peers.sh``);

then the peak resident memory of a fresh process that runs ``Aligner`` on an 8000 x 6000 photo
(``group.jpg`` resized in memory), beside the same process's peak before that photo.

    .venv/bin/python -m benchmarks.latency [--model NAME ...] [--repeats 50]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from facealign.api import Aligner
from facealign.bench import landmark_latency_ms, median_ms
from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image
from facealign.models.registry import get_model_card, list_models

ROOT = Path(__file__).resolve().parents[1]
GROUP_PHOTO = ROOT / "assets" / "group.jpg"
ONE_FACE_PHOTO = ROOT.parent / "shared" / "data" / "samples" / "300w" / "image_0010.png"
DETECTOR_SIDE = 640
BIG_PHOTO = (8000, 6000)  # width, height
THREADS = (1, 2)


def set_threads(threads: int) -> None:
    """OpenCV's and PyTorch's own thread pools to ``threads`` (``Aligner(threads=n)`` sets the threads
    of its landmark graph and detector only; the crops are cut by OpenCV)."""
    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)


def resize_longer_side(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` scaled so that its longer side is ``side`` pixels (aspect kept, at least 1 px each way)."""
    h, w = rgb.shape[:2]
    s = side / max(h, w)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)


def peer_rows(rgb: np.ndarray, repeats: int) -> tuple[list[tuple[str, str, str, float]], list[str]]:
    """Per-face times of dlib and MediaPipe on the first RetinaFace detection of ``rgb`` (1 thread)."""
    from benchmarks import peers  # the same calls as the accuracy benchmark (imports dlib / MediaPipe lazily)

    det = RetinaFaceDetector(threads=1).detect(rgb)[0]
    rows, notes = [], []
    set_threads(1)
    try:
        for hog, name in ((False, "RetinaFace box"), (True, "HOG-convention box")):
            run = peers.dlib_method(hog_box=hog)
            rows.append((f"dlib 68-point predictor ({name}), per face", "dlib", "1", median_ms(lambda: run(rgb, det), repeats=repeats)))
    except ImportError as err:
        notes.append(f"dlib rows left out: {err}")
    try:
        for refine in (False, True):
            run = peers.mediapipe_method(refine=refine, crop_scale=peers.MESH_CROP_SCALE)
            label = f"MediaPipe Face Mesh{' refined' if refine else ''} ({peers.MESH_CROP_SCALE:g}x crop), per face"
            rows.append((label, "TFLite", "(own)", median_ms(lambda: run(rgb, det), repeats=repeats)))
    except ImportError as err:
        notes.append(f"MediaPipe rows left out: {err}")
    return rows, notes


def latency_table(models: Sequence[str], repeats: int) -> str:
    rows: list[tuple[str, str, str, float]] = []
    for model in models:
        for backend in ("onnx", "torch"):
            for threads in THREADS:
                for part, what in (("network", "network alone"), ("stage", "network + decode graph")):
                    ms = landmark_latency_ms(model, backend=backend, threads=threads, repeats=repeats, part=part)
                    rows.append((f"{model}: {what}, per face", backend, str(threads), ms))
    group = read_image(GROUP_PHOTO)
    photo640 = resize_longer_side(group, DETECTOR_SIDE)
    one_face = read_image(ONE_FACE_PHOTO)
    set_threads(1)
    five = RetinaFaceDetector(threads=1).detect(one_face)[0].points
    for model in models:
        if get_model_card(model).weights is None:
            continue
        for flip in (False, True):
            stage = Aligner(model, detector=None, backend="onnx", threads=1, flip_test=flip)
            label = f"{model}: landmark stage from the 5 points (crop, graph, map back){' + flip test' if flip else ''}, per face"
            rows.append((label, "onnx", "1", median_ms(lambda: stage(one_face, color="rgb", points5=[five]), repeats=repeats)))
    for threads in THREADS:
        set_threads(threads)
        det = RetinaFaceDetector(threads=threads)
        rows.append((f"RetinaFace detection, {photo640.shape[1]}x{photo640.shape[0]} photo", "onnx", str(threads),
                     median_ms(lambda: det.detect(photo640), repeats=repeats)))
    notes = []
    for model in models:
        if get_model_card(model).weights is None:
            notes.append(f"{model}: no shipped weights in this installation, so no whole-photo rows (Aligner needs them)")
            continue
        for threads in THREADS:
            set_threads(threads)
            aligner = Aligner(model, backend="onnx", threads=threads)
            for rgb, name in ((group, GROUP_PHOTO.name), (one_face, ONE_FACE_PHOTO.name)):
                n = len(aligner(rgb, color="rgb"))
                label = f"{model}: whole photo {name} ({rgb.shape[1]}x{rgb.shape[0]}, {n} face{'s' * (n != 1)})"
                rows.append((label, "onnx", str(threads), median_ms(lambda: aligner(rgb, color="rgb"), repeats=max(1, repeats // 5))))
    extra, peer_notes = peer_rows(one_face, repeats)
    rows += extra
    notes += peer_notes
    lines = ["| what | runtime | threads | median ms |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {what} | {runtime} | {threads} | {ms:.2f} |" for what, runtime, threads, ms in rows]
    return "\n".join(lines + [""] + notes)


def _status_mib(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB; NaN where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def big_photo_memory(model: str) -> dict[str, float]:
    """Run in a fresh process: memory (MiB) and time of one ``Aligner`` call on ``group.jpg`` resized
    to 8000 x 6000, after a warm call on ``group.jpg`` itself.

    ``maxrss_*``: ``getrusage`` peak of the process before / after the big call (the ``before`` one
    is set by loading and exporting the model). ``call_peak``: the peak during the big call alone
    (Linux: ``VmHWM`` after resetting it through ``/proc/self/clear_refs``; NaN elsewhere).
    """
    aligner = Aligner(model, backend="onnx", threads=1)
    group = read_image(GROUP_PHOTO)
    aligner(group, color="rgb")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    big = cv2.resize(group, BIG_PHOTO, interpolation=cv2.INTER_LINEAR)
    rss_with_photo = _status_mib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    t = time.perf_counter()
    faces = aligner(big, color="rgb")
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"maxrss_before": before, "maxrss_after": after, "rss_with_photo": rss_with_photo,
            "call_peak": _status_mib("VmHWM") if reset else float("nan"), "faces": len(faces),
            "seconds": seconds, "image_mib": big.nbytes / 2**20}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="registered model name (repeatable; default: every facealign_* model)")
    ap.add_argument("--repeats", type=int, default=50, help="timed calls per row (whole-photo rows: a fifth)")
    ap.add_argument("--skip-memory", action="store_true", help="leave out the 8000 x 6000 memory check")
    ap.add_argument("--memory-child", metavar="MODEL", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        print(json.dumps(big_photo_memory(args.memory_child)))
        return
    models = args.model or list_models("facealign_*")
    print(latency_table(models, args.repeats))
    shipped = [m for m in models if get_model_card(m).weights is not None]
    if args.skip_memory or not shipped:
        return
    out = subprocess.run([sys.executable, __file__, "--memory-child", shipped[0]], capture_output=True, text=True, check=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"\nMemory ({shipped[0]}, onnx, 1 thread, fresh process), an {BIG_PHOTO[0]}x{BIG_PHOTO[1]} photo "
        f"({m['image_mib']:.0f} MiB of RGB, {m['faces']} faces found, {m['seconds']:.2f} s): peak RSS "
        f"(getrusage maxrss) {m['maxrss_before']:.0f} MiB before the call, {m['maxrss_after']:.0f} MiB after; "
        f"RSS holding the photo {m['rss_with_photo']:.0f} MiB, peak during the call {m['call_peak']:.0f} MiB "
        f"(+{m['call_peak'] - m['rss_with_photo']:.0f} MiB)."
    )


if __name__ == "__main__":
    main()
