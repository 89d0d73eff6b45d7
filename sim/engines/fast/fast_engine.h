// Fast engine (`--mode fast`): instruction-level timing over the microarchitecture of
// sim/isa/ISA.md, computed per instruction and per resource rather than per clock, with the same
// counters as the cycle-accurate engines. Values are computed per instruction with the reference
// numerics, or skipped (timing_only) for models whose weights would not fit in host memory.
#pragma once

#include <cstdint>
#include <vector>

#include "models/config.h"
#include "sim/engines/engine.h"
#include "sim/isa/program.h"

namespace tpusim {

// Runs `prog` (validated first). Throws InputError for an illegal program, including one that
// deadlocks (an rw or a sync/halt that waits on a weight-FIFO slot only a later mmc can free).
EngineResult run_fast(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt = {});

}  // namespace tpusim
