"""Start-up time of facealign: what a user waits for before the first landmarks.

Each row is the median over ``--repeats`` fresh Python processes (nothing is warm but the OS file
cache; the first process of each row is a discarded warm-up):

* ``import facealign``: the import alone, timed inside the process;
* ``Aligner()``: constructing the default Aligner after the import (loading the landmark graph and the
  detector session; before the torch-free package this exported the graph from PyTorch);
* ``import + Aligner() + first call``: the first landmarks of one photo, timed inside the process;
* ``facealign detect one.jpg``: the whole command, from process start to exit (wall time measured
  by the parent), which bounds the time to its first landmarks from above;
* whether ``torch`` was imported by ``import facealign; Aligner()(photo, ...)``.

The processes run in a temporary folder, so the ``facealign`` they import is the one ``PYTHONPATH`` (or
the environment) gives, not the current directory's: ``PYTHONPATH=/path/to/other/checkout`` measures that.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/startup.py [--repeats 5] [--photo PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "data" / "samples" / "300w" / "image_0010.png"

#: Runs in a fresh process; prints one JSON line of seconds.
_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import facealign
t1 = time.perf_counter()
a = facealign.Aligner()
t2 = time.perf_counter()
faces = a(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "aligner": t2 - t1, "first": t3 - t0, "faces": len(faces),
                  "torch": "torch" in sys.modules}))
"""


def probe(photo: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(photo)], capture_output=True, text=True, check=True,
                         cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def detect_cli_s(photo: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "facealign.cli", "detect", str(photo), "--quiet", "--json", f"{tmp}/out.jsonl"]
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=tmp)
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--photo", type=Path, default=PHOTO)
    args = ap.parse_args(argv)
    probe(args.photo)  # warm the file cache
    runs = [probe(args.photo) for _ in range(args.repeats)]
    detect_cli_s(args.photo)
    cli = [detect_cli_s(args.photo) for _ in range(args.repeats)]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"photo {args.photo.name}, {runs[0]['faces']} face(s); median of {args.repeats} fresh processes")
    print("| step | seconds |")
    print("| --- | ---: |")
    print(f"| import facealign | {med('import'):.3f} |")
    print(f"| Aligner() | {med('aligner'):.3f} |")
    print(f"| import facealign; Aligner() | {med('import') + med('aligner'):.3f} |")
    print(f"| import + Aligner() + first call | {med('first'):.3f} |")
    print(f"| facealign detect one photo (whole process) | {statistics.median(cli):.3f} |")
    print(f"| torch imported | {'yes' if any(r['torch'] for r in runs) else 'no'} |")


if __name__ == "__main__":
    main()
