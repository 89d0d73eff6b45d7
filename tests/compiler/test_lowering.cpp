// Lowering: MAC and weight-byte accounting against the workload's analytic counts, program
// legality, and bit-exact values of whole layer stacks against an independent Eigen reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/functional/functional.h"
#include "sim/isa/isa.h"
#include "sim/isa/numerics.h"
#include "sim/isa/races.h"

using namespace tpusim;
using numerics::MatrixI32;
using numerics::MatrixI8;

namespace {

// max_pool2d / avg_pool2d (count_include_pad) of images of H x W rows, written from the definition.
MatrixI8 pool2d_reference(const MatrixI8& y, int64_t H, int64_t Wd, int64_t kh, int64_t kw,
                          int64_t s, int64_t sw, int64_t p, PoolKind kind) {
  const int64_t OH = (H + 2 * p - kh) / s + 1, OW = (Wd + 2 * p - kw) / sw + 1;
  const int64_t images = y.rows() / (H * Wd);
  MatrixI8 out(images * OH * OW, y.cols());
  for (int64_t i = 0; i < images; ++i)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (Eigen::Index c = 0; c < out.cols(); ++c) {
          int32_t m = -128, sum = 0;
          for (int64_t yy = oy * s - p; yy < oy * s - p + kh; ++yy)
            for (int64_t xx = ox * sw - p; xx < ox * sw - p + kw; ++xx)
              if (yy >= 0 && yy < H && xx >= 0 && xx < Wd) {
                m = std::max<int32_t>(m, y(i * H * Wd + yy * Wd + xx, c));
                sum += y(i * H * Wd + yy * Wd + xx, c);
              }
          const int32_t cnt = int32_t(kh * kw);
          const int32_t mag = (2 * std::abs(sum) + cnt) / (2 * cnt);
          out(i * OH * OW + oy * OW + ox, c) =
              kind == PoolKind::kMax ? int8_t(m) : int8_t(sum < 0 ? -mag : mag);
        }
  return out;
}

// Row blocks of `half` rows (the lowering's accumulator halves) that rows [a, b) touch.
uint64_t blocks_touched(uint64_t a, uint64_t b, uint64_t half) {
  return a >= b ? 0 : (b - 1) / half - a / half + 1;
}

// Accounting checks that hold for every lowering, on the counts of its program (stored or not).
void check_accounting(const TpuConfig& cfg, const Workload& w, const LoweringStats& st) {
  // Useful MACs equal the analytic count exactly.
  CHECK(st.useful_macs() == w.macs());
  // Every rw'd tile belongs to exactly one layer's loads; MAC slots are B * rows * cols; the
  // program stays inside the UB, the accumulators and the weight memory.
  for (const auto& seg : st.segments) {
    INFO("segment " << seg.group);
    uint64_t loads = 0, slots = 0;
    for (size_t i = 0; i < st.layers.size(); ++i) {
      if (st.layers[i].group != seg.group && !seg.group.empty()) continue;
      loads += st.layers[i].weight_tile_loads + st.layers[i].kv_tile_loads +
               st.layers[i].identity_tile_loads;
      slots += st.layers[i].mac_slots;
    }
    CHECK(seg.weight_tiles_read == loads);
    CHECK(seg.by_opcode[size_t(Opcode::kReadWeights)] == loads);  // one tile per rw
    CHECK(seg.matmul_rows * cfg.mxu_macs_per_row() == slots);
    CHECK(seg.by_opcode[size_t(Opcode::kHalt)] == 1);
    uint64_t sum = 0;
    for (uint64_t n : seg.by_opcode) sum += n;
    CHECK(sum == seg.instructions);
    CHECK(seg.ub_vectors_used <= cfg.ub_vectors());
    CHECK(seg.acc_entries_used <= cfg.accumulator_entries);
    CHECK(seg.weight_tiles_used <= cfg.weight_memory_tiles());
  }
  // Weight bytes: a dense term's weights are read once per accumulator row block its rows touch,
  // in every item chunk; an attention layer reads K and V of each (sequence, kv head) once per
  // query head and row block. With several MXUs a dense layer's row blocks are a share of the
  // accumulator half: one per MXU that its output column blocks keep busy (Lowerer::gemm).
  const uint64_t acc_half = cfg.accumulator_entries / 2;
  const uint64_t W = cfg.vector_bytes();
  size_t li = 0, flat = 0;
  // (an `unpack` layer the lowering added after images packed in the lanes is checked apart)
  auto unpack = [](const LayerInfo& x) { return x.kind == LayerKind::kUnpack; };
  for (const auto& g : w.groups) flat += g.layers.size();
  const bool unrolled =
      uint64_t(std::count_if(st.layers.begin(), st.layers.end(),
                             [&](const LayerInfo& x) { return !unpack(x); })) != flat;
  for (const auto& g : w.groups) {
    for (uint64_t rep = 0; rep < (unrolled ? g.repeat : 1); ++rep) {
      for (const auto& l : g.layers) {
        while (li < st.layers.size() && unpack(st.layers[li])) {
          CHECK(st.layers[li].useful_macs == 0);
          CHECK(st.layers[li].weight_bytes_read == 0);
          CHECK(st.layers[li].identity_tile_loads > 0);
          ++li;
        }
        // (a pool the lowering fused into the im2col conv before it has no entry of its own)
        const std::string tail = "/" + l.name;
        const std::string& here = li < st.layers.size() ? st.layers[li].name : tail;
        if (l.kind == LayerKind::kPool &&
            (here.size() < tail.size() ||
             here.compare(here.size() - tail.size(), tail.size(), tail)))
          continue;
        LayerInfo info = st.layers[li++];
        INFO(info.name);
        REQUIRE(info.chunk_items > 0);
        info.chunk_items *= info.item_images;  // in workload items
        if (l.kind == LayerKind::kFc) {
          // rows per block: the half split over the G MXUs side by side, each block within its
          // MXU's whole banks (Lowerer::mxu_share)
          const uint64_t G = std::min<uint64_t>(cfg.mxus, (l.out_features + W - 1) / W);
          const uint64_t half =
              std::min(acc_half / G, acc_bank_rows(cfg.accumulator_entries, cfg.mxus) *
                                         std::max<uint64_t>(1, cfg.mxus / G));
          uint64_t expected = 0;
          for (uint64_t i0 = 0; i0 < g.items; i0 += info.chunk_items) {
            const uint64_t i1 = std::min(g.items, i0 + info.chunk_items);
            for (const auto& t : l.terms) {
              const uint64_t lo = t.item_hi ? std::max(t.item_lo, i0) : i0,
                             hi = t.item_hi ? std::min(t.item_hi, i1) : i1;
              if (lo >= hi) continue;
              expected += t.k * t.n *
                          blocks_touched((lo - i0) * l.rows_per_item, (hi - i0) * l.rows_per_item,
                                         balanced_block((i1 - i0) * l.rows_per_item, half));
            }
          }
          CHECK(info.weight_bytes_read == expected);
          if (l.terms.size() == 1 && l.terms[0].item_hi == 0) {
            uint64_t passes = 0;
            for (uint64_t i0 = 0; i0 < g.items; i0 += info.chunk_items)  // balanced blocks
              passes +=
                  (std::min(g.items - i0, info.chunk_items) * l.rows_per_item + half - 1) / half;
            CHECK(info.weight_bytes_read == l.weight_bytes() * passes);
          }
        } else if (l.kind == LayerKind::kConv2d) {
          CHECK(info.weight_bytes_read >= l.weight_bytes());
          CHECK(info.weight_bytes_read <= l.weight_bytes() * g.items * l.out_h());
        } else if (l.kind == LayerKind::kAttention) {
          const uint64_t half = acc_half;
          uint64_t expected = 0;
          for (uint64_t i0 = 0; i0 < g.items; i0 += info.chunk_items) {
            const uint64_t i1 = std::min(g.items, i0 + info.chunk_items);
            for (uint64_t sq = i0 / l.q_len; sq * l.q_len < i1; ++sq)
              expected += uint64_t(l.heads) * 2 * l.d_head * l.kv_len *
                          blocks_touched(std::max(i0, sq * l.q_len) - i0,
                                         std::min(i1, (sq + 1) * l.q_len) - i0,
                                         balanced_block(i1 - i0, half));
          }
          // (several MXUs: K's and V's row blocks are shares of different sizes; bound only)
          if (cfg.mxus == 1) CHECK(info.kv_bytes_read == expected);
          CHECK(info.kv_bytes_read >= l.kv_bytes(g.items) * (l.heads / l.kv_heads));
        } else {
          CHECK(info.weight_bytes_read == 0);
        }
      }
    }
  }
}

// The same on a stored program, plus what only a stored program has.
void check_accounting(const TpuConfig& cfg, const Workload& w, const LoweredProgram& lp) {
  check_accounting(cfg, w, stats_of(lp));
  for (const auto& seg : lp.segments) {
    CHECK(seg.layer_of.size() == seg.program.code.size());
    CHECK(seg.program.code.back().op == Opcode::kHalt);
  }
}

// The counting lowering saw exactly the stored program's instructions.
void check_same_counts(const LoweringStats& a, const LoweringStats& b) {
  REQUIRE(a.segments.size() == b.segments.size());
  for (size_t i = 0; i < a.segments.size(); ++i) {
    INFO("segment " << i);
    CHECK(a.segments[i] == b.segments[i]);
  }
  REQUIRE(a.layers.size() == b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const LayerInfo &x = a.layers[i], &y = b.layers[i];
    INFO(x.name);
    CHECK(x.name == y.name);
    CHECK(x.useful_macs == y.useful_macs);
    CHECK(x.mac_slots == y.mac_slots);
    CHECK(x.weight_tile_loads == y.weight_tile_loads);
    CHECK(x.weight_bytes_read == y.weight_bytes_read);
    CHECK(x.kv_tile_loads == y.kv_tile_loads);
    CHECK(x.kv_bytes_read == y.kv_bytes_read);
    CHECK(x.identity_tile_loads == y.identity_tile_loads);
    CHECK(x.chunks == y.chunks);
    CHECK(x.chunk_items == y.chunk_items);
    CHECK(x.spilled == y.spilled);
  }
  CHECK(a.weight_addresses_wrapped == b.weight_addresses_wrapped);
  CHECK(a.instructions() == b.instructions());
}

// ---- independent reference of a whole layer stack (unrolled, values) -------------------------

MatrixI8 host_matrix(uint64_t seed, const std::string& key, uint64_t rows, uint64_t features) {
  MatrixI8 m(rows, features);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t f = 0; f < features; ++f) m(r, f) = host_value(seed, key, r, f);
  return m;
}
MatrixI8 weights(uint64_t seed, const std::string& key, uint64_t k, uint64_t n) {
  MatrixI8 m(k, n);
  for (uint64_t i = 0; i < k; ++i)
    for (uint64_t j = 0; j < n; ++j) m(i, j) = weight_value(seed, key, i, j);
  return m;
}
int8_t finish(int32_t acc, const Requant& rq, ActFunction f) {
  return numerics::apply_function(
      uint8_t(f), numerics::requantize(acc, rq.mult, rq.shift, numerics::Rounding(rq.round)));
}
MatrixI8 requant_act(const MatrixI32& acc, const Requant& rq, ActFunction f) {
  MatrixI8 o(acc.rows(), acc.cols());
  for (Eigen::Index i = 0; i < acc.rows(); ++i)
    for (Eigen::Index j = 0; j < acc.cols(); ++j) o(i, j) = finish(acc(i, j), rq, f);
  return o;
}

