// Layer kind `embedding`: a table lookup whose rows the host gathers and the chip reads with
// `rhm`. Its values are host data (seeded), not computed on chip.

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  b.add(
      make_host_read(name, m.uint("features", 1, kMaxDim),
                     m.uint_or("rows_per_item", 1, 1, kMaxDim), m.uint_or("vocab", 0, 0, kMaxDim)),
      where);
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& out = task.out;
  const std::string& key = task.key;
  const uint64_t i0 = task.i0;
  low.host_fill(out, key, i0 * l.rows_per_item);
}

}  // namespace

extern const LayerKindOps kEmbeddingKind = {
    LayerKind::kEmbedding, "embedding", &parse, nullptr, nullptr, nullptr, nullptr, &lower};

}  // namespace tpusim
