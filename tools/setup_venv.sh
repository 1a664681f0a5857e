#!/usr/bin/env bash
# Create or update the virtual environment at .venv (idempotent).
# Order matters: torch first (a CPU build where one is cached locally), then
# the pinned OpenMMLab stack, then mmaction2 without its declared
# requirements (they would add a second package owning cv2), then mmcmd.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON=${PYTHON:-python3}
VENV="$ROOT/.venv"
STAMP="$VENV/.mmcmd-installed"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
want=$(cat requirements/*.txt setup.py | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "[setup] .venv is up to date"
    exit 0
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
echo "[setup] installing torch"
"${PIP[@]}" -r requirements/torch.txt
echo "[setup] installing the OpenMMLab stack and PyAV"
"${PIP[@]}" -r requirements/runtime.txt -r requirements/tests.txt
"${PIP[@]}" --no-deps -r requirements/mmaction.txt
echo "[setup] installing mmcmd (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import mmcmd; mmcmd.register_all_modules(); import mmaction.models, cv2, av; print('[setup] ok: mmcmd', mmcmd.__version__, '| av', av.__version__)"
echo "$want" > "$STAMP"
