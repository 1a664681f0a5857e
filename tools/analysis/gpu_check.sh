#!/usr/bin/env bash
# One prepared GPU check (run from the repository root on a GPU machine):
#  1. tools/analysis/benchmark_train.py: CMD step vs supervised Recognizer3D
#     step, same backbone and batch, fp32 / bf16 autocast / channels_last_3d;
#  2. tools/analysis/gpu_check.py: the real CMD training loop on generated
#     videos (short side 128) with 16 loader workers, reporting GPU
#     utilisation and the share of time the loop waits for the loader.
# Results: JSON files in OUT_DIR (default ./gpu_check) and a summary on stdout.
#
#   bash tools/analysis/gpu_check.sh [OUT_DIR]
#
# Environment: BACKBONE (r2plus1d-26), BATCH (8), STEP_ITERS (20),
# LOOP_ITERS (300), WORKERS (16), PYTHON (python).
set -euo pipefail

OUT_DIR=${1:-gpu_check}
BACKBONE=${BACKBONE:-r2plus1d-26}
BATCH=${BATCH:-8}
STEP_ITERS=${STEP_ITERS:-20}
LOOP_ITERS=${LOOP_ITERS:-300}
WORKERS=${WORKERS:-16}
PYTHON=${PYTHON:-python}
mkdir -p "$OUT_DIR"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
    | tee "$OUT_DIR/gpu.txt" || echo 'nvidia-smi not found' >&2

echo "== training step: CMD vs supervised, $BACKBONE, batch $BATCH"
"$PYTHON" tools/analysis/benchmark_train.py --backbone "$BACKBONE" \
    --batch "$BATCH" --iters "$STEP_ITERS" --amp bf16 --channels-last \
    --device cuda --json "$OUT_DIR/train_step.json"

echo "== training loop: $LOOP_ITERS iterations, $WORKERS loader workers"
"$PYTHON" tools/analysis/gpu_check.py --iters "$LOOP_ITERS" \
    --workers "$WORKERS" --batch "$BATCH" --device cuda --amp bf16 \
    --json "$OUT_DIR/train_loop.json"
