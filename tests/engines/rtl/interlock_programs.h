// Directed programs of the UB bank interlock (sim/isa/ISA.md, "UB banks"): two instructions of
// different units, the second of which may issue only once the first's UB window on a shared bank
// has ended. Shared by the RTL test benches (test_rtl.cpp) and the twin's tests
// (tests/engines/cycle/test_cycle_engine.cpp); the fast engine is the reference in both. Every
// program validates (race-free without a sync between the pair: read beside read, or writes of
// different vectors) and carries values the functional executor checks: the pair's UB vectors,
// and the accumulator rows of its mmcs (activated), are written back to host memory at the end.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "models/config.h"
#include "sim/isa/isa.h"
#include "sim/isa/program.h"
#include "sim/isa/races.h"
#include "sim/isa/timing.h"
#include "tests/engines/programs.h"

namespace tpusim::rtl_test {

// The pairs: the first instruction's window, then the second, which waits for it on a shared bank.
enum class InterlockPair {
  kMmcMmc,  // mmc switch on MXU 0 reads [first_at, +len); mmc switch on MXU 1 reads the target
  kMmcWhm,  // mmc switch on MXU 0 reads [first_at, +len); whm reads the target
  kWhmMmc,  // whm reads [first_at, +len); mmc switch on MXU 0 reads the target
  kActRhm,  // act (relu, max pool of 2) writes its len outputs to [first_at, +len); rhm writes
            // the target
  kRhmAct,  // rhm writes [first_at, +len); act (relu) writes its 2 outputs to the target
};

inline const char* interlock_pair_name(InterlockPair p) {
  switch (p) {
    case InterlockPair::kMmcMmc:
      return "mmc on MXU 0, then mmc on MXU 1";
    case InterlockPair::kMmcWhm:
      return "mmc, then whm";
    case InterlockPair::kWhmMmc:
      return "whm, then mmc";
    case InterlockPair::kActRhm:
      return "act, then rhm";
    case InterlockPair::kRhmAct:
      return "rhm, then act";
  }
  return "?";
}

struct InterlockProgram {
  Program prog;
  size_t first = 0, second = 0;  // pcs of the pair
  // Cycles from the first's issue t to the end of its window (sim/isa/ISA.md's window table):
  // mmc B, whm n, rhm n + 1, act S + act_pipeline_cycles(). With `same_bank` the second issues
  // at t + window (held in t + window - 1), else at t + 1.
  uint64_t window = 0;
  bool same_bank = false;
};

// The first instruction of `pair` accesses UB vectors [first_at, first_at + len) (len >= 2); the
// second accesses 2 vectors from the target: first_at + len (which must share a bank with the
// first's last vector: the pair waits) when `same_bank`, else the first vector of the bank after
// the first's last one (no wait). first_at = ub_bank_vectors(cfg) - len - 1 puts the first
// window at the end of bank 0 and a shared target across banks 0 and 1 (with one bank, first_at =
// ub_vectors - len - 2 puts them at the end of the UB); first_at = ub_bank_vectors(cfg) - 2 makes
// the first window span banks 0 and 1. Throws std::invalid_argument when the vectors do not fit
// the UB (or, for kMmcMmc, the chip has one MXU).
inline InterlockProgram interlock_program(const TpuConfig& cfg, InterlockPair pair,
                                          uint32_t first_at, uint32_t len, bool same_bank,
                                          uint64_t seed) {
  const uint64_t vb = ub_bank_vectors(cfg);
  const uint32_t acc_bank = uint32_t(acc_bank_rows(cfg.accumulator_entries, cfg.mxus));
  const uint64_t last_bank = (uint64_t(first_at) + len - 1) / vb;
  const uint64_t target64 = same_bank ? uint64_t(first_at) + len : (last_bank + 1) * vb;
  // the activated accumulator rows of the read pairs' mmcs: below the pair's vectors, or above
  // the target
  const uint64_t out64 = first_at >= 2 * len ? 0 : (last_bank + 1) * vb + 2;
  if (len < 2 || (same_bank && target64 / vb != last_bank) || target64 + 2 > cfg.ub_vectors() ||
      out64 + 2 * len > cfg.ub_vectors() || (pair == InterlockPair::kMmcMmc && cfg.mxus < 2) ||
      2 * len > acc_bank)
    throw std::invalid_argument("interlock_program: the vectors do not fit " + cfg.name);
  const uint32_t target = uint32_t(target64), out = uint32_t(out64);
  const uint32_t in_host = 0, target_host = len, pair_host = len + 2, out_host = 2 * len + 4;

  InterlockProgram ip;
  ip.same_bank = same_bank;
  Program& p = ip.prog;
  p.name = std::string("interlock: ") + interlock_pair_name(pair);
  p.random_init.push_back({false, 0, 2 * len + 2, seed});  // host inputs and the rhm's source
  p.random_init.push_back({true, 0, 2, seed + 1});         // a weight tile per MXU used
  auto& code = p.code;
  auto emit = [&code](Opcode op, uint32_t a = 0, uint32_t b = 0, uint32_t c = 0, uint8_t flags = 0,
                      uint16_t d = 0) { code.push_back(make_instruction(op, a, b, c, flags, d)); };
  const uint8_t relu = 1, max_pool = 1 << 2;

  // prologue: the weights, then the UB vectors the pair reads (every shadow is full, the weights'
  // shift to switch cycles after their arrival, before the host transfers end; the callers check
  // host_transfer_cycles > weight_shift_to_switch_cycles), and for the act pairs the accumulator
  // rows [0, len) (an mmc on MXU 0) the act reads
  emit(Opcode::kReadWeights, 0, 0, 1, 0, 0);
  if (pair == InterlockPair::kMmcMmc) emit(Opcode::kReadWeights, 1, 0, 1, 0, 1);
  emit(Opcode::kSync, 0, 0, 0, kUnitWeights);
  emit(Opcode::kReadHost, in_host, first_at, len);
  emit(Opcode::kReadHost, target_host, target, 2);
  emit(Opcode::kSync, 0, 0, 0, kUnitHost);
  if (pair == InterlockPair::kActRhm || pair == InterlockPair::kRhmAct) {
    emit(Opcode::kMatmul, first_at, 0, len, kFlagSwitch, 0);
    emit(Opcode::kSync, 0, 0, 0, kUnitMxu);
  }

  // the pair (each mmc writes rows of its own accumulator bank)
  ip.first = code.size();
  ip.second = ip.first + 1;
  std::vector<std::pair<uint32_t, uint32_t>> acc_rows;  // (first row, rows) to activate at the end
  switch (pair) {
    case InterlockPair::kMmcMmc:
      emit(Opcode::kMatmul, first_at, 0, len, kFlagSwitch, 0);
      emit(Opcode::kMatmul, target, acc_bank, 2, kFlagSwitch, 1);
      ip.window = len;
      acc_rows = {{0, len}, {acc_bank, 2}};
      break;
    case InterlockPair::kMmcWhm:
      emit(Opcode::kMatmul, first_at, 0, len, kFlagSwitch, 0);
      emit(Opcode::kWriteHost, out_host + len, target, 2);
      ip.window = len;
      acc_rows = {{0, len}};
      break;
    case InterlockPair::kWhmMmc:
      emit(Opcode::kWriteHost, out_host, first_at, len);
      emit(Opcode::kMatmul, target, 0, 2, kFlagSwitch, 0);
      ip.window = len;
      acc_rows = {{0, 2}};
      break;
    case InterlockPair::kActRhm:
      // 2 len accumulator rows (the last len are zero) pooled in pairs: len outputs
      emit(Opcode::kActivate, 0, first_at, 2 * len, relu | max_pool, 1);
      emit(Opcode::kReadHost, pair_host, target, 2);
      ip.window = 2 * len + timing::act_pipeline_cycles();
      break;
    case InterlockPair::kRhmAct:
      emit(Opcode::kReadHost, pair_host, first_at, len);
      emit(Opcode::kActivate, 0, target, 2, relu);
      ip.window = len + 1;
      break;
  }

  // epilogue: everything complete; the mmcs' rows activated to [out, ..); the pair's vectors and
  // those rows written back to host memory
  emit(Opcode::kSync, 0, 0, 0, kUnitAll);
  uint32_t outs = 0;
  for (const auto& [row, rows] : acc_rows) {
    emit(Opcode::kActivate, row, out + outs, rows, relu);
    outs += rows;
  }
  emit(Opcode::kSync, 0, 0, 0, kUnitAct);
  uint32_t host = out_host + len + 2;
  if (pair != InterlockPair::kWhmMmc) emit(Opcode::kWriteHost, out_host, first_at, len);
  if (pair != InterlockPair::kMmcWhm) emit(Opcode::kWriteHost, out_host + len, target, 2);
  if (outs > 0) emit(Opcode::kWriteHost, host, out, outs);
  emit(Opcode::kSync, 0, 0, 0, kUnitHost);
  emit(Opcode::kHalt);
  return ip;
}

}  // namespace tpusim::rtl_test
