#include "sim/lowering_cli.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/assembler.h"
#include "sim/import_scalesim.h"
#include "sim/lowering.h"

namespace tpusim {

namespace {

void layer_line(const LayerInfo& l, std::ostream& out) {
  out << fmt::format("; layer {} {}: useful MACs {} weight tiles {} kv tiles {} chunks {}{}\n", l.name,
                     layer_kind_name(l.kind), l.useful_macs, l.weight_tile_loads, l.kv_tile_loads, l.chunks,
                     l.spilled ? " (host-staged)" : "");
}

int print_stats(const TpuConfig& cfg, const Workload& w, std::ostream& out) {
  LowerOptions opt;
  opt.values = false;
  const LoweringStats st = lower_stats(cfg, w, opt);
  out << fmt::format("; workload {} ({}) on {}: {} useful MACs, {} MAC slots, {} weight bytes, {} segments, "
                     "{} instructions (counted, not stored)\n",
                     w.name, w.paper, cfg.name, st.useful_macs(), st.mac_slots(), w.weight_bytes(),
                     st.segments.size(), st.instructions());
  for (const auto& a : w.assumptions) out << "; assumption: " << a << "\n";
  for (const auto& seg : st.segments) {
    out << fmt::format("; segment {} x {}: {} instructions", seg.group.empty() ? "all" : seg.group, seg.repeat,
                       seg.instructions);
    for (uint8_t op = 0; op < kOpcodeCount; ++op)
      if (seg.by_opcode[op]) out << fmt::format(", {} {}", mnemonic(Opcode(op)), seg.by_opcode[op]);
    out << fmt::format("; mmc rows {}; UB vectors used {}/{}, accumulators {}/{}, weight tiles {}/{}{}\n",
                       seg.matmul_rows, seg.ub_vectors_used, cfg.ub_vectors(), seg.acc_entries_used,
                       cfg.accumulator_entries, seg.weight_tiles_used, cfg.weight_memory_tiles(),
                       st.weight_addresses_wrapped ? " (addresses wrapped)" : "");
    for (const auto& l : st.layers)
      if (seg.group.empty() || l.group == seg.group) layer_line(l, out);
  }
  return 0;
}

}  // namespace

int cmd_lower(const TpuConfig& cfg, const std::string& workload, const WorkloadParams& params,
              bool timing_only, bool stats, std::ostream& out) {
  const Workload w = load_workload(workload, params);
  if (stats) return print_stats(cfg, w, out);
  LowerOptions opt;
  opt.values = !timing_only;
  const LoweredProgram lp = lower(cfg, w, opt);
  out << fmt::format("; workload {} ({}) on {}: {} useful MACs, {} weight bytes, {} segments\n", w.name,
                     w.paper, cfg.name, lp.useful_macs(), w.weight_bytes(), lp.segments.size());
  for (const auto& a : w.assumptions) out << "; assumption: " << a << "\n";
  for (const auto& seg : lp.segments) {
    out << fmt::format("; segment {} x {}\n", seg.group.empty() ? "all" : seg.group, seg.repeat);
    for (const auto& l : lp.layers)
      if (seg.group.empty() || l.group == seg.group) layer_line(l, out);
    out << disassemble(seg.program);
  }
  return 0;
}

int cmd_list_workloads(bool json, std::ostream& out) {
  const auto list = list_workloads();
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : list) j.push_back({{"name", e.name}, {"paper", e.paper}, {"description", e.description}});
    out << j.dump(2) << "\n";
  } else {
    for (const auto& e : list) out << fmt::format("{:<22} {}\n", e.name, e.paper);
  }
  return 0;
}

int cmd_import_scalesim(const std::string& file, uint64_t batch, std::ostream& out) {
  out << import_scalesim_file(file, batch);
  return 0;
}

}  // namespace tpusim
