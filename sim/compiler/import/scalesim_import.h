// SCALE-Sim's topology format, read and written in one place: the CSV parser (`tpusim
// import-scalesim`, `tpusim scalesim-cycles --topology`), the CSV writer, and the workload YAML
// that lowers the layers on tpusim (each layer its own group, its input from the host).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tpusim {

// One SCALE-Sim topology row (conv form; a GEMM row M,N,K is ifmap M x K, filter 1 x K, 1
// channel, N filters, stride 1, as scalesim/topology_utils.py load_arrays_gemm maps it).
struct ScaleSimLayer {
  std::string name;
  uint64_t ifmap_h = 1, ifmap_w = 1, filter_h = 1, filter_w = 1, channels = 1, filters = 1;
  uint64_t stride = 1;

  // SCALE-Sim's output size: ceil((ifmap - filter + stride) / stride) (no padding).
  uint64_t ofmap_h() const {
    return (ifmap_h - filter_h + stride) / stride +
           ((ifmap_h - filter_h + stride) % stride ? 1 : 0);
  }
  uint64_t ofmap_w() const {
    return (ifmap_w - filter_w + stride) / stride +
           ((ifmap_w - filter_w + stride) % stride ? 1 : 0);
  }
  uint64_t ofmap_px() const { return ofmap_h() * ofmap_w(); }         // T
  uint64_t window() const { return filter_h * filter_w * channels; }  // Sr
  uint64_t macs() const { return ofmap_px() * window() * filters; }
  // True when the row is a GEMM in SCALE-Sim's conv form (M x K ifmap, 1 x K filter, 1 channel).
  bool is_gemm() const;
};

struct ScaleSimParse {
  bool gemm = false;              // the M, N, K form (header "Layer, M, N, K")
  bool expand_depthwise = false;  // a row whose name contains "DP" becomes one single-channel
                                  // layer per channel, as SCALE-Sim runs it
};

// Parses a topology CSV: a header starting with "Layer", then one row per layer (conv form: name,
// ifmap h, ifmap w, filter h, filter w, channels, filters, strides; extra columns ignored, as
// SCALE-Sim does). Every number in 1..kMaxScaleSimValue, an ifmap of at most 2^32 pixels, a filter
// no larger than the ifmap. Throws InputError naming FILE:LINE (and the column) otherwise.
constexpr uint64_t kMaxScaleSimValue = uint64_t(1) << 24;
std::vector<ScaleSimLayer> parse_scalesim_topology(const std::string& csv_text,
                                                   const std::string& file,
                                                   const ScaleSimParse& opt = {});
std::vector<ScaleSimLayer> load_scalesim_topology(const std::string& path,
                                                  const ScaleSimParse& opt = {});

// The layers in SCALE-Sim's conv CSV form (for running SCALE-Sim on the same layers).
std::string scalesim_topology_csv(const std::vector<ScaleSimLayer>& layers);

struct ScaleSimYaml {
  std::string name = "imported";
  std::string paper;   // the workload's `paper` (default: the topology's file)
  std::string header;  // comment lines on top (each starting with '#')
  uint64_t batch = 1;
  std::string act = "relu";  // activation of every layer
  bool gemm_as_fc = false;   // a GEMM row as a dense layer (K on the array rows) instead of a conv
  bool numbered = false;     // group names NAME_i (unique even when rows repeat a name)
  std::vector<std::string> assumptions;
};

// Workload YAML (sim/compiler/workload.h) of `layers`: one group per layer whose input the host
// provides (an embedding of the layer's input rows), then the layer as a valid convolution (pad 0,
// as SCALE-Sim sizes its outputs) or, with gemm_as_fc, a GEMM row as a dense layer.
std::string scalesim_workload_yaml(const std::vector<ScaleSimLayer>& layers,
                                   const ScaleSimYaml& opt);

// `tpusim import-scalesim FILE`: the topology file as workload YAML (conv layers with ReLU, the
// rows as written).
std::string import_scalesim(const std::string& csv_text, const std::string& file,
                            uint64_t batch = 1);
std::string import_scalesim_file(const std::string& path, uint64_t batch = 1);

}  // namespace tpusim
