// The table of layer kinds (sim/compiler/layer.h): one line per kind, each defined in its own
// kind_<name>.cpp.
#include <stdexcept>

#include "sim/compiler/layer.h"

namespace tpusim {

extern const LayerKindOps kFcKind;         // kind_fc.cpp
extern const LayerKindOps kConv2dKind;     // kind_conv2d.cpp
extern const LayerKindOps kAttentionKind;  // kind_attention.cpp
extern const LayerKindOps kVectorKind;     // kind_vector.cpp
extern const LayerKindOps kPoolKind;       // kind_pool.cpp
extern const LayerKindOps kEmbeddingKind;  // kind_embedding.cpp
extern const LayerKindOps kHostOpKind;     // kind_host_op.cpp
extern const LayerKindOps kUnpackKind;     // kind_unpack.cpp

const std::vector<const LayerKindOps*>& layer_kinds() {
  // In LayerKind order (checked below).
  static const std::vector<const LayerKindOps*> kKinds = {
      &kFcKind,   &kConv2dKind,    &kAttentionKind, &kVectorKind,
      &kPoolKind, &kEmbeddingKind, &kHostOpKind,    &kUnpackKind};
  return kKinds;
}

const LayerKindOps& layer_kind(LayerKind k) {
  const auto& kinds = layer_kinds();
  const size_t i = size_t(k);
  if (i >= kinds.size() || kinds[i]->kind != k)
    throw std::logic_error("layer_kind: the table is out of order");
  return *kinds[i];
}

const LayerKindOps* layer_kind_by_name(const std::string& type) {
  for (const LayerKindOps* k : layer_kinds())
    if (type == k->name) return k;
  return nullptr;
}

const char* layer_kind_name(LayerKind k) { return layer_kind(k).name; }

uint64_t Layer::macs(uint64_t items) const {
  const LayerKindOps& k = layer_kind(kind);
  return k.macs ? k.macs(*this, items) : 0;
}

uint64_t Layer::weight_bytes() const {
  const LayerKindOps& k = layer_kind(kind);
  return k.weight_bytes ? k.weight_bytes(*this) : 0;
}

uint64_t Layer::kv_bytes(uint64_t items) const {
  const LayerKindOps& k = layer_kind(kind);
  return k.kv_bytes ? k.kv_bytes(*this, items) : 0;
}

LayerBounds layer_bounds(const Layer& l, Bound128 rows) {
  const LayerKindOps& k = layer_kind(l.kind);
  if (k.bounds) return k.bounds(l, rows);
  LayerBounds b;
  b.macs = rows * l.out_features;
  return b;
}

}  // namespace tpusim
