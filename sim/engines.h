// One entry point for the timed engines of the fidelity ladder (DESIGN.md): `fast` (instruction
// level), `cycle` (the SystemC twin of rtl/) and `rtl` (the verilated RTL, prebuilt sizes only).
// All three return the same EngineResult, so reports never depend on which one ran.
#pragma once

#include <string>
#include <vector>

#include "sim/fast_engine.h"

namespace tpusim {

struct EngineOptions {
  bool values = true;
  bool record_timeline = false;
  const std::vector<uint32_t>* layer_of = nullptr;
  size_t layers = 0;
  std::string vcd_path;  // cycle engine only
};

const std::vector<std::string>& timed_modes();  // fast, cycle, rtl

// Throws InputError for an unknown mode, a --vcd on an engine without it, or what the engine
// itself rejects (an illegal program; an arch the rtl engine was not built for).
EngineResult run_engine(const std::string& mode, const TpuConfig& cfg, const Program& prog,
                        const EngineOptions& opt);

}  // namespace tpusim
