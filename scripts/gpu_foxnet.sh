#!/usr/bin/env bash
# FoxNet (issue 21) on a lent GPU: unpack scripts/pack_groups.py's zip and train
# configs/experiments/foxnet_groups_68_gpu.toml for EPOCHS epochs, stopped by wall clock (LIMIT s) so that
# the checkpoints always come back: every epoch writes last.pt / best.pt atomically, so a run killed by the
# clock leaves the last finished epoch. Run from the repository root with .gpu carried:
#   here:   PYTHONPATH=$PWD .venv/bin/python scripts/pack_groups.py --out .gpu/foxnet.zip      (31.3 MiB)
#   device: run(command="bash scripts/gpu_foxnet.sh", carry=[".gpu"], timeout_s=600)
# (the zip unpacks to .gpu/foxnet; remove that folder before a call from here, or it travels too.)
# $OUT gets last.pt, best.pt, metrics.jsonl and log.txt (4 files, about 7 MB each checkpoint).
# Runs live in RUNS (default /tmp/foxnet_runs, outside the carried tree): a second call on the still-warm
# machine resumes it (--resume); RESUME_FROM=<a last.pt carried under .gpu> continues a returned run on a
# fresh machine. DEVICE / WORKERS / THREADS / CONFIG / EXTRA (more `facealign train` options) for a dry run on a CPU.
set -u
DEVICE=${DEVICE:-cuda}
EPOCHS=${EPOCHS:-30}
LIMIT=${LIMIT:-480}
WORKERS=${WORKERS:-12}
THREADS=${THREADS:-4}
EXTRA=${EXTRA:-}
PY=${PY:-python3}
ZIP=${ZIP:-.gpu/foxnet.zip}
RUNS=${RUNS:-/tmp/foxnet_runs}
RESUME_FROM=${RESUME_FROM:-}
OUT=${OUT:?OUT must name the folder the results go to}
CONFIG=${CONFIG:-configs/experiments/foxnet_groups_68_gpu.toml}
RUN=$(basename "$CONFIG" .toml)
cd "$(dirname "$0")/.."
t0=$(date +%s)
mkdir -p "$RUNS/$RUN" "$OUT"
if [ ! -f .gpu/foxnet/groups_pseudo.json ]; then
  mkdir -p .gpu/foxnet && (cd .gpu/foxnet && $PY -m zipfile -e "../../$ZIP" .) || { echo "could not unpack $ZIP" >&2; exit 1; }
fi
if [ -n "$RESUME_FROM" ] && [ ! -f "$RUNS/$RUN/last.pt" ]; then cp "$RESUME_FROM" "$RUNS/$RUN/last.pt" || exit 1; fi
{ command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc
  $PY -c "import torch, cv2, numpy; print(torch.__version__, cv2.__version__, numpy.__version__, torch.cuda.is_available())"
  echo "unpacked in $(( $(date +%s) - t0 )) s"; } > "$RUNS/env.txt"
PYTHONPATH=$PWD timeout "$LIMIT" $PY -m facealign.cli train "$CONFIG" --device "$DEVICE" \
  --workers "$WORKERS" --threads "$THREADS" --epochs "$EPOCHS" --out-dir "$RUNS" --resume $EXTRA > "$RUNS/$RUN.log" 2>&1
rc=$?
for f in last.pt best.pt metrics.jsonl; do cp "$RUNS/$RUN/$f" "$OUT/$f" 2>/dev/null; done
{ cat "$RUNS/env.txt"; echo "train exit $rc (124: stopped by LIMIT=$LIMIT s)"; grep -v "^epoch [0-9]* iter" "$RUNS/$RUN.log" | tail -60
  grep "^epoch [0-9]* iter" "$RUNS/$RUN.log" | tail -2
  echo "total $(( $(date +%s) - t0 )) s"; } > "$OUT/log.txt"
tail -40 "$OUT/log.txt"
