// Runs a workload end to end on an engine: load, lower, simulate each segment (once, its counts
// multiplied by its repeat count), attribute counts to layers, and build the report JSON.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "sim/compiler/workload.h"

namespace tpusim {

// Where a run on a clocked engine stands: `stage` ("run": the workload's segments; "steady
// state": the two-batch stream), cycles simulated so far and expected in that stage (the fast
// engine's count, which the clocked engines equal: DESIGN.md).
struct RunProgress {
  std::string stage;
  uint64_t done_cycles = 0;
  uint64_t total_cycles = 0;
};

struct WorkloadRunOptions {
  std::string mode = "fast";  // fast | functional (cycle and rtl when built)
  bool timing_only = false;
  bool strict_capacity = false;  // capacity overflow becomes an InputError
  uint64_t seed = 1;
  // Also run a stream of two batches (LowerOptions::batches) and report the steady-state time
  // per batch, T(2) - T(1), as `steady_state` (timed engines, workloads of one group).
  bool steady = true;
  // Told the capacity warning before the run (weights over the weight memory, simulated as a
  // what-if); unset: the report's `capacity` block alone says so.
  std::function<void(const std::string&)> warn;
  // Told the progress of the clocked engines (cycle, rtl) every few 10^4 cycles, for progress
  // bars; unset for the others, which finish quickly. Setting it costs one fast-engine pass per
  // segment (the expected totals).
  std::function<void(const RunProgress&)> progress;
};

// The report of DESIGN.md for `workload` on `cfg`: tool, arch, workload, mode, totals, layers,
// capacity (and outputs when values were computed), and `steady_state` (opt.steady): the cost
// of one more batch in a stream whose host I/O overlaps the neighbouring batches' compute, or
// why it was not measured. A model whose weights exceed the weight
// memory runs as a what-if: capacity.fits = false and opt.warn is told.
nlohmann::json run_workload_report(const TpuConfig& cfg, const std::string& workload,
                                   const WorkloadParams& params, const WorkloadRunOptions& opt);
// The same for a workload already loaded (the Python package's workloads built from layers).
nlohmann::json run_workload_report(const TpuConfig& cfg, const Workload& wl,
                                   const WorkloadRunOptions& opt);

}  // namespace tpusim
