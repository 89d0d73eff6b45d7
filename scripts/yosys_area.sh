#!/usr/bin/env bash
# Synthesizes the RTL's pe and a small systolic_array with Yosys (generic cells) and prints cell
# counts, the input of the area model. Not part of the default test run.
#   usage: scripts/yosys_area.sh [N]      (N x N array, default 4)
#   needs: yosys (apt-get install yosys)
set -euo pipefail
N="${1:-4}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RTL="$ROOT/rtl"
command -v yosys >/dev/null || { echo "yosys not found (apt-get install yosys)" >&2; exit 2; }

run() {  # top, parameters..., then the stat
  local top="$1"; shift
  local chp=""
  for p in "$@"; do chp="$chp -set $p"; done
  [ -n "$chp" ] && chp="chparam $chp $top;"
  echo "== $top $*"
  yosys -q -p "read_verilog -sv -DSYNTHESIS $RTL/pe.v $RTL/systolic_array.v;
               $chp synth -flatten -top $top; tee -o /dev/stdout stat" \
    | sed -n '/Number of cells/,/^$/p'
}

run pe
run systolic_array "Rows $N" "Cols $N"
