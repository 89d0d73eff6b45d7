#!/usr/bin/env bash
# Runs test_import_onnx.py with the venv's Python ($TPUSIM_VENV, else build/venv under the source
# tree), falling back to python3; the test itself exits 77 (skip) when onnx does not import.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VENV=${TPUSIM_VENV:-$ROOT/build/venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "SKIP: no Python found"; exit 77; }
exec "$PY" "$ROOT/tests/compiler/import/test_import_onnx.py"
