// Layer kind `attention` (made by the transformer generator): per head, scores = Q_h K_h^T and
// context = S_h V_h, with the K/V cache of each sequence read from weight memory as weight tiles
// (assumption: the K/V cache lives in weight memory; its write-back is not modelled). Softmax is
// approximated by the requantizing act of the scores. Heads sharing an output block accumulate
// into the same accumulators (their V tiles sit at the head's columns).
#include <algorithm>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

uint64_t macs(const Layer& l, uint64_t items) {
  // scores (q x d_head)(d_head x kv) + context (q x kv)(kv x d_head), per item = per query row
  return items * l.rows_per_item * l.heads * 2ull * l.d_head * l.kv_len;
}

uint64_t kv_bytes(const Layer& l, uint64_t items) {
  const uint64_t seqs = (items * l.rows_per_item + l.q_len - 1) / l.q_len;
  return seqs * l.kv_heads * 2ull * l.d_head * l.kv_len;
}

LayerBounds bounds(const Layer& l, Bound128 rows) {
  LayerBounds b;
  b.kv_bytes = (rows + 1) * l.kv_heads * 2u * l.d_head * l.kv_len;
  b.macs = rows * l.heads * l.d_head * (Bound128(l.kv_len) + 1) * 2u;
  return b;
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& out = task.out;
  const std::map<std::string, Tensor>& tensors = task.tensors;
  const std::string& key = task.key;
  const uint64_t i0 = task.i0, i1 = task.i1;
  const uint64_t rows = task.rows;
  const uint64_t W = low.W();
  const Tensor& q = tensors.at(l.inputs[0]);
  const uint64_t dh = l.d_head, group = l.heads / l.kv_heads;
  std::map<uint64_t, Tensor> scores;  // head -> S_h
  const Requant rq_s = requant_for_k(dh), rq_c = requant_for_k(l.kv_len);
  // G output blocks at a time, one per MXU (Lowerer::gemm spreads them): the scores of their
  // heads first (each head's score blocks spread over the MXUs too), then their context.
  const uint64_t blocks = out.blocks(W);
  const uint64_t G = std::max<uint64_t>(1, std::min<uint64_t>(low.em().mxus(), blocks));
  for (uint64_t nt = 0; nt < blocks; nt += G) {
    const uint64_t nt1 = std::min(blocks, nt + G);
    const uint64_t h0 = nt * W / dh, h1 = std::min<uint64_t>(l.heads, (nt1 * W + dh - 1) / dh);
    for (auto it = scores.begin(); it != scores.end();) {
      if (it->first < h0) {
        low.free_tensor(it->second);
        it = scores.erase(it);
      } else {
        ++it;
      }
    }
    for (uint64_t h = h0; h < h1; ++h) {
      if (scores.count(h)) continue;
      Tensor s = low.alloc_tensor(rows, l.kv_len, l.name + " scores");
      std::vector<Term> terms;
      for (uint64_t sq = i0 / l.q_len; sq * l.q_len < i1; ++sq) {
        Term t;
        t.in = &q;
        t.f0 = h * dh;
        t.k = dh;
        t.n0 = 0;
        t.n = l.kv_len;
        t.row_lo = std::max(i0, sq * l.q_len) - i0;
        t.row_hi = std::min(i1, (sq + 1) * l.q_len) - i0;
        t.key = fmt::format("{}/k/{}/{}", key, sq, h / group);
        t.kv = true;
        terms.push_back(t);
      }
      scores[h] = s;
      low.gemm(scores[h], terms, ActFunction::kNone, rq_s, 0, s.blocks(W));
    }
    std::vector<Term> terms;
    // Each head's V feeds its own output block, so with several MXUs the heads go innermost:
    // consecutive terms then run on different MXUs, side by side (one MXU: head by head).
    std::vector<std::pair<uint64_t, uint64_t>> order;  // (head, sequence)
    for (uint64_t h = h0; h < h1; ++h)
      for (uint64_t sq = i0 / l.q_len; sq * l.q_len < i1; ++sq) order.emplace_back(h, sq);
    if (G > 1)
      std::stable_sort(order.begin(), order.end(),
                       [](const auto& x, const auto& y) { return x.second < y.second; });
    for (const auto& [h, sq] : order) {
      {
        Term t;
        t.in = &scores.at(h);
        t.f0 = 0;
        t.k = l.kv_len;
        t.n0 = h * dh;
        t.n = dh;
        t.row_lo = std::max(i0, sq * l.q_len) - i0;
        t.row_hi = std::min(i1, (sq + 1) * l.q_len) - i0;
        t.key = fmt::format("{}/v/{}/{}", key, sq, h / group);
        t.kv = true;
        terms.push_back(t);
      }
    }
    low.gemm(out, terms, l.act, rq_c, nt, nt1);
  }
  for (auto& [h, s] : scores) low.free_tensor(s);
  low.set_requant(rq_c);
}

}  // namespace

extern const LayerKindOps kAttentionKind = {
    LayerKind::kAttention, "attention", nullptr, &macs, nullptr, &kv_bytes, &bounds, &lower};

}  // namespace tpusim
