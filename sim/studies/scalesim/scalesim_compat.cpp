#include "sim/studies/scalesim/scalesim_compat.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/fast/fast_engine.h"

namespace tpusim {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

ScaleSimCycles scalesim_ws_cycles(const ScaleSimLayer& l, uint64_t rows, uint64_t cols) {
  if (rows == 0 || cols == 0) throw InputError("scalesim: array rows and cols must be >= 1");
  if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w || l.stride == 0)
    throw InputError(
        fmt::format("scalesim: layer '{}': filter {}x{} larger than the ifmap {}x{} or stride 0",
                    l.name, l.filter_h, l.filter_w, l.ifmap_h, l.ifmap_w));
  ScaleSimCycles c;
  c.row_folds = ceil_div(l.window(), rows);
  c.col_folds = ceil_div(l.filters, cols);
  const uint64_t f = c.folds(), t = l.ofmap_px();
  c.stream_cycles = f * t;
  c.weight_load_cycles = f * rows;
  c.fill_drain_cycles = f * (rows + cols - 2);
  c.cycles = f * (2 * rows + cols + t - 2) - 1;  // Eq. S1
  return c;
}

std::vector<ScaleSimLayer> scalesim_layers_from_workload(const Workload& wl) {
  std::vector<ScaleSimLayer> out;
  for (const LayerGroup& g : wl.groups) {
    for (uint64_t r = 0; r < g.repeat; ++r) {
      for (const Layer& l : g.layers) {
        const std::string base =
            g.repeat > 1 ? fmt::format("{}.{}/{}", g.name, r, l.name) : g.name + "/" + l.name;
        if (l.kind == LayerKind::kFc) {
          for (size_t t = 0; t < l.terms.size(); ++t) {
            const FcTerm& term = l.terms[t];
            const uint64_t items = term.item_hi ? term.item_hi - term.item_lo : g.items;
            ScaleSimLayer s;
            s.name = l.terms.size() > 1 ? fmt::format("{}.{}", base, t) : base;
            s.ifmap_h = items * l.rows_per_item;
            s.ifmap_w = term.k;
            s.filter_w = term.k;
            s.filters = term.n;
            out.push_back(s);
          }
        } else if (l.kind == LayerKind::kConv2d) {
          for (uint64_t item = 0; item < g.items; ++item) {
            ScaleSimLayer s;
            s.name = g.items > 1 ? fmt::format("{}#{}", base, item) : base;
            s.ifmap_h = l.in_h + 2 * l.pad;
            s.ifmap_w = l.in_w + 2 * l.pad;
            s.filter_h = l.kernel_h;
            s.filter_w = l.kernel_w;
            s.channels = l.in_c;
            s.filters = l.out_features;
            s.stride = l.stride;
            out.push_back(s);
          }
        }
      }
    }
  }
  return out;
}

std::vector<EventCounts> tpu_style_counts(const TpuConfig& cfg,
                                          const std::vector<ScaleSimLayer>& layers) {
  if (cfg.array.rows != cfg.array.cols)
    throw InputError("scalesim-cycles tpu-style: the lowering needs a square array");
  // One group per layer, input from the host, a GEMM row as a dense layer (K on the array rows),
  // any other row as a valid convolution.
  ScaleSimYaml y;
  y.name = "scalesim-layers";
  y.paper = "SCALE-Sim topology";
  y.act = "none";
  y.gemm_as_fc = true;
  y.numbered = true;
  const Workload wl = parse_workload(scalesim_workload_yaml(layers, y), "scalesim-cycles");
  LowerOptions lo;
  lo.values = false;
  lo.keep_on_chip = false;  // each layer on its own: its input from the host, as documented
  const LoweredProgram lp = lower(cfg, wl, lo);
  if (lp.segments.size() != layers.size())
    throw InputError("scalesim-cycles tpu-style: one program per layer expected");
  std::vector<EventCounts> tpu(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    EngineOptions fo;
    fo.values = false;
    fo.record_timeline = false;
    tpu[i] = run_fast(cfg, lp.segments[i].program, fo).counts;
  }
  return tpu;
}

}  // namespace tpusim
