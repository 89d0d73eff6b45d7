#!/usr/bin/env bash
# Reproduces the serving papers' qualitative results on the simulated chip (issue 10) for opt-13b
# on tpu-llm, into results/serve/: per-scheduler rate sweeps (CSV + JSON), one 2,000-request
# report per scheduler with its wall time, and the plots + summary of scripts/serve_plot.py.
#   scripts/serve_study.sh [OUT_DIR]          (default results/serve)
# Env: TPUSIM = the tpusim binary (default build/sim/tpusim), PYTHON = python with matplotlib
# (default build/venv/bin/python), ARCH = the chip (default tpu-llm), RATE_SCALE = factor on
# every swept and fixed request rate (default 1; issue 21's tpu-llm decodes ~3x faster than
# tpu-llm-1x256, the preset before it, so its study runs at RATE_SCALE=3), PARTS = "all" (default)
# or "vllm" (only section 5, the vLLM study, whose rates are absolute: RATE_SCALE does not apply)
# or "slora" (only section 6, the S-LoRA study) or "chunked" (only section 7, chunked prefill)
# or "distserve" (only section 8, the DistServe placement study, into results/serve/distserve/)
# or "orca" (only section 9, Orca's GPT-3 175B study, into results/serve/orca/) or "ablation"
# (only section 10, vLLM's block-size and preemption ablations, into results/serve/vllm/ablation/);
# all with absolute rates too.
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

