#!/usr/bin/env bash
# Creates the Python virtual environment of the report tools (scripts/report.py, the report
# tests) and installs scripts/requirements.txt into it. Idempotent and quiet when the packages
# are already there.
#   scripts/venv.sh [VENV_DIR]    (default: build/venv; also TPUSIM_VENV)
# Prints nothing on success when nothing had to be installed; exit 1 when pip fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-${TPUSIM_VENV:-$ROOT/build/venv}}
REQ="$ROOT/scripts/requirements.txt"
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  echo "creating $VENV"
  "$PY" -m venv "$VENV"
fi
# Installed already when every requirement imports and the stamp matches requirements.txt.
STAMP="$VENV/.tpusim-requirements"
if [ -f "$STAMP" ] && cmp -s "$STAMP" "$REQ" &&
   "$VENV/bin/python" -c "import jsonschema, matplotlib, pytest, pandas, tqdm" 2>/dev/null; then
  exit 0
fi
echo "installing $(grep -v '^#' "$REQ" | tr '\n' ' ')into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
cp "$REQ" "$STAMP"
