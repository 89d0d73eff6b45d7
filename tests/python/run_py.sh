#!/usr/bin/env bash
# Runs the venv's Python (scripts/venv.sh; $TPUSIM_VENV) with the given arguments, from the
# repository root; exit 77 (skipped) when the venv or one of the modules named in $NEEDS is
# missing. CTest passes PYTHONPATH=build/python (the tpusim package of the build).
set -euo pipefail
PY="${TPUSIM_VENV:-build/venv}/bin/python"
for m in ${NEEDS:-}; do
  if [ ! -x "$PY" ] || ! "$PY" -c "import $m" 2>/dev/null; then
    echo "python: no venv with $m (scripts/venv.sh): skipped"
    exit 77
  fi
done
cd "$(dirname "$0")/../.."
exec "$PY" "$@"
