#!/usr/bin/env bash
# Reproduces the serving papers' qualitative results on the simulated chip (issue 10) for opt-13b
# on tpu-llm, into results/serve/: per-scheduler rate sweeps (CSV + JSON), one 2,000-request
# report per scheduler with its wall time, and the plots + summary of scripts/serve_plot.py.
#   scripts/serve_study.sh [OUT_DIR]          (default results/serve)
# Env: TPUSIM = the tpusim binary (default build/sim/tpusim), PYTHON = python with matplotlib
# (default build/venv/bin/python), ARCH = the chip (default tpu-llm), RATE_SCALE = factor on
# every swept and fixed request rate (default 1; issue 21's tpu-llm decodes ~3x faster than
# tpu-llm-1x256, the preset before it, so its study runs at RATE_SCALE=3), PARTS = "all" (default),
# "vllm" (only section 5, the vLLM study, whose rates are absolute: RATE_SCALE does not apply) or
# "distserve" (only section 6, the DistServe placement study, into results/serve/distserve/) or
# "orca" (only section 7, Orca's GPT-3 175B study, into results/serve/orca/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/results/serve}"
mkdir -p "$out"

bin="${TPUSIM:-$root/build/sim/tpusim}"
[ -x "$bin" ] || { echo "serve_study: no tpusim at $bin (scripts/build.sh)" >&2; exit 2; }
echo "serve_study: using $bin"
arch="${ARCH:-tpu-llm}"
scale="${RATE_SCALE:-1}"
common=(--arch "$arch" --model opt-13b --seed 1 --force --quiet)
parts="${PARTS:-all}"
py="${PYTHON:-$root/build/venv/bin/python}"
[ -x "$py" ] || py=python3
step() { echo "serve_study: $* ($(date +%H:%M:%S))"; }

if [ "$parts" = all ]; then
# rates "a,b,c" times the scale
sc() { echo "$1" | tr ',' '\n' | awk -v s="$scale" '{printf "%s%g", (NR > 1 ? "," : ""), $1 * s}'; }

step "1/5 Orca: static vs continuous"
# 1. Orca: static vs continuous batching, latency vs throughput (Orca trace, 2,000 requests).
#    SLOs scaled to this chip (a decode step has a ~0.1 s weight-shift floor): TTFT 5 s, TPOT 0.5 s.
orca_rates=$(sc 0.25,0.5,0.75,1,1.25,1.5,1.75,2,2.5)
for s in static continuous; do
  "$bin" serve "${common[@]}" --trace orca --requests 2000 --scheduler $s --sweep-rates $orca_rates \
    --slo-ttft 5 --slo-tpot 0.5 --csv "$out/orca_$s.csv" --json "$out/orca_$s.json"
done

step "2/5 paged vs contiguous K/V (int8, tpusim's capacity)"
# 2. vLLM: paged vs contiguous K/V (ShareGPT-like, 1,000 requests), contiguous reserving
#    max_context (max), the next power of two (pow2) or the exact length (oracle).
sg_rates=$(sc 0.2,0.3,0.4,0.5,0.6,0.7,0.8,1,1.2)
"$bin" serve "${common[@]}" --trace sharegpt --requests 1000 --scheduler paged --sweep-rates $sg_rates \
  --slo-ttft 5 --slo-tpot 0.5 --csv "$out/sharegpt_paged.csv" --json "$out/sharegpt_paged.json"
for r in max pow2 oracle; do
  "$bin" serve "${common[@]}" --trace sharegpt --requests 1000 --scheduler continuous --reserve $r \
    --sweep-rates $sg_rates --slo-ttft 5 --slo-tpot 0.5 --csv "$out/sharegpt_contiguous_$r.csv" \
    --json "$out/sharegpt_contiguous_$r.json"
done

