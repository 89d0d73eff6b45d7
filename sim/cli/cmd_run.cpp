// `tpusim run`: a workload or an assembly program on an engine, the report (JSON, CSV, trace) and
// a one-screen summary.
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/common/files.h"
#include "sim/common/hash.h"
#include "sim/engines/engine.h"
#include "sim/isa/assembler.h"
#include "sim/report/carbon_report.h"
#include "sim/report/chrome_trace.h"
#include "sim/report/html_report.h"
#include "sim/report/layers_csv.h"
#include "sim/report/report_json.h"
#include "sim/studies/multichip/multichip.h"
#include "sim/studies/run/run_workload.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim::cli {

namespace {

struct RunArgs {
  std::string arch, program, mode = "fast", out_dir, trace_file, vcd_file, csv_file, grid, dvfs;
  WorkloadArgs wl;
  OutputArgs out;
  double qps = 0.0, years = 0.0;
  bool timing_only = false, strict_capacity = false, cold = false;
  uint64_t seed = 1;
  ParallelArgs par;
};

void warn(const std::string& msg) { fmt::print(stderr, "tpusim: warning: {}\n", msg); }

Program load_program(const std::string& path) {
  if (path.size() > 4 && path.substr(path.size() - 4) == ".bin") return load_binary_file(path);
  return assemble_file(path);
}

json outputs_json(const FunctionalResult& r, const TpuConfig& cfg) {
  json outs = json::array();
  const uint64_t W = cfg.vector_bytes();
  uint64_t all = 0xcbf29ce484222325ull;
  for (const auto& w : r.host_writes) {
    const int8_t* p = r.state.host.data() + w.host_vector * W;
    uint64_t h = fnv1a64(p, w.vectors * W);
    all = fnv1a64(p, w.vectors * W, all);
    outs.push_back({{"host_vector", w.host_vector},
                    {"vectors", w.vectors},
                    {"fnv1a64", fmt::format("{:016x}", h)}});
  }
  return {{"writes", outs}, {"fnv1a64", fmt::format("{:016x}", all)}};
}

void print_summary(const json& rep) {
  const json& t = rep["totals"];
  fmt::print("tpusim {} | arch {} | {} {} | mode {}\n", rep["tool"]["version"].get<std::string>(),
             rep["arch"]["name"].get<std::string>(),
             rep.contains("program") ? "program" : "workload",
             rep.contains("program") ? rep["program"]["name"].get<std::string>()
                                     : rep["workload"]["name"].get<std::string>(),
             rep["mode"].get<std::string>());
  fmt::print("{:<28}{:>20}\n", "metric", "value");
  auto row = [](const std::string& k, const std::string& v) { fmt::print("{:<28}{:>20}\n", k, v); };
  if (t.contains("cycles")) {
    row("cycles", std::to_string(t["cycles"].get<uint64_t>()));
    row("seconds", fmt::format("{:.6g}", t["seconds"].get<double>()));
    // The workload's own TOPS first; array slots (padding, identity passes) named as such.
    if (t.contains("useful_tops")) {
      row("useful TOPS (2 ops/MAC)", fmt::format("{:.4g}", t["useful_tops"].get<double>()));
      row("  useful MACs of peak",
          fmt::format("{:.1f} %", 100.0 * t["useful_utilization"].get<double>()));
    }
    row("array-slot TOPS", fmt::format("{:.4g}", t["tops"].get<double>()));
    row("  array-slot utilization",
        fmt::format("{:.1f} %", 100.0 * t["utilization"].get<double>()));
    const json& b = t["breakdown"];
    for (const char* k : {"array_active", "weight_stall", "weight_shift", "non_matrix"})
      row(fmt::format("  {}", k), fmt::format("{:.1f} %", 100.0 * b[k].get<double>()));
    row("energy (J)", fmt::format("{:.4g}", t["energy_j"].get<double>()));
    row("avg power (W)", fmt::format("{:.4g}", t["avg_power_w"].get<double>()));
    row("carbon op+emb (g CO2e)",
        fmt::format("{:.3g}", t["carbon_g"]["operational"].get<double>() +
                                  t["carbon_g"]["embodied"].get<double>()));
  }
  if (rep.contains("steady_state")) {
    const json& s = rep["steady_state"];
    if (s["measured"].get<bool>()) {
      row("steady state: cycles/batch", std::to_string(s["cycles"].get<uint64_t>()));
      row("  seconds/batch", fmt::format("{:.6g}", s["seconds"].get<double>()));
      if (s.contains("useful_tops"))
        row("  useful TOPS", fmt::format("{:.4g}", s["useful_tops"].get<double>()));
      row("  array-slot TOPS", fmt::format("{:.4g}", s["tops"].get<double>()));
      row("  x cold", fmt::format("{:.3f}", s["speedup_over_cold"].get<double>()));
    } else {
      fmt::print("steady state not measured: {}\n", s["why"].get<std::string>());
    }
  }
  row("instructions", std::to_string(t["instructions"].get<uint64_t>()));
  row("MACs (array slots)", std::to_string(t["macs"].get<uint64_t>()));
  row("weight tiles", std::to_string(t["weight_tiles"].get<uint64_t>()));
  if (t.contains("mxu_rows")) {  // several MXUs: the rows each injected (its active cycles)
    std::string rows;
    for (const json& m : t["mxu_rows"])
      rows += (rows.empty() ? "" : " / ") + std::to_string(m.get<uint64_t>());
    row("rows per MXU", rows);
  }
  row("weight-memory bytes", std::to_string(t["bytes"]["weight_memory_read"].get<uint64_t>()));
  row("host bytes in / out", fmt::format("{} / {}", t["bytes"]["host_read"].get<uint64_t>(),
                                         t["bytes"]["host_write"].get<uint64_t>()));
  // Where the tensors between groups went (report: lowering.group_boundaries).
  if (rep.contains("lowering") && rep["lowering"].contains("group_boundaries") &&
      !rep["lowering"]["group_boundaries"].empty()) {
    uint64_t on = 0, off = 0;
    for (const json& b : rep["lowering"]["group_boundaries"])
      (b["on_chip"].get<bool>() ? on : off)++;
    row("between groups: UB / host", fmt::format("{} / {}", on, off));
  }
  if (rep.contains("outputs")) row("output checksum", rep["outputs"]["fnv1a64"].get<std::string>());
}

// One-screen summary of a run_multichip_report JSON.
void print_multichip_summary(const json& r) {
  const json& s = r["split"];
  fmt::print("tpusim multichip | arch {} | interconnect {} {} | workload {}\n",
             r["arch"]["name"].get<std::string>(), r["interconnect"]["type"].get<std::string>(),
             r["interconnect"]["topology"].get<std::string>(),
             r["workload"]["name"].get<std::string>());
  fmt::print(
      "split: {} chips = tp {} x pp {}, {} micro-batches of {}, {} distinct shard(s) simulated\n",
      s["chips"].get<uint32_t>(), s["tp"].get<uint32_t>(), s["pp"].get<uint32_t>(),
      s["micro_batches"].get<uint32_t>(), s["micro_batch_size"].get<uint64_t>(),
      s["distinct_shards_simulated"].get<uint64_t>());
  auto row = [](const std::string& k, const std::string& v) { fmt::print("{:<30}{:>20}\n", k, v); };
  row(fmt::format("latency ({})", r["latency_kind"].get<std::string>()),
      fmt::format("{:.6g} s", r["latency_s"].get<double>()));
  if (r.contains("tokens_per_s")) {
    row("tokens/s", fmt::format("{:.6g}", r["tokens_per_s"].get<double>()));
    row("energy per token", fmt::format("{:.6g} J", r["energy_per_token_j"].get<double>()));
  } else {
    row("items/s", fmt::format("{:.6g}", r["items_per_s"].get<double>()));
    row("energy per item", fmt::format("{:.6g} J", r["energy_per_item_j"].get<double>()));
  }
  row("communication share",
      fmt::format("{:.3g} %", 100.0 * r["communication"]["share"].get<double>()));
  row("communication energy",
      fmt::format("{:.4g} J", r["communication"]["energy_j"].get<double>()));
  row("critical path", r["critical_path"]["bound"].get<std::string>());
  row("max weight bytes per chip",
      std::to_string(r["capacity"]["weight_bytes_per_chip_max"].get<uint64_t>()));
  row("fits weight memory", r["capacity"]["fits"].get<bool>() ? "yes" : "NO");
}

// Writes the report JSON (--json, else --out/report.json) and the CSV; returns the JSON's path.
std::string write_report(const json& rep, const RunArgs& a) {
  std::string json_path = a.out.json_file;
  if (json_path.empty() && !a.out_dir.empty())
    json_path = (fs::path(a.out_dir) / "report.json").string();
  if (!json_path.empty()) write_file_atomic(json_path, rep.dump(2) + "\n", a.out.force);
  if (!a.csv_file.empty()) write_file_atomic(a.csv_file, layers_csv(rep), a.out.force);
  return json_path;
}

int run_multichip(const TpuConfig& cfg, const RunArgs& a) {
  if (a.mode != "fast")
    throw InputError("--chips/--tp/--pp: multi-chip runs use the fast engine (--mode fast)");
  MultiChipOptions mo = a.par.options();
  mo.strict_capacity = a.strict_capacity;
  mo.warn = warn;
  const json rep = run_multichip_report(cfg, a.wl.workload, a.wl.params(), mo);
  if (!a.out.quiet) print_multichip_summary(rep);
  const std::string path = write_report(rep, a);
  if (!a.out.quiet && !a.out.json_file.empty()) fmt::print("report: {}\n", path);
  return 0;
}

int run(const RunArgs& a) {
  if (a.wl.workload.empty() && a.program.empty())
    throw InputError("run: one of --workload or --program is required");
  const TpuConfig cfg = run_config(load_config(a.arch), a.dvfs, a.grid);
  if (!a.trace_file.empty() && !engine_info(a.mode).timed)
    throw InputError("--trace: the functional engine has no time; use a timed mode");
  if (!a.out_dir.empty()) {
    // Created before the run so that --csv/--trace may point into it.
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec)
      throw InputError(fmt::format("--out {}: cannot create folder: {}", a.out_dir, ec.message()));
  }
  json rep;
  if (!a.wl.workload.empty()) {
    if (a.par.active()) return run_multichip(cfg, a);
    WorkloadRunOptions wo;
    wo.mode = a.mode;
    wo.timing_only = a.timing_only;
    wo.strict_capacity = a.strict_capacity;
    wo.seed = a.seed;
    wo.steady = !a.cold;
    wo.warn = warn;
    // One bar per stage of a clocked run (the segments, then the steady-state stream).
    std::unique_ptr<ProgressBar> bar;
    std::string stage;
    if (progress_wanted(a.out.quiet))
      wo.progress = [&](const RunProgress& p) {
        if (!bar || p.stage != stage) {
          stage = p.stage;
          bar.reset();  // ends the previous stage's line first
          bar = std::make_unique<ProgressBar>(stage, "cycles", true);
        }
        bar->update(p.done_cycles, p.total_cycles);
      };
    rep = run_workload_report(cfg, a.wl.workload, a.wl.params(), wo);
    bar.reset();
    // The trace is the fast engine's timeline, which the timed engines share (DESIGN.md); it
    // goes with the report: written after the run, before the report JSON.
    if (!a.trace_file.empty())
      write_file_atomic(a.trace_file,
                        workload_trace(cfg, a.wl.workload, a.wl.params()).dump() + "\n",
                        a.out.force);
  } else {
    const Program prog = load_program(a.program);
    rep = json{
        {"tool", tool_json()},
        {"arch", arch_json(cfg)},
        {"program", {{"name", prog.name}, {"file", a.program}, {"instructions", prog.code.size()}}},
        {"mode", a.mode}};
    EngineOptions opt;
    opt.values = !a.timing_only;
    opt.vcd_path = a.vcd_file;
    opt.record_timeline = !a.trace_file.empty();
    // A bar on the clocked engines, against the fast engine's count (which they equal).
    std::unique_ptr<ProgressBar> bar;
    if (progress_wanted(a.out.quiet) && a.mode != "fast" && engine_info(a.mode).timed) {
      EngineOptions fo;
      fo.values = false;
      fo.record_timeline = false;
      const uint64_t expected = run_engine("fast", cfg, prog, fo).counts.cycles;
      bar = std::make_unique<ProgressBar>("run", "cycles", true);
      opt.on_cycles = [&bar, expected](uint64_t c) { bar->update(c, expected); };
    }
    const EngineResult r = run_engine(a.mode, cfg, prog, opt);
    if (bar) bar->update(r.counts.cycles, r.counts.cycles);
    bar.reset();
    rep["totals"] = r.timed ? totals_json(cfg, r.counts) : counts_json(r.counts, false);
    if (!a.trace_file.empty())
      write_file_atomic(a.trace_file, chrome_trace(cfg, prog, r).dump() + "\n", a.out.force);
    if (r.has_values) rep["outputs"] = outputs_json(r.values, cfg);
  }
  if (!a.dvfs.empty()) rep["dvfs_point"] = a.dvfs;
  add_carbon_blocks(rep, cfg, DeploymentOptions{a.qps, a.years});
  const std::string path = write_report(rep, a);
  if (!a.out.quiet) {
    print_summary(rep);
    if (!path.empty()) fmt::print("report: {}\n", path);
  }
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* c = app.add_subcommand("run", "Run a workload or an assembly program on an engine");
  add_arch_option(c, a->arch);
  auto* wl = add_workload_options(c, a->wl, true, false);
  auto* pg = c->add_option("--program", a->program, "Assembly (.s) or binary (.bin) program");
  wl->excludes(pg);
  c->add_option("--mode", a->mode, "Engine")->check(CLI::IsMember(engine_modes()));
  c->add_flag("--timing-only", a->timing_only, "Skip values (timing and counts only)");
  c->add_flag("--cold", a->cold,
              "One batch from an idle machine only: skip the steady-state run of a two-batch "
              "stream (host I/O overlapped with the neighbouring batches' compute)");
  c->add_option("--out", a->out_dir, "Folder for report.json");
  add_output_options(c, a->out, "Report JSON file");
  c->add_option("--trace", a->trace_file, "Chrome/Perfetto trace file");
  c->add_option("--csv", a->csv_file, "Per-layer CSV file");
  auto* qps = c->add_option("--qps", a->qps, "Deployment carbon: queries per second")
                  ->check(CLI::PositiveNumber);
  auto* years = c->add_option("--years", a->years, "Deployment carbon: years of service")
                    ->check(CLI::PositiveNumber);
  qps->needs(years);
  years->needs(qps);
  c->add_option("--grid", a->grid, "Grid carbon intensity: preset name or g CO2e/kWh");
  c->add_option("--dvfs", a->dvfs, "DVFS point of the arch (nominal or a point of its dvfs list)");
  c->add_option("--vcd", a->vcd_file, "VCD waveform of the cycle engine (RTL signal names)");
  c->add_flag("--strict-capacity", a->strict_capacity,
              "Weights beyond the weight memory are an error");
  c->add_option("--seed", a->seed, "Seed of the generated weights and inputs");
  add_parallel_options(c, a->par);
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
