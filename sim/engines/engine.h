// The engines of the fidelity ladder (DESIGN.md) behind one interface: one options struct, one
// result, and the factory that runs a mode by name. `functional` (untimed values), `fast`
// (instruction level), `cycle` (the SystemC twin of rtl/) and `rtl` (the verilated RTL, prebuilt
// sizes only) all return an EngineResult, so reports never depend on which one ran. The factory
// offers exactly the engines this binary was built with (TPUSIM_CYCLE, TPUSIM_RTL); the CLI asks
// it for its mode list. Adding an engine: its folder, one line in engines() (engine.cpp) and
// one in engines/CMakeLists.txt (sim/engines/README.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/event_counts.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/program.h"

namespace tpusim {

// Issue cycle and completion cycle (first cycle its effects are visible: sim/isa/ISA.md
// "complete") of one instruction.
struct InstrTiming {
  uint64_t issue = 0;
  uint64_t done = 0;
  bool operator==(const InstrTiming& o) const { return issue == o.issue && done == o.done; }
};

struct EngineOptions {
  bool values = true;           // false: --timing-only (memories not loaded; timing never
                                // depends on data)
  bool record_timeline = true;  // per-instruction InstrTiming
  // Per-layer attribution: when set (one entry per instruction), counts are also summed into
  // EngineResult::per_layer[layer_of[pc]]. Instruction pc owns the cycles from the previous
  // issue + 1 to its own issue (the first one from cycle 0), so the layers partition the cycles.
  const std::vector<uint32_t>* layer_of = nullptr;
  size_t layers = 0;
  std::string vcd_path;     // cycle engine only: VCD of every port and register, RTL names
  uint64_t max_cycles = 0;  // cycle engine only: 0 = 2 x the fast engine's total + 10,000
  // Clocked engines (cycle, rtl): told the cycles simulated so far every kProgressCycles cycles,
  // for progress bars; it must not throw.
  std::function<void(uint64_t cycles)> on_cycles;
};

constexpr uint64_t kProgressCycles = uint64_t(1) << 16;

struct EngineResult {
  EventCounts counts;
  bool timed = true;                   // false: the functional engine (no cycles)
  std::vector<InstrTiming> timeline;   // per instruction, when recorded
  std::vector<EventCounts> per_layer;  // with EngineOptions::layer_of
  FunctionalResult values;             // state + host writes; empty when timing-only
  bool has_values = false;
};

struct EngineInfo {
  std::string mode;         // --mode name
  std::string description;  // one line for `--help`
  bool timed = true;
  std::vector<std::string> archs;  // the arch presets it can run; empty: any arch
  bool runs(const std::string& arch) const;
};

// The engines built into this binary, in ladder order (functional, fast, cycle, rtl).
const std::vector<EngineInfo>& engines();
// Their mode names.
std::vector<std::string> engine_modes();
// The engine of `mode`; throws InputError naming the modes of this build for any other.
const EngineInfo& engine_info(const std::string& mode);

// Throws InputError for an option engine `e` does not have (a VCD off the cycle engine,
// timing-only on the functional one).
void check_options(const EngineInfo& e, const EngineOptions& opt);

// Runs `prog` on the engine `mode`. Throws InputError for an unknown mode, an option the engine
// does not have (check_options), or what the engine itself rejects (an illegal program; an arch
// the rtl engine was not built for).
EngineResult run_engine(const std::string& mode, const TpuConfig& cfg, const Program& prog,
                        const EngineOptions& opt);

}  // namespace tpusim