MatrixI8 reference(const Workload& w, uint64_t seed) {
  MatrixI8 cur;
  bool have = false;
  for (const auto& g : w.groups) {
    for (uint64_t rep = 0; rep < g.repeat; ++rep) {
      const std::string pre = g.name + "/" + std::to_string(rep) + "/";
      std::map<std::string, MatrixI8> t;
      if (g.in_features) {
        const uint64_t rows = g.items * g.in_rows_per_item;
        if (!have)
          t["@in"] = host_matrix(seed, "input", rows, g.in_features);
        else if (uint64_t(cur.rows()) != rows || uint64_t(cur.cols()) != g.in_features)
          t["@in"] = host_matrix(seed, pre + "gather", rows, g.in_features);
        else
          t["@in"] = cur;
      }
      std::string prev = g.in_features ? "@in" : "";
      for (const auto& l : g.layers) {
        const uint64_t rows = g.items * l.rows_per_item;
        const std::string key = pre + l.name;
        MatrixI8 out;
        auto in0 = [&](const std::string& n) -> const MatrixI8& {
          return t.at(n.empty() ? prev : n);
        };
        switch (l.kind) {
          case LayerKind::kFc: {
            MatrixI32 acc = MatrixI32::Zero(rows, l.out_features);
            for (size_t j = 0; j < l.terms.size(); ++j) {
              const FcTerm& ft = l.terms[j];
              const MatrixI8& x = t.at(ft.input);
              const uint64_t lo = ft.item_lo, hi = ft.item_hi ? ft.item_hi : g.items;
              const uint64_t r0 = lo * l.rows_per_item, r1 = hi * l.rows_per_item;
              MatrixI8 xs = x.block(r0, ft.f0, r1 - r0, ft.k);
              MatrixI32 p = numerics::gemm_reference(
                  xs, weights(seed, key + "/" + std::to_string(j), ft.k, ft.n));
              for (uint64_t r = r0; r < r1; ++r)
                for (uint64_t c = 0; c < ft.n; ++c)
                  acc(r, ft.n0 + c) = numerics::wrap_add(acc(r, ft.n0 + c), p(r - r0, c));
            }
            out = requant_act(acc, requant_for_k(l.terms[0].k), l.act);
            break;
          }
          case LayerKind::kConv2d: {
            const MatrixI8& x = in0(l.inputs[0]);
            const uint64_t Ho = l.out_h(), Wo = l.out_w(), images = rows / l.rows_per_item;
            std::vector<MatrixI8> wt;
            for (uint64_t p = 0; p < uint64_t(l.kernel_h) * l.kernel_w; ++p)
              wt.push_back(weights(seed, key + "#" + std::to_string(p), l.in_c, l.out_features));
            MatrixI32 acc = MatrixI32::Zero(images * Ho * Wo, l.out_features);
            for (uint64_t im = 0; im < images; ++im)
              for (uint64_t y = 0; y < Ho; ++y)
                for (uint64_t xo = 0; xo < Wo; ++xo)
                  for (uint64_t ky = 0; ky < l.kernel_h; ++ky)
                    for (uint64_t kx = 0; kx < l.kernel_w; ++kx) {
                      const int64_t iy = int64_t(y * l.stride + ky) - l.pad,
                                    ix = int64_t(xo * l.stride + kx) - l.pad;
                      if (iy < 0 || ix < 0 || iy >= l.in_h || ix >= l.in_w) continue;
                      const uint64_t irow =
                          im * l.in_h * l.in_w + uint64_t(iy) * l.in_w + uint64_t(ix);
                      const uint64_t orow = (im * Ho + y) * Wo + xo;
                      for (uint64_t n = 0; n < l.out_features; ++n) {
                        int64_t s = 0;
                        for (uint64_t c = 0; c < l.in_c; ++c)
                          s += int64_t(x(irow, c)) * wt[ky * l.kernel_w + kx](c, n);
                        acc(orow, n) =
                            numerics::wrap_add(acc(orow, n), int32_t(uint32_t(uint64_t(s))));
                      }
                    }
            out =
                requant_act(acc, requant_for_k(uint64_t(l.kernel_h) * l.kernel_w * l.in_c), l.act);
            if (!l.fused_pool.empty())  // the conv's acts pool (GroupBuilder::take)
              out = pool2d_reference(out, Ho, Wo, l.pool_kh, l.pool_kw, l.pool_stride,
                                     l.pool_stride_w, l.pool_pad, l.pool);
            break;
          }
          case LayerKind::kAttention: {
            const MatrixI8& q = in0(l.inputs[0]);
            out = MatrixI8::Zero(rows, l.out_features);
            const uint64_t group = l.heads / l.kv_heads;
            for (uint64_t sq = 0; sq * l.q_len < rows; ++sq) {
              const uint64_t r0 = sq * l.q_len, n = std::min(rows, r0 + l.q_len) - r0;
              for (uint64_t h = 0; h < l.heads; ++h) {
                MatrixI8 qh = q.block(r0, h * l.d_head, n, l.d_head);
                const std::string kv = "/" + std::to_string(sq) + "/" + std::to_string(h / group);
                MatrixI8 s = requant_act(numerics::gemm_reference(qh, weights(seed, key + "/k" + kv,
                                                                              l.d_head, l.kv_len)),
                                         requant_for_k(l.d_head), ActFunction::kNone);
                MatrixI8 c = requant_act(
                    numerics::gemm_reference(s, weights(seed, key + "/v" + kv, l.kv_len, l.d_head)),
                    requant_for_k(l.kv_len), l.act);
                out.block(r0, h * l.d_head, n, l.d_head) = c;
              }
            }
            break;
          }
          case LayerKind::kVector:
          case LayerKind::kPool: {
            MatrixI32 acc = MatrixI32::Zero(in0(l.inputs[0]).rows(), l.out_features);
            for (const auto& s : l.inputs) acc += in0(s).cast<int32_t>();
            MatrixI8 y = requant_act(acc, requant_for_sum(l.inputs.size()), l.act);
            if (l.kind == LayerKind::kVector) {
              out = y;
            } else if (l.in_h) {  // 2-D window: max_pool2d / avg_pool2d(count_include_pad)
              out = pool2d_reference(y, l.in_h, l.in_w, l.kernel_h, l.kernel_w, l.stride,
                                     l.stride_w ? l.stride_w : l.stride, l.pad, l.pool);
            } else {
              out = MatrixI8(y.rows() / l.window, y.cols());
              for (Eigen::Index r = 0; r < out.rows(); ++r)
                for (Eigen::Index c = 0; c < out.cols(); ++c) {
                  int32_t m = -128, s = 0;
                  for (uint32_t k = 0; k < l.window; ++k) {
                    m = std::max<int32_t>(m, y(r * l.window + k, c));
                    s += y(r * l.window + k, c);
                  }
                  out(r, c) = l.pool == PoolKind::kMax
                                  ? int8_t(m)
                                  : numerics::average_pow2(s, uint32_t(std::log2(l.window)));
                }
            }
            break;
          }
          case LayerKind::kEmbedding:
          case LayerKind::kHostOp:
            out = host_matrix(seed, key, rows, l.out_features);
            break;
          case LayerKind::kUnpack:  // made by the lowering, never in a workload
            FAIL("an unpack layer in a workload");
            break;
        }
        t[l.name] = out;
        prev = l.name;
      }
      cur = t.at(prev);
      have = true;
    }
  }
  return cur;
}

