#include "sim/serve_cli.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "models/interconnect.h"
#include "sim/report.h"
#include "sim/serve/cost_model.h"
#include "sim/serve/metrics.h"
#include "sim/serve/scheduler.h"
#include "sim/serve/trace.h"

namespace tpusim {

using nlohmann::json;
using namespace serve;

namespace {

void check_args(const ServeArgs& a) {
  auto positive = [](double v, const char* flag) {
    if (!(v > 0.0) || !std::isfinite(v)) throw InputError(fmt::format("{} {}: must be a finite number > 0", flag, v));
  };
  auto nonneg = [](double v, const char* flag) {
    if (!(v >= 0.0) || !std::isfinite(v)) throw InputError(fmt::format("{} {}: must be a finite number >= 0", flag, v));
  };
  positive(a.rate, "--rate");
  for (double r : a.sweep_rates) positive(r, "--sweep-rates");
  nonneg(a.slo_ttft, "--slo-ttft");
  nonneg(a.slo_tpot, "--slo-tpot");
  if (!(a.slo_target > 0.0 && a.slo_target <= 1.0))
    throw InputError(fmt::format("--slo-target {}: allowed (0, 1]", a.slo_target));
  if (a.max_batch < 1 || a.max_batch > 65536) throw InputError(fmt::format("--max-batch {}: allowed 1..65536", a.max_batch));
  if (a.block_size < 1 || a.block_size > 4096) throw InputError(fmt::format("--block-size {}: allowed 1..4096", a.block_size));
  if (a.bucket < 1 || a.bucket > 4096) throw InputError(fmt::format("--bucket {}: allowed 1..4096", a.bucket));
  if (a.lora_rank < 1 || a.lora_rank > 1024) throw InputError(fmt::format("--lora-rank {}: allowed 1..1024", a.lora_rank));
  if (a.lora_adapters > 1000000) throw InputError(fmt::format("--lora-adapters {}: allowed 0..1000000", a.lora_adapters));
  nonneg(a.lora_alpha, "--lora-alpha");
}

std::string csv_header() {
  return "scheduler,trace,rate_per_s,requests,throughput_tokens_per_s,throughput_requests_per_s,"
         "ttft_p50_s,ttft_p90_s,ttft_p99_s,tpot_p50_s,tpot_p90_s,tpot_p99_s,"
         "normalized_latency_mean_s_per_token,e2e_mean_s,slo_attainment,kv_utilization,"
         "kv_allocated_fraction,mean_batch,preemptions,energy_j_per_token\n";
}

std::string csv_row(const ServeArgs& a, double rate, const json& s) {
  return fmt::format("{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{:.6g}\n",
                     a.scheduler, a.trace, rate, s["requests"].get<uint64_t>(),
                     s["throughput_tokens_per_s"].get<double>(), s["throughput_requests_per_s"].get<double>(),
                     s["ttft_s"]["p50"].get<double>(), s["ttft_s"]["p90"].get<double>(), s["ttft_s"]["p99"].get<double>(),
                     s["tpot_s"]["p50"].get<double>(), s["tpot_s"]["p90"].get<double>(), s["tpot_s"]["p99"].get<double>(),
                     s["normalized_latency_s_per_token"]["mean"].get<double>(), s["e2e_s"]["mean"].get<double>(),
                     s["slo_attainment"].get<double>(), s["kv_utilization"].get<double>(),
                     s["kv_allocated_fraction"].get<double>(), s["batch"]["mean"].get<double>(),
                     s["preemptions"].get<uint64_t>(), s["energy_j_per_token"].get<double>());
}

}  // namespace

CLI::App* add_serve_command(CLI::App& app, ServeArgs& a) {
  auto* s = app.add_subcommand("serve", "Serve a request trace with an LLM on simulated chips (Orca, vLLM, DistServe, S-LoRA)");
  s->add_option("--arch", a.arch, "Arch preset name or YAML path")->capture_default_str();
  s->add_option("--model", a.model, "Transformer workload name or YAML path")->capture_default_str();
  s->add_option("--trace", a.trace, "orca|sharegpt|alpaca|longbench|humaneval|slora or FILE.csv")->capture_default_str();
  s->add_option("--requests", a.requests, "Requests to generate (CSV: first N rows, 0 = all)")->capture_default_str()->check(CLI::Range(uint64_t(0), uint64_t(10000000)));
  s->add_option("--rate", a.rate, "Mean arrival rate, requests/s")->capture_default_str();
  s->add_option("--seed", a.seed, "Trace seed")->capture_default_str();
  s->add_option("--arrival", a.arrival, "Arrival process")->capture_default_str()->check(CLI::IsMember({"poisson", "gamma"}));
  s->add_option("--cv", a.cv, "Gamma arrivals: coefficient of variation")->capture_default_str();
  s->add_option("--scheduler", a.scheduler, "Scheduler")->capture_default_str()->check(CLI::IsMember({"static", "continuous", "paged", "disaggregated"}));
  s->add_option("--slo-ttft", a.slo_ttft, "TTFT objective, s (0 = none)")->capture_default_str();
  s->add_option("--slo-tpot", a.slo_tpot, "TPOT objective, s (0 = none)")->capture_default_str();
  s->add_option("--slo-target", a.slo_target, "Attainment a sweep's goodput rate must reach")->capture_default_str();
  s->add_option("--max-batch", a.max_batch, "Sequences per iteration")->capture_default_str();
  s->add_option("--max-batch-tokens", a.max_batch_tokens, "Prefill tokens per iteration (0 = max_context)")->capture_default_str();
  s->add_option("--block-size", a.block_size, "Paged K/V block, tokens")->capture_default_str();
  s->add_option("--preemption", a.preemption, "Paged preemption")->capture_default_str()->check(CLI::IsMember({"recompute", "swap"}));
  s->add_option("--reserve", a.reserve, "Contiguous K/V reservation")->capture_default_str()->check(CLI::IsMember({"max", "pow2", "oracle"}));
  s->add_option("--kv-link-gb-s", a.kv_link_gb_s, "Disaggregated K/V link, GB/s")->capture_default_str();
  s->add_flag("--lora", a.lora, "Serve per-request LoRA adapters unmerged (S-LoRA)");
  s->add_option("--lora-adapters", a.lora_adapters, "Adapters (0 = 200 with --lora or the slora trace)")->capture_default_str();
  s->add_option("--lora-rank", a.lora_rank, "Adapter rank")->capture_default_str();
  s->add_option("--lora-alpha", a.lora_alpha, "Zipf exponent of adapter popularity")->capture_default_str();
  s->add_option("--bucket", a.bucket, "Cost-model length bucket, tokens")->capture_default_str();
  s->add_option("--sweep-rates", a.sweep_rates, "Comma-separated rates: one run each")->delimiter(',');
  s->add_option("--json", a.json_file, "Report JSON file");
  s->add_option("--csv", a.csv_file, "One CSV row per rate");
  s->add_option("--requests-csv", a.requests_csv, "Per-request results CSV (single rate)");
  s->add_flag("--force", a.force, "Replace existing output files");
  s->add_flag("--quiet", a.quiet, "No summary on stdout");
  s->add_option("--chips", a.par.chips, "Chips per serving instance (= tp x pp; alone: tensor parallel)")
      ->check(CLI::Range(1u, 4096u));
  s->add_option("--tp", a.par.tp, "Tensor-parallel chips per pipeline stage")->check(CLI::Range(1u, 4096u));
  s->add_option("--pp", a.par.pp, "Pipeline stages (weight-balanced; one micro-batch per iteration)")
      ->check(CLI::Range(1u, 4096u));
  s->add_option("--collective-bytes", a.par.collective_bytes,
                "Bytes per activation element in collectives (1 int8, 4 int32 partial sums)")
      ->check(CLI::Range(1u, 8u));
  return s;
}

int cmd_serve(const ServeArgs& a, std::ostream& out) {
  check_args(a);
  const MultiChipOptions mo = parallel_options(a.par);  // throws when chips != tp x pp
  const TpuConfig cfg = load_config(a.arch);
  CostOptions co;
  co.bucket = a.bucket;
  co.lora_rank = a.lora_rank;
  if (a.par.active()) {
    co.tp = mo.tp;
    co.pp = mo.pp;
    co.collective_bytes = mo.collective_bytes_per_element;
  }
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

  SchedulerOptions so;
  so.scheduler = a.scheduler;
  so.max_batch = a.max_batch;
  so.max_batch_tokens = a.max_batch_tokens;
  so.block_size = a.block_size;
  so.preemption = a.preemption;
  so.reserve = a.reserve;
  so.kv_link_gb_s = a.kv_link_gb_s;
  so.lora = a.lora;
  const SloTargets slo{a.slo_ttft, a.slo_tpot};

  std::string trace_desc = "user CSV (arrival_s,prompt_len,output_len[,adapter])";
  for (const auto& s : trace_shapes())
    if (s.name == a.trace) trace_desc = s.description;

  const std::vector<double> rates = a.sweep_rates.empty() ? std::vector<double>{a.rate} : a.sweep_rates;
  json runs = json::array();
  std::string csv = csv_header();
  std::string req_csv = "id,arrival_s,prompt_len,output_len,adapter,first_token_s,finish_s,ttft_s,tpot_s,preemptions\n";
  double goodput = 0.0;
  for (double rate : rates) {
    const auto t0 = std::chrono::steady_clock::now();
    to.rate_per_s = rate;
    const std::vector<Request> trace = make_trace(to);
    const ScheduleResult res = simulate(trace, cost, so);
    json s = summarize(res, cost, slo);
    s["rate_per_s"] = rate;
    // Wall time goes to the console only: reports stay byte-identical across runs.
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s["slo_attainment"].get<double>() >= a.slo_target) goodput = std::max(goodput, rate);
    csv += csv_row(a, rate, s);
    if (!a.requests_csv.empty() && rates.size() == 1)
      for (const RequestResult& q : res.requests)
        req_csv += fmt::format("{},{:.9g},{},{},{},{:.9g},{:.9g},{:.9g},{:.9g},{}\n", q.request.id,
                               q.request.arrival_s, q.request.prompt_len, q.request.output_len,
                               q.request.adapter, q.first_token_s, q.finish_s, q.ttft_s(), q.tpot_s(),
                               q.preemptions);
    if (!a.quiet)
      out << fmt::format(
          "serve {} on {}{} ({}), trace {} x{} at {:.4g} req/s: {:.1f} tok/s, {:.3f} req/s, TTFT p50/p90/p99 "
          "{:.3f}/{:.3f}/{:.3f} s, TPOT p50/p90/p99 {:.3f}/{:.3f}/{:.3f} s, SLO {:.1f} %, KV util {:.1f} %, "
          "{:.3f} J/token ({:.2f} s wall)\n",
          a.scheduler, cfg.name,
          co.parallel() ? fmt::format(" x{} (tp {} pp {})", co.tp * co.pp, co.tp, co.pp) : std::string(),
          cost.model().name, a.trace, s["requests"].get<uint64_t>(), rate,
          s["throughput_tokens_per_s"].get<double>(), s["throughput_requests_per_s"].get<double>(),
          s["ttft_s"]["p50"].get<double>(), s["ttft_s"]["p90"].get<double>(), s["ttft_s"]["p99"].get<double>(),
          s["tpot_s"]["p50"].get<double>(), s["tpot_s"]["p90"].get<double>(), s["tpot_s"]["p99"].get<double>(),
          100.0 * s["slo_attainment"].get<double>(), 100.0 * s["kv_utilization"].get<double>(),
          s["energy_j_per_token"].get<double>(), wall_s);
    runs.push_back(std::move(s));
  }

