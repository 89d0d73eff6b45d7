#include "sim/compiler/import/scalesim_import.h"

#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// A layer name as a YAML-safe identifier (other characters become '_').
std::string identifier(const std::string& s) {
  std::string n = s;
  for (char& c : n)
    if (!isalnum(uint8_t(c)) && c != '_' && c != '-') c = '_';
  return n;
}

}  // namespace

bool ScaleSimLayer::is_gemm() const {
  return (filter_h == 1 && channels == 1 && filter_w == ifmap_w && stride == 1) ||
         (ifmap_h == filter_h && ifmap_w == filter_w && filter_h == 1 && filter_w == 1);
}

std::vector<ScaleSimLayer> parse_scalesim_topology(const std::string& csv_text,
                                                   const std::string& file,
                                                   const ScaleSimParse& opt) {
  check_utf8_text(csv_text, file);
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
        throw InputError(
            fmt::format("{}:{}: expected the SCALE-Sim header '{}'", file, lineno,
                        opt.gemm ? "Layer, M, N, K" : "Layer name, IFMAP Height, ..."));
      continue;
    }
    const size_t need = opt.gemm ? 4 : 8;
    if (cols.size() < need)
      throw InputError(fmt::format(
          "{}:{}: expected {} columns ({}), got {}", file, lineno, need,
          opt.gemm ? "name, M, N, K"
                   : "name, ifmap h, ifmap w, filter h, filter w, channels, filters, strides",
          cols.size()));
    uint64_t v[7] = {0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i + 1 < need; ++i) {
      if (!parse_uint_scalar(cols[i + 1], v[i]) || v[i] == 0 || v[i] > kMaxScaleSimValue)
        throw InputError(fmt::format("{}:{}: column {}: '{}' is not an integer in 1..{}", file,
                                     lineno, i + 2, cols[i + 1], kMaxScaleSimValue));
    }
    ScaleSimLayer l;
    l.name = cols[0];
    if (opt.gemm) {  // M, N, K -> ifmap M x K, filter 1 x K, 1 channel, N filters
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
    if (l.ifmap_h * l.ifmap_w > (uint64_t(1) << 32))
      throw InputError(
          fmt::format("{}:{}: ifmap {}x{} has more than 2^32 pixels (too large to simulate)", file,
                      lineno, l.ifmap_h, l.ifmap_w));
    if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w)
      throw InputError(fmt::format("{}:{}: filter {}x{} larger than the ifmap {}x{}", file, lineno,
                                   l.filter_h, l.filter_w, l.ifmap_h, l.ifmap_w));
    if (opt.expand_depthwise && !opt.gemm && l.name.find("DP") != std::string::npos) {
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

std::vector<ScaleSimLayer> load_scalesim_topology(const std::string& path,
                                                  const ScaleSimParse& opt) {
  return parse_scalesim_topology(read_input_file(path), path, opt);
}

std::string scalesim_topology_csv(const std::vector<ScaleSimLayer>& layers) {
  std::string out =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n";
  for (const ScaleSimLayer& l : layers)
    out += fmt::format("{}, {}, {}, {}, {}, {}, {}, {},\n", l.name, l.ifmap_h, l.ifmap_w,
                       l.filter_h, l.filter_w, l.channels, l.filters, l.stride);
  return out;
}

std::string scalesim_workload_yaml(const std::vector<ScaleSimLayer>& layers,
                                   const ScaleSimYaml& opt) {
  std::string out = opt.header;
  out += fmt::format("name: {}\npaper: \"{}\"\nbatch: {}\n", opt.name, opt.paper, opt.batch);
  if (!opt.assumptions.empty()) {
    out += "assumptions:\n";
    for (const std::string& a : opt.assumptions) out += fmt::format("  - \"{}\"\n", a);
  }
  out += "layers:\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const ScaleSimLayer& l = layers[i];
    const std::string id = identifier(l.name);
    const std::string n = id.empty()     ? fmt::format("layer{}", i)
                          : opt.numbered ? fmt::format("{}_{}", id, i)
                                         : id;
    out += fmt::format("  - repeat: 1\n    name: {}\n    layers:\n", n);
    if (opt.gemm_as_fc && l.is_gemm()) {
      out +=
          fmt::format("      - {{type: embedding, name: {}_in, features: {}, rows_per_item: {}}}\n",
                      n, l.window(), l.ofmap_px());
      out +=
          fmt::format("      - {{type: fc, name: {}, out: {}, act: {}}}\n", n, l.filters, opt.act);
    } else {
      out +=
          fmt::format("      - {{type: embedding, name: {}_in, features: {}, rows_per_item: {}}}\n",
                      n, l.channels, l.ifmap_h * l.ifmap_w);
      out += fmt::format(
          "      - {{type: conv2d, name: {}, in_h: {}, in_w: {}, out_c: {}, kernel_h: {}, "
          "kernel_w: {}, "
          "stride: {}, pad: 0, act: {}}}\n",
          n, l.ifmap_h, l.ifmap_w, l.filters, l.filter_h, l.filter_w, l.stride, opt.act);
    }
  }
  return out;
}

std::string import_scalesim(const std::string& csv_text, const std::string& file, uint64_t batch) {
  ScaleSimYaml y;
  y.header =
      fmt::format("# Imported from SCALE-Sim topology {} by `tpusim import-scalesim`.\n", file);
  y.paper = fmt::format("SCALE-Sim topology {}", file);
  y.batch = batch;
  y.assumptions = {"Each SCALE-Sim layer is independent: its input comes from the host",
                   "Padding 0 (valid), as SCALE-Sim sizes its outputs"};
  return scalesim_workload_yaml(parse_scalesim_topology(csv_text, file), y);
}

std::string import_scalesim_file(const std::string& path, uint64_t batch) {
  return import_scalesim(read_input_file(path), path, batch);
}

}  // namespace tpusim
