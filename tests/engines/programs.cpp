#include "tests/engines/programs.h"

#include <algorithm>
#include <random>

#include "sim/isa/numerics.h"
#include "sim/isa/races.h"

namespace tpusim::rtl_test {

namespace {}  // namespace

GemmProgram gemm_program(const TpuConfig& cfg, const GemmSpec& sp) {
  using numerics::MatrixI8;
  const uint32_t W = cfg.vector_bytes(), R = cfg.array.rows, C = cfg.array.cols;
  const uint32_t kt = (sp.k + R - 1) / R, nt = (sp.n + C - 1) / C, P = 1u << sp.pool_log2;
  std::mt19937_64 rng(sp.seed);
  std::uniform_int_distribution<int> byte(-128, 127);

  MatrixI8 a(sp.m, sp.k), w(sp.k, sp.n);
  for (int i = 0; i < a.size(); ++i) a.data()[i] = int8_t(byte(rng));
  for (int i = 0; i < w.size(); ++i) w.data()[i] = int8_t(byte(rng));

  GemmProgram g;
  Program& p = g.prog;
  p.name = "gemm";
  // host: k-tile i, row r -> vector i*m + r (lanes: k index within the tile)
  for (uint32_t i = 0; i < kt; ++i)
    for (uint32_t r = 0; r < sp.m; ++r) {
      std::vector<int8_t> v(W, 0);
      for (uint32_t l = 0; l < R && i * R + l < sp.k; ++l) v[l] = a(r, i * R + l);
      p.host_init[uint64_t(i) * sp.m + r] = v;
    }
  // weights: tile (i, j) at i*nt + j, element (r, c) = w(i*R + r, j*C + c), zero padded
  for (uint32_t i = 0; i < kt; ++i)
    for (uint32_t j = 0; j < nt; ++j) {
      std::vector<int8_t> t(uint64_t(R) * C, 0);
      for (uint32_t r = 0; r < R && i * R + r < sp.k; ++r)
        for (uint32_t c = 0; c < C && j * C + c < sp.n; ++c) t[r * C + c] = w(i * R + r, j * C + c);
      p.weight_init[uint64_t(i) * nt + j] = t;
    }

  const uint32_t in_vectors = kt * sp.m;
  const uint32_t ub_out = in_vectors;
  g.out_host = in_vectors;
  auto& code = p.code;
  code.push_back(make_instruction(Opcode::kSetConfig, 0, uint32_t(sp.mult)));
  code.push_back(make_instruction(Opcode::kSetConfig, 1, sp.shift));
  code.push_back(make_instruction(Opcode::kSetConfig, 2, sp.round));
  code.push_back(make_instruction(Opcode::kReadHost, 0, 0, in_vectors));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  for (uint32_t j = 0; j < nt; ++j)
    for (uint32_t i = 0; i < kt; ++i) {
      code.push_back(make_instruction(Opcode::kReadWeights, i * nt + j, 0, 1));
      const uint8_t flags = kFlagSwitch | (i > 0 ? kFlagAccumulate : 0);
      code.push_back(make_instruction(Opcode::kMatmul, i * sp.m, j * sp.m, sp.m, flags));
    }
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu));
  const uint32_t out_rows = sp.m / P;
  for (uint32_t j = 0; j < nt; ++j)
    code.push_back(make_instruction(Opcode::kActivate, j * sp.m, ub_out + j * out_rows, sp.m,
                                    uint8_t(sp.function | (sp.pool << 2)), uint16_t(sp.pool_log2)));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct));
  code.push_back(make_instruction(Opcode::kWriteHost, g.out_host, ub_out, nt * out_rows));
  code.push_back(make_instruction(Opcode::kHalt));

  // Expected output, from the reference numerics only.
  const numerics::MatrixI32 acc = numerics::gemm_reference(a, w);
  g.expected.assign(uint64_t(nt) * out_rows * W, 0);
  for (uint32_t j = 0; j < nt; ++j)
    for (uint32_t o = 0; o < out_rows; ++o)
      for (uint32_t c = 0; c < C; ++c) {
        const uint32_t col = j * C + c;
        int32_t sum = 0, mx = -129;
        for (uint32_t q = 0; q < P; ++q) {
          const int32_t v = col < sp.n ? acc(o * P + q, col) : 0;
          const int8_t y = numerics::apply_function(
              sp.function,
              numerics::requantize(v, sp.mult, sp.shift, numerics::Rounding(sp.round)));
          sum += y;
          mx = std::max<int32_t>(mx, y);
        }
        const int8_t out = sp.pool == 2 ? numerics::average_pow2(sum, sp.pool_log2) : int8_t(mx);
        g.expected[(uint64_t(j) * out_rows + o) * W + c] = out;
      }
  return g;
}

