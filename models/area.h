// Area model: per-block silicon area of an arch by technology node (Eq. 8-9, models/README.md).
// A function of the TpuConfig only (area does not depend on what ran).
#pragma once

#include <map>
#include <string>

#include "models/config.h"

namespace tpusim {

// Floorplan blocks, in the order reports list them. Also the keys of the static-power breakdown
// of the energy model ("static_" + key).
inline const char* const kAreaBlocks[] = {"matrix_unit", "unified_buffer", "accumulators",
                                          "weight_fifo", "activation",     "control",
                                          "io",          "whitespace"};

struct AreaResult {
  std::map<std::string, double> blocks_mm2;  // every key of kAreaBlocks
  double die_mm2 = 0.0;                      // sum of blocks_mm2 (Eq. 9)
  // blocks_mm2[block] / die_mm2; throws std::out_of_range for an unknown block.
  double share(const std::string& block) const;
};

// (node / ref_node)^2: ideal area scaling of logic and SRAM from the reference node (Eq. 8).
double area_node_scale(const TpuConfig& cfg);

// Per-block area in mm^2 at cfg.technology.node_nm: the matrix unit from the MAC count, the
// UB / accumulators / weight FIFO from their capacities, the activation unit from its lanes
// (= cols), fixed control and I/O, and the unlabelled share (wiring, white space) as a fraction
// of the die (Eq. 8-9).
AreaResult estimate_area(const TpuConfig& cfg);

}  // namespace tpusim
