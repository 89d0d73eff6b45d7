// tpusim_engine_bench: one timed piece of work per process, so that scripts/bench/bench.py can take
// its wall time and peak memory (wait4 ru_maxrss) apart from any other. Prints one JSON line.
//
//   random   --engine E --arch A --programs N [--seed S] [--instructions I]
//            random legal programs (sim/isa/program_gen.h) with values on engine E
//   workload --engine E --arch A --workload W [--batch B] [--phase P] [--context-len C]
//   [--timing-only]
//            a lowered workload end to end (sim/studies/run/run_workload.h, what `tpusim run` does)
//   gemm     --arch A --m M --k K --n N [--relu-input] [--repeat R]
//            one (M x K) x (K x N) int8 dense layer lowered (lower_s) and run on the fast engine
//            with values (wall_s, cpu_s: the engine run only, after one untimed run; the median of
//            --repeat runs); --relu-input clears the inputs' sign bits (values
//            in [0, 127], as after a ReLU) instead of the lowering's signed pseudo-random bytes
//   native   --lib eigen|onednn --m M --k K --n N [--seconds S]
//            the same GEMM natively (sim/studies/compare/measure_cpu.h, int8, one thread)
//
// The work is measured inside the process too (wall_s: steady clock around the run only, model
// construction and lowering included, process start and config loading excluded).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/engine.h"
#include "sim/isa/program_gen.h"
#include "sim/studies/compare/measure_cpu.h"
#include "sim/studies/run/run_workload.h"

using namespace tpusim;
using Clock = std::chrono::steady_clock;

