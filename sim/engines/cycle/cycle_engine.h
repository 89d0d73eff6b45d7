// Cycle engine (`--mode cycle`): runs a program on the SystemC twin of rtl/ (sim/engines/cycle/),
// clock by clock, and reports what run_fast reports: the counters (timing from the model's
// performance counters, work and bytes via count_work), the per-instruction timeline, per-layer
// attribution and the final architectural state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/engines/engine.h"
#include "sim/isa/program.h"

namespace tpusim {

// Runs `prog` (validated first) on a fresh elaboration of the SystemC tpu_top for `cfg` and
// returns counts, timeline, per_layer and (with values) the final ArchState and host writes.
// Throws InputError for an illegal or deadlocking program, or a configuration outside the
// RTL's limits (rtl/README.md: host link <= one vector per cycle, weight link <= one tile row
// per cycle). May be called any number of times in one process (each call elaborates in a new
// SystemC context).
EngineResult run_cycle(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt = {});

namespace sc {
// Starts a new SystemC simulation context so that a new design can be elaborated (SystemC
// elaborates once per context). Call before constructing modules; modules of an earlier run
// must be destroyed first.
void new_sc_context();
}  // namespace sc

}  // namespace tpusim