// Runs the unrolled program on the functional executor and compares the output tensor.
LoweredProgram check_values(const std::string& arch, const Workload& w, uint64_t seed = 7,
                            LowerOptions::ConvInput first_conv = LowerOptions::ConvInput::kAuto,
                            LowerOptions::PackImages pack = LowerOptions::PackImages::kAuto,
                            bool keep_on_chip = true) {
  const TpuConfig cfg = load_config(arch);
  LowerOptions opt;
  opt.keep_on_chip = keep_on_chip;
  opt.values = true;
  opt.unroll = true;
  opt.seed = seed;
  opt.first_conv = first_conv;
  opt.pack_images = pack;
  LoweredProgram lp = lower(cfg, w, opt);
  REQUIRE(lp.segments.size() == 1);
  check_accounting(cfg, w, lp);
  FunctionalResult r = run_functional(cfg, lp.segments[0].program);
  const MatrixI8 ref = reference(w, seed);
  const uint64_t W = cfg.vector_bytes();
  REQUIRE(uint64_t(ref.rows()) == lp.output.rows);
  REQUIRE(uint64_t(ref.cols()) == lp.output.features);
  uint64_t mismatches = 0;
  for (uint64_t row = 0; row < lp.output.rows; ++row)
    for (uint64_t f = 0; f < lp.output.features; ++f) {
      const uint64_t v = lp.output.base + (f / W) * lp.output.rows + row;
      if (r.state.host[v * W + f % W] != ref(row, f)) ++mismatches;
    }
  CHECK(mismatches == 0);
  CHECK(r.counts.macs == lp.mac_slots());
  return lp;
}

// ---- golden hashes of whole lowered programs --------------------------------------------------

struct Fnv {
  uint64_t h = 0xcbf29ce484222325ull;
  void bytes(const void* p, size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 0x100000001b3ull;
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      const unsigned char c = (unsigned char)(v >> (8 * i));
      bytes(&c, 1);
    }
  }
  void str(const std::string& s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
};

