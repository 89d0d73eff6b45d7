#include "sim/tools/verilator_bench.h"

// One pair of generated translation units per benchmarked preset (sim/tools/CMakeLists.txt).
namespace tpusim::sc::vbench {
#define TPUSIM_PRESET(id, name, size)                                  \
  VerilatorTiming cpp_##id(const TpuConfig& cfg, const Program& prog); \
  VerilatorTiming sc_##id(const TpuConfig& cfg, const Program& prog);
#include "tpusim_vbench_presets.inc"
#undef TPUSIM_PRESET
}  // namespace tpusim::sc::vbench

namespace tpusim::sc {

const VerilatorHarness* verilator_harness(const std::string& preset) {
  static const VerilatorHarness kHarness[] = {
#define TPUSIM_PRESET(id, name, size) {name, size, &vbench::cpp_##id, &vbench::sc_##id},
#include "tpusim_vbench_presets.inc"
#undef TPUSIM_PRESET
      {nullptr, 0, nullptr, nullptr}};
  for (const VerilatorHarness& h : kHarness)
    if (h.preset && preset == h.preset) return &h;
  return nullptr;
}

}  // namespace tpusim::sc
