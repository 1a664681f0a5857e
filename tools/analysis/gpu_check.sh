#!/usr/bin/env bash
# One prepared GPU check (run from the repository root on a GPU machine):
#  1. tools/analysis/benchmark_train.py: CMD step vs supervised Recognizer3D
#     step, same backbone and batch, fp32 and bf16 autocast;
#  2. tools/analysis/benchmark_loop.py: the real mmengine loop of the UCF101
#     CMD recipe on generated videos (short side 128) with WORKERS loader
#     workers, timed by part, against the same step timed alone:
#       real    the shipped settings;
#       noop    the step replaced by a no-op (the loop's own cost);
#       before  per-sample collate, no pinned memory, mmengine's per-
#               iteration log reads (the loop before the overhead work);
#     with THREADS_ROW=N also the shipped settings with N torch threads in
#     the main process (env_cfg.main_threads), to see that one factor;
#     with NICE_ROW=N also the shipped settings with the loader workers N
#     steps nicer than the training process (env_cfg.loader_worker_nice;
#     the shipped configs say 10, so NICE_ROW=0 shows what that buys);
#  3. a summary: loop iteration / isolated step, GPU utilisation.
# Results: JSON files (and a torch.profiler table) in OUT_DIR (default
# ./gpu_check) and the summary on stdout.
#
#   bash tools/analysis/gpu_check.sh [OUT_DIR]
#
# Environment: BACKBONE (r2plus1d-26), BATCH (8), STEP_ITERS (10; 0 skips
# benchmark_train.py), LOOP_ITERS (40), WARMUP (10), WORKERS (16),
# VARIANTS (real,noop,before), THREADS_ROW (unset), NICE_ROW (unset),
# PYTHON (python).
set -euo pipefail

OUT_DIR=${1:-gpu_check}
BACKBONE=${BACKBONE:-r2plus1d-26}
BATCH=${BATCH:-8}
STEP_ITERS=${STEP_ITERS:-10}
LOOP_ITERS=${LOOP_ITERS:-40}
WARMUP=${WARMUP:-10}
WORKERS=${WORKERS:-16}
VARIANTS=${VARIANTS:-real,noop,before}
THREADS_ROW=${THREADS_ROW:-}
NICE_ROW=${NICE_ROW:-}
PYTHON=${PYTHON:-python}
CONFIG=configs/cmd/cmd_r2plus1d-26_8xb8-16x4x1-120e_ucf101-rgb.py
mkdir -p "$OUT_DIR"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
    | tee "$OUT_DIR/gpu.txt" || echo 'nvidia-smi not found' >&2

if [ "$STEP_ITERS" -gt 0 ]; then
    echo "== training step alone: CMD vs supervised, $BACKBONE, batch $BATCH"
    "$PYTHON" tools/analysis/benchmark_train.py --backbone "$BACKBONE" \
        --batch "$BATCH" --iters "$STEP_ITERS" --amp bf16 \
        --device cuda --json "$OUT_DIR/train_step.json"
fi

# the loop benchmark of the recipe on the GPU; extra options follow
loop() {
    "$PYTHON" tools/analysis/benchmark_loop.py --config "$CONFIG" \
        --device cuda --amp bf16 --batch "$BATCH" --workers "$WORKERS" \
        --videos 64 --warmup "$WARMUP" --iters "$LOOP_ITERS" "$@"
}

echo "== training loop: $WARMUP + $LOOP_ITERS iterations, $WORKERS workers"
loop --variants "$VARIANTS" --profile "$OUT_DIR/loop_profile.txt" \
    --json "$OUT_DIR/train_loop.json"

if [ -n "$THREADS_ROW" ]; then
    echo "== training loop, $THREADS_ROW torch threads in the main process"
    loop --variants real --main-threads "$THREADS_ROW" \
        --json "$OUT_DIR/train_loop_threads.json"
fi

if [ -n "$NICE_ROW" ]; then
    echo "== training loop, loader workers $NICE_ROW steps nicer"
    loop --variants real --worker-nice "$NICE_ROW" \
        --json "$OUT_DIR/train_loop_nice.json"
fi

echo "== summary"
"$PYTHON" - "$OUT_DIR" <<'EOF'
import json
import os
import sys

out = sys.argv[1]
for name in ('train_loop.json', 'train_loop_threads.json',
             'train_loop_nice.json'):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        continue
    rows = {r['name']: r['value'] for r in json.load(open(path))['rows']}
    for variant in ('real', 'before'):
        if f'{variant}.iteration_ms' not in rows:
            continue
        print(f"{name} {variant}: iteration "
              f"{rows[f'{variant}.iteration_ms']:.1f} ms, isolated step "
              f"{rows[f'{variant}.isolated_step_ms']:.1f} ms, loop/step "
              f"{rows[f'{variant}.loop_over_step']:.2f}, GPU utilisation "
              f"{rows.get(f'{variant}.gpu_utilisation', float('nan')):.1f} %"
              f", {rows[f'{variant}.main_threads']} main threads, workers"
              f" {rows.get(f'{variant}.worker_nice', 0)} nicer")
    if 'noop.loop_overhead_ms' in rows:
        print(f"{name} noop: loop overhead "
              f"{rows['noop.loop_overhead_ms']:.1f} ms per iteration")
EOF
