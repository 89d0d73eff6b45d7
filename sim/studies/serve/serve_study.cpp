#include "sim/studies/serve/serve_study.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "models/interconnect.h"
#include "sim/report/report_json.h"
#include "sim/studies/serve/cost_model.h"
#include "sim/studies/serve/metrics.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/scheduler.h"

namespace tpusim::serve {

using nlohmann::json;

namespace {

constexpr const char* kCostAssumption =
    "iteration cost = dense(all tokens) + head(sequences) + per-sequence attention, from "
    "fast-engine runs split by layer (sim/studies/serve/cost_model.h); lengths rounded up to a "
    "multiple of the bucket";

std::string csv_header() {
  return "scheduler,trace,rate_per_s,requests,throughput_tokens_per_s,throughput_requests_per_s,"
         "ttft_p50_s,ttft_p90_s,ttft_p99_s,tpot_p50_s,tpot_p90_s,tpot_p99_s,"
         "normalized_latency_mean_s_per_token,e2e_mean_s,slo_attainment,kv_utilization,"
         "kv_allocated_fraction,mean_batch,preemptions,energy_j_per_token,kv_used,kv_reserved,"
         "kv_internal_fragmentation,kv_external_fragmentation,kv_sharing_saving,swap_blocks\n";
}

std::string csv_row(const ServeStudyOptions& a, double rate, const json& s) {
  return fmt::format(
      "{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:."
      "6g},{:.6g},{:.6g},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{}\n",
      a.scheduler, a.trace, rate, s["requests"].get<uint64_t>(),
      s["throughput_tokens_per_s"].get<double>(), s["throughput_requests_per_s"].get<double>(),
      s["ttft_s"]["p50"].get<double>(), s["ttft_s"]["p90"].get<double>(),
      s["ttft_s"]["p99"].get<double>(), s["tpot_s"]["p50"].get<double>(),
      s["tpot_s"]["p90"].get<double>(), s["tpot_s"]["p99"].get<double>(),
      s["normalized_latency_s_per_token"]["mean"].get<double>(), s["e2e_s"]["mean"].get<double>(),
      s["slo_attainment"].get<double>(), s["kv_utilization"].get<double>(),
      s["kv_allocated_fraction"].get<double>(), s["batch"]["mean"].get<double>(),
      s["preemptions"].get<uint64_t>(), s["energy_j_per_token"].get<double>(),
      s["kv_memory"]["used"].get<double>(), s["kv_memory"]["reserved"].get<double>(),
      s["kv_memory"]["internal_fragmentation"].get<double>(),
      s["kv_memory"]["external_fragmentation"].get<double>(),
      s["kv_memory"]["sharing_saving"].get<double>(), s["swap"]["blocks"].get<uint64_t>());
}

}  // namespace

void validate(const ServeStudyOptions& a) {
  auto positive = [](double v, const char* name) {
    if (!(v > 0.0) || !std::isfinite(v))
      throw InputError(fmt::format("serve: {} {}: must be a finite number > 0", name, v));
  };
  auto nonneg = [](double v, const char* name) {
    if (!(v >= 0.0) || !std::isfinite(v))
      throw InputError(fmt::format("serve: {} {}: must be a finite number >= 0", name, v));
  };
  if (a.rates.empty()) throw InputError("serve: rates: give at least one rate");
  for (double r : a.rates) positive(r, "rate");
  nonneg(a.slo_ttft, "slo_ttft");
  nonneg(a.slo_tpot, "slo_tpot");
  if (!(a.slo_target > 0.0 && a.slo_target <= 1.0))
    throw InputError(fmt::format("serve: slo_target {}: allowed (0, 1]", a.slo_target));
  auto range = [](uint64_t v, uint64_t lo, uint64_t hi, const char* name) {
    if (v < lo || v > hi)
      throw InputError(fmt::format("serve: {} {}: allowed {}..{}", name, v, lo, hi));
  };
  range(a.requests, 0, kMaxRequests, "requests");
  range(a.max_batch, 1, kMaxServeBatch, "max_batch");
  range(a.block_size, 1, kMaxBlockTokens, "block_size");
  range(a.bucket, 1, kMaxBlockTokens, "bucket");
  range(a.lora_rank, 1, kMaxLoraRank, "lora_rank");
  range(a.lora_adapters, 0, kMaxLoraAdapters, "lora_adapters");
  range(a.chunked_prefill, 0, kMaxBlockTokens * 16, "chunked_prefill");
  if (a.lora_packed && !a.lora) throw InputError("serve: lora_packed: needs lora");
  if ((a.lora || a.chunked_prefill) && a.scheduler != "paged")
    throw InputError(fmt::format("serve: {}: needs scheduler paged, not {}",
                                 a.lora ? "lora" : "chunked_prefill", a.scheduler));
  nonneg(a.lora_alpha, "lora_alpha");
  if (!(a.swap_space_gib >= 0.0 && a.swap_space_gib <= kMaxSwapSpaceGib))
    throw InputError(
        fmt::format("serve: swap_space_gib {}: allowed 0..{}", a.swap_space_gib, kMaxSwapSpaceGib));
  if (!(a.paged_attention_overhead >= 0.0 && a.paged_attention_overhead <= 10.0))
    throw InputError(fmt::format("serve: paged_attention_overhead {}: allowed 0..10",
                                 a.paged_attention_overhead));
  kv_dtype_bytes(a.kv_dtype);  // throws for another name
  if (a.preemption != "recompute" && a.preemption != "swap" && a.preemption != "auto")
    throw InputError(
        fmt::format("serve: preemption {}: one of recompute, swap, auto", a.preemption));
  range(a.samples, 1, kMaxSeqWidth, "samples");
  range(a.beam_width, 0, kMaxSeqWidth, "beam_width");
  range(a.shared_prefix, 0, kMaxBlockTokens, "shared_prefix");
  if (a.samples > 1 && a.beam_width > 0)
    throw InputError("serve: samples and beam_width: choose parallel sampling or beam search");
  const uint32_t width = std::max(a.samples, a.beam_width);
  if (width > a.max_batch)
    throw InputError(
        fmt::format("serve: samples / beam_width {}: at most max_batch {}", width, a.max_batch));
  if (a.per_request && a.rates.size() != 1)
    throw InputError("serve: the per-request CSV needs a single rate");
}

ServeStudy run_serve_study(const ServeStudyOptions& a, const RateDone& on_rate) {
  validate(a);
  const TpuConfig cfg = load_config(a.arch);
  CostOptions co;
  co.bucket = a.bucket;
  co.lora_rank = a.lora_rank;
  co.tp = a.tp;
  co.pp = a.pp;
  co.collective_bytes = a.collective_bytes;
  co.kv_dtype = a.kv_dtype;
  co.causal_prefill = a.causal_prefill;
  co.device = a.device;
  co.device_dtype = a.device_dtype;
  CostModel cost(cfg, a.model, co);

  TraceOptions to;
  to.name = a.trace;
  to.requests = a.requests;
  to.seed = a.seed;
  to.arrival = a.arrival;
  to.cv = a.cv;
  to.max_context = cost.model().max_context;
  to.adapters = a.lora_adapters ? a.lora_adapters : (a.lora ? 200 : 0);
  to.zipf_alpha = a.lora_alpha;
  to.samples = a.samples;
  to.beam_width = a.beam_width;
  to.shared_prefix = a.shared_prefix;

  SchedulerOptions so;
  so.scheduler = a.scheduler;
  so.max_batch = a.max_batch;
  so.max_batch_tokens = a.max_batch_tokens;
  so.block_size = a.block_size;
  so.preemption = a.preemption;
  so.reserve = a.reserve;
  so.kv_link_gb_s = a.kv_link_gb_s;
  so.lora = a.lora;
  so.lora_packed = a.lora_packed;
  so.chunked_prefill_tokens = a.chunked_prefill;
  so.pipeline = a.pipeline;
  so.swap_space_bytes = uint64_t(a.swap_space_gib * double(uint64_t(1) << 30));
  so.paged_attention_overhead = a.paged_attention_overhead;
  so.kv_capacity_tokens = a.kv_capacity_tokens;
  const SloTargets slo{a.slo_ttft, a.slo_tpot};

  std::string trace_desc = "user CSV (arrival_s,prompt_len,output_len[,adapter])";
  for (const auto& s : trace_shapes())
    if (s.name == a.trace) trace_desc = s.description;
  const std::string setting = fmt::format(
      "{} on {}{} ({}), trace {}", a.scheduler,
      cost.device() ? fmt::format("{} (roofline, {})", cost.device()->name, cost.device()->dtype)
                    : cfg.name,
      co.parallel() ? fmt::format(" x{} (tp {} pp {})", co.tp * co.pp, co.tp, co.pp)
                    : std::string(),
      cost.model().name, a.trace);

  ServeStudy out;
  json runs = json::array();
  out.csv = csv_header();
  if (a.per_request)
    out.requests_csv =
        "id,arrival_s,prompt_len,output_len,adapter,first_token_s,finish_s,ttft_s,tpot_s,"
        "preemptions\n";
  double goodput = 0.0;
  for (double rate : a.rates) {
    const auto t0 = std::chrono::steady_clock::now();
    to.rate_per_s = rate;
    const std::vector<Request> trace = make_trace(to);
    uint64_t finished = 0;
    if (a.progress)
      so.on_finished = [&](uint64_t n) { a.progress(rate, finished += n, trace.size()); };
    const ScheduleResult res = simulate(trace, cost, so);
    json s = summarize(res, cost, slo);
    s["rate_per_s"] = rate;
    if (s["slo_attainment"].get<double>() >= a.slo_target) goodput = std::max(goodput, rate);
    out.csv += csv_row(a, rate, s);
    if (a.per_request)
      for (const RequestResult& q : res.requests)
        out.requests_csv += fmt::format("{},{:.9g},{},{},{},{:.9g},{:.9g},{:.9g},{:.9g},{}\n",
                                        q.request.id, q.request.arrival_s, q.request.prompt_len,
                                        q.request.output_len, q.request.adapter, q.first_token_s,
                                        q.finish_s, q.ttft_s(), q.tpot_s(), q.preemptions);
    // Wall time goes to the caller only: reports stay byte-identical across runs.
    if (on_rate)
      on_rate(s, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              setting);
    runs.push_back(std::move(s));
  }

  json rep{
      {"tool", tool_json()},
      {"arch", arch_json(cfg)},
      {"model",
       {{"name", cost.model().name},
        {"file", cost.model().file},
        {"weight_bytes", cost.model().weight_bytes},
        {"kv_bytes_per_token", cost.model().kv_bytes_per_token()},
        {"kv_dtype", a.kv_dtype},
        {"causal_prefill", a.causal_prefill},
        {"max_context", cost.model().max_context}}},
      {"trace",
       {{"name", a.trace},
        {"description", trace_desc},
        {"requests", a.requests},
        {"seed", a.seed},
        {"arrival", a.arrival},
        {"cv", a.cv},
        {"adapters", to.adapters},
        {"zipf_alpha", a.lora_alpha},
        {"samples", a.samples},
        {"beam_width", a.beam_width},
        {"shared_prefix", a.shared_prefix}}},
      {"scheduler",
       {{"name", a.scheduler},
        {"max_batch", a.max_batch},
        {"max_batch_tokens", a.max_batch_tokens ? a.max_batch_tokens : cost.model().max_context},
        {"block_size", a.block_size},
        {"preemption", a.preemption},
        {"swap_space_gib", a.swap_space_gib},
        {"paged_attention_overhead", a.paged_attention_overhead},
        {"kv_capacity_tokens_override", a.kv_capacity_tokens},
        {"reserve", a.reserve},
        {"kv_link_gb_s", a.kv_link_gb_s},
        {"lora", a.lora},
        {"lora_packed", a.lora_packed},
        {"lora_ranks", cost.model().lora_ranks},
        {"chunked_prefill_tokens", a.chunked_prefill},
        {"pipeline", a.pipeline}}},
      {"assumptions", json::array()}};
  json& as = rep["assumptions"];
  as.push_back(kCostAssumption);
  if (a.kv_dtype != "fp16")
    as.push_back("K/V cache int8 in weight memory: capacity = weight memory - model weights");
  else if (a.device.empty())
    as.push_back(
        "K/V cache fp16 in weight memory: capacity = (weight memory - int8 model weights) / fp16 "
        "K/V bytes per token; decode attention counts doubled (two int8 K/V tiles per fp16 "
        "element)");
  else
    as.push_back("K/V cache fp16: capacity and swap / transfer bytes at 2 bytes per element");
  as.push_back(a.causal_prefill
                   ? "prefill attention causal: counts x (p + 1) / (2 p)"
                   : "prefill attention counts every (query, key) pair (no causal halving)");
  as.push_back(
      "contiguous reservations placed first fit and never moved (external fragmentation "
      "counted); paged: vLLM's block manager (block tables, ref counts, copy-on-write)");
  as.push_back(
      "swap: 2 x layers host-link DMAs per block, each the host link's latency plus its bytes, "
      "added to the iteration; host swap space bounded (swap_space_gib); K/V transfer times "
      "(disaggregated) add to the link");
  as.push_back(
      "paged decode attention gather: + paged_attention_overhead (vLLM Section 7.1: 20-26 %)");
  if (a.shared_prefix)
    as.push_back(
        "shared prefix (paged): its full blocks computed ahead (not charged) and shared; each "
        "request prefills the rest of its prompt");
  if (a.lora_packed)
    as.push_back(
        "vLLM-packed (S-LoRA's evaluation baseline): each adapter merged into its own model copy; "
        "the "
        "copies split the memory left after all their weights and take turns, one iteration "
        "each (sim/studies/serve/unified_paging.h)");
  else if (a.lora)
    as.push_back(
        "LoRA (S-LoRA unified paging): adapters take blocks of the K/V pool, load over the host "
        "link when not resident (copy time added to the admitting iteration), evicted least "
        "recently used when unused; cost per adapter from the engine at its rank and tokens "
        "(sim/studies/serve/unified_paging.h)");
  if (a.chunked_prefill)
    as.push_back(
        "chunked prefill (Sarathi-Serve): each iteration at most chunked_prefill tokens, decodes "
        "first, prompts in chunks; a chunk's attention = prefill_attention(end) - "
        "prefill_attention(start)");
  as.push_back("energy: busy counts through models/energy.h plus static power while idle");
  if (const BaselineDevice* dev = cost.device()) {
    rep["device"] = {{"name", dev->name},
                     {"file", dev->file},
                     {"dtype", dev->dtype},
                     {"memory_gb", dev->memory_gb},
                     {"memory_gb_s", dev->memory_gb_s},
                     {"peak_ops_per_s", dev->peak_ops_per_s()},
                     {"compute_efficiency", dev->compute_efficiency},
                     {"memory_efficiency", dev->memory_efficiency}};
    rep["assumptions"].push_back(
        "serve --device: iterations priced by the device's roofline (models/baselines.h Eq. "
        "B1-B3, B7; host time Eq. B8 once per iteration) over the same ops the chip is given "
        "(sim/compiler/baseline_ops.h), every byte in the device dtype; energy and carbon are the "
        "arch's models applied to that time, not the device's");
  }
  if (co.parallel()) {
    json stages = json::array();
    for (size_t i = 0; i < cost.stages().size(); ++i) {
      const StageMemory& st = cost.stages()[i];
      stages.push_back({{"stage", i},
                        {"first_unit", st.first_unit},
                        {"units", st.end_unit - st.first_unit},
                        {"weight_bytes_per_chip", st.weight_bytes},
                        {"kv_bytes_per_token_per_chip", st.kv_bytes}});
    }
    rep["parallel"] = {{"chips", co.tp * co.pp},
                       {"tp", co.tp},
                       {"pp", co.pp},
                       {"collective_bytes_per_element", co.collective_bytes},
                       {"interconnect", interconnect_json(cfg)},
                       {"stages", stages}};
    rep["assumptions"].push_back(
        "multi-chip: every serving instance (each of disaggregated's prefill and decode) is tp x "
        "pp chips; "
        "an iteration's time is one tensor-parallel shard's over every weight-balanced stage plus "
        "its "
        "collectives and stage links (one micro-batch, iterations not overlapped); K/V capacity is "
        "the "
        "tightest stage's (weight memory - its weight share) / its K/V bytes per token; energy = "
        "tp x one "
        "shard's dynamic energy + static power of every chip + link energy");
  }
  if (a.pipeline && co.pp > 1 && a.scheduler == "continuous")
    rep["assumptions"].push_back(
        "pipeline (Orca): up to pp batches in flight, one per stage; an iteration's time split "
        "evenly over the stages (sim/studies/serve/orca_pipeline.h)");
  if (runs.size() == 1) {
    for (auto& [k, v] : runs[0].items()) rep[k] = v;
  } else {
    rep["sweep"] = runs;
    rep["slo_target"] = a.slo_target;
    rep["goodput_rate_per_s"] = goodput;
  }
  out.report = std::move(rep);
  return out;
}

}  // namespace tpusim::serve
