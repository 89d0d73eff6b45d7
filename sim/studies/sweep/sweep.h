// Design-space sweeps (issue 9): a YAML spec of axes over arch keys and workload parameters,
// expanded into points, each run with run_workload_report and kept as one JSON file named by a
// stable hash of what the point resolves to. `tpusim sweep` (sim/cli/cmd_sweep.cpp) and
// scripts/ray_sweep.py both go through run_point / point_text, so a point file is the same bytes
// whichever runner, thread count or machine produced it.
//
// Spec (workloads/sweeps/*.yaml):
//   name: STR                   required; description: STR optional
//   base: ARCH                  preset name or YAML path (relative to the spec)
//   workloads: [WL, ...]        names or YAML paths (relative to the spec), at least one
//   axes:                       at least one; each names `key: K` or `tie: [K1, K2, ...]` and
//     - key: clock_mhz          exactly one of
//       values: [350, 700]        values: [...]     (a tie takes scalars or lists of len(tie))
//       range: {from, to, step}   linear, or {from, to, scale} geometric (scale > 1)
//       factors: [0.5, 1, 2]      multiples of the base arch's value (arch keys only)
//   design: cartesian           cartesian (every combination) | one_at_a_time (each axis alone,
//                               the others at the base arch's value / the workload's default)
//                               (axes may then share a key: each applies alone)
//   metrics: [cycles, ...]      kept per point (default kDefaultMetrics): a path into the report
//                               totals (`carbon_g.operational`) or a derived metric
//   mode: fast   timing_only: false   strict_capacity: false   seed: 1
//   parallel: {chips, tp, pp, micro_batches, balance, collective_bytes}   optional fixed split
// Keys K: a dotted path to a scalar of the resolved arch (arch_json: `array.rows`, `clock_mhz`,
// `weight_memory.type`, `technology.voltage_v`, ...), a workload parameter (`batch`, `phase`,
// `prompt_len`, `context_len`) or a multi-chip split (`chips`, `tp`, `pp`; integers 1..4096).
//
// Multi-chip points (issue 13). A point's split comes from its axes, else the `--chips/--tp/--pp`
// flags of `tpusim sweep`, else the spec's `parallel:` block, else one chip. Of chips, tp and pp,
// those not given are derived: chips alone is pure tensor parallelism (tp = chips, pp = 1); chips
// with one of tp / pp gives the other as chips / it; tp and / or pp alone give chips = tp x pp.
// A point whose split is inconsistent (tp x pp != chips, or chips not a multiple of the one
// given) is not an error but is *skipped*: its record has status "skipped" and a `reason`, it
// counts as done (a rerun keeps it) and does not make the sweep fail, so a cartesian product of
// chips x tp keeps its valid combinations. Fixed values alone (flags or the `parallel:` block,
// nothing of chips / tp / pp swept) that are inconsistent are an InputError instead, naming the
// flags or the file and key. A point of more than one chip runs run_multichip_report (fast
// engine, timing only); its metrics are the system's: cycles / seconds wall-clock, energy and
// power of every chip plus the links, utilization over all chips, area_mm2 of all dies. When any
// split is used, every record gets `parallel` {chips, tp, pp, micro_batches, comm_share,
// comm_energy_j, useful_macs_per_chip_max} and summary.csv the columns split.chips, split.tp,
// split.pp, split.micro_batches, comm_share and useful_macs_per_chip_max.
// scripts/ray_sweep.py runs points by id from the spec alone: for a Ray sweep, give the split in
// the spec (axes or `parallel:`), not as flags.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpusim {

// Metrics derived from the report beyond its totals (all per point):
//   area_mm2 (estimate_area die), tops_per_mm2, carbon_g_total (operational + embodied),
//   carbon_g_per_inference (carbon_g_total / workload batch), inferences_per_s (batch / seconds).
extern const std::vector<std::string> kDerivedMetrics;
extern const std::vector<std::string> kDefaultMetrics;
extern const std::vector<std::string> kWorkloadAxisKeys;  // batch, phase, prompt_len, context_len
extern const std::vector<std::string> kParallelAxisKeys;  // chips, tp, pp

// A fixed multi-chip split: 0 = not given (see the header comment for how points resolve it).
struct SweepParallel {
  uint32_t chips = 0, tp = 0, pp = 0;
  uint32_t micro_batches = 0;       // 0: run's default
  std::string balance = "weights";  // weights | time
  uint32_t collective_bytes = 1;    // bytes per activation element in collectives
  std::string source;               // where the fixed values came from, for messages
                                    // (the CLI's flags: "--chips 8 --tp 2")
};

struct SweepAxis {
  std::string name;               // label in CSV and plots: the key, or the tied keys joined by '+'
  std::vector<std::string> keys;  // one, or the tied keys
  // values[level][k] is the value of keys[k] at that level (numbers or strings).
  std::vector<std::vector<nlohmann::json>> values;
};

