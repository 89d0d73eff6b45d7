#!/usr/bin/env bash
# Synthesis checks of the RTL with Yosys (generic cells; Debian's yosys).
#   scripts/yosys_area.sh [--check] [--out FILE] [N ...]
#       the whole tpu_top at N x N (default 4): cells, inferred memories and the longest logic
#       path per module, the flattened chip's longest path, latches and combinational loops
#       (scripts/yosys_chip.py). --check exits 1 on a latch, a loop or a path deeper than 1.5x
#       the PE's (the CTest `rtl: yosys synthesizes tpu_top 4x4` runs it); --out writes the
#       report (results/rtl/synthesis.md is `--out results/rtl/synthesis.md 8 16`).
#   scripts/yosys_area.sh --pe [N]
#       cell counts of a 2 x 2 and an N x N systolic_array (default 4): the PE's share is their
#       difference over N x N - 4 PEs, the area cross-check
#   scripts/yosys_area.sh --units [REV]
#       the controller, weight_fifo and activation_unit at 4 x 4 (256 accumulator rows,
#       1024 UB vectors), now and, with REV, at that git revision: what a change added
#   needs: yosys (apt-get install yosys; scripts/install_test_tools.sh installs it)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RTL="$ROOT/rtl"
command -v yosys >/dev/null || { echo "yosys not found (apt-get install yosys)" >&2; exit 2; }

run() {  # top, parameters..., then the stat
  local top="$1"; shift
  local chp=""
  for p in "$@"; do chp="$chp -set $p"; done
  [ -n "$chp" ] && chp="chparam $chp $top;"
  echo "== $top $*"
  yosys -q -p "read_verilog -sv -DSYNTHESIS $RTL/systolic_array.v;
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
    local extra=""  # the activation ROMs and the memory primitive live in their own files since issue 25
    if [ "$top" = activation_unit ] && [ -f "$dir/act_lut.v" ]; then extra=act_lut.v; fi
    if [ -f "$dir/prim/prim_ram_1r1w.v" ]; then extra="$extra prim/prim_ram_1r1w.v"; fi
    cells=$(cd "$dir" && yosys -q -p "read_verilog -sv -DSYNTHESIS $top.v $extra; $chp
             synth -flatten -top $top; tee -o /dev/stdout stat" |
            sed -n 's/^ *Number of cells: *\([0-9]*\).*/\1/p' | tail -1)
    echo "| $2 | $top | $cells |"
  done
}

if [ "${1:-}" != "--units" ] && [ "${1:-}" != "--pe" ]; then
  exec python3 "$ROOT/scripts/yosys_chip.py" "$@"
fi

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

N="${2:-4}"
run systolic_array "Rows 2" "Cols 2"
run systolic_array "Rows $N" "Cols $N"