step "3/5 DistServe: disaggregated vs colocated"
# 3. DistServe: disaggregated vs colocated (paged) on the prefill-heavy LongBench-like trace
#    (1,000 requests), SLOs TTFT 5 s / TPOT 0.4 s (DistServe's summarization pair 15 s / 0.15 s,
#    rescaled to this chip), goodput = largest rate with >= 90 % attainment.
lb_rates=$(sc 0.1,0.2,0.3,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.8,0.9,1)
for s in paged disaggregated; do
  "$bin" serve "${common[@]}" --trace longbench --requests 1000 --scheduler $s --sweep-rates $lb_rates \
    --slo-ttft 5 --slo-tpot 0.4 --slo-target 0.9 --csv "$out/longbench_$s.csv" --json "$out/longbench_$s.json"
done

step "4/5 run time"
# 4. Run time: every scheduler on a 2,000-request opt-13b trace in a fresh process (cost-model
#    engine runs included), plus one 10,000-request run.
echo "scheduler,trace,requests,rate_per_s,wall_s" > "$out/runtime.csv"
for s in static continuous paged disaggregated; do
  t0=$(date +%s.%N)
  "$bin" serve "${common[@]}" --trace orca --requests 2000 --rate "$(sc 1)" --scheduler $s \
    --slo-ttft 5 --slo-tpot 0.5 --json "$out/run_orca2000_$s.json"
  t1=$(date +%s.%N)
  echo "$s,orca,2000,$(sc 1),$(echo "$t1 - $t0" | bc)" >> "$out/runtime.csv"
done
t0=$(date +%s.%N)
"$bin" serve "${common[@]}" --trace sharegpt --requests 10000 --rate "$(sc 0.5)" --scheduler paged --json "$out/run_sharegpt10000_paged.json"
t1=$(date +%s.%N)
echo "paged,sharegpt,10000,$(sc 0.5),$(echo "$t1 - $t0" | bc)" >> "$out/runtime.csv"
"$bin" serve "${common[@]}" --trace slora --requests 2000 --rate "$(sc 0.5)" --scheduler paged --lora \
  --json "$out/run_slora2000_paged_lora.json"

"$py" "$root/scripts/serve_plot.py" "$out"
fi

