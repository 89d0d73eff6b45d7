// Wall time of the verilated rtl/ alone on one program, split into phases, for the speed
// benchmark of the cycle engine (tpusim_cycle_tool bench, scripts/bench/cycle_vs_verilator.sh).
// Two harnesses of the same verilated tpu_top: Verilator's plain C++ model driven by a loop
// (as sim/engines/rtl/rtl_model_run.h does) and Verilator's SystemC model bound to sc_signals under
// an sc_clock (as the lockstep bench of sim/engines/cosim/lockstep_bench.h does, without the twin).
// Both load the memories through the back-door ports, one clock edge per word, as the RTL tests do.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/isa/program.h"

namespace tpusim::sc {

struct VerilatorTiming {
  uint64_t cycles = 0;       // total_cycles_o at done_o
  double build_s = 0;        // constructing the model (and, for SystemC, elaboration)
  double load_s = 0;         // reset and back-door loading of instruction, host, weight memory
  double run_s = 0;          // the clocked run, reset released to done_o
  double readback_s = 0;     // host memory read back through bd_host_rdata_o
  uint64_t load_edges = 0;   // clock edges of the load phase
  std::vector<int8_t> host;  // the host memory read back
};

// Both harnesses of one verilated preset. Each runs `prog` (legal, fitting the model's 4096
// host vectors and instructions, else InputError) on a fresh model of `cfg`, which must be
// that preset's configuration; throws std::runtime_error when the RTL does not halt.
struct VerilatorHarness {
  const char* preset;
  uint32_t size;
  VerilatorTiming (*cpp)(const TpuConfig& cfg, const Program& prog);
  VerilatorTiming (*sysc)(const TpuConfig& cfg, const Program& prog);
};

// The harnesses of `preset`, or nullptr where this build has none: built for small-16,
// small-32 and, with -DTPUSIM_RTL_BENCH_LARGE=ON, scaled-64 and scaled-256 (rtl/CMakeLists.txt
// (tpusim_verilated_dispatch)).
const VerilatorHarness* verilator_harness(const std::string& preset);

}  // namespace tpusim::sc

// Helpers of the two harnesses (sim/tools/verilator_bench_cpp.inl, verilator_bench_sc.inl).
namespace tpusim::sc::vbench {

using Clock = std::chrono::steady_clock;
inline double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Upper bound on the run: twice the fast engine's cycles plus slack (as run_rtl).
inline uint64_t max_cycles_of(const TpuConfig& cfg, const Program& prog) {
  EngineOptions fo;
  fo.values = false;
  fo.record_timeline = false;
  return 2 * run_fast(cfg, prog, fo).counts.cycles + 10000;
}

inline void check_fits(const Program& prog, uint64_t hv, uint64_t host_vectors_param,
                       uint64_t imem_depth) {
  if (hv > host_vectors_param || prog.code.size() > imem_depth)
    throw InputError(
        fmt::format("{}: the program needs {} host vectors and {} instructions; the "
                    "verilated model has {} and {}",
                    prog.name, hv, prog.code.size(), host_vectors_param, imem_depth));
}

}  // namespace tpusim::sc::vbench
