#include "models/area.h"

namespace tpusim {

namespace {
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kUm2PerMm2 = 1e6;
}  // namespace

double AreaResult::share(const std::string& block) const {
  return die_mm2 > 0.0 ? blocks_mm2.at(block) / die_mm2 : 0.0;
}

double area_node_scale(const TpuConfig& cfg) {
  const double r = double(cfg.technology.node_nm) / cfg.params.area.ref_node_nm;
  return r * r;  // Eq. 8, models/README.md
}

AreaResult estimate_area(const TpuConfig& cfg) {
  const AreaParams& p = cfg.params.area;
  const double s = area_node_scale(cfg);
  // One FIFO per MXU, its slots held once per shift port (rtl/weight_fifo.v: a 1R1W bank per
  // column and port, the ports' copies written alike).
  const double fifo_bytes = double(cfg.mxus) * double(cfg.weight_shift_ports) *
                            double(cfg.weight_fifo_tiles) * double(cfg.tile_bytes());
  AreaResult r;
  // Eq. 8, models/README.md: A_b = n_b * a_b * s_area (I/O not scaled). Every PE of every MXU,
  // with its share of the extra shift ports.
  const double pe_um2 = p.mac_um2 + double(cfg.weight_shift_ports - 1) * p.shift_port_um2_per_pe;
  r.blocks_mm2["matrix_unit"] = double(cfg.macs_per_cycle()) * pe_um2 / kUm2PerMm2 * s;
  r.blocks_mm2["unified_buffer"] = double(cfg.unified_buffer_bytes) / kMiB * p.sram_mm2_per_mib * s;
  r.blocks_mm2["accumulators"] =
      double(cfg.accumulator_bytes()) / kMiB * p.accumulator_mm2_per_mib * s;
  r.blocks_mm2["weight_fifo"] = fifo_bytes / kMiB * p.sram_mm2_per_mib * s;
  r.blocks_mm2["activation"] = double(cfg.array.cols) * p.activation_mm2_per_lane * s;
  r.blocks_mm2["control"] = p.control_mm2 * s;
  r.blocks_mm2["io"] = p.io_mm2;
  double placed = 0.0;
  for (const auto& kv : r.blocks_mm2) placed += kv.second;
  // Eq. 9, models/README.md: the die is the placed blocks over (1 - whitespace fraction).
  r.die_mm2 = placed / (1.0 - p.whitespace_fraction);
  r.blocks_mm2["whitespace"] = r.die_mm2 - placed;
  return r;
}

}  // namespace tpusim
