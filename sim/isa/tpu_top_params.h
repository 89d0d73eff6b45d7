// The parameters of rtl/tpu_top.v, as one struct with the RTL's parameter names, and the one map
// from a TpuConfig to them. Every consumer goes through this file: the Verilator build of each
// preset (rtl/CMakeLists.txt runs sim/tools/rtl_params.cpp on it at configure time), the SystemC
// twin's constructor, the lockstep bench, and the rtl engine's check that a config is the hardware
// a verilated model was built for. A new hardware parameter is one field here, one line in
// for_each and one in tpu_top_params(), all in this file (sim/README.md, "Adding a hardware
// parameter").
#pragma once

#include <cstdint>
#include <string>

#include "models/config.h"

namespace tpusim {

struct TpuTopParams {
  uint32_t Rows = 4, Cols = 4, UbVectors = 1024, UbBanks = 2, AccEntries = 256, FifoTiles = 4;
  uint32_t Mxus = 1, ShiftPorts = 1, BusRows = 4;
  uint32_t HostVectors = 4096;  // test-bench host memory (vectors); not a chip parameter
  uint64_t WeightTiles = 4096;
  uint32_t ImemDepth = 4096, ClockMhz = 700;
  uint64_t HostBwMbS = 2800;
  uint32_t HostLatency = 4;
  uint64_t WeightBwMbS = 1400;
  uint32_t WeightLatency = 8;

  // The RTL's localparam VecBytes = max(Rows, Cols).
  uint32_t VecBytes() const { return Rows > Cols ? Rows : Cols; }

  // Calls f(name, value) for every parameter, in the RTL's declaration order, with the RTL's
  // names: the -G arguments of a verilation, equality, messages.
  template <class F>
  void for_each(F&& f) const {
    f("Rows", uint64_t(Rows));
    f("Cols", uint64_t(Cols));
    f("UbVectors", uint64_t(UbVectors));
    f("UbBanks", uint64_t(UbBanks));
    f("AccEntries", uint64_t(AccEntries));
    f("FifoTiles", uint64_t(FifoTiles));
    f("Mxus", uint64_t(Mxus));
    f("ShiftPorts", uint64_t(ShiftPorts));
    f("BusRows", uint64_t(BusRows));
    f("HostVectors", uint64_t(HostVectors));
    f("WeightTiles", WeightTiles);
    f("ImemDepth", uint64_t(ImemDepth));
    f("ClockMhz", uint64_t(ClockMhz));
    f("HostBwMbS", HostBwMbS);
    f("HostLatency", uint64_t(HostLatency));
    f("WeightBwMbS", WeightBwMbS);
    f("WeightLatency", uint64_t(WeightLatency));
  }
  bool operator==(const TpuTopParams& o) const;
  bool operator!=(const TpuTopParams& o) const { return !(*this == o); }
};

// The tpu_top parameters of `cfg`, with a host memory of `host_vectors` vectors and an
// instruction memory of `imem_depth` instructions (sizes of the test bench, not of the chip).
inline TpuTopParams tpu_top_params(const TpuConfig& cfg, uint32_t host_vectors,
                                   uint32_t imem_depth) {
  TpuTopParams p;
  p.Rows = cfg.array.rows;
  p.Cols = cfg.array.cols;
  p.UbVectors = uint32_t(cfg.ub_vectors());
  p.UbBanks = cfg.ub_banks;
  p.AccEntries = cfg.accumulator_entries;
  p.FifoTiles = cfg.weight_fifo_tiles;
  p.Mxus = cfg.mxus;
  p.ShiftPorts = cfg.weight_shift_ports;
  p.BusRows = cfg.weight_bus_segment_rows;
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

// "-GRows=4 -GCols=4 ...": the Verilator arguments that build `p`.
std::string verilator_parameter_args(const TpuTopParams& p);

}  // namespace tpusim
