#!/usr/bin/env bash
# multichip:schema — the committed results/multichip reports and fresh multi-chip `tpusim run`
# reports (an LLM decode with tp x pp, a CNN split by tensor parallelism) validate against
# sim/report/schemas/multichip_report.schema.json. Needs $TPUSIM and $TPUSIM_PYTHON (skip, exit 77, without
# jsonschema).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PY=${TPUSIM_PYTHON:-$ROOT/build/venv/bin/python}
if ! [ -x "$PY" ] || ! "$PY" -c "import jsonschema, referencing" 2>/dev/null; then
  echo "SKIP: no Python with jsonschema at $PY (run scripts/venv.sh)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$TPUSIM" run --arch tpu-v1 --workload opt-13b --phase decode --tp 2 --pp 2 --json "$tmp/opt13b_tp2_pp2.json" --quiet 2>/dev/null
"$TPUSIM" run --arch tpu-v1 --workload mlp0 --chips 4 --json "$tmp/mlp0_tp4.json" --quiet
exec "$PY" "$ROOT/tests/studies/multichip/check_schema.py" "$ROOT/sim/report/schemas" "$ROOT"/results/multichip/*_tp*_pp*.json "$tmp"/*.json
