// Directed programs of chained inputs (sim/isa/ISA.md, "Chained inputs": an mmc with fan F and
// its F chain mmcs on the next MXUs), shared by the RTL test benches (test_rtl.cpp) and the
// twin's tests (tests/engines/cycle/test_cycle_engine.cpp). Each MXU m writes its own
// accumulator bank (m x acc_bank_rows: the race rule's bank clause), so every program validates,
// and no two MXUs read one UB bank at once (no wait for the bank interlock: the timings are the
// chain's alone). They need a chip with at least two MXUs.
#pragma once

#include <cstdint>
#include <vector>

#include "models/config.h"
#include "sim/isa/isa.h"
#include "sim/isa/program.h"
#include "sim/isa/races.h"
#include "tests/engines/programs.h"

namespace tpusim::rtl_test {

// flags of a source with `fan` followers
inline uint8_t fan_flags(uint32_t fan) { return uint8_t(fan << kMmcFanShift); }

struct ChainProgram {
  Program prog;
  std::vector<size_t> sources;  // pc of each source; its followers are the next `fan` pcs
  uint32_t fan = 0;
};

// A GEMM of two K tiles on MXUs src .. mxus - 1 (fan F = mxus - 1 - src >= 1): host rows 0 ..
// 2b - 1 to UB rows 0 .. 2b - 1 (tile k's inputs at k x b), one weight tile per MXU and K tile,
// then per K tile a source `mmc switch` on MXU src (accumulating on the second) and its F chain
// mmcs, each MXU into its own accumulator bank; relu activation of every MXU's b rows to UB
// 2b + (m - src) x b and write-back to host vectors 2b .. Needs 2 FIFO slots and
// (mxus - src + 2) x b vectors in UB bank 0.
inline ChainProgram chain_program(const TpuConfig& cfg, uint32_t src, uint32_t b, uint64_t seed) {
  const uint32_t M = cfg.mxus, F = M - 1 - src;
  const uint32_t acc = uint32_t(acc_bank_rows(cfg.accumulator_entries, M));
  ChainProgram c;
  c.fan = F;
  Program& p = c.prog;
  p.name = "chain";
  p.random_init.push_back({false, 0, 2 * b, seed});
  p.random_init.push_back({true, 0, 2 * M, seed + 1});
  auto& code = p.code;
  code.push_back(make_instruction(Opcode::kSetConfig, 1, 40));  // shift: outputs not saturated
  for (uint32_t k = 0; k < 2; ++k)
    for (uint32_t m = src; m < M; ++m)
      code.push_back(make_instruction(Opcode::kReadWeights, k * M + m, 0, 1, 0, uint16_t(m)));
  code.push_back(make_instruction(Opcode::kReadHost, 0, 0, 2 * b));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  for (uint32_t k = 0; k < 2; ++k) {
    const uint8_t acc_flag = k ? kFlagAccumulate : 0;
    c.sources.push_back(code.size());
    code.push_back(make_instruction(Opcode::kMatmul, k * b, src * acc, b,
                                    kFlagSwitch | acc_flag | fan_flags(F), uint16_t(src)));
    for (uint32_t j = 1; j <= F; ++j)
      code.push_back(make_instruction(Opcode::kMatmul, k * b, (src + j) * acc, b,
                                      kFlagSwitch | kFlagChain | acc_flag, uint16_t(src + j)));
  }
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitMxu));
  for (uint32_t m = src; m < M; ++m)
    code.push_back(make_instruction(Opcode::kActivate, m * acc, 2 * b + (m - src) * b, b, 1));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitAct));
  code.push_back(make_instruction(Opcode::kWriteHost, 2 * b, 2 * b, (F + 1) * b));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  code.push_back(make_instruction(Opcode::kHalt));
  return c;
}

// A source held by its last follower's input: an mmc of `long_rows` rows on MXU mxus - 1 (UB
// bank 1), then a source of `b` rows on MXU 0 (UB bank 0) with fan mxus - 1. Follower j's input
// must be free at t + j, so the source issues at (the long mmc's issue) + long_rows - (mxus - 1)
// when that is later than the cycle after it. sources = {the source's pc}; the long mmc is the
// instruction before it.
inline ChainProgram follower_busy_program(const TpuConfig& cfg, uint32_t long_rows, uint32_t b) {
  const uint32_t M = cfg.mxus, F = M - 1;
  const uint32_t acc = uint32_t(acc_bank_rows(cfg.accumulator_entries, M));
  const uint32_t ub = uint32_t(ub_bank_vectors(cfg));
  ChainProgram c;
  c.fan = F;
  Program& p = c.prog;
  p.name = "follower-busy";
  p.random_init.push_back({false, 0, b + long_rows, 31});
  auto& code = p.code;
  code.push_back(make_instruction(Opcode::kReadHost, 0, 0, b));
  code.push_back(make_instruction(Opcode::kReadHost, b, ub, long_rows));
  code.push_back(make_instruction(Opcode::kSync, 0, 0, 0, kUnitHost));
  code.push_back(make_instruction(Opcode::kMatmul, ub, F * acc, long_rows, 0, uint16_t(F)));
  c.sources.push_back(code.size());
  code.push_back(make_instruction(Opcode::kMatmul, 0, 0, b, fan_flags(F), 0));
  for (uint32_t j = 1; j <= F; ++j)  // MXU F's rows after the long mmc's, in its own bank
    code.push_back(make_instruction(Opcode::kMatmul, 0, j * acc + (j == F ? long_rows : 0), b,
                                    kFlagChain, uint16_t(j)));
  code.push_back(make_instruction(Opcode::kHalt));
  return c;
}

// A source held by its followers' shadows: one `rw` per MXU, MXU 0's first (the weight DMA
// serves them in order, so MXU mxus - 1's tile arrives last), then a source `mmc switch` on MXU 0
// with fan mxus - 1. It issues weight_shift_to_switch_cycles after the last tile's arrival, and
// its held cycles are weight_stall until that arrival, although MXU 0's own tile arrived first
// (sim/isa/ISA.md, counter 2). sources = {the source's pc} (= mxus).
inline ChainProgram follower_shadow_program(const TpuConfig& cfg, uint32_t b) {
  const uint32_t M = cfg.mxus, F = M - 1;
  const uint32_t acc = uint32_t(acc_bank_rows(cfg.accumulator_entries, M));
  ChainProgram c;
  c.fan = F;
  Program& p = c.prog;
  p.name = "follower-shadow";
  p.random_init.push_back({true, 0, M, 41});
  auto& code = p.code;
  for (uint32_t m = 0; m < M; ++m)
    code.push_back(make_instruction(Opcode::kReadWeights, m, 0, 1, 0, uint16_t(m)));
  c.sources.push_back(code.size());
  code.push_back(make_instruction(Opcode::kMatmul, 0, 0, b, kFlagSwitch | fan_flags(F), 0));
  for (uint32_t j = 1; j <= F; ++j)
    code.push_back(
        make_instruction(Opcode::kMatmul, 0, j * acc, b, kFlagSwitch | kFlagChain, uint16_t(j)));
  code.push_back(make_instruction(Opcode::kHalt));
  return c;
}

}  // namespace tpusim::rtl_test
