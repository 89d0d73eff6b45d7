// `tpusim sweep SPEC --out DIR [--jobs N]` (DESIGN.md, "CLI contract"; sim/sweep.h). Wired by
// sim/main.cpp like `serve`: add_sweep_command before parsing, cmd_sweep when it was given.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace tpusim {

struct SweepArgs {
  std::string spec;        // sweep spec YAML
  std::string out_dir;     // results folder (points/, failed/, results.jsonl, summary.csv)
  unsigned jobs = 0;       // worker threads; 0 = the machine's hardware threads
  bool quiet = false;      // no summary on `out`
  bool no_progress = false;
  // Internal (hidden) modes used by scripts/ray_sweep.py and the tests:
  std::string only_point;  // run just this point id into OUT
  bool list = false;       // print the points as JSON lines {id, workload, axes, done} on `out`
  bool collect = false;    // only write results.jsonl and summary.csv from the files in OUT
  uint64_t stop_after = 0; // SIGKILL itself after writing this many points (resume tests)
  // --chips --tp --pp --micro-batches --balance --collective-bytes: the fixed multi-chip split of
  // every point that does not sweep it (0 / "" = not given; sim/sweep.h, "Multi-chip points").
  uint32_t chips = 0, tp = 0, pp = 0, micro_batches = 0, collective_bytes = 0;
  std::string balance;
};

// Adds the `sweep` subcommand with every SweepArgs flag to `app`.
CLI::App* add_sweep_command(CLI::App& app, SweepArgs& args);

// Runs the sweep (or the internal mode asked for). Returns 0 when every point succeeded, 1 when
// some failed (each in OUT/failed/<id>.json, the rest complete); --only-point returns 0/1 for its
// point. Throws InputError (exit 2) for a bad spec or flags, naming the file and key.
int cmd_sweep(const SweepArgs& args, std::ostream& out);

}  // namespace tpusim
