// `tpusim lower`: a workload's lowered program(s) as assembly, or (--stats) their counts.
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/config.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/compiler/lowering.h"
#include "sim/isa/assembler.h"

namespace tpusim::cli {

namespace {

struct LowerArgs {
  std::string arch;
  WorkloadArgs wl;
  bool timing_only = false, stats = false;
  uint64_t batches = 1;
  TextOutputArgs out;
};

void layer_line(const LayerInfo& l, std::ostream& out) {
  out << fmt::format("; layer {} {}: useful MACs {} weight tiles {} kv tiles {} chunks {}{}\n",
                     l.name, layer_kind_name(l.kind), l.useful_macs, l.weight_tile_loads,
                     l.kv_tile_loads, l.chunks, l.spilled ? " (host-staged)" : "");
}

// The counts of lower_stats (instructions per opcode, MAC slots, memory used per segment, the
// layer table), for programs too large to store or print.
void print_stats(const TpuConfig& cfg, const Workload& w, uint64_t batches, std::ostream& out) {
  LowerOptions opt;
  opt.values = false;
  opt.batches = batches;
  const LoweringStats st = lower_stats(cfg, w, opt);
  out << fmt::format(
      "; workload {} ({}) on {}: {} useful MACs, {} MAC slots, {} weight bytes, {} segments, "
      "{} instructions (counted, not stored)\n",
      w.name, w.paper, cfg.name, st.useful_macs(), st.mac_slots(), w.weight_bytes(),
      st.segments.size(), st.instructions());
  for (const auto& a : w.assumptions) out << "; assumption: " << a << "\n";
  for (const auto& seg : st.segments) {
    out << fmt::format("; segment {} x {}: {} instructions", seg.group.empty() ? "all" : seg.group,
                       seg.repeat, seg.instructions);
    for (uint8_t op = 0; op < kOpcodeCount; ++op)
      if (seg.by_opcode[op]) out << fmt::format(", {} {}", mnemonic(Opcode(op)), seg.by_opcode[op]);
    out << fmt::format(
        "; mmc rows {}; UB vectors used {}/{}, accumulators {}/{}, weight tiles {}/{}{}\n",
        seg.matmul_rows, seg.ub_vectors_used, cfg.ub_vectors(), seg.acc_entries_used,
        cfg.accumulator_entries, seg.weight_tiles_used, cfg.weight_memory_tiles(),
        st.weight_addresses_wrapped ? " (addresses wrapped)" : "");
    for (const auto& l : st.layers)
      if (seg.group.empty() || l.group == seg.group) layer_line(l, out);
  }
}

// One `; segment NAME x REPEAT` block per segment, with `; layer` comments, then its assembly.
void print_program(const TpuConfig& cfg, const Workload& w, bool timing_only, uint64_t batches,
                   std::ostream& out) {
  LowerOptions opt;
  opt.values = !timing_only;
  opt.batches = batches;
  const LoweredProgram lp = lower(cfg, w, opt);
  out << fmt::format("; workload {} ({}) on {}: {} useful MACs, {} weight bytes, {} segments\n",
                     w.name, w.paper, cfg.name, lp.useful_macs(), w.weight_bytes(),
                     lp.segments.size());
  for (const auto& a : w.assumptions) out << "; assumption: " << a << "\n";
  for (const auto& seg : lp.segments) {
    out << fmt::format("; segment {} x {}\n", seg.group.empty() ? "all" : seg.group, seg.repeat);
    for (const auto& l : lp.layers)
      if (seg.group.empty() || l.group == seg.group) layer_line(l, out);
    out << disassemble(seg.program);
  }
}

int run(const LowerArgs& a) {
  const TpuConfig cfg = load_config(a.arch);
  const Workload w = load_workload(a.wl.workload, a.wl.params());
  std::ostringstream os;
  if (a.stats)
    print_stats(cfg, w, a.batches, os);
  else
    print_program(cfg, w, a.timing_only, a.batches, os);
  emit_text(a.out, os.str());
  return 0;
}

}  // namespace

Command add_lower_command(CLI::App& app) {
  auto a = std::make_shared<LowerArgs>();
  auto* c = app.add_subcommand("lower", "Lower a workload to an assembly program");
  add_arch_option(c, a->arch);
  add_workload_options(c, a->wl);
  c->add_flag("--timing-only", a->timing_only, "No memory images");
  c->add_option("--batches", a->batches,
                "A stream of this many batches in one program, host I/O double-buffered "
                "(workloads of one group)")
      ->check(CLI::Range(uint64_t(1), uint64_t(64)));
  c->add_flag("--stats", a->stats, "Print the program's counts instead of its assembly (any size)");
  add_text_output_options(c, a->out, "Output file");
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
