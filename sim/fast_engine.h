// Fast engine (`--mode fast`): instruction-level timing over the microarchitecture of sim/ISA.md,
// computed per instruction and per resource rather than per clock, with the same counters as the
// cycle-accurate engines. Values are computed per instruction with the reference numerics, or
// skipped (timing_only) for models whose weights would not fit in host memory.
#pragma once

#include <cstdint>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/functional.h"
#include "sim/program.h"

namespace tpusim {

// Issue cycle and completion cycle (first cycle its effects are visible: sim/ISA.md "complete")
// of one instruction.
struct InstrTiming {
  uint64_t issue = 0;
  uint64_t done = 0;
  bool operator==(const InstrTiming& o) const { return issue == o.issue && done == o.done; }
};

struct FastOptions {
  bool values = true;            // false: --timing-only
  bool record_timeline = true;   // per-instruction InstrTiming
  // Per-layer attribution: when set (one entry per instruction), counts are also summed into
  // EngineResult::per_layer[layer_of[pc]]. Instruction pc owns the cycles from the previous
  // issue + 1 to its own issue (the first one from cycle 0), so the layers partition the cycles.
  const std::vector<uint32_t>* layer_of = nullptr;
  size_t layers = 0;
};

struct EngineResult {
  EventCounts counts;
  std::vector<InstrTiming> timeline;   // per instruction, when recorded
  std::vector<EventCounts> per_layer;  // with FastOptions::layer_of
  FunctionalResult values;             // state + host writes; empty when timing-only
  bool has_values = false;
};

// Runs `prog` (validated first). Throws InputError for an illegal program, including one that
// deadlocks (an rw or a sync/halt that waits on a weight-FIFO slot only a later mmc can free).
EngineResult run_fast(const TpuConfig& cfg, const Program& prog, const FastOptions& opt = {});

}  // namespace tpusim
