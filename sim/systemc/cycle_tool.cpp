// tpusim_cycle_tool: the co-simulation campaign and the speed benchmark of the cycle engine,
// runnable before `tpusim cosim` is wired into the CLI (scripts/cosim_campaign.sh,
// scripts/bench/cycle_vs_verilator.sh).
//   tpusim_cycle_tool cosim --sizes 4,8,16 --programs N --seed S
//   tpusim_cycle_tool bench [--sizes 16,32,64,256] [--batch B]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "sim/cosim_cli.h"
#include "sim/fast_engine.h"
#include "sim/lowering.h"
#include "sim/rtl_engine.h"
#include "sim/systemc/cycle_engine.h"
#include "sim/workload.h"

using namespace tpusim;

namespace {

std::vector<uint32_t> parse_sizes(const std::string& s) {
  std::vector<uint32_t> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(uint32_t(std::stoul(item)));
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// An arch of `size` x `size`: the preset when one exists, else small-32 scaled (links keep the
// RTL's one-vector / one-row-per-cycle limits), and tpu-v1 at 256.
TpuConfig arch_for(uint32_t size) {
  if (size == 4) return load_config("tiny-4");
  if (size == 8) return load_config("tiny-8");
  if (size == 16) return load_config("small-16");
  if (size == 32) return load_config("small-32");
  if (size == 256) return load_config("tpu-v1");
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

int bench(const std::vector<uint32_t>& sizes, uint64_t batch) {
  std::cout << "| array | program | simulated cycles | SystemC twin s | twin cycles/s | "
               "Verilator C++ s | Verilator cycles/s | twin / Verilator |\n"
               "|---|---|---|---|---|---|---|---|\n";
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
    auto t0 = std::chrono::steady_clock::now();
    const EngineResult c = run_cycle(cfg, p);
    const double tc = seconds_since(t0);
    const EngineResult f = run_fast(cfg, p);
    if (c.counts != f.counts || c.values.state.host != f.values.state.host) {
      std::cerr << "cycle engine disagrees with the fast engine at " << size << "\n";
      return 1;
    }
    std::string rtl_s = "-", rtl_cps = "-", ratio = "-";
    bool has_rtl = false;
    for (const std::string& pr : rtl_presets()) has_rtl |= pr == cfg.name;
    if (has_rtl) {
      t0 = std::chrono::steady_clock::now();
      const EngineResult r = run_rtl(cfg, p);
      const double tr = seconds_since(t0);
      if (r.counts.cycles != c.counts.cycles) {
        std::cerr << "rtl engine disagrees at " << size << "\n";
        return 1;
      }
      rtl_s = fmt::format("{:.3f}", tr);
      rtl_cps = fmt::format("{:.0f}", double(r.counts.cycles) / tr);
      ratio = fmt::format("{:.1f}x", tr / tc);
    }
    std::cout << fmt::format("| {}x{} ({}) | fc {}x{}x{}, batch {} | {} | {:.3f} | {:.0f} | {} | {} | {} |\n",
                             size, size, cfg.name, 2 * size, 2 * size, size, batch, c.counts.cycles,
                             tc, double(c.counts.cycles) / tc, rtl_s, rtl_cps, ratio);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) {
      std::cerr << "usage: tpusim_cycle_tool cosim|bench [options]\n";
      return 2;
    }
    const std::string cmd = argv[1];
    std::string sizes = cmd == "cosim" ? "4,8,16" : "16,32,64,256";
    uint64_t programs = 100, seed = 1, batch = 256;
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string k = argv[i], v = argv[i + 1];
      if (k == "--sizes") sizes = v;
      else if (k == "--programs") programs = std::stoull(v);
      else if (k == "--seed") seed = std::stoull(v);
      else if (k == "--batch") batch = std::stoull(v);
      else throw InputError("unknown option " + k);
    }
    if (cmd == "cosim") return cmd_cosim(parse_sizes(sizes), programs, seed, std::cout);
    if (cmd == "bench") return bench(parse_sizes(sizes), batch);
    throw InputError("unknown command " + cmd);
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 1;
  }
}
