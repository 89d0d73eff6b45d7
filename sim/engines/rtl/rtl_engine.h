// RTL engine (`--mode rtl`): runs a program on the verilated rtl/ (Verilator's C++ output, the
// prebuilt presets tiny-4, tiny-8, small-16, small-32 and the multi-MXU tiny-4-x2, tiny-8-x4) and
// reports what run_fast reports.
//
// Everything comes from tpu_top's boundary, cycle by cycle: issue events and tile arrivals give
// the timeline (sim/engines/result_builder.h), the counter ports the cycle counts, count_work the
// work and bytes. Values: host memory is read back through bd_host_rdata_o; the UB and the
// accumulators are rebuilt by replaying every write the observation ports show (DMA and
// activation UB writes, every array's result rows with their {accumulate, address} tag); the setc
// registers from the issued setc instructions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/engines/engine.h"
#include "sim/isa/program.h"

namespace tpusim {

// Presets with a verilated model.
std::vector<std::string> rtl_presets();

// Runs `prog` on the verilated model of `cfg`, which must equal one of rtl_presets() (otherwise
// InputError naming the sizes that exist). Throws InputError for an illegal or deadlocking
// program or one that needs more host / instruction memory than the model has (4096 each).
EngineResult run_rtl(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt = {});

}  // namespace tpusim
