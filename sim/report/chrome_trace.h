// Chrome / Perfetto trace (`tpusim run --trace FILE`): instruction and unit activity over time
// from the fast engine's per-instruction timeline, plus a power counter track computed from
// per-interval event counts (models/energy.h on the events of each interval). Opens in
// https://ui.perfetto.dev and chrome://tracing (JSON object format, timestamps in microseconds).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/compiler/workload.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/isa/program.h"

namespace tpusim {

struct TraceOptions {
  // Intervals of the power counter track (fewer when the run has fewer cycles).
  uint32_t intervals = 200;
  // Instruction slices beyond this many are left out (the power track still covers the whole
  // run); the metadata then says up to which cycle the slices are complete.
  uint64_t max_slices = 100000;  // ~20 MB of JSON
};

// One program run laid on the trace's time axis: `result` must hold the timeline of `program`
// (EngineOptions::record_timeline). `layer_of` (optional, one entry per instruction) names the
// layer of each instruction from `layer_names`.
struct TracePart {
  std::string name;
  const Program* program = nullptr;
  const EngineResult* result = nullptr;
  uint64_t repeat = 1;  // how often the run repeats this part (reported, not drawn)
  const std::vector<uint32_t>* layer_of = nullptr;
  const std::vector<std::string>* layer_names = nullptr;
};

// Per-interval event counts of one or more program runs laid end to end: interval i covers the
// cycles [begin_cycle[i], begin_cycle[i+1]) of the whole axis; counts[i].cycles is its length.
// Each instruction's work events (functional.h count_work) are spread over the intervals its
// [issue, done) span covers, in proportion to the overlap, in integers that sum exactly to the
// instruction's events. So the counts of all intervals sum to the runs' counts (cycles and work;
// the breakdown counters are not split) and, energy being linear in the counts, the interval
// energies sum to the runs' energy.
struct IntervalCounts {
  std::vector<uint64_t> begin_cycle;  // intervals + 1 entries, the last = total cycles
  std::vector<EventCounts> counts;
};
IntervalCounts interval_counts(const TpuConfig& cfg, const std::vector<TracePart>& parts,
                               uint32_t intervals);

// The trace of `parts` laid end to end (part k starts where part k-1's cycles end). Tracks
// (one thread each): controller (each instruction from the cycle after the previous issue to
// its own issue), host DMA (rhm/whm), weight DMA (rw: issue to last tile on the bus), MXU (mmc:
// injection cycles; done in args), activation unit (act), and layer (when layer_of is given).
// A "power" counter track holds the average power of each interval (estimate_energy of the
// interval's counts / its seconds), split into dynamic and static. `metadata` holds the
// clock, the parts with their start cycles and repeats, and the power intervals with energy_j,
// whose sum (`interval_energy_j`) equals estimate_energy of the parts' counts (`energy_j`).
nlohmann::json chrome_trace(const TpuConfig& cfg, const std::vector<TracePart>& parts,
                            const TraceOptions& opt = {});

// A single program's trace.
nlohmann::json chrome_trace(const TpuConfig& cfg, const Program& program,
                            const EngineResult& result, const TraceOptions& opt = {});

// Trace of a workload: lowers it (timing only, segments not unrolled), runs one instance of each
// segment on the fast engine with the timeline recorded, and lays the instances end to end. The
// metadata says so and gives each segment's repeat; the run itself repeats segment k repeat_k
// times, so the trace's time and energy are those of one instance of each segment.
nlohmann::json workload_trace(const TpuConfig& cfg, const std::string& workload,
                              const WorkloadParams& params, const TraceOptions& opt = {});

}  // namespace tpusim
