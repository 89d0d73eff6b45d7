// `tpusim serve`: LLM serving on simulated chips (sim/studies/serve/).
#include <functional>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/common/files.h"
#include "sim/studies/serve/placement.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/serve_study.h"

using nlohmann::json;

namespace tpusim::cli {

namespace {

struct ServeArgs {
  serve::ServeStudyOptions study;
  double rate = 1.0;
  std::vector<double> sweep_rates;  // non-empty: one run per rate (--rate ignored)
  std::string csv_file, requests_csv;
  OutputArgs out;
  ParallelArgs par;     // --chips --tp --pp --collective-bytes: every serving instance
  bool search = false;  // --search: DistServe's placement search (sim/studies/serve/placement.h)
  serve::PlacementSearchOptions placement;
};

// `serve --search`: every placement's goodput per chip, the best colocated and disaggregated.
int run_search(ServeArgs& a) {
  if (a.par.active()) throw InputError("--search: instance shapes come from --search-tp/-pp");
  if (!a.sweep_rates.empty()) throw InputError("--search: finds its own rates (no --sweep-rates)");
  std::unique_ptr<ProgressBar> bar;
  std::function<void(size_t, size_t, const serve::PlacementScore&)> progress;
  if (progress_wanted(a.out.quiet))
    progress = [&](size_t done, size_t all, const serve::PlacementScore&) {
      if (!bar) bar = std::make_unique<ProgressBar>("placements", "placements", true);
      bar->update(done, all);
    };
  const serve::PlacementStudy st = serve::run_placement_study(a.study, a.placement, progress);
  bar.reset();
  if (!a.out.json_file.empty())
    write_file_atomic(a.out.json_file, st.report.dump(2) + "\n", a.out.force);
  if (!a.csv_file.empty()) write_file_atomic(a.csv_file, st.csv, a.out.force);
  if (!a.out.quiet) {
    for (const auto& p : st.report["placements"])
      fmt::print("{:<48} {:>2} chips  goodput {:>8.4g} req/s  {:>8.4g} req/s/chip{}\n",
                 p["name"].get<std::string>(), p["chips"].get<uint32_t>(),
                 p["goodput_per_s"].get<double>(), p["goodput_per_chip"].get<double>(),
                 p["feasible"].get<bool>() ? "" : "  (infeasible)");
    for (const char* k : {"best_colocated", "best_disaggregated", "best"})
      if (!st.report[k].is_null())
        fmt::print("{}: {} ({:.4g} req/s/chip)\n", k, st.report[k]["name"].get<std::string>(),
                   st.report[k]["goodput_per_chip"].get<double>());
    if (st.report.contains("disaggregated_over_colocated_per_chip"))
      fmt::print("disaggregated / colocated goodput per chip: {:.3g}x\n",
                 st.report["disaggregated_over_colocated_per_chip"].get<double>());
  }
  return 0;
}

void print_rate(const json& s, double wall_s, const std::string& setting) {
  fmt::print(
      "serve {} x{} at {:.4g} req/s: {:.1f} tok/s, {:.3f} req/s, TTFT p50/p90/p99 "
      "{:.3f}/{:.3f}/{:.3f} s, TPOT p50/p90/p99 {:.3f}/{:.3f}/{:.3f} s, SLO {:.1f} %, KV util "
      "{:.1f} %, "
      "{:.3f} J/token ({:.2f} s wall)\n",
      setting, s["requests"].get<uint64_t>(), s["rate_per_s"].get<double>(),
      s["throughput_tokens_per_s"].get<double>(), s["throughput_requests_per_s"].get<double>(),
      s["ttft_s"]["p50"].get<double>(), s["ttft_s"]["p90"].get<double>(),
      s["ttft_s"]["p99"].get<double>(), s["tpot_s"]["p50"].get<double>(),
      s["tpot_s"]["p90"].get<double>(), s["tpot_s"]["p99"].get<double>(),
      100.0 * s["slo_attainment"].get<double>(), 100.0 * s["kv_utilization"].get<double>(),
      s["energy_j_per_token"].get<double>(), wall_s);
}

int run(ServeArgs& a) {
  if (a.search) return run_search(a);
  serve::ServeStudyOptions& o = a.study;
  o.rates = a.sweep_rates.empty() ? std::vector<double>{a.rate} : a.sweep_rates;
  if (!a.requests_csv.empty() && o.rates.size() != 1)
    throw InputError("--requests-csv: needs a single --rate (not --sweep-rates)");
  o.per_request = !a.requests_csv.empty();
  if (a.par.active()) {
    const MultiChipOptions mo = a.par.options();
    o.tp = mo.tp;
    o.pp = mo.pp;
    o.collective_bytes = mo.collective_bytes_per_element;
  } else {
    a.par.options();  // an inconsistent --chips 1 --tp 1 --pp 2 is still an error
  }
  // One bar per rate, ended before that rate's line is printed.
  std::unique_ptr<ProgressBar> bar;
  if (progress_wanted(a.out.quiet))
    o.progress = [&](double rate, uint64_t finished, uint64_t requests) {
      if (!bar)
        bar = std::make_unique<ProgressBar>(fmt::format("rate {:g}/s", rate), "requests", true);
      bar->update(finished, requests);
    };
  serve::RateDone on_rate;
  if (!a.out.quiet)
    on_rate = [&](const json& s, double wall_s, const std::string& setting) {
      bar.reset();
      print_rate(s, wall_s, setting);
    };
  const serve::ServeStudy st = serve::run_serve_study(o, on_rate);
  bar.reset();
  o.progress = nullptr;
  if (!a.out.json_file.empty())
    write_file_atomic(a.out.json_file, st.report.dump(2) + "\n", a.out.force);
  if (!a.csv_file.empty()) write_file_atomic(a.csv_file, st.csv, a.out.force);
  if (!a.requests_csv.empty()) write_file_atomic(a.requests_csv, st.requests_csv, a.out.force);
  if (!a.out.quiet && o.rates.size() > 1)
    fmt::print("goodput (largest swept rate with SLO attainment >= {:.0f} %): {:.4g} req/s\n",
               100.0 * o.slo_target, st.report["goodput_rate_per_s"].get<double>());
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  using namespace serve;
  auto a = std::make_shared<ServeArgs>();
  ServeStudyOptions& o = a->study;
  auto* s = app.add_subcommand(
      "serve",
      "Serve a request trace with an LLM on simulated chips (Orca, vLLM, DistServe, S-LoRA)");
  s->add_option("--arch", o.arch, "Arch preset name or YAML path")->capture_default_str();
  s->add_option("--model", o.model, "Transformer workload name or YAML path")
      ->capture_default_str();
  s->add_option("--trace", o.trace, "orca|sharegpt|alpaca|longbench|humaneval|slora or FILE.csv")
      ->capture_default_str();
  s->add_option("--requests", o.requests, "Requests to generate (CSV: first N rows, 0 = all)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(0), kMaxRequests));
  s->add_option("--rate", a->rate, "Mean arrival rate, requests/s")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  s->add_option("--seed", o.seed, "Trace seed")->capture_default_str();
  s->add_option("--arrival", o.arrival, "Arrival process")
      ->capture_default_str()
      ->check(CLI::IsMember({"poisson", "gamma"}));
  s->add_option("--cv", o.cv, "Gamma arrivals: coefficient of variation")->capture_default_str();
  s->add_option("--scheduler", o.scheduler, "Scheduler")
      ->capture_default_str()
      ->check(CLI::IsMember({"static", "continuous", "paged", "disaggregated"}));
  s->add_option("--slo-ttft", o.slo_ttft, "TTFT objective, s (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  s->add_option("--slo-tpot", o.slo_tpot, "TPOT objective, s (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  s->add_option("--slo-target", o.slo_target, "Attainment a sweep's goodput rate must reach")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  s->add_option("--max-batch", o.max_batch, "Sequences per iteration")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxServeBatch));
  s->add_option("--max-batch-tokens", o.max_batch_tokens,
                "Prefill tokens per iteration (0 = max_context)")
      ->capture_default_str();
  s->add_option("--block-size", o.block_size, "Paged K/V block, tokens")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxBlockTokens));
  s->add_option("--preemption", o.preemption,
                "Paged preemption (auto = vLLM's: recompute one sequence, swap a group)")
      ->capture_default_str()
      ->check(CLI::IsMember({"recompute", "swap", "auto"}));
  s->add_option("--swap-space-gib", o.swap_space_gib, "Paged host swap space, GiB (vLLM: 4)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, kMaxSwapSpaceGib));
  s->add_option("--paged-attention-overhead", o.paged_attention_overhead,
                "Paged decode attention's block-table gather, fraction added (vLLM: 0.2)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  s->add_option("--kv-dtype", o.kv_dtype, "K/V cache element type (vLLM: fp16)")
      ->capture_default_str()
      ->check(CLI::IsMember({"int8", "fp16"}));
  s->add_flag("--causal-prefill", o.causal_prefill,
              "Halve prefill attention for causal masking (counts x (p+1)/(2p))");
  s->add_option("--samples", o.samples, "Parallel samples per request, sharing the prompt")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxSeqWidth));
  s->add_option("--beam-width", o.beam_width, "Beam search width (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0u, kMaxSeqWidth));
  s->add_option(
       "--device", o.device,
       "Price iterations on a baseline device's roofline (workloads/devices/ name or YAML)")
      ->capture_default_str();
  s->add_option("--device-dtype", o.device_dtype, "The device's dtype (default: its own)")
      ->check(CLI::IsMember({"int8", "fp16", "bf16", "fp32"}));
  s->add_option("--shared-prefix", o.shared_prefix,
                "Tokens of a prefix every prompt starts with (paged: computed once, shared)")
      ->capture_default_str()
      ->check(CLI::Range(0u, kMaxBlockTokens));
  s->add_option("--kv-capacity-tokens", o.kv_capacity_tokens,
                "K/V token slots (0 = weight memory left by the weights)")
      ->capture_default_str();
  s->add_option("--reserve", o.reserve, "Contiguous K/V reservation")
      ->capture_default_str()
      ->check(CLI::IsMember({"max", "pow2", "oracle"}));
  s->add_option("--kv-link-gb-s", o.kv_link_gb_s, "Disaggregated K/V link, GB/s")
      ->capture_default_str();
  s->add_flag("--pipeline", o.pipeline,
              "continuous with --pp > 1: Orca's pipelining, up to pp batches in flight");
  s->add_flag("--lora", o.lora, "Serve per-request LoRA adapters unmerged (S-LoRA)");
  s->add_flag("--lora-packed", o.lora_packed,
              "With --lora: S-LoRA's vLLM-packed baseline (each adapter merged into a model copy)");
  s->add_option("--chunked-prefill", o.chunked_prefill,
                "Paged: Sarathi-Serve chunked prefill, tokens per iteration (0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0u, kMaxBlockTokens * 16));
  s->add_option("--lora-adapters", o.lora_adapters,
                "Adapters (0 = 200 with --lora or the slora trace)")
      ->capture_default_str()
      ->check(CLI::Range(0u, kMaxLoraAdapters));
  s->add_option("--lora-rank", o.lora_rank, "Adapter rank (a model with its own rank mix keeps it)")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxLoraRank));
  s->add_option("--lora-alpha", o.lora_alpha, "Zipf exponent of adapter popularity")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  s->add_option("--bucket", o.bucket, "Cost-model length bucket, tokens")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxBlockTokens));
  s->add_option("--sweep-rates", a->sweep_rates, "Comma-separated rates: one run each")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  s->add_flag("--search", a->search,
              "DistServe placement search: goodput per chip of every (N prefill, M decode, "
              "tp x pp each) and colocated placement within --chip-budget (needs an SLO)");
  s->add_option("--chip-budget", a->placement.chip_budget, "--search: chips of a placement")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  s->add_option("--search-tp", a->placement.tp, "--search: instance tp degrees")
      ->delimiter(',')
      ->check(CLI::Range(1u, 1024u));
  s->add_option("--search-pp", a->placement.pp, "--search: instance pp degrees")
      ->delimiter(',')
      ->check(CLI::Range(1u, 1024u));
  s->add_option("--search-min-trace-s", a->placement.min_trace_s,
                "--search: each probe's trace spans at least this many seconds of arrivals")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  s->add_option("--search-bisections", a->placement.bisections,
                "--search: halvings of each placement's goodput bracket")
      ->capture_default_str()
      ->check(CLI::Range(0u, 30u));
  add_output_options(s, a->out, "Report JSON file");
  s->add_option("--csv", a->csv_file, "One CSV row per rate");
  s->add_option("--requests-csv", a->requests_csv, "Per-request results CSV (single rate)");
  add_parallel_options(s, a->par, kSplitOptions | kCollectiveOptions);
  return {s, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
