// Tensor parallelism as a rewrite of the Workload (sim/studies/multichip/multichip.h): chip i's
// share of every layer and the collectives between them, and the shape key that lets equal
// shards be simulated once.
#include "sim/studies/multichip/multichip.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "models/errors.h"

namespace tpusim {

namespace {

// ---- tensor-parallel rewrite -------------------------------------------------------------------

// Original feature columns a chip owns, as [lo, hi) intervals in the order of its shard layout.
using Intervals = std::vector<std::pair<uint64_t, uint64_t>>;

uint64_t count(const Intervals& iv) {
  uint64_t n = 0;
  for (const auto& [lo, hi] : iv) n += hi - lo;
  return n;
}

Intervals even_split(uint64_t n, uint32_t tp, uint32_t i) {
  return {{n * i / tp, n * (uint64_t(i) + 1) / tp}};
}

// The part of original columns [a, a + len) a chip owns: (position in the shard, length) pieces,
// contiguous pieces merged.
struct Piece {
  uint64_t pos = 0, len = 0;
};
std::vector<Piece> pieces(const Intervals& iv, uint64_t a, uint64_t len) {
  std::vector<Piece> out;
  uint64_t pos = 0;
  for (const auto& [lo, hi] : iv) {
    const uint64_t l = std::max(lo, a), h = std::min(hi, a + len);
    if (l < h) {
      const Piece p{pos + (l - lo), h - l};
      if (!out.empty() && out.back().pos + out.back().len == p.pos)
        out.back().len += p.len;
      else
        out.push_back(p);
    }
    pos += hi - lo;
  }
  return out;
}

struct HeadSplit {
  uint32_t heads = 0, kv_heads = 0;
  Intervals qkv;  // the QKV producer's owned columns
  Intervals out;  // the attention output's owned columns
};

HeadSplit head_split(const Workload& wl, const Layer& a, uint32_t tp, uint32_t i) {
  const uint64_t H = a.heads, KV = a.kv_heads, dh = a.d_head;
  if (H % tp != 0 || (KV % tp != 0 && tp % KV != 0))
    throw InputError(fmt::format(
        "{}: tp {}: attention layer '{}' has {} heads ({} kv): tensor parallelism needs tp to "
        "divide the heads and to divide or be a multiple of the kv heads",
        wl.name, tp, a.name, H, KV));
  HeadSplit s;
  const uint64_t hq = H / tp;
  uint64_t k0 = 0, kvc = 0;
  if (KV % tp == 0) {
    kvc = KV / tp;
    k0 = i * kvc;
  } else {
    kvc = 1;  // tp is a multiple of KV: the one K/V head of this chip's query heads, replicated
    k0 = (i * hq) / (H / KV);
  }
  s.heads = uint32_t(hq);
  s.kv_heads = uint32_t(kvc);
  s.qkv = {{i * hq * dh, (i + 1) * hq * dh},
           {H * dh + k0 * dh, H * dh + (k0 + kvc) * dh},
           {(H + KV) * dh + k0 * dh, (H + KV) * dh + (k0 + kvc) * dh}};
  s.out = {{i * hq * dh, (i + 1) * hq * dh}};
  return s;
}

}  // namespace

TpShard shard_workload(const Workload& wl, uint32_t tp, uint32_t index,
                       uint32_t bytes_per_element) {
  if (tp == 0 || index >= tp)
    throw InputError(fmt::format("tp {}: chip index {} out of range", tp, index));
  TpShard out;
  out.workload = wl;
  out.collectives.resize(wl.groups.size());
  if (tp == 1) return out;
  const uint64_t bpe = bytes_per_element;

  for (size_t gi = 0; gi < wl.groups.size(); ++gi) {
    const LayerGroup& g = wl.groups[gi];
    LayerGroup& sg = out.workload.groups[gi];
    sg.layers.clear();
    auto& coll = out.collectives[gi];
    std::map<std::string, Intervals> sharded;  // absent: replicated (full)
    std::map<std::string, uint64_t> features;  // full features of every tensor
    std::map<std::string, uint64_t> rows_per_item;
    if (g.in_features) {
      features["@in"] = g.in_features;
      rows_per_item["@in"] = g.in_rows_per_item;
    }
    // QKV producers: the dense layer an attention layer reads.
    std::map<std::string, const Layer*> feeds_attention;
    for (const Layer& l : g.layers)
      if (l.kind == LayerKind::kAttention && !l.inputs.empty()) feeds_attention[l.inputs[0]] = &l;
    auto is_sharded = [&](const std::string& t) { return sharded.count(t) > 0; };

    for (const Layer& l : g.layers) {
      Layer s = l;
      const uint64_t rows = g.items * l.rows_per_item;
      const std::string where =
          fmt::format("{}: tp {}: layer '{}/{}'", wl.name, tp, g.name, l.name);
      switch (l.kind) {
        case LayerKind::kFc: {
          bool row = false;
          for (const FcTerm& t : l.terms) row = row || is_sharded(t.input);
          s.terms.clear();
          if (row) {
            for (const FcTerm& t : l.terms) {
              FcTerm u = t;
              if (is_sharded(t.input)) {
                const auto ps = pieces(sharded.at(t.input), t.f0, t.k);
                u.k = 0;
                for (const Piece& p : ps) u.k += p.len;
                u.f0 = ps.empty() ? 0 : ps.front().pos;
              } else {
                u.f0 = t.f0 + t.k * index / tp;
                u.k = t.f0 + t.k * (uint64_t(index) + 1) / tp - u.f0;
              }
              if (u.k) s.terms.push_back(u);
            }
            if (s.terms.empty())
              throw InputError(fmt::format("{}: chip {} gets no slice of K", where, index));
            coll.push_back({"all_reduce", l.name, rows * l.out_features * bpe});
          } else if (l.out_features < tp) {
            s.terms = l.terms;  // too narrow to split: replicated
          } else {
            const auto fa = feeds_attention.find(l.name);
            Intervals own = fa != feeds_attention.end() ? head_split(wl, *fa->second, tp, index).qkv
                                                        : even_split(l.out_features, tp, index);
            for (const FcTerm& t : l.terms)
              for (const Piece& p : pieces(own, t.n0, t.n)) {
                FcTerm u = t;
                u.n0 = p.pos;
                u.n = p.len;
                s.terms.push_back(u);
              }
            s.out_features = count(own);
            sharded[l.name] = own;
          }
          break;
        }
        case LayerKind::kAttention: {
          const HeadSplit h = head_split(wl, l, tp, index);
          s.heads = h.heads;
          s.kv_heads = h.kv_heads;
          s.out_features = count(h.out);
          sharded[l.name] = h.out;
          break;
        }
        case LayerKind::kConv2d: {
          const std::string& in = l.inputs.at(0);
          if (is_sharded(in)) {
            s.in_c = uint32_t(count(sharded.at(in)));
            coll.push_back({"all_reduce", l.name, rows * l.out_features * bpe});
          } else if (l.out_features >= tp) {
            const Intervals own = even_split(l.out_features, tp, index);
            s.out_features = count(own);
            sharded[l.name] = own;
          }
          break;
        }
        case LayerKind::kVector:
        case LayerKind::kPool: {
          std::set<Intervals> shapes;
          bool any_full = false;
          for (const auto& in : l.inputs) {
            if (is_sharded(in))
              shapes.insert(sharded.at(in));
            else
              any_full = true;
          }
          if (shapes.size() == 1 && !any_full) {
            s.out_features = count(*shapes.begin());
            sharded[l.name] = *shapes.begin();
          } else if (!shapes.empty()) {
            // Mixed operands: gather the shards (one all-gather each), then compute replicated.
            for (auto& in : s.inputs) {
              if (!is_sharded(in)) continue;
              const std::string gname = in + ".gathered@" + l.name;
              Layer gl;
              gl.name = gname;
              gl.kind = LayerKind::kEmbedding;
              gl.out_features = features.at(in);
              gl.rows_per_item = rows_per_item.at(in);
              coll.push_back(
                  {"all_gather", l.name, g.items * gl.rows_per_item * gl.out_features * bpe});
              sg.layers.push_back(gl);
              in = gname;
            }
          }
          break;
        }
        case LayerKind::kEmbedding:
        case LayerKind::kHostOp:
          break;  // replicated; a host op takes the shards of a sharded input (the host assembles)
        case LayerKind::kUnpack:
          break;  // made by the lowering after sharding, never in a workload
      }
      features[l.name] = l.out_features;
      rows_per_item[l.name] = l.rows_per_item;
      sg.layers.push_back(std::move(s));
    }
    const Layer& last = g.layers.back();
    if (is_sharded(last.name))
      coll.push_back(
          {"all_gather", last.name, g.items * last.rows_per_item * last.out_features * bpe});
  }
  return out;
}

std::string shape_signature(const Workload& wl) {
  std::string s;
  for (const LayerGroup& g : wl.groups) {
    s += fmt::format("G{}|{}|{}|{}|{};", g.name, g.items, g.repeat, g.in_rows_per_item,
                     g.in_features);
    for (const Layer& l : g.layers) {
      s += fmt::format("L{}|{}|{}|{}|{}|", l.name, int(l.kind), l.out_features, l.rows_per_item,
                       int(l.act));
      for (const FcTerm& t : l.terms)
        s += fmt::format("t{},{},{},{},{},{},{}|", t.input, t.f0, t.k, t.n0, t.n, t.item_lo,
                         t.item_hi);
      for (const auto& in : l.inputs) s += "i" + in + "|";
      s += fmt::format("c{},{},{},{},{},{},{},{}|a{},{},{},{},{}|p{},{},{}|v{}|f{},{},{},{},{},{};",
                       l.in_h, l.in_w, l.in_c, l.kernel_h, l.kernel_w, l.stride, l.stride_w, l.pad,
                       l.heads, l.kv_heads, l.d_head, l.q_len, l.kv_len, l.window, int(l.pool),
                       l.op, l.vocab, l.fused_pool, l.pool_kh, l.pool_kw, l.pool_stride,
                       l.pool_stride_w, l.pool_pad);
    }
  }
  return s;
}

}  // namespace tpusim
