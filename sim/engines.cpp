#include "sim/engines.h"

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/rtl_engine.h"
#include "sim/systemc/cycle_engine.h"

namespace tpusim {

const std::vector<std::string>& timed_modes() {
  static const std::vector<std::string> kModes{"fast", "cycle", "rtl"};
  return kModes;
}

EngineResult run_engine(const std::string& mode, const TpuConfig& cfg, const Program& prog,
                        const EngineOptions& opt) {
  if (!opt.vcd_path.empty() && mode != "cycle")
    throw InputError(fmt::format("--vcd: waveforms come from the cycle engine (--mode cycle), not --mode {}", mode));
  if (mode == "fast") {
    FastOptions o;
    o.values = opt.values;
    o.record_timeline = opt.record_timeline;
    o.layer_of = opt.layer_of;
    o.layers = opt.layers;
    return run_fast(cfg, prog, o);
  }
  if (mode == "cycle") {
    CycleOptions o;
    o.values = opt.values;
    o.record_timeline = opt.record_timeline;
    o.layer_of = opt.layer_of;
    o.layers = opt.layers;
    o.vcd_path = opt.vcd_path;
    return run_cycle(cfg, prog, o);
  }
  if (mode == "rtl") {
    RtlOptions o;
    o.values = opt.values;
    o.record_timeline = opt.record_timeline;
    o.layer_of = opt.layer_of;
    o.layers = opt.layers;
    return run_rtl(cfg, prog, o);
  }
  throw InputError(fmt::format("--mode {}: unknown engine (fast, cycle, rtl, functional)", mode));
}

}  // namespace tpusim
