#include "sim/isa/tpu_top_params.h"

#include <vector>

namespace tpusim {

bool TpuTopParams::operator==(const TpuTopParams& o) const {
  std::vector<uint64_t> a, b;
  for_each([&](const char*, uint64_t v) { a.push_back(v); });
  o.for_each([&](const char*, uint64_t v) { b.push_back(v); });
  return a == b;
}

TpuTopParams tpu_top_params(const TpuConfig& cfg, uint32_t host_vectors, uint32_t imem_depth) {
  TpuTopParams p;
  p.Rows = cfg.array.rows;
  p.Cols = cfg.array.cols;
  p.UbVectors = uint32_t(cfg.ub_vectors());
  p.AccEntries = cfg.accumulator_entries;
  p.FifoTiles = cfg.weight_fifo_tiles;
  p.HostVectors = host_vectors;
  p.WeightTiles = cfg.weight_memory_tiles();
  p.ImemDepth = imem_depth;
  p.ClockMhz = cfg.clock_mhz;
  p.HostBwMbS = cfg.host_link.bandwidth_mb_s;
  p.HostLatency = cfg.host_link.latency_cycles;
  p.WeightBwMbS = cfg.weight_memory.bandwidth_mb_s;
  p.WeightLatency = cfg.weight_memory.latency_cycles;
  return p;
}

std::string verilator_parameter_args(const TpuTopParams& p) {
  std::string s;
  p.for_each([&](const char* name, uint64_t v) {
    s += (s.empty() ? "-G" : " -G") + std::string(name) + "=" + std::to_string(v);
  });
  return s;
}

}  // namespace tpusim