namespace {

// Process CPU seconds (all threads; the engines run on one): reported beside wall time because
// the benchmark machines are shared, and a loaded machine stretches wall time, not CPU time.
double cpu_seconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string gemm_yaml(uint64_t m, uint64_t k, uint64_t n) {
  return fmt::format(
      "name: gemm-{0}x{1}x{2}\npaper: \"issue 11 benchmark GEMM\"\nbatch: {0}\ninput: {{features: "
      "{1}}}\n"
      "layers:\n  - {{type: fc, name: fc, out: {2}, act: none}}\n",
      m, k, n);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpusim engine/GEMM benchmark driver (one piece of work per process)"};
  app.require_subcommand(1);
  std::string engine = "fast", arch = "tiny-4", workload, phase, lib = "eigen";
  uint64_t programs = 10, seed = 1, batch = 0, context = 0, m = 256, k = 256, n = 256;
  uint32_t instructions = 40;
  double max_s = 10.0;
  bool timing_only = false;
  auto* rnd = app.add_subcommand("random", "Random programs on one engine");
  auto* wl = app.add_subcommand("workload", "A lowered workload on one engine");
  auto* gm = app.add_subcommand("gemm", "A dense layer on the fast engine with values");
  auto* nat = app.add_subcommand("native", "The same GEMM through Eigen or oneDNN");
  for (auto* c : {rnd, wl})
    c->add_option("--engine", engine)->check(CLI::IsMember({"fast", "cycle", "rtl"}));
  for (auto* c : {rnd, wl, gm}) c->add_option("--arch", arch);
  rnd->add_option("--programs", programs);
  rnd->add_option("--seed", seed);
  rnd->add_option("--instructions", instructions);
  wl->add_option("--workload", workload)->required();
  wl->add_option("--batch", batch);
  wl->add_option("--phase", phase);
  wl->add_option("--context-len", context);
  wl->add_flag("--timing-only", timing_only);
  bool engine_only = false;
  wl->add_flag("--engine-only", engine_only,
               "Time only the engine on the lowered segments (lowering and report not timed)");
  for (auto* c : {gm, nat}) {
    c->add_option("--m", m);
    c->add_option("--k", k);
    c->add_option("--n", n);
  }
  bool relu_input = false;
  uint64_t repeat = 1;
  gm->add_option("--repeat", repeat, "Timed runs after the untimed one; the median is reported");
  gm->add_flag("--relu-input", relu_input,
               "Inputs in [0, 127] (as after a ReLU) instead of signed");
  nat->add_option("--lib", lib)->check(CLI::IsMember({"eigen", "onednn"}));
  nat->add_option("--seconds", max_s);
  CLI11_PARSE(app, argc, argv);

  try {
    nlohmann::json out;
    if (*rnd) {
      const TpuConfig cfg = load_config(arch);
      GenOptions go;
      go.instructions = instructions;
      EngineOptions eo;
      eo.record_timeline = false;
      uint64_t cycles = 0;
      double wall = 0, cpu = 0;
      for (uint64_t i = 0; i < programs; ++i) {
        const Program p = generate_program(cfg, seed + i, go);  // generation not timed
        const auto t0 = Clock::now();
        const double c0 = cpu_seconds();
        cycles += run_engine(engine, cfg, p, eo).counts.cycles;
        wall += seconds_since(t0);
        cpu += cpu_seconds() - c0;
      }
      out = {{"kind", "random"}, {"engine", engine}, {"arch", arch}, {"programs", programs},
             {"cycles", cycles}, {"wall_s", wall},   {"cpu_s", cpu}};
    } else if (*wl) {
      const TpuConfig cfg = load_config(arch);
      WorkloadParams wp;
      wp.batch = batch;
      wp.phase = phase;
      wp.context_len = context;
      if (engine_only) {
        LowerOptions lo;
        lo.values = !timing_only;
        const LoweredProgram lp = lower(cfg, load_workload(workload, wp), lo);  // not timed
        EngineOptions eo;
        eo.record_timeline = false;
        eo.values = !timing_only;
        uint64_t cycles = 0, instructions = 0;
        const auto t0 = Clock::now();
        const double c0 = cpu_seconds();
        for (const Segment& s : lp.segments) {
          cycles += run_engine(engine, cfg, s.program, eo).counts.cycles * s.repeat;
          instructions += s.program.code.size();
        }
        const double wall = seconds_since(t0), cpu = cpu_seconds() - c0;
        std::cout << nlohmann::json{{"kind", "workload"},
                                    {"engine", engine},
                                    {"arch", arch},
                                    {"workload", workload},
                                    {"cycles", cycles},
                                    {"instructions", instructions},
                                    {"timing_only", timing_only},
                                    {"engine_only", true},
                                    {"wall_s", wall},
                                    {"cpu_s", cpu}}
                         .dump()
                  << std::endl;
        return 0;
      }
      WorkloadRunOptions ro;
      ro.mode = engine;
      ro.timing_only = timing_only;
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds();
      const nlohmann::json rep = run_workload_report(cfg, workload, wp, ro);
      const double wall = seconds_since(t0), cpu = cpu_seconds() - c0;
      out = {{"kind", "workload"},
             {"engine", engine},
             {"arch", arch},
             {"workload", workload},
             {"cycles", rep["totals"]["cycles"]},
             {"useful_macs", rep["totals"].value("useful_macs", uint64_t(0))},
             {"timing_only", timing_only},
             {"wall_s", wall},
             {"cpu_s", cpu}};
    } else if (*gm) {
      const TpuConfig cfg = load_config(arch);
      const Workload w = parse_workload(gemm_yaml(m, k, n), "gemm");
      auto t0 = Clock::now();
      LoweredProgram lp = lower(cfg, w, LowerOptions{});
      const double lower_s = seconds_since(t0);
      if (relu_input) {  // the input tensor's vectors (block layout, sim/compiler/lowering.h
                         // HostTensor)
        const uint64_t V = cfg.vector_bytes(), lo = lp.input.base;
        const uint64_t hi = lo + (lp.input.features + V - 1) / V * lp.input.rows;
        for (Segment& s : lp.segments)
          for (auto& [addr, bytes] : s.program.host_init)
            for (size_t i = 0; i < bytes.size(); ++i)
              if (addr + i / V >= lo && addr + i / V < hi) bytes[i] = int8_t(bytes[i] & 0x7f);
      }
      uint64_t cycles = 0;
      EngineOptions eo;
      eo.record_timeline = false;
      // One untimed run first, as the native GEMM is timed after a warm-up: the library's one-time
      // start-up (oneDNN's JIT, ~4-6 ms) is not a per-MAC cost. Then `repeat` timed runs, median.
      for (const Segment& s : lp.segments) run_engine("fast", cfg, s.program, eo);
      std::vector<std::pair<double, double>> runs;  // (cpu, wall) per timed run
      for (uint64_t r = 0; r < std::max<uint64_t>(repeat, 1); ++r) {
        t0 = Clock::now();
        const double c0 = cpu_seconds();
        cycles = 0;
        for (const Segment& s : lp.segments)
          cycles += run_engine("fast", cfg, s.program, eo).counts.cycles * s.repeat;
        runs.emplace_back(cpu_seconds() - c0, seconds_since(t0));
      }
      std::sort(runs.begin(), runs.end());
      const double cpu = runs[runs.size() / 2].first, wall = runs[runs.size() / 2].second;
      out = {{"kind", "gemm"},
             {"engine", "fast"},
             {"arch", arch},
             {"m", m},
             {"k", k},
             {"n", n},
             {"macs", m * k * n},
             {"cycles", cycles},
             {"wall_s", wall},
             {"cpu_s", cpu},
             {"lower_s", lower_s},
             {"repeat", runs.size()},
             {"relu_input", relu_input}};
    } else {
      BaselineOp op;
      op.layer = "gemm";
      op.m = m;
      op.k = k;
      op.n = n;
      MeasureOptions mo;
      mo.libraries = {lib};
      mo.dtypes = {"int8"};
      mo.max_seconds = max_s;
      mo.max_repeats = 5;
      const auto runs = measure_cpu({op}, mo);
      const MeasuredOp& r = runs.at(0).ops.at(0);
      out = {{"kind", "native"},
             {"lib", lib},
             {"detail", runs[0].detail},
             {"threads", runs[0].threads},
             {"m", m},
             {"k", k},
             {"n", n},
             {"macs", m * k * n},
             {"wall_s", r.gemm_instance_s},
             {"measured", r.measured}};
    }
    std::cout << out.dump() << std::endl;
    return 0;
  } catch (const InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
