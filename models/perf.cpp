#include "models/perf.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/errors.h"

namespace tpusim {

namespace {
double frac(uint64_t part, uint64_t whole) { return whole ? double(part) / double(whole) : 0.0; }
}  // namespace

PerfResult estimate_perf(const TpuConfig& cfg, const EventCounts& n) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  PerfResult p;
  p.cycles = n.cycles;
  p.macs = n.macs;
  // Eq. 16, models/README.md.
  p.seconds = cfg.clock_hz() > 0.0 ? double(n.cycles) / cfg.clock_hz() : 0.0;
  p.tops = p.seconds > 0.0 ? 2.0 * double(n.macs) / p.seconds / 1e12 : 0.0;
  p.peak_tops = cfg.peak_tops();
  p.utilization = frac(n.macs, n.cycles * cfg.macs_per_cycle());
  p.breakdown.array_active = frac(n.array_active_cycles, n.cycles);
  p.breakdown.weight_stall = frac(n.weight_stall_cycles, n.cycles);
  p.breakdown.weight_shift = frac(n.weight_shift_cycles, n.cycles);
  p.breakdown.non_matrix = frac(n.non_matrix_cycles, n.cycles);
  p.breakdown.raw_stall = frac(n.raw_stall_cycles, n.cycles);
  p.breakdown.input_stall = frac(n.input_stall_cycles, n.cycles);

  // Eq. 17, models/README.md.
  p.dram_bytes = n.weight_memory_read_bytes;
  p.host_bytes = n.host_read_bytes + n.host_write_bytes;
  p.macs_per_weight_byte = p.dram_bytes ? double(n.macs) / double(p.dram_bytes) : kInf;
  p.ops_per_weight_byte = 2.0 * p.macs_per_weight_byte;

  // Eq. 18, models/README.md.
  Roofline& r = p.roofline;
  r.ridge_macs_per_weight_byte = cfg.ridge_macs_per_weight_byte();
  r.intensity_macs_per_weight_byte = p.macs_per_weight_byte;
  r.peak_macs_per_s = double(cfg.macs_per_cycle()) * cfg.clock_hz();
  r.attainable_macs_per_s = std::min(
      r.peak_macs_per_s, r.intensity_macs_per_weight_byte * cfg.weight_bandwidth_bytes_per_s());
  r.achieved_macs_per_s = p.seconds > 0.0 ? double(n.macs) / p.seconds : 0.0;
  r.attainable_tops = 2.0 * r.attainable_macs_per_s / 1e12;
  r.achieved_tops = 2.0 * r.achieved_macs_per_s / 1e12;
  r.fraction_of_attainable =
      r.attainable_macs_per_s > 0.0 ? r.achieved_macs_per_s / r.attainable_macs_per_s : 0.0;
  r.memory_bound = r.intensity_macs_per_weight_byte < r.ridge_macs_per_weight_byte;
  return p;
}

std::vector<std::string> dvfs_point_names(const TpuConfig& cfg) {
  std::vector<std::string> names = {"nominal"};
  for (const DvfsPoint& d : cfg.params.dvfs) names.push_back(d.name);
  return names;
}

TpuConfig at_dvfs_point(const TpuConfig& cfg, const std::string& point) {
  if (point == "nominal") return cfg;
  for (const DvfsPoint& d : cfg.params.dvfs) {
    if (d.name == point) {
      TpuConfig out = cfg;  // Eq. 19, models/README.md
      out.clock_mhz = d.clock_mhz;
      out.technology.voltage_v = d.voltage_v;
      return out;
    }
  }
  throw InputError(fmt::format("{}: key 'dvfs': no point '{}' (points: {})",
                               cfg.file.empty() ? cfg.name : cfg.file, point,
                               fmt::join(dvfs_point_names(cfg), ", ")));
}

}  // namespace tpusim
