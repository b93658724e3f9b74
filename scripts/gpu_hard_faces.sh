#!/usr/bin/env bash
# The one lent-GPU call of issue 20: three trainings side by side on the packed data (scripts/pack_faces.py),
# stopped by wall clock so that their checkpoints always come back. Layout on the device: the repository's
# checkout with .gpu/ carried (this script, facealign/ and configs/ of the branch, data.zip); run as
#   cd .gpu && bash gpu_hard_faces.sh
# $OUT gets each run's last.pt and metrics.jsonl and one log (8 files at most).
# DEVICE / WORKERS / LIMIT (seconds per training) / EXTRA (more `facealign train` options) for a dry run on a CPU.
set -u
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-5}
LIMIT=${LIMIT:-430}
EXTRA=${EXTRA:-}
PY=${PY:-python3}
RUNS="mnv2_050_68_hard mnv2_050_68_hard_pdb mnv2_050_5_hard"
# a run's config: configs/<run>.toml for a shipped recipe, configs/experiments/<run>.toml for the others
config_of() { if [ -f "configs/$1.toml" ]; then echo "configs/$1.toml"; else echo "configs/experiments/$1.toml"; fi; }
cd "$(dirname "$0")"
t0=$(date +%s)
mkdir -p data runs/audit && (cd data && $PY -m zipfile -e ../data.zip .) && cp data/retinaface5.json runs/audit/ || exit 1
cp ../facealign/weights/*.pt facealign/weights/ 2>/dev/null  # the shipped weights the runs start from
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1; nproc; $PY -c "import torch, cv2, numpy; print(torch.__version__, cv2.__version__, numpy.__version__)"; echo "unpacked in $(( $(date +%s) - t0 )) s"; } > runs/env.txt
for c in $RUNS; do
  PYTHONPATH=$PWD timeout "$LIMIT" $PY -m facealign.cli train "$(config_of "$c")" --device "$DEVICE" --workers "$WORKERS" \
    --data-root data/faces --out-dir runs $EXTRA > "runs/$c.log" 2>&1 &
done
wait
for c in $RUNS; do
  cp "runs/$c/last.pt" "$OUT/$c.pt" 2>/dev/null
  cp "runs/$c/metrics.jsonl" "$OUT/$c.jsonl" 2>/dev/null
done
{ cat runs/env.txt; for c in $RUNS; do echo "== $c"; grep -v "^epoch [0-9]* iter" "runs/$c.log" | tail -40; done; echo "total $(( $(date +%s) - t0 )) s"; } > "$OUT/log.txt"
cat "$OUT/log.txt" | tail -60