// Everything lower() returns: instructions (encoded), per-instruction layers, memory images, the
// layer table and the host tensors.
uint64_t program_hash(const LoweredProgram& lp) {
  Fnv f;
  f.str(lp.workload);
  f.u64(lp.values);
  f.u64(lp.weight_addresses_wrapped);
  f.u64(lp.identity_tile);
  for (const HostTensor* t : {&lp.input, &lp.output}) {
    f.u64(t->base);
    f.u64(t->rows);
    f.u64(t->features);
  }
  for (const auto& l : lp.layers) {
    f.str(l.name);
    f.str(l.group);
    for (uint64_t v : {uint64_t(l.kind), l.repeat, l.useful_macs, l.mac_slots, l.weight_bytes,
                       l.weight_tile_loads, l.weight_bytes_read, l.kv_tile_loads, l.kv_bytes_read,
                       l.identity_tile_loads, l.chunks, l.chunk_items, uint64_t(l.spilled),
                       uint64_t(uint32_t(l.requant.mult)), uint64_t(l.requant.shift),
                       uint64_t(l.requant.round), uint64_t(l.act)})
      f.u64(v);
  }
  for (const auto& s : lp.segments) {
    f.str(s.group);
    f.u64(s.repeat);
    f.str(s.program.name);
    f.u64(s.program.code.size());
    for (const auto& in : s.program.code) {
      const auto e = encode(in);
      f.bytes(e.data(), e.size());
    }
    for (uint32_t x : s.layer_of) f.u64(x);
    for (const auto* images : {&s.program.host_init, &s.program.weight_init})
      for (const auto& [addr, img] : *images) {
        f.u64(addr);
        f.u64(img.size());
        f.bytes(img.data(), img.size());
      }
  }
  return f.h;
}

}  // namespace

TEST_CASE("an MLP lowers bit-exact on tiny and small arrays") {
  // Widths that are and are not multiples of the array; batch spanning several row blocks.
  const char* y =
      "name: mlp-test\npaper: test\nbatch: 300\ninput: {features: 37}\nlayers:\n"
      "  - {type: fc, out: 20, act: relu}\n  - {type: fc, out: 33, act: sigmoid}\n"
      "  - {type: fc, out: 16, act: tanh}\n  - {type: fc, out: 5}\n";
  Workload w = parse_workload(y, "mlp-test.yaml");
  // tiny-4-x2, tiny-8-x4, small-16-x2: output column blocks spread over several MXUs.
  for (const char* arch :
       {"tiny-4", "tiny-8", "small-16", "tiny-4-x2", "tiny-8-x4", "small-16-x2"}) {
    INFO(arch);
    check_values(arch, w);
  }
}

TEST_CASE(
    "2-D pools (3x3/2 pad 1 max, 3x3/1 avg, 2x1/2 max, 1x2/1x2 avg, 2x2/1 avg), alone and "
    "fused into a "
    "conv, lower bit-exact") {
  // A 15 x 14 image is more than half the accumulators of tiny-4 and tiny-8: the pools run in
  // bands of output rows, each band's top and bottom windows padded or not.
  const char* y =
      "name: pool-test\npaper: test\nbatch: 2\ninput: {features: 6, rows_per_item: 210}\n"
      "layers:\n"
      "  - {type: conv2d, name: c1, in_h: 15, in_w: 14, out_c: 9, kernel: 3, pad: 1, act: relu}\n"
      "  - {type: pool, name: p1, in_h: 15, in_w: 14, kernel: 3, stride: 2, pad: 1, kind: max}\n"
      "  - {type: pool, name: p2, in_h: 8, in_w: 7, kernel: 3, stride: 1, pad: 1, kind: avg}\n"
      "  - {type: pool, name: p3, in_h: 8, in_w: 7, kernel_h: 2, kernel_w: 1, stride: 2, kind: "
      "max}\n"
      "  - {type: pool, name: p4, in_h: 4, in_w: 4, kernel_h: 1, kernel_w: 2, kind: avg}\n"
      "  - {type: conv2d, name: c5, in_h: 4, in_w: 2, out_c: 5, kernel: 3, pad: 1, act: tanh}\n"
      "  - {type: pool, name: p5, in_h: 4, in_w: 2, kernel: 2, stride: 1, kind: avg}\n"
      "  - {type: fc, name: fc, out: 5}\n";
  Workload w = parse_workload(y, "pool-test.yaml");
  // c1 + p1 and c5 + p5 are fused (the conv's acts pool); p2..p4 read a pool, not a conv
  REQUIRE(w.groups[0].layers.size() == 6);
  CHECK(w.groups[0].layers[0].fused_pool == "p1");
  CHECK(w.groups[0].layers[4].fused_pool == "p5");
  CHECK(w.groups[0].layers[1].inputs[0] == "c1");
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    INFO(arch);
    check_values(arch, w);
  }
}

TEST_CASE("a pool whose window rows do not fit the accumulators runs in column tiles") {
  // 60 pixels wide: on tiny-4 (128 accumulator rows per half) three conv rows do not fit a block,
  // so the fused conv + pool falls back to the conv into the UB and a tiled pool pass.
  const char* y =
      "name: wide-pool\npaper: test\nbatch: 1\ninput: {features: 3, rows_per_item: 300}\n"
      "layers:\n"
      "  - {type: conv2d, name: c, in_h: 5, in_w: 60, out_c: 6, kernel: 3, pad: 1, act: relu}\n"
      "  - {type: pool, name: p, in_h: 5, in_w: 60, kernel: 3, stride: 2, pad: 1, kind: max}\n"
      "  - {type: pool, name: q, in_h: 3, in_w: 30, kernel: 3, stride: 1, pad: 1, kind: avg}\n";
  Workload w = parse_workload(y, "wide-pool.yaml");
  REQUIRE(w.groups[0].layers[0].fused_pool == "p");
  for (const char* arch : {"tiny-4", "small-16"}) {
    INFO(arch);
    check_values(arch, w);
  }
}

TEST_CASE("convolutions (stride, padding, pooling, residual) lower bit-exact") {
  const char* y =
      "name: conv-test\npaper: test\nbatch: 2\ninput: {features: 5, rows_per_item: 81}\nlayers:\n"
      "  - {type: conv2d, name: c1, in_h: 9, in_w: 9, out_c: 12, kernel: 3, stride: 1, pad: 1, "
      "act: relu}\n"
      "  - {type: conv2d, name: c2, in_h: 9, in_w: 9, out_c: 18, kernel: 3, stride: 2, pad: 1, "
      "act: relu}\n"
      "  - {type: conv2d, name: c3, in_h: 5, in_w: 5, out_c: 18, kernel: 1}\n"
      "  - {type: vector, name: add, op: add, inputs: [c3, c2], act: relu}\n"
      "  - {type: conv2d, name: c4, in_h: 5, in_w: 5, out_c: 7, kernel: 5, stride: 1, pad: 2}\n"
      "  - {type: host_op, name: gap, out_rows_per_item: 4}\n"
      "  - {type: pool, name: p, window: 4, kind: avg}\n"
      "  - {type: fc, name: fc, out: 10}\n";
  Workload w = parse_workload(y, "conv-test.yaml");
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    INFO(arch);
    check_values(arch, w);
  }
}

