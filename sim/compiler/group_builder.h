// Building the layer groups of a workload: the shape of every named tensor, so that each layer is
// checked against its inputs as it is added (features and rows per item must agree), and the
// small readers and constructors the layer kinds (kind_*.cpp) and the generators share.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/errors.h"
#include "models/yaml_reader.h"
#include "sim/compiler/workload.h"

namespace tpusim {

// Feature counts and rows per item are below 2^32.
constexpr uint64_t kMaxDim = uint64_t(1) << 32;

struct TensorShape {
  uint64_t features = 0;
  uint64_t rows_per_item = 1;
};

void fuse_conv_pools(LayerGroup& g);

// Builds one group at a time, tracking the shape of every named tensor so that each layer is
// checked against its inputs (features and rows per item must agree).
class GroupBuilder {
 public:
  GroupBuilder(std::string file, LayerGroup g, TensorShape in)
      : file_(std::move(file)), g_(std::move(g)) {
    g_.in_features = in.features;
    g_.in_rows_per_item = in.rows_per_item;
    if (in.features) shapes_["@in"] = in;
    prev_ = in.features ? "@in" : "";
  }

  // Resolves "" to the previous tensor; fails when the name is unknown.
  std::string resolve(const std::string& name, const std::string& where) const {
    std::string n = name.empty() ? prev_ : name;
    if (n.empty() || !shapes_.count(n))
      throw InputError(fmt::format("{}: {}: input '{}' is not an earlier layer of group '{}'",
                                   file_, where, name.empty() ? "(previous)" : name, g_.name));
    return n;
  }
  TensorShape shape(const std::string& resolved) const { return shapes_.at(resolved); }
  const std::string& prev() const { return prev_; }
  bool has_prev() const { return !prev_.empty(); }

  void add(Layer l, const std::string& where) {
    if (l.name.empty()) l.name = fmt::format("{}{}", layer_kind_name(l.kind), g_.layers.size());
    if (shapes_.count(l.name))
      throw InputError(fmt::format("{}: {}: duplicate layer name '{}'", file_, where, l.name));
    if (l.out_features == 0 || l.out_features >= kMaxDim)
      throw InputError(fmt::format("{}: {}: layer '{}' has {} output features (allowed 1..2^32)",
                                   file_, where, l.name, l.out_features));
    shapes_[l.name] = TensorShape{l.out_features, l.rows_per_item};
    prev_ = l.name;
    g_.layers.push_back(std::move(l));
  }
  TensorShape out_shape() const { return shapes_.at(prev_); }
  // The group, with every stride-1 conv2d (or one taking im2col rows: its accumulator rows are
  // its output pixels too) whose only reader is the next layer, a 2-D pool without its own
  // function, fused with it: the conv's acts pool its accumulators on their way to the
  // UB, as the TPU's activation unit does (no identity pass, no UB round trip).
  LayerGroup take() {
    fuse_conv_pools(g_);
    return std::move(g_);
  }
  const std::string& file() const { return file_; }
  LayerGroup& group() { return g_; }

 private:
  std::string file_;
  LayerGroup g_;
  std::map<std::string, TensorShape> shapes_;
  std::string prev_;
};

// The fusion of take(), on its own.
void fuse_conv_pools(LayerGroup& g);

// The `act` key: none | relu | sigmoid | tanh.
ActFunction parse_act(YamlMap& m);
// A list of strings under `key` (empty when absent).
std::vector<std::string> str_list(YamlMap& m, const std::string& key);

// A layer of `kind` named `name` reading `input` ("" = the previous tensor): its input set; the
// input's shape in `in`.
Layer begin_layer(GroupBuilder& b, LayerKind kind, const std::string& name,
                  const std::string& input, const std::string& where, TensorShape& in);
// A dense layer over all features of `input` ("" = the previous tensor).
Layer make_fc(GroupBuilder& b, const std::string& name, const std::string& input, uint64_t out,
              ActFunction act, const std::string& where);
// An elementwise layer over operands of one shape.
Layer make_vector(GroupBuilder& b, const std::string& name, const std::string& op,
                  const std::vector<std::string>& inputs, ActFunction act,
                  const std::string& where);
// Rows the host provides (an embedding table's gathered rows).
Layer make_host_read(const std::string& name, uint64_t features, uint64_t rows_per_item,
                     uint64_t vocab);

}  // namespace tpusim
