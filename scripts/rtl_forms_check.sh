#!/usr/bin/env bash
# rtl/systolic_array.v describes the shadow-weight decode twice: per lane for simulation (fast in
# Verilator) and per PE for synthesis (-DSYNTHESIS: one row comparator per PE and shift port, what
# yosys maps quickly). This check verilates both forms at several sizes and bus segmentings,
# drives each with the same random inputs (rtl/tb/systolic_forms_tb.cpp: every weight bus random
# in every cycle) and requires the same outputs in every cycle (a hash of them). One shift port:
# two ports writing one PE in one cycle is an input the RTL rejects.
#   scripts/rtl_forms_check.sh [CYCLES]      (default 20000; CTest `rtl: synthesis form ...`)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cycles="${1:-20000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0
for cfg in "4 1" "6 4" "8 2" "12 5" "16 4"; do
  set -- $cfg
  n=$1
  k=$2
  rb=$(python3 -c "import math; print(max(1, math.ceil(math.log2($n))))")
  for form in sim synth; do
    def=""
    [ "$form" = synth ] && def="-DSYNTHESIS"
    verilator $def --cc --exe --build -j 1 "$ROOT/rtl/systolic_array.v" "$ROOT/rtl/tb/systolic_forms_tb.cpp" \
      --top-module systolic_array -GRows=$n -GCols=$n -GBusRows=$k -GShiftPorts=1 \
      --x-assign fast --x-initial fast -Wno-fatal -Wno-lint --Mdir "$work/$form$n" -o V \
      -CFLAGS "-DROWS=$n -DCOLS=$n -DRB=$rb" -OPT_FAST -O1 >"$work/$form$n.log" 2>&1 ||
      { tail -20 "$work/$form$n.log"; exit 2; }
    "$work/$form$n/V" "$cycles" >"$work/$form$n.out"
  done
  if cmp -s "$work/sim$n.out" "$work/synth$n.out"; then
    echo "${n}x$n BusRows $k: equal ($(cut -d' ' -f2- "$work/sim$n.out"))"
  else
    echo "${n}x$n BusRows $k: DIFFER: simulation $(cat "$work/sim$n.out"), synthesis $(cat "$work/synth$n.out")"
    fail=1
  fi
done
exit $fail