TEST_CASE("a first conv lowers bit-exact fed channels on rows or host-packed im2col rows") {
  // C below, at and above small-16's 16 rows (and tiny-8's 8); odd image sizes, strides 1-3,
  // padding 0-2, a non-square kernel, a fused pool; padding over half the kernel only as im2col
  // (the channel mapping needs the centre position to cover every output).
  struct Conv {
    uint64_t h, w;
    const char* shape;
    bool channels_ok;
  };
  const Conv convs[] = {
      {7, 9, "out_c: 12, kernel: 3, stride: 1, pad: 1", true},
      {9, 7, "out_c: 18, kernel: 5, stride: 2, pad: 2", true},
      {8, 8, "out_c: 5, kernel_h: 2, kernel_w: 3, stride: 1, pad: 0", true},
      {11, 6, "out_c: 20, kernel: 3, stride: 3, pad: 0", true},
      {6, 5, "out_c: 7, kernel: 1, stride: 2, pad: 0", true},
      {5, 6, "out_c: 9, kernel: 3, stride: 2, pad: 2", false},
  };
  for (uint64_t C : {5, 16, 19}) {
    for (const Conv& c : convs) {
      for (bool pool : {false, true}) {
        std::string y = fmt::format(
            "name: conv-first\npaper: test\nbatch: 2\ninput: {{features: {}, rows_per_item: {}}}\n"
            "layers:\n  - {{type: conv2d, name: c, in_h: {}, in_w: {}, {}, act: relu}}\n",
            C, c.h * c.w, c.h, c.w, c.shape);
        const Layer l = parse_workload(y, "conv-first.yaml").groups[0].layers[0];
        // After a strided conv, ResNet-50's 3x3/2 pad 1 max pool (fused only into im2col rows).
        const bool wide = l.out_h() >= 3 && l.out_w() >= 3;
        if (pool && l.stride > 1 && !wide) continue;
        if (pool)
          y += fmt::format("  - {{type: pool, name: p, in_h: {}, in_w: {}, {}, kind: max}}\n",
                           l.out_h(), l.out_w(),
                           l.stride > 1 ? "kernel: 3, stride: 2, pad: 1" : "kernel: 2, stride: 1");
        y += "  - {type: fc, name: fc, out: 6}\n";
        const Workload w = parse_workload(y, "conv-first.yaml");
        for (const char* arch : {"tiny-8", "small-16"}) {
          INFO(arch << " C " << C << " " << c.h << "x" << c.w << " " << c.shape
                    << (pool ? " + pool" : ""));
          const LoweredProgram packed =
              check_values(arch, w, 7, LowerOptions::ConvInput::kHostIm2col);
          CHECK(packed.input.features == uint64_t(l.kernel_h) * l.kernel_w * C);
          CHECK(packed.input.rows == 2 * uint64_t(l.out_h()) * l.out_w());
          if (pool) CHECK(packed.layers[0].name == "group0/c");  // the pool ran in its acts
          if (pool) CHECK(packed.layers[1].kind != LayerKind::kPool);
          if (!c.channels_ok) continue;
          const LoweredProgram rows = check_values(arch, w, 7, LowerOptions::ConvInput::kChannels,
                                                   LowerOptions::PackImages::kOff);
          CHECK(rows.input.features == C);
          CHECK(rows.layers[0].useful_macs == packed.layers[0].useful_macs);
        }
      }
    }
  }
}

TEST_CASE("images packed in the lanes (block-diagonal tiles, unpack pass) lower bit-exact") {
  // Convs and pools over 3..5 channels on small-16 (16 lanes) and tiny-8: images side by side,
  // odd sizes, strides 1 and 2, padding, fused and unfused 2-D pools, then an unpack and layers
  // that take G images per item (a conv, a dense layer).
  const char* y =
      "name: packed\npaper: test\nbatch: 8\ninput: {features: 3, rows_per_item: 63}\nlayers:\n"
      "  - {type: conv2d, name: c1, in_h: 7, in_w: 9, out_c: 4, kernel: 3, pad: 1, act: relu}\n"
      "  - {type: pool, name: p1, in_h: 7, in_w: 9, kernel: 2, stride: 1, kind: max}\n"
      "  - {type: conv2d, name: c2, in_h: 6, in_w: 8, out_c: 3, kernel: 3, stride: 2, pad: 1}\n"
      "  - {type: pool, name: p2, in_h: 3, in_w: 4, kernel: 2, stride: 1, kind: avg}\n"
      "  - {type: conv2d, name: c3, in_h: 2, in_w: 3, out_c: 9, kernel: 1, act: tanh}\n"
      "  - {type: fc, name: fc, out: 7}\n";
  const Workload w = parse_workload(y, "packed.yaml");
  for (const char* arch : {"tiny-8", "small-16"}) {
    INFO(arch);
    const LoweredProgram lp =
        check_values(arch, w, 7, LowerOptions::ConvInput::kChannels, LowerOptions::PackImages::kOn);
    // G images: the largest divisor of 8 with G x 4 (the prefix's widest) <= the lanes; c3's 9
    // channels end the prefix.
    const uint64_t G = std::string(arch) == "tiny-8" ? 2 : 4;
    CHECK(lp.input.features == 3 * G);
    CHECK(lp.input.rows == 8 / G * 63);
    bool unpacked = false;
    for (const auto& l : lp.layers) unpacked = unpacked || l.kind == LayerKind::kUnpack;
    CHECK(unpacked);
    check_values(arch, w, 7, LowerOptions::ConvInput::kChannels, LowerOptions::PackImages::kOff);
  }
}

TEST_CASE("LSTM cells lower bit-exact") {
  const char* y =
      "name: lstm-test\npaper: test\nbatch: 6\ninput: {features: 10}\nlayers:\n"
      "  - {type: lstm_cell, name: a, hidden: 12}\n  - {type: lstm_cell, name: b, hidden: 7}\n";
  Workload w = parse_workload(y, "lstm-test.yaml");
  check_values("tiny-4", w);
  check_values("small-16", w);
  check_values("tiny-4-x2", w);
}

TEST_CASE("a small transformer (attention, GQA, SwiGLU, LoRA, parallel block) lowers bit-exact") {
  for (const char* variant : {"ffn: swiglu\n  kv_heads: 2\n", "ffn: gelu\n  block: parallel\n",
                              "ffn: swiglu\n  lora: {ranks: [4, 2], adapters: 3}\n"}) {
    for (const char* phase : {"prefill", "decode"}) {
      std::string y = std::string(
                          "name: tf\npaper: test\nbatch: 3\nprompt_len: 5\ncontext_len: 9\n"
                          "transformer:\n  layers: 2\n  d_model: 24\n  heads: 4\n  d_head: 6\n"
                          "  d_ff: 40\n  vocab: 50\n  max_context: 64\n  ") +
                      variant;
      WorkloadParams p;
      p.phase = phase;
      Workload w = parse_workload(y, "tf.yaml", p);
      INFO(variant << phase);
      check_values("tiny-8", w);
      check_values("small-16", w);
      check_values("tiny-8-x4", w);  // heads' scores and context blocks over four MXUs
    }
  }
}

