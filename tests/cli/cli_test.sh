#!/usr/bin/env bash
# End-to-end CLI checks: exit codes (0 ok, 2 bad input), one-line errors naming the problem,
# reports written atomically and never over an existing file without --force.
set -u
T=${TPUSIM:?set TPUSIM to the tpusim binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
expect() {  # expect NAME RC PATTERN -- command...
  local name=$1 rc=$2 pat=$3; shift 4
  local out got
  out=$("$@" 2>&1); got=$?
  if [ "$got" -eq "$rc" ] && grep -qE -- "$pat" <<<"$out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL: $name (rc $got, want $rc; pattern '$pat')"; echo "$out" | head -5
  fi
}
P=$ROOT/workloads/examples/mlp2.s
expect version 0 'tpusim [0-9]' -- "$T" --version
expect help 0 'run' -- "$T" --help
expect run-help 0 '--arch' -- "$T" run --help
expect list-archs 0 'tpu-v1-gddr5' -- "$T" list archs
expect list-archs-json 0 '"name": "tiny-4"' -- "$T" list archs --json
expect run-functional 0 'output checksum' -- "$T" run --arch tiny-8 --program "$P" --mode functional --json "$tmp/r.json"
expect report-fields 0 '"mode": "functional"' -- cat "$tmp/r.json"
expect no-overwrite 2 'file exists' -- "$T" run --arch tiny-8 --program "$P" --mode functional --json "$tmp/r.json"
expect force 0 'report' -- "$T" run --arch tiny-8 --program "$P" --mode functional --json "$tmp/r.json" --force
expect out-dir 0 'report.json' -- "$T" run --arch tiny-8 --program "$P" --mode functional --out "$tmp/o"
expect unknown-arch 2 "unknown arch 'nope'" -- "$T" run --arch nope --program "$P" --mode functional
echo "bogus: [" > "$tmp/bad.yaml"
expect bad-yaml 2 'bad.yaml:.*YAML syntax' -- "$T" run --arch "$tmp/bad.yaml" --program "$P" --mode functional
printf 'nop\nfrobnicate\n' > "$tmp/bad.s"
expect bad-asm 2 "bad.s:2: unknown instruction 'frobnicate'" -- "$T" run --arch tiny-4 --program "$tmp/bad.s" --mode functional
expect missing-program 2 'cannot open' -- "$T" run --arch tiny-4 --program "$tmp/none.s" --mode functional
expect bad-flag 2 '' -- "$T" run --arch tiny-4 --program "$P" --bogus
expect bad-mode 2 '' -- "$T" run --arch tiny-4 --program "$P" --mode warp
expect asm 0 '' -- "$T" asm "$P" -o "$tmp/p.bin"
expect disasm 0 'mmc ub=0 acc=0 b=16 switch' -- "$T" disasm "$tmp/p.bin"
head -c 17 "$tmp/p.bin" > "$tmp/short.bin"
expect disasm-bad 2 'not a multiple' -- "$T" disasm "$tmp/short.bin"
# Same run twice: byte-identical reports.
"$T" run --arch small-16 --program "$P" --mode functional --json "$tmp/a.json" --quiet
"$T" run --arch small-16 --program "$P" --mode functional --json "$tmp/b.json" --quiet
expect deterministic 0 '' -- cmp "$tmp/a.json" "$tmp/b.json"
# Multi-chip flags on compare, serve and sweep (issue 13): 1 x 1 is the single-chip output byte
# for byte, a split that is not tp x pp exits 2 naming the flags.
"$T" compare --arch tpu-v1 --workload mlp0 --baselines haswell --json "$tmp/c1.json" > "$tmp/c1.txt"
"$T" compare --arch tpu-v1 --workload mlp0 --baselines haswell --tp 1 --pp 1 --json "$tmp/c2.json" > "$tmp/c2.txt"
expect compare-tp1-json 0 '' -- cmp "$tmp/c1.json" "$tmp/c2.json"
expect compare-tp1-text 0 '' -- cmp "$tmp/c1.txt" "$tmp/c2.txt"
expect compare-chips 0 'accelerator: 4 chips of tpu-v1 = tp 4 x pp 1' -- "$T" compare --arch tpu-v1 --workload opt-13b --phase decode --baselines haswell --chips 4
expect compare-chips-bad 2 '--chips 6 --tp 4: chips 6 is not a multiple of tp 4' -- "$T" compare --arch tpu-v1 --workload mlp0 --chips 6 --tp 4
expect compare-tp-heads 2 "tp 3: attention layer" -- "$T" compare --arch tpu-v1 --workload opt-13b --phase decode --tp 3
# compare under a response-time limit (issue 23): a table per device; a device that cannot meet the
# limit at batch 1 is listed with the reason; bad limits are exit 2 naming the flag.
expect compare-slo 0 'tpu-v1 +accelerator +[0-9]+' -- "$T" compare --arch tpu-v1 --workload mlp0 --baselines haswell --slo-ms 7 --max-batch 64
expect compare-slo-unmet 0 'haswell +roofline +cannot meet 0.01 ms at batch 1' -- "$T" compare --arch tpu-v1 --workload mlp0 --baselines haswell --slo-ms 0.01 --max-batch 8
expect compare-slo-zero 2 '--slo-ms: Value 0 not in range' -- "$T" compare --arch tpu-v1 --workload mlp0 --slo-ms 0
expect compare-slo-pct 2 '--percentile: Value 100 not in range' -- "$T" compare --arch tpu-v1 --workload mlp0 --slo-ms 7 --percentile 100
expect compare-slo-needs 2 '--percentile requires --slo-ms' -- "$T" compare --arch tpu-v1 --workload mlp0 --percentile 90
expect compare-slo-chips 2 '--slo-ms: not combined with --chips' -- "$T" compare --arch tpu-v1 --workload mlp0 --slo-ms 7 --chips 2
"$T" serve --requests 20 --rate 2 --json "$tmp/s1.json" --quiet
"$T" serve --requests 20 --rate 2 --tp 1 --json "$tmp/s2.json" --quiet
expect serve-tp1 0 '' -- cmp "$tmp/s1.json" "$tmp/s2.json"
expect serve-tp2 0 'on tpu-llm x2 \(tp 2 pp 1\)' -- "$T" serve --requests 20 --rate 2 --tp 2
expect serve-chips-bad 2 '--chips 6 --tp 4: chips 6 is not a multiple of tp 4' -- "$T" serve --requests 20 --chips 6 --tp 4
# vLLM options (issue 22): each bad value exits 2 naming the option and what was expected.
expect serve-kv-dtype-bad 2 '--kv-dtype: .*bf8' -- "$T" serve --requests 20 --kv-dtype bf8
expect serve-preemption-bad 2 '--preemption: .*drop' -- "$T" serve --requests 20 --preemption drop
expect serve-swap-bad 2 '--swap-space-gib: .*' -- "$T" serve --requests 20 --swap-space-gib -1
expect serve-gather-bad 2 '--paged-attention-overhead: .*' -- "$T" serve --requests 20 --paged-attention-overhead 11
expect serve-samples-bad 2 '--samples: .*' -- "$T" serve --requests 20 --samples 0
expect serve-beam-bad 2 '--beam-width: .*' -- "$T" serve --requests 20 --beam-width 65
expect serve-both-bad 2 'samples and beam_width' -- "$T" serve --requests 20 --samples 2 --beam-width 2
expect serve-width-batch-bad 2 'at most max_batch 2' -- "$T" serve --requests 20 --samples 4 --max-batch 2
expect serve-prefix-bad 2 'shared_prefix 2000: allowed 0..1024' -- "$T" serve --requests 20 --shared-prefix 2000
expect serve-device-bad 2 'nope' -- "$T" serve --requests 20 --device nope
expect serve-device-dtype-bad 2 '--device-dtype: .*fp64' -- "$T" serve --requests 20 --device a100 --device-dtype fp64
expect serve-device 0 'on a100-40gb \(roofline, fp16\)' -- "$T" serve --requests 20 --rate 2 --scheduler paged --device a100-40gb --device-dtype fp16
expect serve-beam 0 'paged on tpu-llm' -- "$T" serve --requests 20 --rate 2 --scheduler paged --trace alpaca --beam-width 4 --kv-dtype fp16 --causal-prefill --preemption auto
expect serve-lora-sched-bad 2 'lora: needs scheduler paged' -- "$T" serve --requests 20 --lora
expect serve-lora-packed-bad 2 'lora_packed: needs lora' -- "$T" serve --requests 20 --scheduler paged --lora-packed
expect serve-packed-oom 2 'out of memory' -- "$T" serve --requests 200 --rate 10 --scheduler paged --model lora-s2 --trace slora --lora --lora-adapters 8 --lora-packed
expect serve-chunked 0 'paged on tpu-llm' -- "$T" serve --requests 20 --rate 2 --scheduler paged --chunked-prefill 256
# DistServe's placement search and Orca's pipelining (issue 22).
expect serve-search-slo 2 'serve --search: give --slo-ttft' -- "$T" serve --requests 20 --search
expect serve-search-tp 2 '--search: instance shapes come from --search-tp' -- "$T" serve --requests 20 --search --slo-ttft 1 --tp 2
expect serve-search 0 'best_disaggregated: .* x prefill tp1 pp1' -- "$T" serve --requests 40 --search --slo-ttft 0.25 --slo-tpot 0.1 --device a100 --device-dtype fp16 --chip-budget 3 --search-tp 1 --search-pp 1 --search-bisections 2
expect serve-pipeline 0 'continuous on a100' -- "$T" serve --requests 20 --rate 2 --device a100 --device-dtype fp16 --tp 2 --pp 2 --pipeline
expect sweep-chips-bad 2 '--chips 6 --tp 4: chips 6 is not a multiple of tp 4' -- "$T" sweep "$ROOT/tests/studies/sweep/small.yaml" --out "$tmp/sw" --chips 6 --tp 4
# Applications (issue 24): a run, its report files, and bad files naming the file and the key.
expect app-run 0 'bottleneck image_tower' -- "$T" app video-search --rate 1 --requests 20 --out "$tmp/app"
expect app-report 0 '"bottleneck": "image_tower"' -- cat "$tmp/app/report.json"
expect app-table 0 '\| image_tower \| model \|' -- cat "$tmp/app/stages.md"
expect app-no-overwrite 2 'file exists' -- "$T" app video-search --rate 1 --requests 20 --out "$tmp/app" --quiet
printf 'name: c\nstages:\n  - {name: a, kind: host, cost_us: 1, after: b}\n  - {name: b, kind: host, cost_us: 1, after: a}\n' > "$tmp/cycle.yaml"
expect app-cycle 2 "cycle.yaml: key 'stages\[0\].after': stage 'a' lies on a cycle" -- "$T" app "$tmp/cycle.yaml"
printf 'name: k\nstages:\n  - {name: a, kind: fpga, cost_us: 1}\n' > "$tmp/kind.yaml"
expect app-kind 2 "kind.yaml: key 'stages\[0\].kind'" -- "$T" app "$tmp/kind.yaml"
printf 'name: w\nstages:\n  - {name: a, kind: model, workload: gpt-17, arch: tpu-v1}\n' > "$tmp/wl.yaml"
expect app-workload 2 "wl.yaml: key 'stages\[0\].workload': unknown workload 'gpt-17'" -- "$T" app "$tmp/wl.yaml"
expect app-missing 2 "unknown application 'no-such-app'" -- "$T" app no-such-app
expect app-rate 2 '--rate' -- "$T" app video-search --rate 0
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