# 6. S-LoRA in its own setting (issue 22; Sheng et al., MLSys 2024, evaluation): throughput vs
#    number of adapters, S-LoRA (unified paging, --lora) vs vLLM-packed (one merged model copy per
#    adapter, --lora-packed), settings S1-S4 (S-LoRA's benchmarks/exp_suite.py: S1 LLaMA-7B rank 8,
#    S2 LLaMA-7B ranks 64/32/16/8, S3 LLaMA-13B rank 16, S4 LLaMA-13B ranks 64/32/16; S5/S6 are
#    its multi-GPU settings, not run). The paper's synthetic workload: 10 req/s for 120 s (1,200
#    requests), Poisson, adapter popularity Zipf alpha 1, prompt and output U[8, 512] (the slora
#    trace); at most 256 sequences and 2,560 batched tokens per iteration (vLLM's defaults, as in
#    section 5) for both systems. Twice: priced by the A100-80GB's roofline in fp16 (the paper's
#    GPU) into slora/a100/,
#    and by the fast engine on $arch (int8) into slora/tpu-llm/; report slora/README.md.
slora_study() {  # DIR "PRICING ARGS"
  local sdir=$1
  local -a price
  read -r -a price <<<"$2"
  mkdir -p "$sdir"
  local scommon=(--seed 1 --force --quiet --causal-prefill --trace slora --requests 1200 --rate 10
    --scheduler paged --max-batch 256 --max-batch-tokens 2560 --lora --lora-alpha 1 "${price[@]}")
  local csvf="$sdir/throughput.csv" tmp
  tmp=$(mktemp)
  "$py" "$root/scripts/slora_table.py" header > "$csvf"
  for sm in S1:lora S2:lora-s2 S3:llama-13b S4:lora-s4; do
    local s=${sm%%:*} m=${sm#*:}
    local -a rk=()
    [ "$s" = S3 ] && rk=(--lora-rank 16)
    for n in 1 2 4 5 20 100 1000 2000; do
      echo "  $s ($m), $n adapters: S-LoRA"
      "$bin" serve "${scommon[@]}" --model "$m" "${rk[@]}" --lora-adapters $n --json "$tmp"
      "$py" "$root/scripts/slora_table.py" row "$tmp" $s "$m" slora $n >> "$csvf"
      if [ "$s:$n" = S2:5 ]; then cp "$tmp" "$sdir/S2_slora_n5.json"; fi
    done
    for n in 1 2 3 4 5 6 8 100; do
      echo "  $s ($m), $n adapters: vLLM-packed"
      if "$bin" serve "${scommon[@]}" --model "$m" "${rk[@]}" --lora-adapters $n --lora-packed \
        --json "$tmp" 2> "$tmp.err"; then
        "$py" "$root/scripts/slora_table.py" row "$tmp" $s "$m" vllm-packed $n >> "$csvf"
        if [ "$s:$n" = S2:5 ]; then cp "$tmp" "$sdir/S2_vllm-packed_n5.json"; fi
      else
        grep -q "out of memory" "$tmp.err" || { cat "$tmp.err" >&2; exit 1; }
        "$py" "$root/scripts/slora_table.py" oom $s "$m" vllm-packed $n >> "$csvf"
        break  # more copies need more memory still
      fi
    done
  done
  rm -f "$tmp" "$tmp.err"
  cat > "$sdir/setting.md" <<SETTING
Setting: \`tpusim serve ${scommon[*]} --model MODEL --lora-adapters N\` (S-LoRA), plus
\`--lora-packed\` (vLLM-packed); MODEL lora (S1), lora-s2 (S2), llama-13b --lora-rank 16 (S3),
lora-s4 (S4).
SETTING
}
if [ "$parts" = all ] || [ "$parts" = slora ]; then
  step "6 S-LoRA setting: S-LoRA vs vLLM-packed, A100-80GB roofline"
  slora_study "$out/slora/a100" "--arch $arch --device a100 --device-dtype fp16 --kv-dtype fp16"
  # Sensitivity: the S-LoRA harness starts each of the n vLLM-packed processes with
  # --gpu-memory-utilization 0.95 / n (its benchmarks/launch_server.py); S2 at 5 adapters with
  # 0.95 of the A100's memory for both systems (K/V slots = 0.95 x memory - one fp16 copy).
  cap=$("$py" "$root/scripts/slora_table.py" capacity "$out/slora/a100/S2_slora_n5.json" 0.95)
  mtmp=$(mktemp)
  "$py" "$root/scripts/slora_table.py" header > "$out/slora/a100/mem095.csv"
  for sys in slora vllm-packed; do
    extra=()
    [ $sys = vllm-packed ] && extra=(--lora-packed)
    "$bin" serve --seed 1 --force --quiet --causal-prefill --trace slora --requests 1200 --rate 10 \
      --scheduler paged --max-batch 256 --max-batch-tokens 2560 --lora --lora-alpha 1 --arch "$arch" \
      --device a100 --device-dtype fp16 --kv-dtype fp16 --model lora-s2 --lora-adapters 5 \
      --kv-capacity-tokens "$cap" "${extra[@]}" --json "$mtmp"
    "$py" "$root/scripts/slora_table.py" row "$mtmp" S2 lora-s2 $sys 5 >> "$out/slora/a100/mem095.csv"
  done
  rm -f "$mtmp"
  step "6 S-LoRA setting: S-LoRA vs vLLM-packed, priced on $arch"
  slora_study "$out/slora/tpu-llm" "--arch $arch"
  "$py" "$root/scripts/slora_table.py" report "$out/slora"
fi
if [ "$parts" = slora ]; then step "done"; exit 0; fi

# 7. Chunked prefill (issue 22; Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM
#    Inference with Sarathi-Serve", OSDI 2024): the paged scheduler with whole prompts (vLLM)
#    against Sarathi-Serve's token budgets 512 and 2048 (the paper's two) and 256 (a 512-token
#    iteration of opt-13b takes ~0.1 s on tpu-llm, over 5 decode steps), rate sweeps of 500
#    ShareGPT-like and LongBench-like requests, causal prefill: opt-13b on $arch by the fast engine
#    into chunked/tpu-llm/, and llama-7b (Mistral-7B's size; Mistral is not in workloads/) priced
#    by the A100-80GB roofline in fp16 into chunked/a100/. Capacity under a strict and a relaxed
#    SLO on the P99 of each request's longest token gap (scripts/chunked_table.py); report
#    chunked/README.md.
chunked_study() {  # DIR "PRICING ARGS" SHAREGPT_RATES LONGBENCH_RATES
  local cdir=$1
  local -a price
  read -r -a price <<<"$2"
  declare -A crates=([sharegpt]=$3 [longbench]=$4)
  mkdir -p "$cdir"
  local ccommon=(--seed 1 --force --quiet --causal-prefill --requests 500 --scheduler paged
    --max-batch 128 "${price[@]}")
  for t in sharegpt longbench; do
    echo "  $t: paged"
    "$bin" serve "${ccommon[@]}" --trace $t --sweep-rates ${crates[$t]} --json "$cdir/${t}_paged.json"
    for b in 256 512 2048; do
      echo "  $t: chunked prefill, budget $b"
      "$bin" serve "${ccommon[@]}" --trace $t --sweep-rates ${crates[$t]} --chunked-prefill $b \
        --json "$cdir/${t}_chunked$b.json"
    done
  done
}
if [ "$parts" = all ] || [ "$parts" = chunked ]; then
  step "7 chunked prefill, priced on $arch"
  chunked_study "$out/chunked/tpu-llm" "--arch $arch --model opt-13b" 1,2,3,4,5,6,7 \
    0.25,0.5,1,1.5,2,2.5,3
  step "7 chunked prefill, A100-80GB roofline"
  chunked_study "$out/chunked/a100" \
    "--arch $arch --model llama-7b --device a100 --device-dtype fp16 --kv-dtype fp16" \
    5,10,15,20,25,30 1,2,4,6,8,10
  "$py" "$root/scripts/chunked_table.py" "$out/chunked"
fi
if [ "$parts" = chunked ]; then step "done"; exit 0; fi

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

# 8. DistServe in its own setting (issue 22; Zhong et al., OSDI 2024): goodput per chip of the
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
# 9. Orca in its own setting (issue 22; Yu et al., OSDI 2022): GPT-3 175B on 16 GPUs, 8-way tensor
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

# 10. vLLM's ablations (issue 22; Kwon et al., SOSP 2023, Section 7.2-7.3, Fig. 18b and 19): the
#     block size (1..256) on the ShareGPT- and Alpaca-like traces at a fixed rate each, and
#     recompute vs swap preemption by block size on ShareGPT; the vLLM setting of section 5,
#     priced by the A100-40GB's roofline, at rates just under vLLM's 0.1 s/token capacity there
#     (results/serve/vllm/a100-40gb/summary.md): ShareGPT 2.5 req/s, Alpaca 80 req/s.
if [ "$parts" = all ] || [ "$parts" = ablation ]; then
  adir="$out/vllm/ablation"
  mkdir -p "$adir"
  acommon=(--model opt-13b --seed 1 --force --quiet --kv-dtype fp16 --causal-prefill
    --kv-capacity-tokens 15700 --max-batch 256 --max-batch-tokens 2560 --arch "$arch"
    --device a100-40gb --device-dtype fp16 --scheduler paged --swap-space-gib 4
    --paged-attention-overhead 0.2)
  declare -A arate=([sharegpt]=2.5 [alpaca]=80) areqs=([sharegpt]=1000 [alpaca]=2000)
  for t in sharegpt alpaca; do
    for pre in auto recompute swap; do
      [ "$t" = alpaca ] && [ "$pre" != auto ] && continue
      for b in 1 2 4 8 16 32 64 128 256; do
        step "10 vLLM ablation: $t, block $b, preemption $pre"
        "$bin" serve "${acommon[@]}" --trace $t --requests ${areqs[$t]} --rate ${arate[$t]} \
          --block-size $b --preemption $pre --csv "$adir/${t}_${pre}_b$b.csv"
      done
    done
  done
  "$py" "$root/scripts/vllm_ablation_table.py" "$adir"
fi
step "done"
