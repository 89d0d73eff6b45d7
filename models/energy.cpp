#include "models/energy.h"

#include <cmath>
#include <stdexcept>

#include "models/area.h"

namespace tpusim {

namespace {

struct Poly {
  int node_nm;
  double a, b, c;
};

// ref (../shared/reference/energy-carbon.md): "Node scaling (Stillmaker & Baas 2017)".
constexpr Poly kPolys[] = {{45, 1.103, -0.362, 0.2767},     {32, 0.9559, -0.7823, 0.471},
                           {20, 0.373, -0.1582, 0.04104},   {16, 0.2958, -0.1241, 0.03024},
                           {14, 0.2363, -0.09675, 0.02239}, {10, 0.2068, -0.09311, 0.02375},
                           {7, 0.1776, -0.09097, 0.02447}};

constexpr double kPj = 1e-12;

}  // namespace

double stillmaker_poly(int table_node_nm, double voltage_v) {
  for (const Poly& p : kPolys) {
    if (p.node_nm == table_node_nm)
      return p.a * voltage_v * voltage_v + p.b * voltage_v + p.c;  // Eq. 1, models/README.md
  }
  throw std::invalid_argument("stillmaker_poly: node not in the Stillmaker & Baas table");
}

double node_energy_factor(double node_nm, double voltage_v) {
  const double f45 = stillmaker_poly(45, voltage_v);
  // Eq. 2, models/README.md.
  if (node_nm >= 45.0) return node_nm / 45.0;
  if (node_nm <= 7.0) return stillmaker_poly(7, voltage_v) / f45 * std::sqrt(node_nm / 7.0);
  for (size_t i = 0; i + 1 < std::size(kPolys); ++i) {
    const Poly& hi = kPolys[i];
    const Poly& lo = kPolys[i + 1];
    if (node_nm <= hi.node_nm && node_nm >= lo.node_nm) {
      const double t = (hi.node_nm - node_nm) / double(hi.node_nm - lo.node_nm);
      const double f = stillmaker_poly(hi.node_nm, voltage_v) * (1.0 - t) +
                       stillmaker_poly(lo.node_nm, voltage_v) * t;
      return f / f45;
    }
  }
  throw std::logic_error("node_energy_factor: node table does not cover (7, 45)");
}

double dynamic_energy_scale(const TpuConfig& cfg) {
  const EnergyParams& e = cfg.params.energy;
  if (e.scaling == "none") return 1.0;
  const double v = cfg.technology.voltage_v / e.base_voltage_v;
  // Eq. 3, models/README.md.
  return node_energy_factor(double(cfg.technology.node_nm), e.base_voltage_v) * v * v;
}

std::map<std::string, double> static_power_w(const TpuConfig& cfg) {
  const StaticDensity& d = cfg.params.energy.static_w_per_mm2;
  const std::map<std::string, double> density = {{"matrix_unit", d.matrix_unit},
                                                 {"unified_buffer", d.unified_buffer},
                                                 {"accumulators", d.accumulators},
                                                 {"weight_fifo", d.weight_fifo},
                                                 {"activation", d.activation},
                                                 {"control", d.control},
                                                 {"io", d.io},
                                                 {"whitespace", d.whitespace}};
  const double v = cfg.technology.voltage_v / cfg.params.energy.static_ref_voltage_v;
  const AreaResult area = estimate_area(cfg);
  std::map<std::string, double> out;
  for (const char* block : kAreaBlocks) {
    // Eq. 7, models/README.md: P_b = A_b * d_b * (V / V_ref)^2.
    out[std::string("static_") + block] = area.blocks_mm2.at(block) * density.at(block) * v * v;
  }
  return out;
}

const std::vector<std::string>& energy_breakdown_keys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> k = {"mac",        "pe_transfer", "weight_shift", "ub_read",
                                  "ub_write",   "acc_read",    "acc_write",    "weight_fifo",
                                  "activation", "dram",        "host_link"};
    for (const char* block : kAreaBlocks) k.push_back(std::string("static_") + block);
    return k;
  }();
  return kKeys;
}

EnergyResult estimate_energy(const TpuConfig& cfg, const EventCounts& n) {
  const EnergyParams& e = cfg.params.energy;
  EnergyResult r;
  r.seconds = cfg.clock_hz() > 0.0 ? double(n.cycles) / cfg.clock_hz() : 0.0;  // Eq. 6
  r.dynamic_scale = dynamic_energy_scale(cfg);

  // Eq. 5, models/README.md: events the counters imply but do not count.
  const double pe_transfer_bytes =
      double(n.macs) * double(cfg.data.act_bits + cfg.data.acc_bits) / 8.0;
  const double shift_byte_hops =
      double(n.weight_tiles) * double(cfg.tile_bytes()) * (double(cfg.array.rows) + 1.0) / 2.0;
  const double activation_lanes = double(n.act_rows_in) * double(cfg.array.cols);

  // Eq. 4, models/README.md: on-chip events scaled by s, off-chip ones not.
  const double s = r.dynamic_scale * kPj;
  auto& b = r.breakdown_j;
  b["mac"] = double(n.macs) * e.mac_pj * s;
  b["pe_transfer"] = pe_transfer_bytes * e.pe_transfer_pj_per_byte * s;
  b["weight_shift"] = shift_byte_hops * e.weight_shift_pj_per_byte * s;
  b["ub_read"] = double(n.ub_read_bytes) * e.ub_read_pj_per_byte * s;
  b["ub_write"] = double(n.ub_write_bytes) * e.ub_write_pj_per_byte * s;
  b["acc_read"] = double(n.acc_read_bytes) * e.acc_read_pj_per_byte * s;
  b["acc_write"] = double(n.acc_write_bytes) * e.acc_write_pj_per_byte * s;
  // Every byte written into a FIFO is written into each shift port's copy of its bank
  // (rtl/weight_fifo.v); each is read once, by the port that shifts it.
  b["weight_fifo"] = (double(n.weight_fifo_write_bytes) * double(cfg.weight_shift_ports) +
                      double(n.weight_fifo_read_bytes)) *
                     e.weight_fifo_pj_per_byte * s;
  b["activation"] = activation_lanes * e.activation_pj_per_lane * s;
  b["dram"] =
      double(n.weight_memory_read_bytes) * 8.0 * e.dram_pj_per_bit.at(cfg.weight_memory.type) * kPj;
  b["host_link"] = double(n.host_read_bytes + n.host_write_bytes) * e.host_link_pj_per_byte * kPj;
  for (const auto& kv : b) r.dynamic_j += kv.second;

  // Eq. 7, models/README.md: static power by block times time.
  for (const auto& [key, watts] : static_power_w(cfg)) {
    b[key] = watts * r.seconds;
    r.static_power_w += watts;
    r.static_j += b[key];
  }
  r.dram_j = b["dram"];
  r.total_j = r.dynamic_j + r.static_j;
  if (r.seconds > 0.0) {
    r.avg_power_w = r.total_j / r.seconds;
    r.chip_power_w = (r.total_j - r.dram_j) / r.seconds;
  }
  if (r.total_j > 0.0) r.tops_per_w = 2.0 * double(n.macs) / r.total_j / 1e12;  // Eq. 6
  return r;
}

}  // namespace tpusim
