#!/usr/bin/env bash
# Real SCALE-Sim vs tpusim's SCALE-Sim-compatible cycles (sim/studies/scalesim/scalesim_compat.h), layer by layer,
# exactly, on the benchmark's small topologies and square and non-square arrays.
# Env: TPUSIM (the tpusim binary), TPUSIM_VENV (default build/venv). Exit 77: no scalesim.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
py="${TPUSIM_VENV:-$root/build/venv}/bin/python"
tool="${TPUSIM:?set TPUSIM}"
if [ ! -x "$py" ] || ! "$py" -c "import scalesim" 2>/dev/null; then
  echo "scalesim is not installed in ${py%/bin/python} (scripts/venv.sh): skipped"
  exit 77
fi
topo="$root/scripts/bench/topologies"
fail=0
while read -r file flag rows cols; do
  g=""; [ "$flag" = gemm ] && g="--gemm"
  ss="$("$py" "$root/scripts/bench/scalesim_run.py" --rows "$rows" --cols "$cols" --topology "$topo/$file" $g)"
  ours="$("$tool" scalesim-cycles --arch tiny-4 --rows "$rows" --cols "$cols" --topology "$topo/$file" --json $g)"
  if ! "$py" - "$ss" "$ours" "$file ${rows}x$cols" <<'PY'
import json, sys
ss, ours, what = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
a = [l["total_cycles"] for l in ss["layers"]]
b = [l["cycles"] for l in ours["layers"]]
bad = [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y]
ok = len(a) == len(b) and not bad and ss["stall_cycles"] == 0
print(f"{what}: {len(b)} layers, SCALE-Sim {sum(a)} cycles, compat {sum(b)}: {'equal' if ok else 'DIFFERENT'}")
for i, x, y in bad:
    print(f"  layer {i}: SCALE-Sim {x}, compat {y}")
sys.exit(0 if ok else 1)
PY
  then fail=1; fi
done <<'LIST'
conv_small.csv conv 8 8
conv_small.csv conv 16 16
conv_small.csv conv 8 16
gemm_small.csv gemm 16 16
gemm_small.csv gemm 4 32
LIST
exit $fail
