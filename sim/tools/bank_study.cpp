// tpusim_bank_study: what the UB's bank count costs (issue 25). For each workload it lowers and
// runs (fast engine) the program on the preset as shipped and again on the preset with its UB in
// B banks (TpuConfig::ub_banks: the bank interlock of sim/isa/ISA.md "UB banks" orders a second
// reader, or writer, of a bank behind the first), and prints a markdown table of the cycles and
// the syncs added. scripts/bank_study.sh runs it.
//   tpusim_bank_study --preset P [--workloads a,b,...] --ub-banks 4,16 [--max-instructions N]
// (The accumulator schemes of the first study, acc:B and per-MXU shares, became the ISA's rule,
// and the UB's software rule of the second became the interlock: results/rtl/bank_study.md.)
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/isa/isa.h"
#include "sim/isa/races.h"

using namespace tpusim;

namespace {

struct Run {
  uint64_t cycles = 0;  // repeats included
  uint64_t syncs = 0;   // sync instructions, repeats included
};

Run run(const TpuConfig& cfg, const Workload& wl, LowerOptions opt) {
  opt.values = false;
  const LoweredProgram lp = lower(cfg, wl, opt);
  Run r;
  for (const Segment& seg : lp.segments) {
    EngineOptions eo;
    eo.values = false;  // timing only (timing never depends on data)
    eo.record_timeline = false;
    const EngineResult res = run_fast(cfg, seg.program, eo);
    r.cycles += res.counts.cycles * seg.repeat;
    uint64_t syncs = 0;
    for (const Instruction& in : seg.program.code) syncs += in.op == Opcode::kSync;
    r.syncs += syncs * seg.repeat;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Cost of the UB's bank count (the bank interlock)"};
  std::string preset;
  std::vector<std::string> names;
  std::vector<uint64_t> ub_banks;
  uint64_t max_instructions = uint64_t(1) << 22;
  app.add_option("--preset", preset, "architecture preset")->required();
  app.add_option("--workloads", names, "comma-separated workloads (default: the library)")
      ->delimiter(',');
  app.add_option("--ub-banks", ub_banks, "comma-separated UB bank counts, e.g. 4,16")
      ->delimiter(',')
      ->check(CLI::Range(uint64_t(1), uint64_t(4096)))
      ->required();
  app.add_option("--max-instructions", max_instructions,
                 "skip a workload whose program would store more instructions");
  CLI11_PARSE(app, argc, argv);
  try {
    const TpuConfig cfg = load_config(preset);
    if (names.empty())
      for (const WorkloadEntry& e : list_workloads()) names.push_back(e.name);

    const uint64_t acc_rows = acc_bank_rows(cfg.accumulator_entries, cfg.mxus);
    std::cout << fmt::format(
        "{}: {} MXU(s) of {}x{}, {} accumulator rows in {} banks of {}, {} UB vectors.\n\n",
        cfg.name, cfg.mxus, cfg.array.rows, cfg.array.cols, cfg.accumulator_entries,
        (cfg.accumulator_entries + acc_rows - 1) / acc_rows, acc_rows, cfg.ub_vectors());
    std::string head = "| workload | cycles | syncs |", rule = "|---|---:|---:|";
    for (const uint64_t b : ub_banks) {
      head += fmt::format(" ub:{} cycles | x | + syncs |", b);
      rule += "---:|---:|---:|";
    }
    std::cout << head << "\n" << rule << "\n";
    for (const std::string& name : names) {
      const Workload wl = load_workload(name);
      LowerOptions opt;
      opt.max_instructions = max_instructions;
      Run base;
      try {
        base = run(cfg, wl, opt);
      } catch (const InputError& e) {
        std::cout << fmt::format("| {} | skipped: {} |\n", name, e.what());
        continue;
      }
      std::string row = fmt::format("| {} | {} | {} |", name, base.cycles, base.syncs);
      for (const uint64_t b : ub_banks) {
        TpuConfig c = cfg;
        c.ub_banks = uint32_t(std::min<uint64_t>(b, cfg.ub_vectors()));
        const Run r = run(c, wl, opt);
        row += fmt::format(" {} | {:.3f} | {} |", r.cycles, double(r.cycles) / double(base.cycles),
                           int64_t(r.syncs) - int64_t(base.syncs));
      }
      std::cout << row << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "tpusim_bank_study: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
