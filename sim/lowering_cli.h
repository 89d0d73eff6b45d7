// CLI entry points of the lowering and the workload library, wired by sim/main.cpp.
#pragma once

#include <ostream>
#include <string>

#include "models/config.h"
#include "sim/workload.h"

namespace tpusim {

// `tpusim lower --arch A --workload W [--batch ..] [--phase ..] [-o FILE] [--timing-only] [--stats]`:
// writes the lowered program(s) as assembly (one `; segment NAME x REPEAT` block per segment,
// with `; layer` comments) to `out`. With `stats`, only the counts (lower_stats: instructions per
// opcode, MAC slots, memory used per segment, the layer table), for programs too large to store or
// print. Returns the exit code.
int cmd_lower(const TpuConfig& cfg, const std::string& workload, const WorkloadParams& params,
              bool timing_only, bool stats, std::ostream& out);

// `tpusim list workloads [--json]`.
int cmd_list_workloads(bool json, std::ostream& out);

// `tpusim import-scalesim FILE [-o OUT] [--batch N]`: writes workload YAML to `out`.
int cmd_import_scalesim(const std::string& file, uint64_t batch, std::ostream& out);

}  // namespace tpusim
