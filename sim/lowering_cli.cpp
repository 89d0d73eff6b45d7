#include "sim/lowering_cli.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/assembler.h"
#include "sim/import_scalesim.h"
#include "sim/lowering.h"

namespace tpusim {

int cmd_lower(const TpuConfig& cfg, const std::string& workload, const WorkloadParams& params,
              bool timing_only, std::ostream& out) {
  const Workload w = load_workload(workload, params);
  LowerOptions opt;
  opt.values = !timing_only;
  const LoweredProgram lp = lower(cfg, w, opt);
  out << fmt::format("; workload {} ({}) on {}: {} useful MACs, {} weight bytes, {} segments\n", w.name,
                     w.paper, cfg.name, lp.useful_macs(), w.weight_bytes(), lp.segments.size());
  for (const auto& a : w.assumptions) out << "; assumption: " << a << "\n";
  for (const auto& seg : lp.segments) {
    out << fmt::format("; segment {} x {}\n", seg.group.empty() ? "all" : seg.group, seg.repeat);
    for (uint32_t li = 0; li < lp.layers.size(); ++li) {
      const LayerInfo& l = lp.layers[li];
      if (!seg.group.empty() && l.group != seg.group) continue;
      out << fmt::format("; layer {} {}: useful MACs {} weight tiles {} kv tiles {} chunks {}{}\n", l.name,
                         layer_kind_name(l.kind), l.useful_macs, l.weight_tile_loads, l.kv_tile_loads,
                         l.chunks, l.spilled ? " (host-staged)" : "");
    }
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
