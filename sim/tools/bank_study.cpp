// tpusim_bank_study: what a banked UB with a software-enforced bank rule would cost the
// lowering (issue 25: the UB is not 1R1W yet). For each workload it lowers the program as
// shipped (the race rule with the ISA's accumulator banks, sim/isa/races.h isa_bank_rule) and
// again with the syncs also ordering each scheme's UB bank conflicts (BankRule: two units may not
// both read, or both write, one bank unless a sync orders them), runs the fast engine on both,
// and prints a markdown table of the cycles and the syncs added. The engines' rule is the ISA's:
// every program here is race-free under it, so this measures the rule's cost, not a machine.
// scripts/bank_study.sh runs it.
//   tpusim_bank_study --preset P [--workloads a,b,...] --schemes ub:4,ub:16 [--max-instructions N]
// A scheme ub:B splits the UB into B banks of contiguous vectors. (The accumulator schemes of the
// first study, acc:B and per-MXU shares, became the ISA's rule: results/rtl/bank_study.md.)
#include <cstdint>
#include <iostream>
#include <sstream>
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

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) v.push_back(item);
  return v;
}

struct Scheme {
  std::string name;
  uint64_t ub_banks = 0;
};

Scheme parse_scheme(const std::string& text) {
  Scheme s{text};
  for (const std::string& part : split(text, '+')) {
    const size_t colon = part.find(':');
    if (colon == std::string::npos)
      throw InputError(fmt::format("--schemes: '{}': expected ub:B", part));
    const std::string mem = part.substr(0, colon);
    const std::string count = part.substr(colon + 1);
    if (count.empty() || count.size() > 9 ||
        count.find_first_not_of("0123456789") != std::string::npos || std::stoull(count) == 0)
      throw InputError(fmt::format("--schemes: '{}': expected a bank count of 1 or more", part));
    const uint64_t banks = std::stoull(count);
    if (mem == "ub")
      s.ub_banks = banks;
    else
      throw InputError(fmt::format(
          "--schemes: '{}': expected ub before ':' (the accumulator banks are the ISA's)", part));
  }
  return s;
}

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
  CLI::App app{"Cost of a software-enforced bank rule for a banked 1R1W UB"};
  std::string preset;
  std::vector<std::string> names, schemes;
  uint64_t max_instructions = uint64_t(1) << 22;
  app.add_option("--preset", preset, "architecture preset")->required();
  app.add_option("--workloads", names, "comma-separated workloads (default: the library)")
      ->delimiter(',');
  app.add_option("--schemes", schemes, "comma-separated schemes, e.g. ub:4,ub:16")
      ->delimiter(',')
      ->required();
  app.add_option("--max-instructions", max_instructions,
                 "skip a workload whose program would store more instructions");
  CLI11_PARSE(app, argc, argv);
  try {
    const TpuConfig cfg = load_config(preset);
    std::vector<Scheme> sch;
    for (const std::string& s : schemes) sch.push_back(parse_scheme(s));
    if (names.empty())
      for (const WorkloadEntry& e : list_workloads()) names.push_back(e.name);

    std::cout << fmt::format(
        "{}: {} MXU(s) of {}x{}, {} accumulator rows in {} banks of {}, {} UB vectors.\n\n",
        cfg.name, cfg.mxus, cfg.array.rows, cfg.array.cols, cfg.accumulator_entries, 2 * cfg.mxus,
        acc_bank_rows(cfg.accumulator_entries, cfg.mxus), cfg.ub_vectors());
    std::string head = "| workload | cycles | syncs |", rule = "|---|---:|---:|";
    for (const Scheme& s : sch) {
      head += fmt::format(" {} cycles | x | + syncs |", s.name);
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
      for (const Scheme& s : sch) {
        LowerOptions o = opt;
        o.study_ub_bank_vectors = s.ub_banks ? (cfg.ub_vectors() + s.ub_banks - 1) / s.ub_banks : 0;
        const Run r = run(cfg, wl, o);
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
