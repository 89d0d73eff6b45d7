#include "sim/engines/rtl/rtl_engine.h"

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/isa/tpu_top_params.h"

namespace tpusim {

namespace rtl_detail {
#define TPUSIM_PRESET(id, name, size) \
  EngineResult run_##id(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt);
#include "tpusim_engine_rtl_presets.inc"
#undef TPUSIM_PRESET
}  // namespace rtl_detail

namespace {
struct Entry {
  const char* preset;
  uint32_t size;
  EngineResult (*run)(const TpuConfig&, const Program&, const EngineOptions&);
};
const std::vector<Entry>& entries() {
  static const std::vector<Entry> e = {
#define TPUSIM_PRESET(id, name, size) {name, size, &rtl_detail::run_##id},
#include "tpusim_engine_rtl_presets.inc"
#undef TPUSIM_PRESET
  };
  return e;
}

// The verilated models are built with TpuTopParams of their preset (rtl/CMakeLists.txt), so a
// config is that hardware when its parameters are the same (host and instruction memory are the
// test bench's, equal for every preset).
bool same_hardware(const TpuConfig& a, const TpuConfig& b) {
  return tpu_top_params(a, 0, 0) == tpu_top_params(b, 0, 0);
}
}  // namespace

std::vector<std::string> rtl_presets() {
  std::vector<std::string> v;
  for (const Entry& e : entries()) v.push_back(e.preset);
  return v;
}

EngineResult run_rtl(const TpuConfig& cfg, const Program& prog, const EngineOptions& opt) {
  std::string list;
  for (const Entry& e : entries()) {
    if (e.preset == cfg.name && same_hardware(cfg, load_config(e.preset)))
      return e.run(cfg, prog, opt);
    list += fmt::format("{}{} ({}x{})", list.empty() ? "" : ", ", e.preset, e.size, e.size);
  }
  throw InputError(fmt::format(
      "rtl engine: no verilated RTL for arch '{}' ({}x{}); the RTL is prebuilt for: {}", cfg.name,
      cfg.array.rows, cfg.array.cols, list.empty() ? "none (built with TPUSIM_RTL=OFF)" : list));
}

}  // namespace tpusim
