// `tpusim sweep SPEC --out DIR [--jobs N]` (DESIGN.md, "CLI contract"; sim/studies/sweep/sweep.h).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/studies/sweep/sweep.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tpusim::cli {

namespace {

struct SweepArgs {
  std::string spec;     // sweep spec YAML
  std::string out_dir;  // results folder (points/, failed/, results.jsonl, summary.csv)
  unsigned jobs = 0;    // worker threads; 0 = the machine's hardware threads
  bool quiet = false;   // no summary on stdout
  bool no_progress = false;
  // Internal (hidden) modes used by scripts/ray_sweep.py and the tests:
  std::string only_point;   // run just this point id into OUT
  bool list = false;        // print the points as JSON lines {id, workload, axes, done}
  bool collect = false;     // only write results.jsonl and summary.csv from the files in OUT
  uint64_t stop_after = 0;  // SIGKILL itself after writing this many points (resume tests)
  // The fixed multi-chip split of every point that does not sweep it (sweep.h, "Multi-chip
  // points").
  ParallelArgs par;
};

// Returns 0 when every point succeeded, 1 when some failed (each in OUT/failed/<id>.json, the
// rest complete); --only-point returns 0/1 for its point.
int run(const SweepArgs& a) {
  if (int(!a.only_point.empty()) + int(a.list) + int(a.collect) > 1)
    throw InputError("sweep: --only-point, --list and --collect exclude each other");
  SweepSpec spec = load_sweep_spec(a.spec);
  SweepParallel flags;
  flags.chips = a.par.chips;
  flags.tp = a.par.tp;
  flags.pp = a.par.pp;
  flags.micro_batches = a.par.micro_batches;
  flags.balance = a.par.balance;
  flags.collective_bytes = a.par.collective_bytes;
  flags.source = a.par.given();
  apply_parallel_flags(spec, flags);

  if (a.list) {
    for (const SweepPoint& p : expand_points(spec)) {
      std::ifstream in(fs::path(a.out_dir) / "points" / (p.id + ".json"), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      json j = {{"id", p.id},
                {"workload", spec.workloads[p.workload]},
                {"axes", p.axes},
                {"done", bool(in) && point_file_valid(spec, p.id, text)}};
      std::cout << j.dump() << "\n";
    }
    return 0;
  }
  if (!a.only_point.empty()) {
    json rec = run_one_point(spec, a.out_dir, a.only_point);
    if (rec["status"] == "failed") {
      if (!a.quiet)
        fmt::print("point {} failed: {}\n", a.only_point, rec["error"].get<std::string>());
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
    ProgressBar bar("sweep " + spec.name, "points", progress_wanted(a.quiet || a.no_progress));
    opt.on_progress = [&bar](const SweepProgress& p) { bar.update(p.points_done, p.points); };
    opt.stop_after = a.stop_after;
    oc = run_sweep(spec, opt);
    bar.finish();
  }
  if (!a.quiet) {
    fmt::print("sweep {}: {} points, {} run, {} reused, {} failed", spec.name, oc.total, oc.ran,
               oc.reused, oc.failed);
    if (oc.skipped) fmt::print(", {} skipped (tp x pp != chips)", oc.skipped);
    fmt::print("\n");
    fmt::print("results: {}\n", (fs::path(a.out_dir) / "results.jsonl").string());
    if (oc.failed) fmt::print("failed points: {}\n", (fs::path(a.out_dir) / "failed").string());
  }
  return oc.failed ? 1 : 0;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* s = app.add_subcommand("sweep", "Run a design-space sweep (resumable)");
  s->add_option("spec", a->spec, "Sweep spec YAML (workloads/sweeps/*.yaml)")->required();
  s->add_option("--out", a->out_dir, "Results folder")->required();
  s->add_option("--jobs", a->jobs, "Worker threads (0 = hardware threads)")
      ->check(CLI::Range(0u, 1024u));
  s->add_flag("--quiet", a->quiet, "No summary on stdout, no progress bar");
  s->add_flag("--no-progress", a->no_progress, "No progress bar on stderr");
  // The split of every point that does not sweep chips / tp / pp.
  add_parallel_options(s, a->par);
  // Internal: one point per process (scripts/ray_sweep.py), listing, collecting, kill tests.
  s->add_option("--only-point", a->only_point, "")->group("");
  s->add_flag("--list", a->list, "")->group("");
  s->add_flag("--collect", a->collect, "")->group("");
  s->add_option("--stop-after", a->stop_after, "")->group("");
  return {s, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
