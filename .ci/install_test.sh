#!/usr/bin/env bash
# The install story, proven on a fresh machine: build the wheel, install it into a new virtual
# environment where torch is forbidden (pip constraint torch<0: any dependency that wanted torch would
# fail the install), and run `facealign detect` and the API from outside the source tree.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
tmp="$(mktemp -d)"
# pip builds the wheel in the source tree's build/: remove it afterwards unless it was there before
[ -e "$repo/build" ] && keep_build=1 || keep_build=0
trap 'rm -rf "$tmp"; [ "$keep_build" = 1 ] || rm -rf "$repo/build"' EXIT

"$python" -m pip wheel -q --no-deps -w "$tmp/dist" "$repo"
"$python" -m venv "$tmp/env"
echo "torch<0" > "$tmp/no-torch.txt"
"$tmp/env/bin/python" -m pip install -q -c "$tmp/no-torch.txt" "$tmp"/dist/facealign-*.whl

cd "$tmp"
"$tmp/env/bin/facealign" detect "$repo/assets/group.jpg" --json out.jsonl --csv out.csv --draw drawn --quiet
"$tmp/env/bin/python" - "$repo/assets/group.jpg" <<'PY'
import json, sys
import cv2
import facealign

rows = [json.loads(line) for line in open("out.jsonl")]
assert len(rows) == 1 and len(rows[0]["faces"]) >= 2, rows
faces = facealign.Aligner()(cv2.imread(sys.argv[1]), color="bgr")
assert len(faces) == len(rows[0]["faces"]), (len(faces), len(rows[0]["faces"]))
assert "torch" not in sys.modules
try:
    import torch  # noqa: F401
    sys.exit("torch is installed in the torch-free environment")
except ImportError:
    pass
print(f"install test: wheel without torch, facealign detect found {len(faces)} faces in group.jpg")
PY
