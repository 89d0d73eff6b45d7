#!/usr/bin/env bash
# scripts/sweep_plot.py on the small test sweep: every plot is written and the sensitivity table
# has the signs physics demands. Skips (77) without matplotlib in the venv.
#   plot_test.sh SWEEP_DRIVER VENV_PYTHON
set -euo pipefail
DRIVER=$1 PY=$2
HERE=$(cd "$(dirname "$0")" && pwd) ROOT=$(cd "$HERE/../../.." && pwd)
if [ ! -x "$PY" ] || ! "$PY" -c "import matplotlib" 2>/dev/null; then
  echo "skip: matplotlib not importable from $PY (run scripts/venv.sh)"; exit 77
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cat > "$TMP/spec.yaml" <<SPEC
name: plot-test
base: small-16
workloads: [$HERE/tiny_mlp.yaml, $HERE/tiny_mlp_wide.yaml]
timing_only: true
axes:
  - key: clock_mhz
    values: [350, 700, 1400]
  - tie: [array.rows, array.cols]
    values: [8, 16]
SPEC
"$DRIVER" sweep "$TMP/spec.yaml" --out "$TMP/out" --jobs 2 --quiet --no-progress
"$PY" "$ROOT/scripts/sweep_plot.py" "$TMP/out" > "$TMP/list.txt"
for f in pareto_throughput_power.png pareto_perfw_area.png pareto_carbon_latency.png \
         sensitivity.png sensitivity.csv sensitivity_clock_mhz.png; do
  [ -s "$TMP/out/plots/$f" ] || { echo "FAIL: $f missing"; cat "$TMP/list.txt"; exit 1; }
done
# Seconds fall as the clock rises (elasticity < 0); area does not depend on the clock (0).
"$PY" - "$TMP/out/plots/sensitivity.csv" <<'PYEOF'
import csv, sys
rows = {r["metric"]: r for r in csv.DictReader(open(sys.argv[1]))}
assert "array.cols+array.rows" in rows["seconds"], rows["seconds"]
s = float(rows["seconds"]["clock_mhz"])
assert -1.0001 <= s < -0.1, s
assert abs(float(rows["area_mm2"]["clock_mhz"])) < 1e-9, rows["area_mm2"]
assert float(rows["area_mm2"]["array.cols+array.rows"]) > 0, rows["area_mm2"]
PYEOF
echo ok
