// `tpusim compare`: the accelerator beside CPU and GPU baselines on one workload.
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/common/files.h"
#include "sim/studies/compare/compare.h"
#include "sim/studies/compare/slo.h"
#include "sim/studies/multichip/multichip.h"

using nlohmann::json;

namespace tpusim::cli {

namespace {

struct CompareArgs {
  std::string arch, json_file, shapes_file;
  WorkloadArgs wl;
  bool force = false;
  CompareOptions co;
  double slo_ms = 0.0;  // 0: no limit (the plain comparison)
  SloOptions slo;
  ParallelArgs par;  // the accelerator side is the multi-chip system
};

void print_compare(const json& rep) {
  fmt::print("workload {} ({} examples per run) | speed-up and perf/W relative to Haswell\n",
             rep["workload"]["name"].get<std::string>(),
             rep["examples_per_inference"].get<uint64_t>());
  if (rep.contains("accelerator")) {
    const json& a = rep["accelerator"];
    fmt::print(
        "accelerator: {} chips of {} = tp {} x pp {}, {} micro-batch(es); latency ({}) {:.4g} s, "
        "communication {:.3g} % of it, {:.4g} W, {:.4g} TOPS/W (baselines: single devices)\n",
        a["chips"].get<uint32_t>(), a["arch"].get<std::string>(), a["tp"].get<uint32_t>(),
        a["pp"].get<uint32_t>(), a["micro_batches"].get<uint32_t>(),
        a["latency_kind"].get<std::string>(), a["latency_s"].get<double>(),
        100.0 * a["communication"]["share"].get<double>(), a["power_w"].get<double>(),
        a["tops_per_w"].get<double>());
  }
  // TOPS: the workload's own MACs (2 ops per MAC) over the latency, on every device.
  fmt::print("{:<26}{:>11}{:>13}{:>13}{:>10}{:>10}{:>12}{:>12}{:>10}\n", "device", "kind",
             "latency s", "useful TOPS", "power W", "speed-up", "perf/W x", "J/inf", "gCO2/inf");
  for (const auto& d : rep["devices"])
    fmt::print("{:<26}{:>11}{:>13.4g}{:>13.3g}{:>10.3g}{:>10.3g}{:>12.3g}{:>12.3g}{:>10.3g}\n",
               d["name"].get<std::string>(), d["kind"].get<std::string>(),
               d["latency_s"].get<double>(), d["tops"].get<double>(), d["power_w"].get<double>(),
               d["speedup_vs_haswell"].get<double>(), d["perf_per_w_vs_haswell"].get<double>(),
               d["energy_j_per_inference"].get<double>(),
               d["carbon_g_per_inference"].get<double>());
}

void print_slo(const json& rep) {
  const json& s = rep["slo"];
  if (s["per_step"].get<bool>())
    fmt::print(
        "workload {} | one batch step <= {:g} ms (no queue): largest batch that meets it, "
        "and the throughput there (per second; tokens for a decode step)\n",
        rep["workload"]["name"].get<std::string>(), s["limit_ms"].get<double>());
  else
    fmt::print(
        "workload {} | p{:g} response time <= {:g} ms: largest batch that meets it, and "
        "the throughput there (TPU paper Table 4)\n",
        rep["workload"]["name"].get<std::string>(), s["percentile"].get<double>(),
        s["limit_ms"].get<double>());
  fmt::print("{:<26}{:>12}{:>8}{:>12}{:>13}{:>9}{:>13}{:>10}\n", "device", "kind", "batch",
             "p-resp ms", "IPS", "% max", "max IPS", "at batch");
  for (const auto& d : rep["devices"]) {
    const std::string name = d["name"].get<std::string>(), kind = d["kind"].get<std::string>();
    if (d["meets_slo"].get<bool>()) {
      const json& c = d["chosen"];
      // "+": the grid's last batch met the limit; a larger one may too (--max-batch).
      const std::string batch =
          fmt::format("{}{}", c["batch"].get<uint64_t>(), c["at_grid_end"].get<bool>() ? "+" : "");
      fmt::print("{:<26}{:>12}{:>8}{:>12.4g}{:>13.4g}{:>9.3g}{:>13.4g}{:>10}\n", name, kind, batch,
                 1e3 * c["response_s"].get<double>(), c["ips"].get<double>(),
                 c["pct_of_max"].get<double>(), d["max_ips"].get<double>(),
                 d["max_ips_batch"].get<uint64_t>());
    } else {
      fmt::print("{:<26}{:>12}  {}\n", name, kind, d["reason"].get<std::string>());
    }
  }
}

int run(CompareArgs& a) {
  const WorkloadParams wp = a.wl.params();
  if (!a.shapes_file.empty()) {
    if (a.slo_ms <= 0.0) {
      write_file_atomic(a.shapes_file,
                        gpu_shapes_csv(baseline_workload(load_workload(a.wl.workload, wp))),
                        a.force);
      return 0;
    }
    // With --slo-ms: the shapes of every batch of the grid, each once.
    SloOptions grid = a.slo;
    grid.extra_batches.push_back(load_workload(a.wl.workload, wp).batch);
    std::string csv;
    std::set<std::string> seen;
    for (uint64_t b : slo_batch_grid(grid)) {
      WorkloadParams p = wp;
      p.batch = b;
      std::istringstream lines(gpu_shapes_csv(baseline_workload(load_workload(a.wl.workload, p))));
      for (std::string line; std::getline(lines, line);)
        if (seen.insert(line).second) csv += line + "\n";
    }
    write_file_atomic(a.shapes_file, csv, a.force);
    return 0;
  }
  const TpuConfig cfg = load_config(a.arch);
  if (a.slo_ms > 0.0) {
    if (a.par.active())
      throw InputError("--slo-ms: not combined with --chips/--tp/--pp (one chip per device)");
    a.slo.slo_s = a.slo_ms * 1e-3;
    const json rep = slo_compare_report(cfg, a.wl.workload, wp, a.co, a.slo);
    if (!a.json_file.empty()) write_file_atomic(a.json_file, rep.dump(2) + "\n", a.force);
    print_slo(rep);
    return 0;
  }
  // --chips/--tp/--pp: the accelerator is the multi-chip system; the baselines stay single
  // devices (the report's `accelerator` block says so).
  if (a.par.active())
    a.co.multichip_report = run_multichip_report(cfg, a.wl.workload, wp, a.par.options());
  const json rep = compare_report(cfg, a.wl.workload, wp, a.co);
  if (!a.json_file.empty()) write_file_atomic(a.json_file, rep.dump(2) + "\n", a.force);
  print_compare(rep);
  return 0;
}

}  // namespace

Command add_compare_command(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* c = app.add_subcommand("compare",
                               "Compare the accelerator with CPU and GPU baselines on a workload");
  add_arch_option(c, a->arch);
  add_workload_options(c, a->wl);
  c->add_option("--baselines", a->co.baselines,
                "Comma list of devices (names or YAML paths); default all");
  c->add_flag("--measure-cpu", a->co.measure_cpu,
              "Time the workload's GEMMs on this machine (oneDNN, Eigen)");
  c->add_option("--measure-seconds", a->co.measure_seconds, "Time budget of --measure-cpu")
      ->check(CLI::Range(0.1, 3600.0));
  c->add_option("--cpu-model", a->co.cpu_model, "Device whose power model the measured CPU uses");
  c->add_option("--gpu-results", a->co.gpu_results, "JSON from scripts/gpu/run_gpu_baseline.sh");
  c->add_option("--emit-gpu-shapes", a->shapes_file,
                "Write the workload's GEMM shapes (CSV) for the GPU bench");
  auto* slo =
      c->add_option("--slo-ms", a->slo_ms,
                    "Response-time limit T in ms: per device the largest batch whose percentile "
                    "response meets T, and the throughput there")
          ->check(CLI::Range(1e-6, 1e9));
  c->add_option("--percentile", a->slo.percentile, "Percentile of the response time (--slo-ms)")
      ->check(CLI::Range(1e-3, 99.999))
      ->needs(slo);
  c->add_flag("--slo-per-step", a->slo.per_step,
              "--slo-ms limits one batch step, no queue (an LLM decode's time per output token)")
      ->needs(slo);
  c->add_option("--max-batch", a->slo.max_batch, "Last batch of the --slo-ms batch grid")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 20))
      ->needs(slo);
  c->add_option("--json", a->json_file, "Comparison JSON file");
  c->add_flag("--force", a->force, "Replace existing output files");
  add_parallel_options(c, a->par);
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