TEST_CASE("the tensor between groups stays in the UB; repeated groups work in place") {
  // Decode: every group reads what the one before wrote. Prefill: the head reads one row per
  // sequence, gathered by the host from a copy written back. Encoder with patches: the host
  // appends the class token before the layers, and reads the result into the UB for them.
  const std::string base =
      "name: tf\npaper: test\nbatch: 3\nprompt_len: 5\ncontext_len: 9\n"
      "transformer:\n  layers: 3\n  d_model: 24\n  heads: 4\n  d_head: 6\n  d_ff: 40\n"
      "  vocab: 50\n  max_context: 64\n";
  struct Case {
    std::string yaml, phase;
    std::vector<bool> on_chip;  // embed->layer, layer->layer, layer->head
  };
  const std::vector<Case> cases = {
      {base + "  block: parallel\n", "decode", {true, true, true}},
      {base, "prefill", {true, true, false}},
      {"name: enc\npaper: test\nbatch: 2\ntransformer:\n  layers: 2\n  d_model: 24\n  heads: "
       "4\n  d_ff: 40\n  encoder: true\n  seq_len: 5\n  patch_embed: {k: 20, tokens: 4}\n  "
       "head: classifier\n  head_out: 10\n",
       "",
       {false, true, false}},
  };
  const TpuConfig cfg = load_config("small-16");
  for (const Case& c : cases) {
    WorkloadParams p;
    p.phase = c.phase;
    const Workload w = parse_workload(c.yaml, "tf.yaml", p);
    INFO(c.yaml << c.phase);
    for (bool keep : {true, false}) {
      INFO("keep_on_chip " << keep);
      LowerOptions opt;
      opt.keep_on_chip = keep;
      const LoweringStats st = lower_stats(cfg, w, opt);
      REQUIRE(st.boundaries.size() == 3);
      for (size_t i = 0; i < 3; ++i) {
        CHECK(st.boundaries[i].on_chip == (keep && c.on_chip[i]));
        CHECK(st.boundaries[i].why.empty() == st.boundaries[i].on_chip);
      }
      // The repeated layer's program reads and writes no host memory when it works in place.
      const SegmentStats& layer = st.segments.at(1);
      const uint64_t host_io =
          layer.by_opcode[size_t(Opcode::kReadHost)] + layer.by_opcode[size_t(Opcode::kWriteHost)];
      CHECK((host_io == 0) == keep);
      // Same values either way (the functional executor against the Eigen reference).
      check_values("small-16", w, 7, LowerOptions::ConvInput::kAuto,
                   LowerOptions::PackImages::kAuto, keep);
      check_values("tiny-8", w, 7, LowerOptions::ConvInput::kAuto, LowerOptions::PackImages::kAuto,
                   keep);
    }
  }
}

TEST_CASE("groups that overflow the UB are chunked or staged through the host, values unchanged") {
  // small-16's UB holds 2048 vectors: 600 rows x 4 blocks of 64 features do not fit at once.
  const char* y =
      "name: big\npaper: test\nbatch: 600\ninput: {features: 64}\nlayers:\n"
      "  - {type: fc, out: 64, act: relu}\n  - {type: fc, out: 64}\n";
  Workload w = parse_workload(y, "big.yaml");
  const TpuConfig cfg = load_config("small-16");
  LowerOptions opt;
  opt.unroll = true;
  LoweredProgram lp = lower(cfg, w, opt);
  CHECK(lp.layers[0].chunks > 1);
  check_values("small-16", w);
  // One item wider than the UB: tensors are staged through host memory.
  const char* y2 =
      "name: wide\npaper: test\nbatch: 1\ninput: {features: 40000}\nlayers:\n"
      "  - {type: fc, out: 8, act: relu}\n";
  Workload w2 = parse_workload(y2, "wide.yaml");
  LoweredProgram lp2 = lower(cfg, w2, opt);
  CHECK(lp2.layers[0].spilled);
  check_values("small-16", w2);
}

TEST_CASE(
    "a group splits into phases: later layers run in bigger chunks, their weights read once") {
  // small-16's UB holds 2048 vectors. a's 8 x 64 rows x 3 blocks in and out need chunks of at
  // most 4 items (smaller ones where that makes room for a second input buffer); after the 4-row
  // pool the rest fits all 8 items, so b and c read their weights once. The pool's output (384
  // vectors) stays in the UB between the phases: no host round trip.
  const char* y =
      "name: phases\npaper: test\nbatch: 8\ninput: {features: 48, rows_per_item: 64}\nlayers:\n"
      "  - {type: fc, name: a, out: 48, act: relu}\n  - {type: pool, name: p, window: 4, kind: "
      "max}\n"
      "  - {type: fc, name: b, out: 40, act: relu}\n  - {type: fc, name: c, out: 24}\n";
  Workload w = parse_workload(y, "phases.yaml");
  const TpuConfig cfg = load_config("small-16");
  LowerOptions opt;
  opt.unroll = true;
  opt.values = false;
  const LoweredProgram lp = lower(cfg, w, opt);
  const uint64_t chunks = lp.layers[0].chunks;
  CHECK(chunks >= 2);
  CHECK(lp.layers[1].chunks == chunks);
  CHECK(lp.layers[2].chunks == 1);
  CHECK(lp.layers[3].chunks == 1);
  CHECK(lp.layers[2].weight_bytes_read == w.groups[0].layers[2].weight_bytes());
  // One rhm per input block and chunk, one whm per output block: the phases meet in the UB. The
  // second chunk's input is read ahead: its first rhm comes before the first chunk's first act
  // (the emitter places the rest among the first chunk's matmuls).
  uint64_t rhm = 0, whm = 0, rhm_before_act = 0;
  bool acted = false;
  for (const auto& in : lp.segments[0].program.code) {
    rhm += in.op == Opcode::kReadHost;
    whm += in.op == Opcode::kWriteHost;
    acted = acted || in.op == Opcode::kActivate;
    if (!acted) rhm_before_act += in.op == Opcode::kReadHost;
  }
  CHECK(rhm == chunks * 3);
  CHECK(whm == 2);
  CHECK(rhm_before_act > 3);
  for (const char* arch : {"tiny-8", "small-16"}) {
    INFO(arch);
    check_values(arch, w);
  }
}

TEST_CASE("a group that never reads its input does not read it from the host") {
  // The second group starts with its own host read (as `scalesim-cycles --tpu-style` builds one
  // group per layer): the first group's output, its input, is not read into the UB.
  const char* y =
      "name: two\npaper: test\nbatch: 1\nlayers:\n"
      "  - repeat: 1\n    name: a\n    layers:\n"
      "      - {type: embedding, name: a_in, features: 8, rows_per_item: 30}\n"
      "      - {type: fc, name: a, out: 12}\n"
      "  - repeat: 1\n    name: b\n    layers:\n"
      "      - {type: embedding, name: b_in, features: 5, rows_per_item: 20}\n"
      "      - {type: fc, name: b, out: 7}\n";
  const Workload w = parse_workload(y, "two.yaml");
  REQUIRE(w.groups.size() == 2);
  CHECK(w.groups[1].in_features == 12);
  LowerOptions opt;
  opt.values = false;
  const LoweredProgram lp = lower(load_config("small-16"), w, opt);
  REQUIRE(lp.segments.size() == 2);
  for (const auto& seg : lp.segments) {
    INFO(seg.group);
    uint64_t rhm = 0;
    for (const auto& in : seg.program.code) rhm += in.op == Opcode::kReadHost;
    CHECK(rhm == 1);  // the embedding's rows, one column block
  }
}