struct SweepSpec {
  std::string file;  // the spec's path (messages, relative paths)
  std::string name;
  std::string description;
  std::string base;       // as written
  std::string base_path;  // resolved YAML file of the base arch
  std::string design = "cartesian";
  std::string mode = "fast";
  bool timing_only = false;
  bool strict_capacity = false;
  uint64_t seed = 1;
  std::vector<SweepAxis> axes;
  std::vector<std::string> workloads;      // as written (what point records and ids use)
  std::vector<std::string> workload_refs;  // what load_workload is given (paths resolved)
  std::vector<std::string> metrics;
  nlohmann::json base_arch;  // arch_json of the base arch: base values and the valid key paths
  SweepParallel parallel;    // fixed split (`parallel:` block, then the command-line flags)
  // True when a point may run on more than one chip (a chips / tp / pp axis, or a fixed value
  // above 1): the records and summary.csv then carry the split columns.
  bool parallel_used() const;
};

// Overrides the spec's fixed split with the values given (0 / "" = not given; `flags.source` says
// where they come from) and checks it. Throws InputError naming the sources when the fixed
// values alone are inconsistent.
void apply_parallel_flags(SweepSpec& spec, const SweepParallel& flags);

struct SweepPoint {
  std::string id;            // 16 hex digits: fnv1a64 of the resolved point (point_identity)
  size_t workload = 0;       // index into spec.workloads
  nlohmann::json axes;       // axis key -> value (null: the workload's default for a workload key)
  std::string arch_yaml;     // the base plus this point's arch overrides, for parse_config
  std::string config_error;  // non-empty: the overrides make an invalid arch (a failed point)
  uint32_t tp = 1, pp = 1;   // the resolved split
  std::string skip_reason;   // non-empty: an inconsistent split (a skipped point)
};

// Reads and validates a spec. Throws InputError naming the file and the key on any problem:
// unknown keys, a key path that is not a scalar of the base arch, empty axes or value lists, a
// range with both or neither of step/scale, a value of the wrong type, an unknown workload or
// metric, a key swept by two axes of a cartesian design, more than kMaxPoints points.
SweepSpec load_sweep_spec(const std::string& path);
SweepSpec parse_sweep_spec(const std::string& yaml_text, const std::string& file);
constexpr uint64_t kMaxSweepPoints = 1000000;

// The points of `spec` in enumeration order (first axis outermost, workloads innermost), each id
// once: points that resolve to the same arch, workload and parameters are one point.
std::vector<SweepPoint> expand_points(const SweepSpec& spec);

// Runs one point and returns its record: id, sweep, workload, axes, status ("ok" | "failed" |
// "skipped"), then metrics, capacity and workload_batch (and `parallel` when the spec uses a
// split) when ok, error when failed, reason when skipped. Never throws for a failure of the point
// itself (bad arch, capacity with strict_capacity, engine errors, a split the model refuses).
nlohmann::json run_point(const SweepSpec& spec, const SweepPoint& point);

// The bytes of a point file: the record as indented JSON plus a newline.
std::string point_text(const nlohmann::json& record);

// True when `text` is the file of a finished point of `spec` with this id: parses, same id, and
// status ok with exactly the spec's metrics (so a spec with new metrics reruns the point) and a
// `parallel` block when the spec uses a split, or status skipped.
bool point_file_valid(const SweepSpec& spec, const std::string& id, const std::string& text);

// Where a running sweep stands, after each point it writes.
struct SweepProgress {
  size_t points_done = 0;  // reused + run so far
  size_t points = 0;       // of the spec
  size_t failed = 0;       // failed among those run now
  double eta_s = -1.0;     // estimated seconds left (-1: not known yet)
  bool finished = false;   // the last point of this run
};

struct SweepOptions {
  std::string out_dir;
  unsigned jobs = 1;
  std::function<void(const SweepProgress&)> on_progress;  // called under a lock, one at a time
  uint64_t stop_after = 0;  // testing: SIGKILL this process once this many points were written
};

struct SweepOutcome {
  size_t total = 0;    // points of the spec
  size_t reused = 0;   // valid point files found and kept
  size_t ran = 0;      // points run now (ok or failed)
  size_t failed = 0;   // points without a valid result at the end
  size_t skipped = 0;  // points skipped for an inconsistent split (counted in reused / ran too)
};

// Runs every point of `spec` that has no valid file in OUT/points/ on `opt.jobs` threads, writing
// OUT/points/<id>.json (ok) or OUT/failed/<id>.json (failed) atomically as each finishes, then
// collect_results. Resumable: an interrupted run leaves only whole files, and a rerun keeps them.
SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& opt);

// Runs one point by id (the Ray path) into OUT/points or OUT/failed; returns its record.
// Throws InputError when `id` is not a point of the spec.
nlohmann::json run_one_point(const SweepSpec& spec, const std::string& out_dir,
                             const std::string& id);

// Writes OUT/results.jsonl (one compact record per point, sorted by id; failed points carry
// status "failed" and their error; missing points are left out) and OUT/summary.csv from the
// files present, and returns the counts (ran = 0). Same bytes whatever produced the files.
SweepOutcome collect_results(const SweepSpec& spec, const std::string& out_dir);

}  // namespace tpusim
