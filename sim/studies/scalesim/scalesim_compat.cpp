#include "sim/studies/scalesim/scalesim_compat.h"

#include <cctype>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/engines/fast/fast_engine.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"

namespace tpusim {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

std::string yaml_name(const std::string& s, size_t i) {
  std::string n = s;
  for (char& c : n)
    if (!isalnum(uint8_t(c)) && c != '_' && c != '-') c = '_';
  return n.empty() ? fmt::format("layer{}", i) : fmt::format("{}_{}", n, i);
}

// True when the row is a GEMM in SCALE-Sim's conv form (M x K ifmap, 1 x K filter, 1 channel).
bool is_gemm_row(const ScaleSimLayer& l) {
  return (l.filter_h == 1 && l.channels == 1 && l.filter_w == l.ifmap_w && l.stride == 1) ||
         (l.ifmap_h == l.filter_h && l.ifmap_w == l.filter_w && l.filter_h == 1 && l.filter_w == 1);
}

// One workload group per layer, input from the host (as sim/compiler/import/scalesim_import.h does), a GEMM row as
// a dense layer (K on the array rows) and any other row as a valid convolution.
std::string tpu_style_yaml(const std::vector<ScaleSimLayer>& layers) {
  std::string out = "name: scalesim-layers\npaper: \"SCALE-Sim topology\"\nbatch: 1\nlayers:\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const ScaleSimLayer& l = layers[i];
    const std::string n = yaml_name(l.name, i);
    out += fmt::format("  - repeat: 1\n    name: {}\n    layers:\n", n);
    if (is_gemm_row(l)) {
      const uint64_t m = l.ofmap_px(), k = l.window();
      out += fmt::format("      - {{type: embedding, name: {}_in, features: {}, rows_per_item: {}}}\n", n, k, m);
      out += fmt::format("      - {{type: fc, name: {}, out: {}, act: none}}\n", n, l.filters);
    } else {
      out += fmt::format("      - {{type: embedding, name: {}_in, features: {}, rows_per_item: {}}}\n", n,
                         l.channels, l.ifmap_h * l.ifmap_w);
      out += fmt::format("      - {{type: conv2d, name: {}, in_h: {}, in_w: {}, out_c: {}, kernel_h: {}, "
                         "kernel_w: {}, stride: {}, pad: 0, act: none}}\n",
                         n, l.ifmap_h, l.ifmap_w, l.filters, l.filter_h, l.filter_w, l.stride);
    }
  }
  return out;
}

}  // namespace

ScaleSimCycles scalesim_ws_cycles(const ScaleSimLayer& l, uint64_t rows, uint64_t cols) {
  if (rows == 0 || cols == 0) throw InputError("scalesim: array rows and cols must be >= 1");
  if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w || l.stride == 0)
    throw InputError(fmt::format("scalesim: layer '{}': filter {}x{} larger than the ifmap {}x{} or stride 0",
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

std::vector<ScaleSimLayer> parse_scalesim_topology(const std::string& csv_text, const std::string& file,
                                                   bool gemm) {
  std::istringstream in(csv_text);
  std::string line;
  size_t lineno = 0;
  bool header = true;
  std::vector<ScaleSimLayer> out;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) cols.push_back(trim(c));
    while (!cols.empty() && cols.back().empty()) cols.pop_back();
    if (header) {
      header = false;
      if (cols.empty() || cols[0].find("Layer") == std::string::npos)
        throw InputError(fmt::format("{}:{}: expected a SCALE-Sim header starting with 'Layer'", file, lineno));
      continue;
    }
    const size_t need = gemm ? 4 : 8;
    if (cols.size() < need)
      throw InputError(fmt::format("{}:{}: expected {} columns, got {}", file, lineno, need, cols.size()));
    uint64_t v[7] = {0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i + 1 < need; ++i) {
      if (!parse_uint_scalar(cols[i + 1], v[i]) || v[i] == 0 || v[i] > (1u << 24))
        throw InputError(fmt::format("{}:{}: column {}: '{}' is not an integer in 1..{}", file, lineno, i + 2,
                                     cols[i + 1], 1u << 24));
    }
    ScaleSimLayer l;
    l.name = cols[0];
    if (gemm) {  // M, N, K -> ifmap M x K, filter 1 x K, 1 channel, N filters
      l.ifmap_h = v[0];
      l.ifmap_w = v[2];
      l.filter_h = 1;
      l.filter_w = v[2];
      l.channels = 1;
      l.filters = v[1];
      l.stride = 1;
    } else {
      l.ifmap_h = v[0];
      l.ifmap_w = v[1];
      l.filter_h = v[2];
      l.filter_w = v[3];
      l.channels = v[4];
      l.filters = v[5];
      l.stride = v[6];
    }
    if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w)
      throw InputError(fmt::format("{}:{}: filter {}x{} larger than the ifmap {}x{}", file, lineno, l.filter_h,
                                   l.filter_w, l.ifmap_h, l.ifmap_w));
    if (!gemm && l.name.find("DP") != std::string::npos) {
      // SCALE-Sim runs a depthwise row as one single-channel layer per channel.
      const uint64_t channels = l.channels;
      l.channels = 1;
      for (uint64_t ch = 0; ch < channels; ++ch) {
        ScaleSimLayer d = l;
        d.name = fmt::format("{}Channel_{}", l.name, ch);
        out.push_back(d);
      }
    } else {
      out.push_back(l);
    }
  }
  if (out.empty()) throw InputError(fmt::format("{}: no layers", file));
  return out;
}

std::vector<ScaleSimLayer> load_scalesim_topology(const std::string& path, bool gemm) {
  return parse_scalesim_topology(read_input_file(path), path, gemm);
}

std::vector<ScaleSimLayer> scalesim_layers_from_workload(const Workload& wl) {
  std::vector<ScaleSimLayer> out;
  for (const LayerGroup& g : wl.groups) {
    for (uint64_t r = 0; r < g.repeat; ++r) {
      for (const Layer& l : g.layers) {
        const std::string base = g.repeat > 1 ? fmt::format("{}.{}/{}", g.name, r, l.name) : g.name + "/" + l.name;
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

std::string scalesim_topology_csv(const std::vector<ScaleSimLayer>& layers) {
  std::string out =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n";
  for (const ScaleSimLayer& l : layers)
    out += fmt::format("{}, {}, {}, {}, {}, {}, {}, {},\n", l.name, l.ifmap_h, l.ifmap_w, l.filter_h, l.filter_w,
                       l.channels, l.filters, l.stride);
  return out;
}

std::vector<EventCounts> tpu_style_counts(const TpuConfig& cfg, const std::vector<ScaleSimLayer>& layers) {
  if (cfg.array.rows != cfg.array.cols)
    throw InputError("scalesim-cycles tpu-style: the lowering needs a square array");
  const Workload wl = parse_workload(tpu_style_yaml(layers), "scalesim-cycles");
  LowerOptions lo;
  lo.values = false;
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