TEST_CASE("every library workload lowers for tpu-v1 and small-16 with exact MAC accounting") {
  // tpu-v1 at each workload's own batch and context; small-16 (one instruction per 256-byte tile:
  // a GPT-3 layer is tens of millions) at batch 1 and LLM context_len 128, every workload counted
  // without storing the program (lower_stats), the smaller ones also stored and compared.
  for (const char* arch : {"tpu-v1", "small-16"}) {
    const TpuConfig cfg = load_config(arch);
    const bool small = std::string(arch) == "small-16";
    for (const auto& e : list_workloads()) {
      WorkloadParams p;
      if (small) {
        p.batch = 1;
        if (load_workload(e.name).phase.size() > 0) p.context_len = 128;
      }
      const Workload w = load_workload(e.name, p);
      LowerOptions opt;
      opt.values = false;
      INFO(arch << " " << e.name);
      const auto t0 = std::chrono::steady_clock::now();
      const LoweringStats st = lower_stats(cfg, w, opt);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      check_accounting(cfg, w, st);
      const bool store = st.instructions() <= (uint64_t(1) << 22);
      if (store) {
        const LoweredProgram lp = lower(cfg, w, opt);
        check_accounting(cfg, w, lp);
        check_same_counts(st, stats_of(lp));
      }
      std::printf(
          "%-9s %-20s segments %zu instructions %10llu useful MACs %15llu counted in %6.3f s%s\n",
          arch, e.name.c_str(), st.segments.size(), (unsigned long long)st.instructions(),
          (unsigned long long)st.useful_macs(), secs, store ? " (also stored)" : "");
    }
  }
}

TEST_CASE(
    "a program over the instruction limit is refused before it is stored, pointing at "
    "lower_stats") {
  const TpuConfig cfg = load_config("small-16");
  WorkloadParams p;
  p.batch = 1;
  const Workload w = load_workload("mlp0", p);
  LowerOptions opt;
  opt.values = false;
  const uint64_t n = lower_stats(cfg, w, opt).instructions();
  opt.max_instructions = n;  // exactly at the limit: stored
  CHECK(lower(cfg, w, opt).instructions() == n);
  opt.max_instructions = n - 1;  // one over
  try {
    lower(cfg, w, opt);
    FAIL("expected an error");
  } catch (const InputError& e) {
    const std::string m = e.what();
    INFO(m);
    CHECK(m.find(w.file) != std::string::npos);
    CHECK(m.find("more than " + std::to_string(n - 1) + " instructions") != std::string::npos);
    CHECK(m.find("lower_stats") != std::string::npos);
  }
  // An absurd layer (10^12 weights, ~4 * 10^9 tiles on a 16x16 array) at the default limit: refused
  // after counting at most the limit, with memory bounded by the limit, not by the layer.
  const char* y =
      "name: absurd\npaper: test\nbatch: 1\ninput: {features: 1000000}\nlayers:\n"
      "  - {type: fc, out: 1000000}\n";
  const Workload big = parse_workload(y, "absurd.yaml");
  LowerOptions lim;
  lim.values = false;
  lim.max_instructions = uint64_t(1) << 23;  // the default (2^26) works the same, 8x slower
  try {
    lower(cfg, big, lim);
    FAIL("expected an error");
  } catch (const InputError& e) {
    const std::string m = e.what();
    INFO(m);
    CHECK(m.find("absurd.yaml") != std::string::npos);
    CHECK(m.find("in layer '") != std::string::npos);
  }
}

