#include "sim/compiler/baseline_ops.h"

#include <string>

namespace tpusim {

namespace {

uint64_t items_of(const FcTerm& t, uint64_t items) {
  if (t.item_hi == 0) return items;
  return t.item_hi > t.item_lo ? t.item_hi - t.item_lo : 0;
}

}  // namespace

BaselineWorkload baseline_workload(const Workload& wl) {
  BaselineWorkload bw;
  bw.name = wl.name;
  bw.examples = wl.batch;
  for (const LayerGroup& g : wl.groups) {
    for (const Layer& l : g.layers) {
      const uint64_t rep = g.repeat;
      const std::string name = g.name.empty() ? l.name : g.name + "/" + l.name;
      switch (l.kind) {
        case LayerKind::kFc:
          for (const FcTerm& t : l.terms) {
            BaselineOp op;
            op.layer = name;
            op.m = items_of(t, g.items) * l.rows_per_item;
            op.k = t.k;
            op.n = t.n;
            op.batch_count = rep;
            op.weight_bytes = t.k * t.n * rep;
            op.act_bytes = (op.m * t.k + op.m * t.n) * rep;
            if (op.m > 0) bw.ops.push_back(op);
          }
          break;
        case LayerKind::kConv2d: {
          BaselineOp op;
          op.layer = name;
          op.m = g.items * uint64_t(l.out_h()) * l.out_w();
          op.k = uint64_t(l.in_c) * l.kernel_h * l.kernel_w;
          op.n = l.out_features;
          op.batch_count = rep;
          op.weight_bytes = l.weight_bytes() * rep;
          op.act_bytes = (g.items * uint64_t(l.in_h) * l.in_w * l.in_c + op.m * op.n) * rep;
          bw.ops.push_back(op);
          break;
        }
        case LayerKind::kAttention: {
          // Per head and sequence: scores (q x d)(d x kv), context (q x kv)(kv x d).
          const uint64_t seqs = l.q_len ? (g.items * l.rows_per_item) / l.q_len : 0;
          const uint64_t inst = seqs * l.heads * rep;
          if (inst == 0) break;
          BaselineOp s{name + ".scores", l.q_len, l.d_head, l.kv_len, inst, 0, 0, 0};
          BaselineOp c{name + ".context", l.q_len, l.kv_len, l.d_head, inst, 0, 0, 0};
          const uint64_t kv = l.kv_bytes(g.items) * rep;
          s.weight_bytes = kv / 2;
          c.weight_bytes = kv - kv / 2;
          s.act_bytes = inst * (l.q_len * l.d_head + l.q_len * l.kv_len);
          c.act_bytes = inst * (l.q_len * l.kv_len + l.q_len * l.d_head);
          s.vector_ops = inst * l.q_len * l.kv_len;  // softmax
          bw.ops.push_back(s);
          bw.ops.push_back(c);
          break;
        }
        default: {
          BaselineOp op;
          op.layer = name;
          op.vector_ops = g.items * l.rows_per_item * l.out_features * rep;
          op.act_bytes = 2 * op.vector_ops;
          bw.ops.push_back(op);
          break;
        }
      }
    }
  }
  return bw;
}

}  // namespace tpusim
