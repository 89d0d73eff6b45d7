#include "sim/systemc/verilator_bench.h"

// One pair of generated translation units per benchmarked preset (sim/cycle.cmake).
namespace tpusim::sc::vbench {
#define TPUSIM_VBENCH_PRESET(id, name, size)                             \
  VerilatorTiming cpp_##id(const TpuConfig& cfg, const Program& prog); \
  VerilatorTiming sc_##id(const TpuConfig& cfg, const Program& prog);
#include "vbench_presets.inc"
#undef TPUSIM_VBENCH_PRESET
}  // namespace tpusim::sc::vbench

namespace tpusim::sc {

const VerilatorHarness* verilator_harness(const std::string& preset) {
  static const VerilatorHarness kHarness[] = {
#define TPUSIM_VBENCH_PRESET(id, name, size) {name, size, &vbench::cpp_##id, &vbench::sc_##id},
#include "vbench_presets.inc"
#undef TPUSIM_VBENCH_PRESET
      {nullptr, 0, nullptr, nullptr}};
  for (const VerilatorHarness& h : kHarness)
    if (h.preset && preset == h.preset) return &h;
  return nullptr;
}

}  // namespace tpusim::sc