TEST_CASE("lowering rejects what it cannot map, saying by how much") {
  const char* y =
      "name: c\npaper: t\nbatch: 1\ninput: {features: 4, rows_per_item: 400}\nlayers:\n"
      "  - {type: conv2d, in_h: 1, in_w: 400, out_c: 4, kernel: 3, pad: 1}\n";
  Workload w = parse_workload(y, "c.yaml");
  try {
    lower(load_config("tiny-4"), w, {});
    FAIL("expected an error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("too few") != std::string::npos);
  }
}

TEST_CASE(
    "the stored programs are unchanged (golden hashes of instructions, images and layer tables)") {
  // Hashes of the programs lower() produced at commit 1484a50 (before emission went through a
  // sink). A deliberate change of the lowering updates this table: the failure prints each line.
  const std::map<std::string, uint64_t> golden = {
      {"tpu-v1 bert-base", 0x4604b00984425f82ull},
      {"tpu-v1 bert-large", 0x3bfa6bcd27eb8b7cull},
      {"tpu-v1 chinchilla-70b", 0x5b502ad99cb7c3c0ull},
      {"tpu-v1 clip-vit-l14-image", 0x46472bc6e37b7ccaull},
      {"tpu-v1 clip-vit-l14-text", 0x29abeff2d3da6e05ull},
      {"tpu-v1 cnn0", 0xa77af130987bf372ull},
      {"tpu-v1 cnn1", 0xbe5bfca81597d362ull},
      {"tpu-v1 generative-agents", 0x0816689a5695ff4dull},
      {"tpu-v1 gopher-280b", 0xff13e71dcf8dc6b8ull},
      {"tpu-v1 gpt3-13b", 0xc64ca249665efd9cull},
      {"tpu-v1 gpt3-175b", 0x1417f514cd68f981ull},
      {"tpu-v1 hermes-rag", 0x5f89a4b68a8c4229ull},
      {"tpu-v1 llama-13b", 0xb3e67eecc42a2ce4ull},
      {"tpu-v1 llama-30b", 0x4fd4aba75d95d237ull},
      {"tpu-v1 llama-7b", 0x9eac5995d8c40de8ull},
      {"tpu-v1 llama2-70b", 0x0d8fde05f4b4e39bull},
      {"tpu-v1 lora", 0x7290c591a9ffefeeull},
      {"tpu-v1 lora-s2", 0xf2daf8126f505b02ull},
      {"tpu-v1 lora-s4", 0xe0e08ee39bb7f4fdull},
      {"tpu-v1 lora-s5", 0x37ade2b77d856811ull},
      {"tpu-v1 lora-s6", 0x03f32aa3d719d2d3ull},
      {"tpu-v1 lstm0", 0xd13c768614ef612aull},
      {"tpu-v1 lstm1", 0x2ca77033e7be0ec7ull},
      {"tpu-v1 megascale-175b", 0x739aeb63b4445b13ull},
      {"tpu-v1 megascale-530b", 0x8aa93c184acf3a5eull},
      {"tpu-v1 mlp0", 0x3ed0d4d9e90b2c04ull},
      {"tpu-v1 mlp1", 0xd82da7f4c3e1ab29ull},
      {"tpu-v1 opt-13b", 0xb2608921a0e613bdull},
      {"tpu-v1 opt-175b", 0x39a08f180c86f1e1ull},
      {"tpu-v1 opt-66b", 0x765046c6959a5e14ull},
      {"tpu-v1 resnet50", 0xe071f687dfe84b68ull},
      {"tpu-v1 vit-b16", 0x9f8c87dc1c9a0d56ull},
      {"small-16 mlp0", 0x858f94ab4d7e77f8ull},
      {"small-16 mlp1", 0xd4498af3ea7be5aaull},
      {"small-16 lstm0", 0xdb9c04381e5d9216ull},
      {"small-16 lstm1", 0x149350cb0dc6b3c2ull},
      {"small-16 cnn0", 0xef04fc6530b2636bull},
      {"small-16 clip-vit-l14-text", 0xd94b44d10cc93754ull},
      {"small-16 vit-b16", 0x8b9ab5fbe0158822ull},
      {"tiny-4 mlp1", 0x089c5ce3693dee00ull},
      {"tiny-4 lstm1", 0x44c2a769ddea7873ull},
      {"tiny-4 tf-prefill", 0x0ea04dfdea64d7d1ull},
      {"tiny-4 tf-prefill unrolled", 0xc782c4dc6e416943ull},
      {"tiny-4 tf-decode", 0x3928ad3b9269e77aull},
      {"tiny-4 tf-decode unrolled", 0x987f6b7f2d508088ull},
      {"tiny-4 conv-test", 0x5719870a77045959ull},
      {"tiny-4 conv-test unrolled", 0x011a5775522e703dull},
      {"tiny-8 tf-prefill", 0x238cd4fef65b345dull},
      {"tiny-8 tf-prefill unrolled", 0xce82b9c86d2aa5d5ull},
      {"tiny-8 tf-decode", 0xc021088f0c04098full},
      {"tiny-8 tf-decode unrolled", 0xe8e28b0357ef23c0ull},
      {"tiny-8 conv-test", 0xa83a1854347f059bull},
      {"tiny-8 conv-test unrolled", 0xf905bf88b7910ff3ull},
      {"small-16 tf-prefill", 0xc6b01b06faadb0a4ull},
      {"small-16 tf-prefill unrolled", 0xd6c70ef6e3e1864eull},
      {"small-16 tf-decode", 0xa48313c8baa0a6bbull},
      {"small-16 tf-decode unrolled", 0x52060faaa2a58911ull},
      {"small-16 conv-test", 0x40db0571b83d67b1ull},
      {"small-16 conv-test unrolled", 0x77405a5408c46a43ull},
      {"small-16 wide", 0xd938f570ce20e269ull},
      {"small-16 wide unrolled", 0xb24ad18068cf2e6bull},
  };
  struct Case {
    std::string arch, name;
    Workload w;
    bool values;
  };
  std::vector<Case> cases;
  for (const auto& e : list_workloads())
    cases.push_back({"tpu-v1", e.name, load_workload(e.name), false});
  // hermes-rag is hashed on tpu-v1 only: since issue 24 it scans a 1B-vector cluster's lists
  // (4.3M codes per query), 12M weight tiles on small-16 (1.2 GB and 7 s to lower and hash).
  for (const char* n : {"mlp0", "mlp1", "lstm0", "lstm1", "cnn0", "clip-vit-l14-text", "vit-b16"}) {
    WorkloadParams p;
    p.batch = 1;
    if (load_workload(n).phase.size() > 0) p.context_len = 128;
    cases.push_back({"small-16", n, load_workload(n, p), false});
  }
  for (const char* n : {"mlp1", "lstm1"}) {
    WorkloadParams p;
    p.batch = 1;
    cases.push_back({"tiny-4", n, load_workload(n, p), false});
  }
  const char* tf =
      "name: tf\npaper: test\nbatch: 3\nprompt_len: 5\ncontext_len: 9\ntransformer:\n  layers: 2\n"
      "  d_model: 24\n  heads: 4\n  d_head: 6\n  d_ff: 40\n  vocab: 50\n  max_context: 64\n"
      "  ffn: swiglu\n  kv_heads: 2\n";
  const char* conv =
      "name: conv-test\npaper: test\nbatch: 2\ninput: {features: 5, rows_per_item: 81}\nlayers:\n"
      "  - {type: conv2d, name: c1, in_h: 9, in_w: 9, out_c: 12, kernel: 3, stride: 1, pad: 1, "
      "act: relu}\n"
      "  - {type: conv2d, name: c2, in_h: 9, in_w: 9, out_c: 18, kernel: 3, stride: 2, pad: 1, "
      "act: relu}\n"
      "  - {type: host_op, name: gap, out_rows_per_item: 4}\n  - {type: pool, name: p, window: 2, "
      "kind: max}\n"
      "  - {type: fc, name: fc, out: 10}\n";
  const char* wide =
      "name: wide\npaper: test\nbatch: 600\ninput: {features: 40000}\nlayers:\n"
      "  - {type: fc, out: 8, act: relu}\n";
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    WorkloadParams pre, dec;
    pre.phase = "prefill";  // (the default phase is decode)
    dec.phase = "decode";
    cases.push_back({arch, "tf-prefill", parse_workload(tf, "tf.yaml", pre), true});
    cases.push_back({arch, "tf-decode", parse_workload(tf, "tf.yaml", dec), true});
    cases.push_back({arch, "conv-test", parse_workload(conv, "conv.yaml"), true});
  }
  cases.push_back({"small-16", "wide", parse_workload(wide, "wide.yaml"), true});
  for (const auto& c : cases) {
    for (bool unroll : {false, true}) {
      if (unroll && !c.values) continue;
      LowerOptions opt;
      opt.values = c.values;
      opt.unroll = unroll;
      const std::string id = c.arch + " " + c.name + (unroll ? " unrolled" : "");
      const uint64_t h = program_hash(lower(load_config(c.arch), c.w, opt));
      auto it = golden.find(id);
      if (it == golden.end() || it->second != h)
        std::printf("    {\"%s\", 0x%016llxull},\n", id.c_str(), (unsigned long long)h);
      INFO(id);
      CHECK((it != golden.end() && it->second == h));
    }
  }
}

TEST_CASE("a phase shrunk or joined by the phase planner is checked again before it is emitted") {
  // cnn1 at batch 768 on tpu-v1: the planner's steps left the phase of layers 39..56 at a chunk
  // of 48 items that its new input does not fit (UbFull escaped the lowering and aborted `run`);
  // it now takes the largest chunk that fits.
  WorkloadParams p;
  p.batch = 768;
  const TpuConfig cfg = load_config("tpu-v1");
  const LoweringStats st = lower_stats(cfg, load_workload("cnn1", p));
  WorkloadParams one;
  one.batch = 1;
  CHECK(st.useful_macs() == 768 * lower_stats(cfg, load_workload("cnn1", one)).useful_macs());
  for (const auto& l : st.layers) CHECK(l.chunks >= 1);
}

TEST_CASE("several MXUs: each K tile's rows are read from the UB once and chained to every MXU") {
  // 4 output column blocks on tiny-8-x4's 4 MXUs, 3 K tiles: every K tile is one source mmc on
  // MXU 0 and three chain followers (sim/isa/ISA.md, "Chained inputs"), whose rows cost no UB
  // read; the program runs in the fast engine and computes what the functional executor does.
  const char* y =
      "name: chain-test\npaper: test\nbatch: 20\ninput: {features: 24}\nlayers:\n"
      "  - {type: fc, out: 32, act: relu}\n";
  const Workload w = parse_workload(y, "chain-test.yaml");
  const TpuConfig cfg = load_config("tiny-8-x4");
  LowerOptions opt;
  opt.values = false;
  const LoweredProgram lp = lower(cfg, w, opt);
  uint64_t sources = 0, followers = 0, alone = 0;
  for (const Segment& s : lp.segments)
    for (const Instruction& in : s.program.code) {
      if (in.op != Opcode::kMatmul) continue;
      if (in.fan() > 0) {
        ++sources;
        CHECK(in.fan() == 3);
        CHECK(in.d == 0);
      } else if (in.chained()) {
        ++followers;
      } else {
        ++alone;
      }
    }
  CHECK(sources >= 3);
  CHECK(followers == 3 * sources);
  CHECK(alone == 0);
  check_values("tiny-8-x4", w);
}
