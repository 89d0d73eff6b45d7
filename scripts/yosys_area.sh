#!/usr/bin/env bash
# Synthesizes the RTL's pe and a small systolic_array with Yosys (generic cells) and prints cell
# counts, the input of the area model. Not part of the default test run.
#   usage: scripts/yosys_area.sh [N]      (N x N array, default 4)
#          scripts/yosys_area.sh --units [REV]
#            the controller, weight_fifo and activation_unit at 4 x 4 (256 accumulator rows,
#            1024 UB vectors), now and, with REV, at that git revision: what a change added
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

units() {  # rtl folder, label
  local dir="$1"
  for top in controller weight_fifo activation_unit; do
    local chp=""
    case "$top" in
      controller) chp="chparam -set ImemDepth 256 -set UbVectors 1024 -set AccEntries 256 controller;" ;;
      weight_fifo) chp="chparam -set Rows 4 -set Cols 4 -set FifoTiles 4 weight_fifo;" ;;
      activation_unit) chp="chparam -set Cols 4 -set VecBytes 4 -set AccEntries 256 -set UbVectors 1024 activation_unit;" ;;
    esac
    local cells
    cells=$(cd "$dir" && yosys -q -p "read_verilog -sv -DSYNTHESIS $top.v; $chp
             synth -flatten -top $top; tee -o /dev/stdout stat" |
            sed -n 's/^ *Number of cells: *\([0-9]*\).*/\1/p' | tail -1)
    echo "| $2 | $top | $cells |"
  done
}

if [ "${1:-}" = "--units" ]; then
  echo "| rtl | module | generic cells |"
  echo "|---|---|---|"
  units "$RTL" "$(git -C "$ROOT" rev-parse --short HEAD)"
  if [ -n "${2:-}" ]; then
    old=$(mktemp -d)
    trap 'rm -rf "$old"' EXIT
    git -C "$ROOT" archive "$2" rtl | tar -x -C "$old"
    units "$old/rtl" "$2"
  fi
  exit 0
fi

run pe
run systolic_array "Rows $N" "Cols $N"
