// Layer kind `pool`: max or average over `window` consecutive rows (a power of two, 2..16), as an
// identity pass and the act's pooling (exact for 1-D windows).

#include <fmt/format.h>

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  TensorShape s;
  Layer l = begin_layer(b, LayerKind::kPool, name, input, where, s);
  l.window = uint32_t(m.uint("window", 2, 16));
  if ((l.window & (l.window - 1)) != 0) m.fail("window", "must be a power of two in 2..16");
  if (s.rows_per_item % l.window != 0)
    m.fail("window", fmt::format("must divide the input's {} rows per item", s.rows_per_item));
  l.pool = m.choice_or("kind", "max", {"max", "avg"}) == "max" ? PoolKind::kMax : PoolKind::kAvg;
  l.act = parse_act(m);
  l.out_features = s.features;
  l.rows_per_item = s.rows_per_item / l.window;
  b.add(std::move(l), where);
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& out = task.out;
  const std::map<std::string, Tensor>& tensors = task.tensors;
  low.identity_pass({&tensors.at(l.inputs[0])}, out, l.act, l.pool, l.window);
  low.set_requant(requant_for_sum(1));
}

}  // namespace

extern const LayerKindOps kPoolKind = {LayerKind::kPool, "pool",  &parse,  nullptr,
                                       nullptr,          nullptr, nullptr, &lower};

}  // namespace tpusim
