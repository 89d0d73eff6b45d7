// `tpusim plan`: the fewest chips and the best tensor x pipeline split that meet a latency SLO.
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/common/files.h"
#include "sim/studies/multichip/multichip.h"

using nlohmann::json;

namespace tpusim::cli {

namespace {

struct PlanArgs {
  std::string arch;
  WorkloadArgs wl;
  double slo_latency = 0.0;  // s
  uint32_t max_chips = 64;
  ParallelArgs par;  // --micro-batches --balance --collective-bytes
  OutputArgs out;
};

void print_plan(const json& r, const PlanArgs& a, const TpuConfig& cfg) {
  fmt::print("plan | arch {} | workload {} | SLO {} <= {:.6g} s | weights need >= {} chips\n",
             cfg.name, r["workload"]["name"].get<std::string>(),
             r["latency_kind"].get<std::string>(), a.slo_latency,
             r["search"]["chips_needed_for_weights"].get<uint64_t>());
  fmt::print("{:>6} {:>4} {:>4} {:>12} {:>14} {:>14} {:>8}  {}\n", "chips", "tp", "pp", "latency_s",
             "per_s", "J_per_unit", "comm_%", "result");
  uint64_t skipped = 0;
  for (const json& c : r["candidates"]) {
    if (!c.contains("latency_s")) {
      ++skipped;  // a split the model's shapes do not allow (reason in the JSON)
      continue;
    }
    fmt::print("{:>6} {:>4} {:>4} {:>12.6g} {:>14.6g} {:>14.6g} {:>8.1f}  {}\n",
               c["chips"].get<uint32_t>(), c["tp"].get<uint32_t>(), c["pp"].get<uint32_t>(),
               c["latency_s"].get<double>(), c["throughput_per_s"].get<double>(),
               c["energy_per_unit_j"].get<double>(), 100.0 * c["comm_share"].get<double>(),
               c["meets_slo"].get<bool>() ? "meets SLO" : c.value("why_not", std::string("-")));
  }
  if (skipped)
    fmt::print(
        "({} splits the layer shapes do not allow, e.g. tp not dividing the heads: see --json)\n",
        skipped);
  if (r["found"].get<bool>()) {
    const json& b = r["best"];
    fmt::print("best: {} chips = tp {} x pp {}: {:.6g} s, {:.6g} /s, {:.6g} J per unit\n",
               b["chips"].get<uint32_t>(), b["tp"].get<uint32_t>(), b["pp"].get<uint32_t>(),
               b["latency_s"].get<double>(), b["throughput_per_s"].get<double>(),
               b["energy_per_unit_j"].get<double>());
  } else {
    fmt::print("no split of up to {} chips meets the SLO\n", a.max_chips);
  }
}

// 0 when a split meets the SLO, 3 when none does within --max-chips (the report says why).
int run(const PlanArgs& a) {
  const MultiChipOptions mo = a.par.options();
  PlanOptions po;
  po.slo_latency_s = a.slo_latency;
  po.max_chips = a.max_chips;
  po.micro_batches = mo.micro_batches;
  po.balance = mo.balance;
  po.collective_bytes_per_element = mo.collective_bytes_per_element;
  const TpuConfig cfg = load_config(a.arch);
  const json r = plan_multichip(cfg, a.wl.workload, a.wl.params(), po);
  if (!a.out.json_file.empty()) write_file_atomic(a.out.json_file, r.dump(2) + "\n", a.out.force);
  if (!a.out.quiet) print_plan(r, a, cfg);
  return r["found"].get<bool>() ? 0 : 3;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  auto* c = app.add_subcommand(
      "plan", "Fewest chips and best tensor x pipeline split meeting a latency SLO");
  add_arch_option(c, a->arch);
  add_workload_options(c, a->wl);
  c->add_option("--slo-latency", a->slo_latency,
                "Latency objective, s (decode: per output token; prefill: TTFT; else the batch)")
      ->required()
      ->check(CLI::PositiveNumber);
  c->add_option("--max-chips", a->max_chips, "Largest chip count searched")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxChips));
  add_parallel_options(c, a->par, kPipelineOptions | kCollectiveOptions);
  add_output_options(c, a->out, "Plan JSON file");
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
