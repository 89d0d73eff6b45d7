// Lowering: MAC and weight-byte accounting against the workload's analytic counts, program
// legality, and bit-exact values of whole layer stacks against an independent Eigen reference.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>

#include "models/config.h"
#include "models/errors.h"
#include "sim/functional.h"
#include "sim/lowering.h"
#include "sim/numerics.h"
#include "sim/workload.h"

using namespace tpusim;
using numerics::MatrixI32;
using numerics::MatrixI8;

namespace {

uint64_t count_rw_tiles(const Program& p) {
  uint64_t n = 0;
  for (const auto& in : p.code)
    if (in.op == Opcode::kReadWeights) n += in.c;
  return n;
}

// Accounting checks that hold for every lowering.
void check_accounting(const TpuConfig& cfg, const Workload& w, const LoweredProgram& lp) {
  // Useful MACs equal the analytic count exactly.
  CHECK(lp.useful_macs() == w.macs());
  // Every rw'd tile belongs to exactly one layer's loads; MAC slots are B * rows * cols.
  for (const auto& seg : lp.segments) {
    uint64_t loads = 0, slots = 0;
    for (size_t i = 0; i < lp.layers.size(); ++i) {
      if (lp.layers[i].group != seg.group && !seg.group.empty()) continue;
      loads += lp.layers[i].weight_tile_loads + lp.layers[i].kv_tile_loads + lp.layers[i].identity_tile_loads;
      slots += lp.layers[i].mac_slots;
    }
    uint64_t rows = 0;
    for (const auto& in : seg.program.code)
      if (in.op == Opcode::kMatmul) rows += in.c;
    CHECK(count_rw_tiles(seg.program) == loads);
    CHECK(rows * cfg.macs_per_cycle() == slots);
    CHECK(seg.layer_of.size() == seg.program.code.size());
    CHECK(seg.program.code.back().op == Opcode::kHalt);
  }
  // Weight bytes: a dense layer reads each weight once per row block of each item chunk.
  const uint64_t half = cfg.accumulator_entries / 2;
  size_t li = 0, flat = 0;
  for (const auto& g : w.groups) flat += g.layers.size();
  const bool unrolled = lp.layers.size() != flat;
  for (const auto& g : w.groups) {
   for (uint64_t rep = 0; rep < (unrolled ? g.repeat : 1); ++rep) {
    for (const auto& l : g.layers) {
      const LayerInfo& info = lp.layers[li++];
      INFO(info.name);
      if (l.kind == LayerKind::kFc && l.terms.size() == 1 && l.terms[0].item_hi == 0) {
        uint64_t passes = 0;
        for (uint64_t i0 = 0; i0 < g.items; i0 += info.chunk_items) {
          const uint64_t rows = std::min(g.items - i0, info.chunk_items) * l.rows_per_item;
          passes += (rows + half - 1) / half;
        }
        CHECK(info.weight_bytes_read == l.weight_bytes() * passes);
      } else if (l.kind == LayerKind::kConv2d) {
        CHECK(info.weight_bytes_read >= l.weight_bytes());
        CHECK(info.weight_bytes_read % 1 == 0);
      } else if (l.kind == LayerKind::kAttention) {
        // K and V of every (sequence, kv head) read once per query head that uses them, per row block.
        CHECK(info.kv_bytes_read >= l.kv_bytes(g.items) * (l.heads / l.kv_heads));
      }
    }
   }
  }
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
  return numerics::apply_function(uint8_t(f), numerics::requantize(acc, rq.mult, rq.shift, numerics::Rounding(rq.round)));
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
        if (!have) t["@in"] = host_matrix(seed, "input", rows, g.in_features);
        else if (uint64_t(cur.rows()) != rows || uint64_t(cur.cols()) != g.in_features)
          t["@in"] = host_matrix(seed, pre + "gather", rows, g.in_features);
        else t["@in"] = cur;
      }
      std::string prev = g.in_features ? "@in" : "";
      for (const auto& l : g.layers) {
        const uint64_t rows = g.items * l.rows_per_item;
        const std::string key = pre + l.name;
        MatrixI8 out;
        auto in0 = [&](const std::string& n) -> const MatrixI8& { return t.at(n.empty() ? prev : n); };
        switch (l.kind) {
          case LayerKind::kFc: {
            MatrixI32 acc = MatrixI32::Zero(rows, l.out_features);
            for (size_t j = 0; j < l.terms.size(); ++j) {
              const FcTerm& ft = l.terms[j];
              const MatrixI8& x = t.at(ft.input);
              const uint64_t lo = ft.item_lo, hi = ft.item_hi ? ft.item_hi : g.items;
              const uint64_t r0 = lo * l.rows_per_item, r1 = hi * l.rows_per_item;
              MatrixI8 xs = x.block(r0, ft.f0, r1 - r0, ft.k);
              MatrixI32 p = numerics::gemm_reference(xs, weights(seed, key + "/" + std::to_string(j), ft.k, ft.n));
              for (uint64_t r = r0; r < r1; ++r)
                for (uint64_t c = 0; c < ft.n; ++c)
                  acc(r, ft.n0 + c) = numerics::wrap_add(acc(r, ft.n0 + c), p(r - r0, c));
            }
            out = requant_act(acc, requant_for_k(l.terms[0].k), l.act);
            break;
          }
          case LayerKind::kConv2d: {
            const MatrixI8& x = in0(l.inputs[0]);
            const uint64_t Ho = l.out_h(), Wo = l.out_w(), images = rows / (Ho * Wo);
            std::vector<MatrixI8> wt;
            for (uint64_t p = 0; p < uint64_t(l.kernel_h) * l.kernel_w; ++p)
              wt.push_back(weights(seed, key + "#" + std::to_string(p), l.in_c, l.out_features));
            MatrixI32 acc = MatrixI32::Zero(rows, l.out_features);
            for (uint64_t im = 0; im < images; ++im)
              for (uint64_t y = 0; y < Ho; ++y)
                for (uint64_t xo = 0; xo < Wo; ++xo)
                  for (uint64_t ky = 0; ky < l.kernel_h; ++ky)
                    for (uint64_t kx = 0; kx < l.kernel_w; ++kx) {
                      const int64_t iy = int64_t(y * l.stride + ky) - l.pad, ix = int64_t(xo * l.stride + kx) - l.pad;
                      if (iy < 0 || ix < 0 || iy >= l.in_h || ix >= l.in_w) continue;
                      const uint64_t irow = im * l.in_h * l.in_w + uint64_t(iy) * l.in_w + uint64_t(ix);
                      const uint64_t orow = (im * Ho + y) * Wo + xo;
                      for (uint64_t n = 0; n < l.out_features; ++n) {
                        int64_t s = 0;
                        for (uint64_t c = 0; c < l.in_c; ++c)
                          s += int64_t(x(irow, c)) * wt[ky * l.kernel_w + kx](c, n);
                        acc(orow, n) = numerics::wrap_add(acc(orow, n), int32_t(uint32_t(uint64_t(s))));
                      }
                    }
            out = requant_act(acc, requant_for_k(uint64_t(l.kernel_h) * l.kernel_w * l.in_c), l.act);
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
                MatrixI8 s = requant_act(numerics::gemm_reference(qh, weights(seed, key + "/k" + kv, l.d_head, l.kv_len)),
                                         requant_for_k(l.d_head), ActFunction::kNone);
                MatrixI8 c = requant_act(numerics::gemm_reference(s, weights(seed, key + "/v" + kv, l.kv_len, l.d_head)),
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
            } else {
              out = MatrixI8(y.rows() / l.window, y.cols());
              for (Eigen::Index r = 0; r < out.rows(); ++r)
                for (Eigen::Index c = 0; c < out.cols(); ++c) {
                  int32_t m = -128, s = 0;
                  for (uint32_t k = 0; k < l.window; ++k) {
                    m = std::max<int32_t>(m, y(r * l.window + k, c));
                    s += y(r * l.window + k, c);
                  }
                  out(r, c) = l.pool == PoolKind::kMax ? int8_t(m) : numerics::average_pow2(s, uint32_t(std::log2(l.window)));
                }
            }
            break;
          }
          case LayerKind::kEmbedding:
          case LayerKind::kHostOp:
            out = host_matrix(seed, key, rows, l.out_features);
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
void check_values(const std::string& arch, const Workload& w, uint64_t seed = 7) {
  const TpuConfig cfg = load_config(arch);
  LowerOptions opt;
  opt.values = true;
  opt.unroll = true;
  opt.seed = seed;
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
}

}  // namespace

TEST_CASE("an MLP lowers bit-exact on tiny and small arrays") {
  // Widths that are and are not multiples of the array; batch spanning several row blocks.
  const char* y =
      "name: mlp-test\npaper: test\nbatch: 300\ninput: {features: 37}\nlayers:\n"
      "  - {type: fc, out: 20, act: relu}\n  - {type: fc, out: 33, act: sigmoid}\n"
      "  - {type: fc, out: 16, act: tanh}\n  - {type: fc, out: 5}\n";
  Workload w = parse_workload(y, "mlp-test.yaml");
  for (const char* arch : {"tiny-4", "tiny-8", "small-16"}) {
    INFO(arch);
    check_values(arch, w);
  }
}

TEST_CASE("convolutions (stride, padding, pooling, residual) lower bit-exact") {
  const char* y =
      "name: conv-test\npaper: test\nbatch: 2\ninput: {features: 5, rows_per_item: 81}\nlayers:\n"
      "  - {type: conv2d, name: c1, in_h: 9, in_w: 9, out_c: 12, kernel: 3, stride: 1, pad: 1, act: relu}\n"
      "  - {type: conv2d, name: c2, in_h: 9, in_w: 9, out_c: 18, kernel: 3, stride: 2, pad: 1, act: relu}\n"
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

TEST_CASE("LSTM cells lower bit-exact") {
  const char* y = "name: lstm-test\npaper: test\nbatch: 6\ninput: {features: 10}\nlayers:\n"
                  "  - {type: lstm_cell, name: a, hidden: 12}\n  - {type: lstm_cell, name: b, hidden: 7}\n";
  Workload w = parse_workload(y, "lstm-test.yaml");
  check_values("tiny-4", w);
  check_values("small-16", w);
}

TEST_CASE("a small transformer (attention, GQA, SwiGLU, LoRA, parallel block) lowers bit-exact") {
  for (const char* variant : {"ffn: swiglu\n  kv_heads: 2\n", "ffn: gelu\n  block: parallel\n",
                              "ffn: swiglu\n  lora: {ranks: [4, 2], adapters: 3}\n"}) {
    for (const char* phase : {"prefill", "decode"}) {
      std::string y = std::string("name: tf\npaper: test\nbatch: 3\nprompt_len: 5\ncontext_len: 9\n"
                                  "transformer:\n  layers: 2\n  d_model: 24\n  heads: 4\n  d_head: 6\n"
                                  "  d_ff: 40\n  vocab: 50\n  max_context: 64\n  ") + variant;
      WorkloadParams p;
      p.phase = phase;
      Workload w = parse_workload(y, "tf.yaml", p);
      INFO(variant << phase);
      check_values("tiny-8", w);
      check_values("small-16", w);
    }
  }
}

TEST_CASE("groups that overflow the UB are chunked or staged through the host, values unchanged") {
  // small-16's UB holds 2048 vectors: 600 rows x 4 blocks of 64 features do not fit at once.
  const char* y = "name: big\npaper: test\nbatch: 600\ninput: {features: 64}\nlayers:\n"
                  "  - {type: fc, out: 64, act: relu}\n  - {type: fc, out: 64}\n";
  Workload w = parse_workload(y, "big.yaml");
  const TpuConfig cfg = load_config("small-16");
  LowerOptions opt;
  opt.unroll = true;
  LoweredProgram lp = lower(cfg, w, opt);
  CHECK(lp.layers[0].chunks > 1);
  check_values("small-16", w);
  // One item wider than the UB: tensors are staged through host memory.
  const char* y2 = "name: wide\npaper: test\nbatch: 1\ninput: {features: 40000}\nlayers:\n"
                   "  - {type: fc, out: 8, act: relu}\n";
  Workload w2 = parse_workload(y2, "wide.yaml");
  LoweredProgram lp2 = lower(cfg, w2, opt);
  CHECK(lp2.layers[0].spilled);
  check_values("small-16", w2);
}

TEST_CASE("every library workload lowers for tpu-v1 and small-16 with exact MAC accounting") {
  for (const char* arch : {"tpu-v1", "small-16"}) {
    const TpuConfig cfg = load_config(arch);
    for (const auto& e : list_workloads()) {
      WorkloadParams p;
      const bool llm = load_workload(e.name).phase.size() > 0;
      const bool huge_on_small = std::string(arch) == "small-16";
      if (huge_on_small) p.batch = 1;  // keeps the 16x16 programs (one instruction per tile) small
      if (llm && huge_on_small) p.context_len = 128;
      Workload w = load_workload(e.name, p);
      if (huge_on_small && w.weight_bytes() / w.groups.size() > (uint64_t(600) << 20)) continue;
      LowerOptions opt;
      opt.values = false;
      INFO(arch << " " << e.name);
      LoweredProgram lp = lower(cfg, w, opt);
      check_accounting(cfg, w, lp);
      std::printf("%-9s %-20s segments %zu instructions %llu useful MACs %llu\n", arch, e.name.c_str(),
                  lp.segments.size(), (unsigned long long)lp.instructions(),
                  (unsigned long long)lp.useful_macs());
    }
  }
}

TEST_CASE("lowering rejects what it cannot map, saying by how much") {
  const char* y = "name: c\npaper: t\nbatch: 1\ninput: {features: 4, rows_per_item: 400}\nlayers:\n"
                  "  - {type: conv2d, in_h: 1, in_w: 400, out_c: 4, kernel: 3, pad: 1}\n";
  Workload w = parse_workload(y, "c.yaml");
  try {
    lower(load_config("tiny-4"), w, {});
    FAIL("expected an error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("too few") != std::string::npos);
  }
}
