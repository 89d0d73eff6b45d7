// tpusim_cycle_tool: the speed benchmark of the cycle engine against Verilator's models
// (scripts/bench/cycle_vs_verilator.sh). The co-simulation campaign is `tpusim cosim`.
//   tpusim_cycle_tool bench [--sizes 16,32,64,256] [--batch B] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/cycle/cycle_engine.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/tools/verilator_bench.h"

using namespace tpusim;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// An arch of `size` x `size`: the preset when one exists (scaled-64 is small-32 scaled by two),
// else small-32 scaled likewise (links keep the RTL's one-vector / one-row-per-cycle limits),
// and scaled-256 (scaled-64 scaled by four) at 256.
TpuConfig arch_for(uint32_t size) {
  if (size == 4) return load_config("tiny-4");
  if (size == 8) return load_config("tiny-8");
  if (size == 16) return load_config("small-16");
  if (size == 32) return load_config("small-32");
  if (size == 64) return load_config("scaled-64");
  if (size == 256) return load_config("scaled-256");
  TpuConfig c = load_config("small-32");
  const uint64_t f = size / 32;
  c.name = fmt::format("scaled-{}", size);
  c.array.rows = c.array.cols = size;
  c.unified_buffer_bytes *= f;
  c.weight_memory.bytes *= f * f;
  c.weight_memory.bandwidth_mb_s *= f;
  c.host_link.bandwidth_mb_s *= f;
  return c;
}

// The median of `v` (the upper one of the middle two for an even count).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.at(v.size() / 2);
}

std::string fmt_s(double s) { return fmt::format("{:.3f}", s); }
std::string fmt_rate(uint64_t cycles, double s) {
  return fmt::format("{:.0f}", double(cycles) / s);
}
std::string fmt_ratio(double a, double b) { return fmt::format("{:.1f}x", a / b); }

// Runs one Verilator harness and checks it against the twin: same total cycles, same final host
// memory. Returns false (with a message on stderr) on a difference.
bool check_verilator(const char* what, uint32_t size, const sc::VerilatorTiming& v,
                     const EngineResult& twin) {
  const auto& host = twin.values.state.host;
  if (v.cycles != twin.counts.cycles) {
    std::cerr << fmt::format("{} at {}: {} cycles, the twin {}\n", what, size, v.cycles,
                             twin.counts.cycles);
    return false;
  }
  if (v.host.size() > host.size() || !std::equal(v.host.begin(), v.host.end(), host.begin())) {
    std::cerr << fmt::format("{} at {}: final host memory differs from the twin's\n", what, size);
    return false;
  }
  return true;
}

// One table row per size: simulated cycles (twin = fast engine = both Verilator harnesses),
// the twin's wall time (run_cycle: elaboration, memory preload, run, read-back), and for each
// Verilator harness its back-door load time (reset + one edge per memory word) and its clocked
// run time (reset released to done_o). Ratios compare the twin's whole run with Verilator's
// clocked run alone, which leaves Verilator's model construction, load and read-back out.
// Each time is the median of `repeat` runs, the three engines taking turns (twin, Verilator C++,
// Verilator SystemC, twin, ...), so that a slow spell of a shared machine lands on all three.
int bench(const std::vector<uint32_t>& sizes, uint64_t batch, uint32_t repeat) {
  std::cout << "| array | program | simulated cycles | twin s | twin cycles/s | "
               "Verilator C++ load s | Verilator C++ run s | Verilator C++ cycles/s | "
               "Verilator SystemC load s | Verilator SystemC run s | Verilator SystemC cycles/s | "
               "twin / Verilator C++ | twin / Verilator SystemC |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (uint32_t size : sizes) {
    const TpuConfig cfg = arch_for(size);
    const std::string y = fmt::format(
        "name: bench-fc\npaper: bench\nbatch: {}\ninput: {{features: {}}}\nlayers:\n"
        "  - {{type: fc, out: {}, act: relu}}\n  - {{type: fc, out: {}}}\n",
        batch, 2 * size, 2 * size, size);
    LowerOptions lo;
    lo.unroll = true;
    const LoweredProgram lp = lower(cfg, parse_workload(y, "bench-fc.yaml"), lo);
    const Program& p = lp.segments.at(0).program;
    const EngineResult f = run_fast(cfg, p);
    const sc::VerilatorHarness* h = sc::verilator_harness(cfg.name);
    std::vector<double> twin_s, cpp_load_s, cpp_run_s, sc_load_s, sc_run_s;
    EngineResult c;
    for (uint32_t r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      c = run_cycle(cfg, p);
      twin_s.push_back(seconds_since(t0));
      if (c.counts != f.counts || c.values.state.host != f.values.state.host) {
        std::cerr << "cycle engine disagrees with the fast engine at " << size << "\n";
        return 1;
      }
      if (!h) continue;
      const sc::VerilatorTiming vc = h->cpp(cfg, p);
      if (!check_verilator("Verilator C++", size, vc, c)) return 1;
      cpp_load_s.push_back(vc.load_s);
      cpp_run_s.push_back(vc.run_s);
      const sc::VerilatorTiming vs = h->sysc(cfg, p);
      if (!check_verilator("Verilator SystemC", size, vs, c)) return 1;
      sc_load_s.push_back(vs.load_s);
      sc_run_s.push_back(vs.run_s);
    }
    const double tc = median(twin_s);
    std::string cpp_load = "-", cpp_run = "-", cpp_cps = "-", sc_load = "-", sc_run = "-",
                sc_cps = "-", cpp_ratio = "-", sc_ratio = "-";
    if (h) {
      const double cr = median(cpp_run_s), sr = median(sc_run_s);
      cpp_load = fmt_s(median(cpp_load_s));
      cpp_run = fmt_s(cr);
      cpp_cps = fmt_rate(c.counts.cycles, cr);
      cpp_ratio = fmt_ratio(cr, tc);
      sc_load = fmt_s(median(sc_load_s));
      sc_run = fmt_s(sr);
      sc_cps = fmt_rate(c.counts.cycles, sr);
      sc_ratio = fmt_ratio(sr, tc);
    }
    std::cout << fmt::format(
        "| {}x{} ({}) | fc {}x{}x{}, batch {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | "
        "{} |\n",
        size, size, cfg.name, 2 * size, 2 * size, size, batch, c.counts.cycles, fmt_s(tc),
        fmt_rate(c.counts.cycles, tc), cpp_load, cpp_run, cpp_cps, sc_load, sc_run, sc_cps,
        cpp_ratio, sc_ratio);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpusim_cycle_tool: the cycle engine's speed against Verilator's models"};
  app.require_subcommand(1);
  CLI::App* b = app.add_subcommand("bench", "the speed table of results/cycle_speed.md");
  std::vector<uint32_t> sizes{16, 32, 64, 256};
  uint64_t batch = 256;
  uint32_t repeat = 1;
  b->add_option("--sizes", sizes, "comma-separated array sizes, e.g. 8,16,32")
      ->delimiter(',')
      ->check(CLI::Range(uint32_t(1), uint32_t(4096)));
  b->add_option("--batch", batch, "batch of the fc workload")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 20));
  b->add_option("--repeat", repeat, "runs per engine and size; the table gives the median")
      ->check(CLI::Range(uint32_t(1), uint32_t(1000)));
  CLI11_PARSE(app, argc, argv);
  try {
    return bench(sizes, batch, repeat);
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 1;
  }
}