  json rep{{"tool", tool_json()},
           {"arch", arch_json(cfg)},
           {"model",
            {{"name", cost.model().name},
             {"file", cost.model().file},
             {"weight_bytes", cost.model().weight_bytes},
             {"kv_bytes_per_token", cost.model().kv_bytes_per_token()},
             {"max_context", cost.model().max_context}}},
           {"trace",
            {{"name", a.trace},
             {"description", trace_desc},
             {"requests", a.requests},
             {"seed", a.seed},
             {"arrival", a.arrival},
             {"cv", a.cv},
             {"adapters", to.adapters},
             {"zipf_alpha", a.lora_alpha}}},
           {"scheduler",
            {{"name", a.scheduler},
             {"max_batch", a.max_batch},
             {"max_batch_tokens", a.max_batch_tokens ? a.max_batch_tokens : cost.model().max_context},
             {"block_size", a.block_size},
             {"preemption", a.preemption},
             {"reserve", a.reserve},
             {"kv_link_gb_s", a.kv_link_gb_s},
             {"lora", a.lora},
             {"lora_rank", a.lora_rank}}},
           {"assumptions",
            {"iteration cost = dense(all tokens) + head(sequences) + per-sequence attention, from fast-engine runs "
             "split by layer (sim/serve/cost_model.h); lengths rounded up to a multiple of the bucket",
             "K/V cache int8 in weight memory: capacity = weight memory - model weights",
             "contiguous allocation packs perfectly (no external fragmentation)",
             "swap and K/V transfer times add to the iteration / link; host memory unbounded",
             "LoRA adapters resident; their memory and load time not modelled",
             "energy: busy counts through models/energy.h plus static power while idle"}}};
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
        "multi-chip: every serving instance (each of disaggregated's prefill and decode) is tp x pp chips; "
        "an iteration's time is one tensor-parallel shard's over every weight-balanced stage plus its "
        "collectives and stage links (one micro-batch, iterations not overlapped); K/V capacity is the "
        "tightest stage's (weight memory - its weight share) / its K/V bytes per token; energy = tp x one "
        "shard's dynamic energy + static power of every chip + link energy");
  }
  if (runs.size() == 1) {
    for (auto& [k, v] : runs[0].items()) rep[k] = v;
  } else {
    rep["sweep"] = runs;
    rep["slo_target"] = a.slo_target;
    rep["goodput_rate_per_s"] = goodput;
  }
  if (!a.json_file.empty()) write_file_atomic(a.json_file, rep.dump(2) + "\n", a.force);
  if (!a.csv_file.empty()) write_file_atomic(a.csv_file, csv, a.force);
  if (!a.requests_csv.empty()) {
    if (rates.size() != 1) throw InputError("--requests-csv: needs a single --rate (not --sweep-rates)");
    write_file_atomic(a.requests_csv, req_csv, a.force);
  }
  if (!a.quiet && runs.size() > 1)
    out << fmt::format("goodput (largest swept rate with SLO attainment >= {:.0f} %): {:.4g} req/s\n",
                       100.0 * a.slo_target, goodput);
  return 0;
}

}  // namespace tpusim
