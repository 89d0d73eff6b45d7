#include "sim/sweep_cli.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "sim/sweep.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim {

CLI::App* add_sweep_command(CLI::App& app, SweepArgs& a) {
  auto* s = app.add_subcommand("sweep", "Run a design-space sweep (resumable)");
  s->add_option("spec", a.spec, "Sweep spec YAML (workloads/sweeps/*.yaml)")->required();
  s->add_option("--out", a.out_dir, "Results folder")->required();
  s->add_option("--jobs", a.jobs, "Worker threads (0 = hardware threads)")->check(CLI::Range(0u, 1024u));
  s->add_flag("--quiet", a.quiet, "No summary on stdout");
  s->add_flag("--no-progress", a.no_progress, "No progress lines on stderr");
  s->add_option("--chips", a.chips, "Chips of every point not sweeping chips (= tp x pp; alone: tensor parallel)")
      ->check(CLI::Range(1u, 4096u));
  s->add_option("--tp", a.tp, "Tensor-parallel chips of every point not sweeping tp")->check(CLI::Range(1u, 4096u));
  s->add_option("--pp", a.pp, "Pipeline stages of every point not sweeping pp")->check(CLI::Range(1u, 4096u));
  s->add_option("--micro-batches", a.micro_batches, "Pipeline micro-batches of multi-chip points (0 = default)")
      ->check(CLI::Range(0u, 1u << 20));
  s->add_option("--balance", a.balance, "Pipeline stage balance of multi-chip points")
      ->check(CLI::IsMember({"weights", "time"}));
  s->add_option("--collective-bytes", a.collective_bytes, "Bytes per activation element in collectives")
      ->check(CLI::Range(1u, 8u));
  // Internal: one point per process (scripts/ray_sweep.py), listing, collecting, kill tests.
  s->add_option("--only-point", a.only_point, "")->group("");
  s->add_flag("--list", a.list, "")->group("");
  s->add_flag("--collect", a.collect, "")->group("");
  s->add_option("--stop-after", a.stop_after, "")->group("");
  return s;
}

int cmd_sweep(const SweepArgs& a, std::ostream& out) {
  if (int(!a.only_point.empty()) + int(a.list) + int(a.collect) > 1)
    throw InputError("sweep: --only-point, --list and --collect exclude each other");
  SweepSpec spec = load_sweep_spec(a.spec);
  SweepParallel flags;
  flags.chips = a.chips;
  flags.tp = a.tp;
  flags.pp = a.pp;
  flags.micro_batches = a.micro_batches;
  flags.balance = a.balance;
  flags.collective_bytes = a.collective_bytes;
  apply_parallel_flags(spec, flags);

  if (a.list) {
    for (const SweepPoint& p : expand_points(spec)) {
      std::ifstream in(fs::path(a.out_dir) / "points" / (p.id + ".json"), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      json j = {{"id", p.id},
                {"workload", spec.workloads[p.workload]},
                {"axes", p.axes},
                {"done", bool(in) && point_file_valid(spec, p.id, text)}};
      out << j.dump() << "\n";
    }
    return 0;
  }
  if (!a.only_point.empty()) {
    json rec = run_one_point(spec, a.out_dir, a.only_point);
    if (rec["status"] == "failed") {
      if (!a.quiet) out << fmt::format("point {} failed: {}\n", a.only_point, rec["error"].get<std::string>());
      return 1;
    }
    return 0;
  }

  SweepOutcome oc;
  if (a.collect) {
    oc = collect_results(spec, a.out_dir);
  } else {
    SweepOptions opt;
    opt.out_dir = a.out_dir;
    opt.jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
    opt.progress = !a.no_progress && ::isatty(STDERR_FILENO);
    opt.stop_after = a.stop_after;
    oc = run_sweep(spec, opt);
  }
  if (!a.quiet) {
    out << fmt::format("sweep {}: {} points, {} run, {} reused, {} failed", spec.name, oc.total,
                       oc.ran, oc.reused, oc.failed);
    if (oc.skipped) out << fmt::format(", {} skipped (tp x pp != chips)", oc.skipped);
    out << "\n";
    out << fmt::format("results: {}\n", (fs::path(a.out_dir) / "results.jsonl").string());
    if (oc.failed) out << fmt::format("failed points: {}\n", (fs::path(a.out_dir) / "failed").string());
  }
  return oc.failed ? 1 : 0;
}

}  // namespace tpusim