Program multi_mxu_program(const TpuConfig& cfg, uint32_t b, uint64_t seed) {
  const uint32_t M = cfg.mxus;
  // MXU m's rows start at its own accumulator bank (the race rule's bank clause)
  const uint32_t bank = uint32_t(acc_bank_rows(cfg.accumulator_entries, M));
  Program p;
  p.name = "multi-mxu";
  p.random_init.push_back({false, 0, b, seed});
  p.random_init.push_back({true, 0, 2 * M, seed + 1});
  auto& code = p.code;
  code.push_back(make_instruction(Opcode::kSetConfig, 1, 40));  // shift: outputs not saturated
  for (uint32_t m = 0; m < M; ++m)
    code.push_back(make_instruction(Opcode::kReadWeights, m, 0, 1, 0, uint16_t(m)));
  code.push_back(make_instruction(Opcode::kReadHost, 0, 0, b));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  // one read of the UB rows feeds every MXU: MXU 0 the source, MXU m its chain follower m
  auto chain = [&](uint8_t flags) {
    for (uint32_t m = 0; m < M; ++m)
      code.push_back(make_instruction(
          Opcode::kMatmul, 0, m * bank, b,
          uint8_t(flags | (m == 0 ? (M - 1) << kMmcFanShift : kFlagChain)), uint16_t(m)));
  };
  chain(kFlagSwitch);
  for (uint32_t m = 0; m < M; ++m)
    code.push_back(make_instruction(Opcode::kReadWeights, M + m, 0, 1, 0, uint16_t(m)));
  chain(kFlagSwitch | kFlagAccumulate);
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu));
  for (uint32_t m = 0; m < M; ++m)  // MXU m's rows to UB vectors b + m * b ..
    code.push_back(make_instruction(Opcode::kActivate, m * bank, b + m * b, b, 1));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct));
  code.push_back(make_instruction(Opcode::kWriteHost, b, b, M * b));
  code.push_back(make_instruction(Opcode::kHalt));
  return p;
}

Program shift_stream_program(uint32_t mxu, uint32_t tiles, uint32_t rows, uint64_t seed) {
  Program p;
  p.name = "shift-stream";
  p.random_init.push_back({false, 0, rows, seed});
  p.random_init.push_back({true, 0, tiles, seed + 1});
  auto& code = p.code;
  code.push_back(make_instruction(Opcode::kSetConfig, 1, 40));
  code.push_back(make_instruction(Opcode::kReadHost, 0, 0, rows));
  code.push_back(make_instruction(Opcode::kReadWeights, 0, 0, tiles, 0, uint16_t(mxu)));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost | kUnitWeights));
  for (uint32_t k = 0; k < tiles; ++k)
    code.push_back(
        make_instruction(Opcode::kMatmul, 0, k * rows, rows, kFlagSwitch, uint16_t(mxu)));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu));
  code.push_back(make_instruction(Opcode::kActivate, 0, rows, tiles * rows, 1));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct));
  code.push_back(make_instruction(Opcode::kWriteHost, rows, rows, tiles * rows));
  code.push_back(make_instruction(Opcode::kHalt));
  return p;
}

}  // namespace tpusim::rtl_test
