// Energy and power model: per-event dynamic energy (45 nm base values scaled to the arch's node
// and voltage) times the event counts of a run, plus static power by block times the run's time
// (Eq. 1-7, models/README.md). A function of (TpuConfig, EventCounts) only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"

namespace tpusim {

// Nodes of the Stillmaker & Baas table, largest first.
inline const int kStillmakerNodesNm[] = {45, 32, 20, 16, 14, 10, 7};

// Eq. 1: f_node(V) = a V^2 + b V + c for a node of the table (kStillmakerNodesNm). Throws
// std::invalid_argument for any other node.
double stillmaker_poly(int table_node_nm, double voltage_v);

// Eq. 2: energy of `node_nm` relative to 45 nm at the same voltage: f_node(V) / f_45(V), with f
// interpolated linearly in the node between table rows, scaled by sqrt(node / 7) below 7 nm and
// by node / 45 above 45 nm. Dimensionless; 1 at 45 nm.
double node_energy_factor(double node_nm, double voltage_v);

// Eq. 3: factor that turns the 45 nm, base_voltage_v per-event energies of cfg.params.energy
// into energies at cfg's node and voltage: node_energy_factor(node, V_base) * (V / V_base)^2.
// 1 when cfg.params.energy.scaling is "none".
double dynamic_energy_scale(const TpuConfig& cfg);

// Static power in W by block ("static_" + area block) at cfg's voltage (Eq. 7).
std::map<std::string, double> static_power_w(const TpuConfig& cfg);

// Keys of EnergyResult::breakdown_j, in report order: the dynamic components, then
// "static_<block>" for each area block.
const std::vector<std::string>& energy_breakdown_keys();

struct EnergyResult {
  double seconds = 0.0;                       // cycles / clock (Eq. 6)
  double dynamic_scale = 0.0;                 // Eq. 3 factor applied to the on-chip events
  std::map<std::string, double> breakdown_j;  // every key of energy_breakdown_keys(), J
  double dynamic_j = 0.0;  // all non-static components, DRAM and host link included
  double static_j = 0.0;
  double dram_j = 0.0;  // the off-chip DRAM devices' share (also in breakdown_j)
  double total_j = 0.0;
  double static_power_w = 0.0;
  double avg_power_w = 0.0;  // total_j / seconds (0 for an empty run)
  // (total_j - dram_j) / seconds: the die's own power, the quantity the TPU paper's per-die
  // 28 W idle / 40 W busy describes (models/README.md, "Calibration").
  double chip_power_w = 0.0;
  double tops_per_w = 0.0;  // 2 ops per MAC: 2 * macs / total_j / 1e12 (Eq. 6)
};

// Energy of a run (Eq. 4-7). Dynamic: per-event energies times counts (derived counts of Eq. 5
// for PE-to-PE transfers, weight-shift hops and activation lanes); DRAM by cfg.weight_memory.type
// in pJ/bit and the host link in pJ/byte, neither node-scaled. Static: static_power_w x seconds.
// Throws std::out_of_range if the weight-memory type has no pJ/bit entry.
EnergyResult estimate_energy(const TpuConfig& cfg, const EventCounts& counts);

}  // namespace tpusim