# 5. vLLM in its own setting (issue 22; Kwon et al., SOSP 2023, Sections 6.1-6.3): OPT-13B with
#    fp16 K/V, causal prefill, and the K/V slots of one A100-40GB (Table 1: 12 GB of K/V,
#    15.7K slots). vLLM (paged, block 16, vLLM's default preemption and 4 GiB swap,
#    PagedAttention gather +20 %, Section 7.1) against Orca (Oracle), (Pow2), (Max) with
#    contiguous first-fit reservations; max 256 sequences and 2560 batched tokens per iteration
#    (vLLM's defaults) for all. ShareGPT-like 1,000 requests, Alpaca-like 2,000; then Fig. 15's
#    sharing on Alpaca: 2, 4, 6 parallel samples and beams at 10 req/s; vLLM without the gather
#    overhead as an ablation. Twice: iterations priced on tpu-llm (the fast engine; 32 GiB, the
#    tpusim preset closest in memory to the A100) into vllm/, and by the A100-40GB's roofline
#    (`--device a100-40gb --device-dtype fp16`, workloads/devices/a100-40gb.yaml) into vllm/a100-40gb/.
vllm_study() {  # DIR "PRICING ARGS" SHAREGPT_RATES ALPACA_RATES WHAT TAG PREFIX_RATES WIDTH_RATES
  local vdir=$1 what=$5 tag=$6 prates=$7 wrates=$8
  local -a price
  read -r -a price <<<"$2"
  declare -A vrates=([sharegpt]=$3 [alpaca]=$4)
  declare -A vreqs=([sharegpt]=1000 [alpaca]=2000)
  mkdir -p "$vdir"
  local vcommon=(--model opt-13b --seed 1 --force --quiet --kv-dtype fp16 --causal-prefill
    --kv-capacity-tokens 15700 --max-batch 256 --max-batch-tokens 2560 "${price[@]}")
  local vbase=(--scheduler paged --block-size 16 --preemption auto --swap-space-gib 4)
  local vpaged=("${vbase[@]}" --paged-attention-overhead 0.2)
  for t in sharegpt alpaca; do
    echo "  $tag, $t: vllm"
    "$bin" serve "${vcommon[@]}" "${vpaged[@]}" --trace $t --requests ${vreqs[$t]} \
      --sweep-rates ${vrates[$t]} --csv "$vdir/${t}_vllm.csv" --json "$vdir/${t}_vllm.json"
    echo "  $tag, $t: vllm without the gather overhead (ablation)"
    "$bin" serve "${vcommon[@]}" "${vbase[@]}" --paged-attention-overhead 0 --trace $t \
      --requests ${vreqs[$t]} --sweep-rates ${vrates[$t]} --csv "$vdir/${t}_vllm-nogather.csv"
    for r in oracle pow2 max; do
      echo "  $tag, $t: orca-$r"
      "$bin" serve "${vcommon[@]}" --scheduler continuous --reserve $r --trace $t --requests ${vreqs[$t]} \
        --sweep-rates ${vrates[$t]} --csv "$vdir/${t}_orca-$r.csv" --json "$vdir/${t}_orca-$r.json"
    done
  done
  for w in 2 4 6; do
    echo "  $tag, alpaca: $w samples, beam width $w"
    "$bin" serve "${vcommon[@]}" "${vpaged[@]}" --trace alpaca --requests 1000 --rate 10 --samples $w \
      --csv "$vdir/alpaca_samples$w.csv" --json "$vdir/alpaca_samples$w.json"
    "$bin" serve "${vcommon[@]}" "${vpaged[@]}" --trace alpaca --requests 1000 --rate 10 --beam-width $w \
      --csv "$vdir/alpaca_beam$w.csv" --json "$vdir/alpaca_beam$w.json"
  done
  # Fig. 14: parallel sampling and beam search of widths 2, 4, 6 on Alpaca, vLLM vs Orca (Oracle),
  # which reserves a region per sequence (no sharing).
  for kind in samples beam-width; do
    for w in 2 4 6; do
      local f="alpaca_${kind%-width}$w"
      echo "  $tag, alpaca, --$kind $w: vllm, orca-oracle"
      "$bin" serve "${vcommon[@]}" "${vpaged[@]}" --trace alpaca --requests 1000 --$kind $w \
        --sweep-rates $wrates --csv "$vdir/${f}_sweep_vllm.csv"
      "$bin" serve "${vcommon[@]}" --scheduler continuous --reserve oracle --trace alpaca \
        --requests 1000 --$kind $w --sweep-rates $wrates --csv "$vdir/${f}_sweep_orca-oracle.csv"
    done
  done
  # Fig. 16: a prefix every prompt shares (one-shot 80 tokens, five-shot 341) on LLaMA-13B; the
  # WMT16 translation lengths are not shipped, Alpaca-like lengths stand in for them.
  for p in 80 341; do
    echo "  $tag, shared prefix $p: vllm, orca-oracle"
    local pcommon=("${vcommon[@]/opt-13b/llama-13b}" --trace alpaca --requests 2000 --shared-prefix $p
      --sweep-rates $prates)
    "$bin" serve "${pcommon[@]}" "${vpaged[@]}" --csv "$vdir/prefix${p}_vllm.csv"
    "$bin" serve "${pcommon[@]}" --scheduler continuous --reserve oracle --csv "$vdir/prefix${p}_orca-oracle.csv"
  done
  cat > "$vdir/setting.md" <<SETTING
Setting: \`tpusim serve ${vcommon[*]}\`; vLLM adds \`${vpaged[*]}\`; the Orca baselines are
\`--scheduler continuous --reserve oracle|pow2|max\`. Iterations priced on $what; the K/V slots
are the A100-40GB's of vLLM's Table 1 (15.7K at fp16). Rates in req/s; ShareGPT-like
${vreqs[sharegpt]} requests, Alpaca-like ${vreqs[alpaca]}. Shared prefix (Fig. 16): the same with
\`--model llama-13b --trace alpaca --requests 2000 --shared-prefix 80|341\`.
SETTING
  "$py" "$root/scripts/vllm_plot.py" "$vdir"
}
if [ "$parts" = all ] || [ "$parts" = vllm ]; then
step "5/5 vLLM setting: paged vs Orca (Oracle, Pow2, Max), priced on $arch"
vllm_study "$out/vllm" "--arch $arch" 0.5,1,1.5,2,2.5,3,3.5,4,5 5,10,15,20,25,30,35,40,50 \
  "the \`$arch\` preset by the fast engine" "$arch" 2,5,10,15,20,25,30,40 \
  1,2,3,4,5,6,8,10,12,15,20,25,30
step "5/5 vLLM setting, priced by the A100-40GB roofline"
vllm_study "$out/vllm/a100-40gb" "--arch $arch --device a100-40gb --device-dtype fp16" \
  0.5,1,1.5,2,2.5,3,3.5,4,5,6 5,10,20,40,60,70,80,90,100,120,150 \
  "the A100-40GB's roofline (\`--device a100-40gb --device-dtype fp16\`, models/baselines.h Eq. B1-B3, B7, B8)" \
  a100-40gb 5,10,20,30,40,50,60,80,100,120 2,4,6,8,10,15,20,30,40,60,80,100
fi

# 6. DistServe in its own setting (issue 22; Zhong et al., OSDI 2024): goodput per chip of the
#    searched disaggregated placement vs the best colocated one (`serve --search`,
#    sim/studies/serve/placement.h), OPT-13B with fp16 K/V and causal prefill. Workloads and SLOs
#    (TTFT s, TPOT s) of DistServe's Table 1: chatbot ShareGPT (OPT-13B: 0.25, 0.1), code
#    completion HumanEval (0.125, 0.2) and summarization LongBench (15, 0.15), the last two the
#    paper's OPT-66B pairs applied to OPT-13B here. 90 % attainment; prefill batches of at most
#    8192 tokens (DistServe's --context-max-tokens-per-batch in its evaluation scripts,
#    LLMServe/DistServe evaluation/2-benchmark-serving/2-start-api-server.py). Each probe spans
#    >= 200 s of arrivals; instances of tp in {1, 2, 4} x pp in {1, 2}. Twice: priced by the A100
#    80 GB roofline (`--device a100`, collectives and K/V over NVLink, 300 GB/s a direction), and
#    on the tpu-llm preset by the fast engine with the SLOs scaled by tpu-llm's single-request
#    TTFT and TPOT over the A100's (the same rule for every workload).
if [ "$parts" = all ] || [ "$parts" = distserve ]; then
  ddir="$out/distserve"
  mkdir -p "$ddir"
  dcommon=(--model opt-13b --seed 1 --force --kv-dtype fp16 --causal-prefill
    --max-batch-tokens 8192 --requests 300 --search --search-min-trace-s 200 --chip-budget 8)
  a100=(--arch "$arch" --device a100 --device-dtype fp16)
  # Single-request latency on each pricing (p50 of 50 requests at 0.01 req/s, paged).
  lat() {  # PRICING... -> "ttft tpot"
    "$bin" serve --model opt-13b --kv-dtype fp16 --causal-prefill --trace sharegpt --requests 50 \
      --rate 0.01 --scheduler paged --seed 1 --force --quiet --json "$ddir/.lat.json" "$@"
    "$py" -c "import json; d = json.load(open('$ddir/.lat.json')); print(d['ttft_s']['p50'], d['tpot_s']['p50'])"
  }
  read -r a_ttft a_tpot <<<"$(lat "${a100[@]}")"
  read -r t_ttft t_tpot <<<"$(lat --arch "$arch")"
  rm -f "$ddir/.lat.json"
  echo "workload,trace,ttft_slo_s,tpot_slo_s" > "$ddir/slo.csv"
  for w in "chatbot sharegpt 0.25 0.1" "code humaneval 0.125 0.2" "summarization longbench 15 0.15"; do
    read -r name tr ttft tpot <<<"$w"
    step "6/6 DistServe $name ($tr): A100 roofline"
    "$bin" serve "${dcommon[@]}" "${a100[@]}" --trace "$tr" --slo-ttft "$ttft" --slo-tpot "$tpot" \
      --search-tp 1,2,4 --search-pp 1,2 --kv-link-gb-s 300 \
      --json "$ddir/${name}_a100.json" --csv "$ddir/${name}_a100.csv"
    st=$(awk -v s="$ttft" -v a="$a_ttft" -v t="$t_ttft" 'BEGIN { printf "%.4g", s * t / a }')
    sp=$(awk -v s="$tpot" -v a="$a_tpot" -v t="$t_tpot" 'BEGIN { printf "%.4g", s * t / a }')
    echo "$name,$tr,$ttft,$tpot" >> "$ddir/slo.csv"
    echo "$name-$arch,$tr,$st,$sp" >> "$ddir/slo.csv"
    step "6/6 DistServe $name ($tr): $arch, SLOs $st s / $sp s"
    "$bin" serve "${dcommon[@]}" --arch "$arch" --trace "$tr" --slo-ttft "$st" --slo-tpot "$sp" \
      --search-tp 1,2,4 --search-pp 1,2 \
      --json "$ddir/${name}_$arch.json" --csv "$ddir/${name}_$arch.csv"
  done
  "$py" "$root/scripts/distserve_summary.py" "$ddir" "$arch" "$a_ttft" "$a_tpot" "$t_ttft" "$t_tpot"
fi
# 7. Orca in its own setting (issue 22; Yu et al., OSDI 2022): GPT-3 175B on 16 GPUs, 8-way tensor
#    parallel inside a node and 2 pipeline stages (the paper's 175B configuration), Orca's
#    synthetic trace (orca: prompt U{32..512}, output U{1..128}), throughput vs mean normalized
#    latency (s per generated token) of Orca (continuous, iteration-level, pipelined across
#    iterations: --pipeline) against FasterTransformer-like request-level batching (static),
#    and Orca without the pipelining as an ablation. Max batch 32 for all (an assumption: the
#    paper sweeps the max batch size); K/V reserved for each request's prompt + its max tokens,
#    which the trace's output length stands for (--reserve oracle: Orca's requests carry
#    max_tokens; FasterTransformer's batch holds its requests' lengths). Priced by the A100 40 GB roofline (`--device a100-40gb`,
#    fp16, collectives and stage links over NVLink 3: CostOptions::device_link) and on 16 tpu-llm
#    chips (fast engine, ICI) beside it.
if [ "$parts" = all ] || [ "$parts" = orca ]; then
  odir="$out/orca"
  mkdir -p "$odir"
  ocommon=(--model gpt3-175b --seed 1 --force --quiet --kv-dtype fp16 --causal-prefill --tp 8 --pp 2
    --trace orca --requests 1000 --max-batch 32 --reserve oracle --sweep-rates 0.1,0.25,0.5,1,1.5,2,3,4,5,6,7,8,10,12,16)
  for pricing in a100-40gb "$arch"; do
    if [ "$pricing" = a100-40gb ]; then price=(--arch "$arch" --device a100-40gb --device-dtype fp16 --collective-bytes 2)
    else price=(--arch "$arch"); fi
    for s in "static static" "orca continuous --pipeline" "orca-nopipe continuous"; do
      read -r tag sched flag <<<"$s"
      step "7/7 Orca GPT-3 175B on 16 x $pricing: $tag"
      "$bin" serve "${ocommon[@]}" "${price[@]}" --scheduler "$sched" $flag \
        --csv "$odir/${pricing}_$tag.csv" --json "$odir/${pricing}_$tag.json"
    done
  done
  "$py" "$root/scripts/orca_summary.py" "$odir" "$arch"
fi
step "done"
