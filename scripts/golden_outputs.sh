#!/usr/bin/env bash
# Runs a fixed set of `tpusim` commands (every subcommand, every engine, the library's workloads
# through `lower --stats`) and keeps what each printed and wrote, one file per command, in OUT.
# Two trees' binaries run through it and compared with `diff -r` show whether a change kept
# behaviour byte for byte (the refactoring check of issue 18; a machine change shows what moved).
#   scripts/golden_outputs.sh OUT                 (TPUSIM=path/to/tpusim, default build/sim/tpusim)
#   diff -r OUT_BEFORE OUT_AFTER
# Workload and preset files are read from this checkout (TPUSIM_HOME), so two binaries built from
# different trees read the same data and report the same paths. About 3 minutes on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TPUSIM=${TPUSIM:-$ROOT/build/sim/tpusim}
OUT=${1:?usage: golden_outputs.sh OUT}
export TPUSIM_HOME=$ROOT
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$OUT"

# run NAME CMD...: stdout, stderr and the exit code of one command (paths of OUT made relative).
run() {
  local name=$1
  shift
  local rc=0
  "$TPUSIM" "$@" >"$name.out" 2>"$name.err" || rc=$?
  echo "$rc" >"$name.rc"
  # Paths under OUT made relative; wall times (serve's console lines) are not outputs.
  sed -i -E "s|$OUT/||g; s|\(([0-9.]+) s wall\)|(wall)|" "$name.out" "$name.err"
}

run list-archs list archs --json
run list-workloads list workloads --json

for app in mlp0 mlp1 lstm0 lstm1 cnn0; do
  run "run-$app" run --arch tpu-v1 --workload "$app" --json "run-$app.json" --csv "run-$app.csv" \
    --trace "run-$app.trace.json" --qps 1000 --years 3
done
run run-cnn1 run --arch tpu-v1 --workload cnn1 --timing-only --json run-cnn1.json --csv run-cnn1.csv
run run-resnet50 run --arch tpu-v1 --workload resnet50 --timing-only --json run-resnet50.json
run run-bert-base run --arch tpu-v1 --workload bert-base --timing-only --json run-bert-base.json
run run-gpt3-decode run --arch tpu-v1 --workload gpt3-175b --phase decode --context-len 2048 \
  --timing-only --json run-gpt3-decode.json
run run-opt13b-prefill run --arch tpu-llm --workload opt-13b --phase prefill --prompt-len 128 \
  --timing-only --json run-opt13b-prefill.json
cat >small-mlp.yaml <<'EOF'
name: small-mlp
paper: "scripts/golden_outputs.sh"
batch: 21
input: {features: 13}
layers:
  - {type: fc, name: fc1, out: 19, act: relu}
  - {type: fc, name: fc2, out: 7, act: sigmoid}
EOF
for mode in fast cycle rtl functional; do
  run "run-small-mlp-$mode" run --arch tiny-8 --workload small-mlp.yaml --mode "$mode" \
    --json "run-small-mlp-$mode.json" --csv "run-small-mlp-$mode.csv"
done
run run-mlp2-rtl run --arch tiny-8 --program "$ROOT/workloads/examples/mlp2.s" --mode rtl \
  --json run-mlp2-rtl.json
run run-mlp2-cycle run --arch tiny-8 --program "$ROOT/workloads/examples/mlp2.s" --mode cycle \
  --json run-mlp2-cycle.json --trace run-mlp2-cycle.trace.json
run run-mlp2-functional run --arch tiny-8 --program "$ROOT/workloads/examples/mlp2.s" \
  --mode functional --json run-mlp2-functional.json
run run-gpt3-tp-pp run --arch tpu-v1 --workload gpt3-175b --phase decode --timing-only --tp 2 \
  --pp 11 --json run-gpt3-tp-pp.json
run run-grid-dvfs run --arch tpu-v1 --workload mlp0 --timing-only --grid france --json run-grid.json

run lower-mlp0 lower --arch tpu-v1 --workload mlp0
run lower-cnn0-small lower --arch small-16 --workload cnn0 --timing-only
for wl in $("$TPUSIM" list workloads --json | python3 -c 'import json,sys; print(" ".join(w["name"] for w in json.load(sys.stdin)))'); do
  run "lower-stats-$wl" lower --arch small-16 --workload "$wl" --stats
  run "lower-stats-v1-$wl" lower --arch tpu-v1 --workload "$wl" --stats
done

for app in mlp0 cnn1; do
  run "compare-$app" compare --arch tpu-v1 --workload "$app" --json "compare-$app.json"
done
run compare-opt13b-chips compare --arch tpu-v1 --workload opt-13b --phase decode --chips 4
run compare-shapes compare --arch tpu-v1 --workload mlp0 --emit-gpu-shapes compare-shapes.csv

for s in static continuous paged disaggregated; do
  run "serve-$s" serve --arch tpu-llm --model opt-13b --trace orca --requests 150 --rate 2 --seed 3 \
    --scheduler "$s" --json "serve-$s.json" --requests-csv "serve-$s.csv"
done
run serve-tp serve --arch tpu-llm --model opt-13b --trace orca --requests 100 --rate 2 --tp 2 \
  --json serve-tp.json
run serve-lora serve --arch tpu-llm --model llama-7b --trace slora --requests 100 --rate 2 --lora \
  --json serve-lora.json

# The tests' small sweep, copied here so that its paths are the same whichever tree runs.
spec_dir=$(dirname "$(find "$ROOT/tests" -name tiny_mlp_wide.yaml | head -1)")
mkdir -p sweep-spec
cp "$spec_dir/small.yaml" "$spec_dir/tiny_mlp.yaml" "$spec_dir/tiny_mlp_wide.yaml" sweep-spec/
run sweep sweep sweep-spec/small.yaml --out sweep --jobs 2 --no-progress
run plan plan --arch tpu-v1 --workload opt-66b --phase decode --slo-latency 0.2 --json plan.json
run scalesim-cycles scalesim-cycles --arch tpu-v1 --workload resnet50 --tpu-style
run cosim cosim --sizes 4,8 --programs 12 --seed 7
run import-scalesim import-scalesim "$ROOT/scripts/bench/topologies/conv_small.csv"
run asm asm "$ROOT/workloads/examples/mlp2.s" -o mlp2.bin
run disasm disasm mlp2.bin
run bad-arch run --arch no-such-arch --workload mlp0
run bad-flag run --arch tpu-v1 --workload mlp0 --batch 0
echo "golden outputs: $(ls | wc -l) files in $OUT"
