// Layer kind `host_op`: an operation the host performs (e.g. a 7x7 global pool): its input
// written out with `whm`, its output read back with `rhm`.
#include <string>

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  TensorShape s;
  Layer l = begin_layer(b, LayerKind::kHostOp, name, input, where, s);
  l.op = m.str_or("op", "host");
  l.out_features = m.uint_or("out_features", s.features, 1, kMaxDim);
  l.rows_per_item = m.uint_or("out_rows_per_item", s.rows_per_item, 1, kMaxDim);
  b.add(std::move(l), where);
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& out = task.out;
  const std::map<std::string, Tensor>& tensors = task.tensors;
  const std::string& key = task.key;
  const uint64_t i0 = task.i0;
  const Tensor& in = tensors.at(l.inputs[0]);
  const uint64_t W = low.W();
  if (!in.host) {
    const uint64_t base = low.dry() ? 0 : low.host_alloc(in.rows * in.blocks(W));
    for (uint64_t b = 0; b < in.blocks(W); ++b)
      low.em().whm(base + b * in.rows, in.vec(0, b), in.rows);
  }
  low.host_fill(out, key, i0 * l.rows_per_item);
}

}  // namespace

extern const LayerKindOps kHostOpKind = {
    LayerKind::kHostOp, "host_op", &parse, nullptr, nullptr, nullptr, nullptr, &lower};

}  // namespace tpusim
