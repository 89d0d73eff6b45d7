// Layer kind `fc`: a dense layer, a sum of terms (an input's feature slice times a weight matrix)
// into output column ranges; lowered as GEMMs with K tiles accumulated (Lowerer::gemm).
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  const std::string in = b.resolve(input, where);
  if (m.has("in") && m.uint("in", 1, kMaxDim) != b.shape(in).features)
    m.fail("in", fmt::format("must equal the input's {} features", b.shape(in).features));
  const uint64_t out = m.uint("out", 1, kMaxDim);
  b.add(make_fc(b, name, in, out, parse_act(m), where), where);
}

uint64_t macs(const Layer& l, uint64_t items) {
  uint64_t m = 0;
  for (const FcTerm& t : l.terms) {
    uint64_t lo = t.item_lo, hi = t.item_hi == 0 ? items : std::min(t.item_hi, items);
    uint64_t its = hi > lo ? hi - lo : 0;
    m += its * l.rows_per_item * t.k * t.n;
  }
  return m;
}

uint64_t weight_bytes(const Layer& l) {
  uint64_t b = 0;
  for (const FcTerm& t : l.terms) b += t.k * t.n;
  return b;
}

LayerBounds bounds(const Layer& l, Bound128 rows) {
  LayerBounds b;
  for (const FcTerm& t : l.terms) {
    b.macs += rows * t.k * t.n;
    b.weight_bytes += Bound128(t.k) * t.n;
  }
  return b;
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const uint64_t i0 = task.i0, i1 = task.i1;
  std::vector<Term> terms;
  uint64_t k_total = 0;
  for (size_t j = 0; j < l.terms.size(); ++j) {
    const FcTerm& ft = l.terms[j];
    Term t;
    t.in = &task.tensors.at(ft.input);
    t.f0 = ft.f0;
    t.k = ft.k;
    t.n0 = ft.n0;
    t.n = ft.n;
    const uint64_t lo = ft.item_hi ? std::max(ft.item_lo, i0) : i0;
    const uint64_t hi = ft.item_hi ? std::min(ft.item_hi, i1) : i1;
    if (lo >= hi) continue;
    t.row_lo = (lo - i0) * l.rows_per_item;
    t.row_hi = (hi - i0) * l.rows_per_item;
    t.key = task.key + "/" + std::to_string(j);
    terms.push_back(t);
    if (j == 0) k_total = ft.k;
  }
  low.gemm(task.out, terms, l.act, requant_for_k(k_total), 0, task.out.blocks(low.W()));
  low.set_requant(requant_for_k(k_total));
}

}  // namespace

extern const LayerKindOps kFcKind = {LayerKind::kFc, "fc",    &parse,  &macs,
                                     &weight_bytes,  nullptr, &bounds, &lower};

}  // namespace tpusim
