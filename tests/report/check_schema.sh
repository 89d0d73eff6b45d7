#!/usr/bin/env bash
# reports:schema — real `tpusim run --json` reports (workload and program, fast and functional,
# an LLM what-if) plus the fixture's reports validate against sim/report/schemas/report.schema.json; broken
# ones do not. Needs $TPUSIM and $TPUSIM_PYTHON (skip, exit 77, without jsonschema).
set -euo pipefail
OUT=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${TPUSIM_PYTHON:-$ROOT/build/venv/bin/python}
if ! [ -x "$PY" ] || ! "$PY" -c "import jsonschema" 2>/dev/null; then
  echo "SKIP: no Python with jsonschema at $PY (run scripts/venv.sh)"
  exit 77
fi
CLI=$OUT/cli
mkdir -p "$CLI"
"$TPUSIM" run --arch tpu-v1 --workload mlp0 --json "$CLI/mlp0.json" --force --quiet
"$TPUSIM" run --arch tpu-v1 --workload cnn0 --timing-only --json "$CLI/cnn0.json" --force --quiet
"$TPUSIM" run --arch tpu-v1 --workload mlp1 --mode functional --json "$CLI/mlp1_functional.json" --force --quiet
"$TPUSIM" run --arch tpu-v1 --workload gpt3-175b --timing-only --json "$CLI/gpt3.json" --force --quiet 2>/dev/null
"$TPUSIM" run --arch tpu-v1 --program "$ROOT/workloads/examples/mlp2.s" --json "$CLI/prog.json" --force --quiet
"$TPUSIM" run --arch tpu-v1 --program "$ROOT/workloads/examples/mlp2.s" --mode functional \
  --json "$CLI/prog_functional.json" --force --quiet
# With the issue-7 flags wired into the CLI, a report with carbon_per and deployment, and the
# CSV and trace beside it.
if "$TPUSIM" run --help | grep -q -- "--qps"; then
  "$TPUSIM" run --arch tpu-v1 --workload lstm1 --timing-only --qps 500 --years 2 --grid europe \
    --dvfs nominal --json "$CLI/lstm1_deploy.json" --csv "$CLI/lstm1.csv" --trace "$CLI/lstm1.trace" \
    --force --quiet
  [ -s "$CLI/lstm1.csv" ] && [ -s "$CLI/lstm1.trace" ] || { echo "FAIL: --csv/--trace wrote nothing"; exit 1; }
  grep -q '"deployment"' "$CLI/lstm1_deploy.json" || { echo "FAIL: no deployment block"; exit 1; }
fi
exec "$PY" "$ROOT/tests/report/check_schema.py" "$ROOT/sim/report/schemas/report.schema.json" "$CLI"/*.json \
  "$OUT/report.json" "$OUT/bert.json" "$OUT/llm.json" "$OUT/functional.json" "$OUT/program.json" \
  "$OUT/program_functional.json"
