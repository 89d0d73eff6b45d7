// `tpusim scalesim-cycles`: per-layer cycles of SCALE-Sim's weight-stationary model (Eq. S1,
// sim/studies/scalesim/scalesim_compat.h) in COMPUTE_REPORT-like CSV or JSON, optionally beside
// the TPU-style fast engine.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/compiler/workload.h"
#include "sim/studies/scalesim/scalesim_compat.h"

namespace tpusim::cli {

namespace {

struct ScaleSimArgs {
  std::string arch = "tpu-v1";  // array size from this config (preset or YAML)
  uint32_t rows = 0, cols = 0;  // override the arch's array (0 = keep)
  std::string topology;         // SCALE-Sim CSV
  std::string workload;         // or a tpusim workload (name or YAML)
  uint32_t batch = 0;           // workload batch override (0 = the workload's)
  bool gemm = false;            // topology in M, N, K form
  bool tpu_style = false;       // add the fast engine's cycles per layer
  bool json = false;            // JSON instead of CSV
  bool emit_topology = false;   // print the layers as a SCALE-Sim conv CSV instead
};

int run(const ScaleSimArgs& a) {
  if (a.topology.empty() == a.workload.empty())
    throw InputError("scalesim-cycles: give exactly one of --topology FILE.csv or --workload NAME");
  TpuConfig cfg = load_config(a.arch);
  if (a.rows) cfg.array.rows = a.rows;
  if (a.cols) cfg.array.cols = a.cols;
  const uint64_t rows = cfg.array.rows, cols = cfg.array.cols;
  const std::vector<ScaleSimLayer> layers =
      a.topology.empty() ? scalesim_layers_from_workload(
                               load_workload(a.workload, WorkloadParams{a.batch, "", 0, 0}))
                         : load_scalesim_topology(a.topology, ScaleSimParse{a.gemm, true});
  if (a.emit_topology) {
    std::cout << scalesim_topology_csv(layers);
    return 0;
  }
  const std::vector<EventCounts> tpu =
      a.tpu_style ? tpu_style_counts(cfg, layers) : std::vector<EventCounts>(layers.size());

  nlohmann::json j;
  j["array"] = {{"rows", rows}, {"cols", cols}};
  j["model"] = "scalesim-ws (Eq. S1)";
  uint64_t total = 0, total_tpu = 0;
  if (!a.json) {
    fmt::print(
        "LayerID, Layer, Total Cycles, Folds, Stream Cycles, Weight Load Cycles, Fill Drain "
        "Cycles, MACs");
    if (a.tpu_style)
      fmt::print(
          ", TPU Cycles, TPU Array Active, TPU Weight Stall, TPU Weight Shift, TPU Non Matrix");
    fmt::print(",\n");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const ScaleSimCycles c = scalesim_ws_cycles(layers[i], rows, cols);
    total += c.cycles;
    total_tpu += tpu[i].cycles;
    if (a.json) {
      nlohmann::json l = {{"layer", layers[i].name},
                          {"cycles", c.cycles},
                          {"folds", c.folds()},
                          {"stream_cycles", c.stream_cycles},
                          {"weight_load_cycles", c.weight_load_cycles},
                          {"fill_drain_cycles", c.fill_drain_cycles},
                          {"macs", layers[i].macs()}};
      if (a.tpu_style)
        l["tpu"] = {{"cycles", tpu[i].cycles},
                    {"array_active_cycles", tpu[i].array_active_cycles},
                    {"weight_stall_cycles", tpu[i].weight_stall_cycles},
                    {"weight_shift_cycles", tpu[i].weight_shift_cycles},
                    {"non_matrix_cycles", tpu[i].non_matrix_cycles}};
      j["layers"].push_back(l);
    } else {
      fmt::print("{}, {}, {}, {}, {}, {}, {}, {}", i, layers[i].name, c.cycles, c.folds(),
                 c.stream_cycles, c.weight_load_cycles, c.fill_drain_cycles, layers[i].macs());
      if (a.tpu_style)
        fmt::print(", {}, {}, {}, {}, {}", tpu[i].cycles, tpu[i].array_active_cycles,
                   tpu[i].weight_stall_cycles, tpu[i].weight_shift_cycles,
                   tpu[i].non_matrix_cycles);
      fmt::print(",\n");
    }
  }
  if (a.json) {
    j["total_cycles"] = total;
    if (a.tpu_style) j["tpu_total_cycles"] = total_tpu;
    std::cout << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

Command add_scalesim_command(CLI::App& app) {
  auto a = std::make_shared<ScaleSimArgs>();
  auto* c = app.add_subcommand("scalesim-cycles",
                               "Per-layer cycles of SCALE-Sim's weight-stationary model (exact), "
                               "optionally beside the TPU-style fast engine");
  c->add_option("--arch", a->arch, "Arch preset or YAML whose array size is used")
      ->capture_default_str();
  c->add_option("--rows", a->rows, "Array rows (overrides the arch)");
  c->add_option("--cols", a->cols, "Array cols (overrides the arch)");
  auto* topo = c->add_option("--topology", a->topology, "SCALE-Sim topology CSV");
  auto* wl =
      c->add_option("--workload", a->workload, "tpusim workload (its dense and conv layers)");
  topo->excludes(wl);
  add_batch_option(c, a->batch, "Workload batch override");
  c->add_flag("--gemm", a->gemm, "Topology in SCALE-Sim's M, N, K form");
  c->add_flag("--tpu-style", a->tpu_style,
              "Add the fast engine's cycles on the lowered layer (timing only)");
  c->add_flag("--json", a->json, "JSON instead of CSV");
  c->add_flag("--emit-topology", a->emit_topology,
              "Print the layers as a SCALE-Sim topology CSV instead");
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
