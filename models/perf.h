// Performance model: time, throughput, utilization, the TPU paper's cycle breakdown, operational
// intensity and the roofline of a run (Eq. 16-18, models/README.md); and the DVFS helper that
// moves an arch to another voltage/frequency point (Eq. 19). Functions of (TpuConfig,
// EventCounts) only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"

namespace tpusim {

constexpr double kSecondsPerYear = 365.25 * 24 * 3600;

// Fractions of the run's cycles. The first four partition the cycles (sum 1 for a non-empty run);
// raw_stall and input_stall are parts of non_matrix (sim/isa/ISA.md, "Performance counters").
struct CycleBreakdown {
  double array_active = 0.0;
  double weight_stall = 0.0;
  double weight_shift = 0.0;
  double non_matrix = 0.0;
  double raw_stall = 0.0;
  double input_stall = 0.0;
};

// Roofline in MACs per second against MACs per weight byte (the TPU paper's axes, Eq. 18).
struct Roofline {
  double ridge_macs_per_weight_byte = 0.0;  // cfg.ridge_macs_per_weight_byte()
  // macs / DRAM weight bytes; +infinity when the run read no weights (then compute-bound).
  double intensity_macs_per_weight_byte = 0.0;
  double peak_macs_per_s = 0.0;
  double attainable_macs_per_s = 0.0;  // min(peak, intensity * weight bandwidth)
  double achieved_macs_per_s = 0.0;    // macs / seconds
  double attainable_tops = 0.0;        // 2 ops per MAC
  double achieved_tops = 0.0;
  double fraction_of_attainable = 0.0;  // achieved / attainable
  bool memory_bound = false;            // intensity < ridge point
};

struct PerfResult {
  uint64_t cycles = 0;
  double seconds = 0.0;  // cycles / clock (Eq. 16)
  uint64_t macs = 0;     // MAC slots clocked, padding included
  // Convention: 2 ops per MAC (multiply and add), as the TPU paper's 92 TOPS peak.
  double tops = 0.0;
  double peak_tops = 0.0;
  double utilization = 0.0;  // macs / (cycles * rows * cols)
  CycleBreakdown breakdown;
  // Operational intensity, both conventions (Eq. 17): the TPU paper's "ops per weight byte" count
  // one MAC per weight per example; the 2-ops convention doubles it. +infinity with no weights.
  double macs_per_weight_byte = 0.0;
  double ops_per_weight_byte = 0.0;
  uint64_t dram_bytes = 0;  // weight memory reads
  uint64_t host_bytes = 0;  // host reads + writes
  Roofline roofline;
};

// Performance of a run (Eq. 16-18).
PerfResult estimate_perf(const TpuConfig& cfg, const EventCounts& counts);

// The DVFS points of `cfg`: "nominal" (its own clock and voltage) first, then cfg.params.dvfs.
std::vector<std::string> dvfs_point_names(const TpuConfig& cfg);

// A copy of `cfg` running at DVFS point `point` (Eq. 19): clock_mhz and technology.voltage_v
// replaced, everything else unchanged, so that the engines' timing (cycles of fixed-bandwidth
// links follow the clock) and the energy model (voltage scaling) both follow. "nominal" returns
// the arch unchanged. Throws InputError naming the arch file, key 'dvfs' and the known points.
TpuConfig at_dvfs_point(const TpuConfig& cfg, const std::string& point);

}  // namespace tpusim
