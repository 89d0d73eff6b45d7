#!/usr/bin/env bash
# Determinism (issue 12): the same run twice gives byte-identical JSON, for workloads on every
# engine built (fast, functional, cycle with TPUSIM_CYCLE; rtl where the arch has a verilated
# model) and for serve and app.
# Sweeps with different --jobs: tests/sweep (sweep:jobs-independent results).
source "$(dirname "$0")/lib.sh"
WL=$ROOT/tests/studies/sweep/tiny_mlp.yaml
twice() {  # twice NAME -- tpusim args... (the JSON file is appended as --json FILE)
  local name=$1; shift 2
  expect0 "$name:first" -- "$T" "$@" --json "$tmp/$name.1.json" --quiet
  expect0 "$name:second" -- "$T" "$@" --json "$tmp/$name.2.json" --quiet
  if cmp -s "$tmp/$name.1.json" "$tmp/$name.2.json"; then ok; else bad "$name: the two reports differ"; fi
}
# The engines this binary was built with (`run --help` lists them: TPUSIM_CYCLE, TPUSIM_RTL).
modes=$("$T" run --help | sed -n 's/.*--mode TEXT:{\(.*\)}.*/\1/p' | tr ',' ' ')
for mode in $modes; do
  [ "$mode" = rtl ] && continue  # below: only where the arch has a verilated model
  twice "run-$mode" -- run --arch tiny-8 --workload "$WL" --mode $mode
done
twice run-fast-timing-only -- run --arch small-16 --workload mlp0 --timing-only
if [[ " $modes " == *" cycle "* ]]; then
  twice run-cycle-timing-only -- run --arch tiny-8 --workload "$WL" --mode cycle --timing-only
  twice run-program-cycle -- run --arch tiny-4 --program "$ROOT/workloads/examples/mlp2.s" --mode cycle
fi
if "$T" run --arch tiny-8 --workload "$WL" --mode rtl --quiet >/dev/null 2>&1; then
  twice run-rtl -- run --arch tiny-8 --workload "$WL" --mode rtl
fi
twice serve -- serve --arch tpu-llm --model opt-13b --trace orca --requests 20
twice app -- app video-search --rate 2 --requests 200 --seed 3
finish
