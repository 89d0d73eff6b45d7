#include "sim/rtl_engine.h"

#include <fmt/format.h>

#include "models/errors.h"

namespace tpusim {

namespace rtl_detail {
#define TPUSIM_RTL_ENGINE_PRESET(id, name, size) \
  EngineResult run_##id(const TpuConfig& cfg, const Program& prog, const RtlOptions& opt);
#include "rtl_engine_presets.inc"
#undef TPUSIM_RTL_ENGINE_PRESET
}  // namespace rtl_detail

namespace {
struct Entry {
  const char* preset;
  uint32_t size;
  EngineResult (*run)(const TpuConfig&, const Program&, const RtlOptions&);
};
const std::vector<Entry>& entries() {
  static const std::vector<Entry> e = {
#define TPUSIM_RTL_ENGINE_PRESET(id, name, size) {name, size, &rtl_detail::run_##id},
#include "rtl_engine_presets.inc"
#undef TPUSIM_RTL_ENGINE_PRESET
  };
  return e;
}

// The parameters the verilated model was built with (rtl/CMakeLists.txt reads them from the
// preset) against `cfg`.
bool same_hardware(const TpuConfig& a, const TpuConfig& b) {
  return a.array.rows == b.array.rows && a.array.cols == b.array.cols &&
         a.clock_mhz == b.clock_mhz && a.unified_buffer_bytes == b.unified_buffer_bytes &&
         a.accumulator_entries == b.accumulator_entries &&
         a.weight_fifo_tiles == b.weight_fifo_tiles && a.weight_memory.bytes == b.weight_memory.bytes &&
         a.weight_memory.bandwidth_mb_s == b.weight_memory.bandwidth_mb_s &&
         a.weight_memory.latency_cycles == b.weight_memory.latency_cycles &&
         a.host_link.bandwidth_mb_s == b.host_link.bandwidth_mb_s &&
         a.host_link.latency_cycles == b.host_link.latency_cycles;
}
}  // namespace

std::vector<std::string> rtl_presets() {
  std::vector<std::string> v;
  for (const Entry& e : entries()) v.push_back(e.preset);
  return v;
}

EngineResult run_rtl(const TpuConfig& cfg, const Program& prog, const RtlOptions& opt) {
  std::string list;
  for (const Entry& e : entries()) {
    if (e.preset == cfg.name && same_hardware(cfg, load_config(e.preset)))
      return e.run(cfg, prog, opt);
    list += fmt::format("{}{} ({}x{})", list.empty() ? "" : ", ", e.preset, e.size, e.size);
  }
  throw InputError(fmt::format(
      "--mode rtl: no verilated RTL for arch '{}' ({}x{}); the RTL is prebuilt for: {}", cfg.name,
      cfg.array.rows, cfg.array.cols, list.empty() ? "none (built with TPUSIM_RTL=OFF)" : list));
}

}  // namespace tpusim
