#!/usr/bin/env bash
# The scene-bias demo at SCALE (default 10) times the calibrated data and
# iterations, for one GPU machine (run from the repository root):
#
#   bash tools/analysis/gpu_scene_bias.sh [WORK_DIR] [extra tools/demo.py flags]
#
# The calibrated benchmark (mmcmd.datasets.synthetic.CALIBRATED: 120 train
# videos per class, 600 iterations) becomes 1200 videos per class and 6000
# iterations, with the same encoder, optimiser, batch and epochs, so every
# method sees ten times the data for the same number of passes over it.
# mmengine's Runner puts each run on the GPU by itself. JOBS runs train at
# once (they share the GPU), each with WORKERS loader processes.
#
# Environment: SCALE (10), JOBS (4), WORKERS (3), PYTHON (python).
# Writes WORK_DIR/summary.{json,md,png} and WORK_DIR/embedding_maps.png.
set -euo pipefail

WORK_DIR=${1:-work_dirs/demo_gpu}
shift || true
SCALE=${SCALE:-10}
JOBS=${JOBS:-4}
WORKERS=${WORKERS:-3}
PYTHON=${PYTHON:-python}

read -r PER_CLASS ITERS < <("$PYTHON" - "$SCALE" <<'EOF'
import sys

from mmcmd.datasets.synthetic import CALIBRATED

scale = int(sys.argv[1])
print(CALIBRATED['num_train_per_class'] * scale,
      CALIBRATED['iterations'] * scale)
EOF
)
echo "== scene-bias demo x$SCALE: $PER_CLASS train videos per class," \
     "$ITERS iterations, $JOBS runs at once, $WORKERS loader workers each"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader \
    || echo 'nvidia-smi not found: running on what torch finds' >&2

"$PYTHON" tools/demo.py --work-dir "$WORK_DIR" \
    --num-train-per-class "$PER_CLASS" --iterations "$ITERS" \
    --jobs "$JOBS" \
    --cfg-options "train_dataloader.num_workers=$WORKERS" "$@"
