#include "sim/engines/engine.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/errors.h"
#include "sim/engines/fast/fast_engine.h"
#ifdef TPUSIM_HAVE_CYCLE_ENGINE
#include "sim/engines/cycle/cycle_engine.h"
#endif
#ifdef TPUSIM_HAVE_RTL_ENGINE
#include "sim/engines/rtl/rtl_engine.h"
#endif

namespace tpusim {

namespace {

// The functional executor as an engine: values and work counters, no time. Per-layer counts
// are its work counters summed per instruction.
EngineResult run_functional_engine(const TpuConfig& cfg, const Program& prog,
                                   const EngineOptions& opt) {
  check_options(engine_info("functional"), opt);
  EngineResult r;
  r.timed = false;
  r.values = run_functional(cfg, prog);
  r.counts = r.values.counts;
  r.has_values = true;
  if (opt.layer_of) {
    r.per_layer.resize(opt.layers);
    WorkCounter work(cfg);
    for (size_t pc = 0; pc < prog.code.size(); ++pc)
      work.add(prog.code[pc], r.per_layer[(*opt.layer_of)[pc]]);
  }
  return r;
}

struct Engine {
  EngineInfo info;
  EngineResult (*run)(const TpuConfig&, const Program&, const EngineOptions&);
};

// The explicit list of engines: one line per engine this binary was built with.
const std::vector<Engine>& table() {
  static const std::vector<Engine> kEngines = {
      {{"fast", "instruction-level timing of sim/isa/ISA.md", true, {}}, &run_fast},
#ifdef TPUSIM_HAVE_CYCLE_ENGINE
      {{"cycle", "the SystemC twin of rtl/, clock by clock", true, {}}, &run_cycle},
#endif
#ifdef TPUSIM_HAVE_RTL_ENGINE
      {{"rtl", "the verilated RTL of the prebuilt presets", true, rtl_presets()}, &run_rtl},
#endif
      {{"functional", "untimed golden values (no cycles)", false, {}}, &run_functional_engine},
  };
  return kEngines;
}

}  // namespace

bool EngineInfo::runs(const std::string& arch) const {
  return archs.empty() || std::find(archs.begin(), archs.end(), arch) != archs.end();
}

const std::vector<EngineInfo>& engines() {
  static const std::vector<EngineInfo> kInfo = [] {
    std::vector<EngineInfo> v;
    for (const Engine& e : table()) v.push_back(e.info);
    return v;
  }();
  return kInfo;
}

std::vector<std::string> engine_modes() {
  std::vector<std::string> v;
  for (const Engine& e : table()) v.push_back(e.info.mode);
  return v;
}

namespace {
const Engine& find(const std::string& mode) {
  for (const Engine& e : table())
    if (e.info.mode == mode) return e;
  throw InputError(fmt::format("engine '{}': not in this build (it has {})", mode,
                               fmt::join(engine_modes(), ", ")));
}
}  // namespace

const EngineInfo& engine_info(const std::string& mode) { return find(mode).info; }

void check_options(const EngineInfo& e, const EngineOptions& opt) {
  if (!opt.values && !e.timed)
    throw InputError(fmt::format("the {} engine computes values only: no timing-only run", e.mode));
  if (!opt.vcd_path.empty() && e.mode != "cycle")
    throw InputError(
        fmt::format("VCD waveforms come from the cycle engine, not the {} engine", e.mode));
}

EngineResult run_engine(const std::string& mode, const TpuConfig& cfg, const Program& prog,
                        const EngineOptions& opt) {
  const Engine& e = find(mode);
  check_options(e.info, opt);
  return e.run(cfg, prog, opt);
}

}  // namespace tpusim
